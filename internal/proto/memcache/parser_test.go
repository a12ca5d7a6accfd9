package memcache

import (
	"bytes"
	"strings"
	"testing"
)

func parseAll(p *Parser, in []byte) (out []string) {
	for len(in) > 0 {
		var r Request
		st, n := p.Parse(in, &r)
		switch st {
		case NeedMore:
			return append(out, "needmore")
		case Fail:
			out = append(out, "fail:"+r.Err)
			if r.Close {
				return append(out, "close")
			}
		case Ready:
			s := "ready:" + string(bytes.Join(r.Tokens, []byte(",")))
			if r.Data != nil {
				s += "|" + string(r.Data)
			}
			if r.TooLarge {
				s += "|toolarge"
			}
			out = append(out, s)
		}
		in = in[n:]
	}
	return out
}

func TestParser(t *testing.T) {
	limits := Limits{MaxLine: 2048, MaxKeysLine: 8192, MaxItemSize: 1024}
	tests := []struct {
		name, in string
		want     []string
	}{
		{"get", "get a b\r\n", []string{"ready:get,a,b"}},
		{"bare LF and extra spaces", "get  a   b\n", []string{"ready:get,a,b"}},
		{"set with data", "set k 1 2 3\r\nabc\r\n", []string{"ready:set,k,1,2,3|abc"}},
		{"binary-safe data", "set k 0 0 4\r\n\r\n\x00\n\r\n", []string{"ready:set,k,0,0,4|\r\n\x00\n"}},
		{"pipeline", "set k 0 0 1\r\na\r\nget k\r\n", []string{"ready:set,k,0,0,1|a", "ready:get,k"}},
		{"partial line", "get k", []string{"needmore"}},
		{"partial data", "set k 0 0 10\r\nabc", []string{"needmore"}},
		{"bad chunk", "set k 0 0 1\r\nabc\r\n", []string{"fail:CLIENT_ERROR bad data chunk", "ready:"}},
		{"bad length", "set k 0 0 x\r\n", []string{"fail:CLIENT_ERROR bad command line format"}},
		{"negative length", "set k 0 0 -1\r\n", []string{"fail:CLIENT_ERROR bad command line format"}},
		{"bad flags", "set k x 0 1\r\na\r\n", []string{"fail:CLIENT_ERROR bad command line format", "ready:a"}},
		{"key too long", "set " + strings.Repeat("k", 251) + " 0 0 1\r\na\r\n",
			[]string{"fail:CLIENT_ERROR bad command line format", "ready:a"}},
		{"too large", "set k 0 0 2000\r\n", []string{"ready:set,k,0,0,2000|toolarge"}},
		{"line too long", strings.Repeat("x", 2100), []string{"fail:CLIENT_ERROR line too long", "close"}},
		{"long get allowed", "get " + strings.Repeat("k ", 1500) + "\r\n", []string{"ready:get" + strings.Repeat(",k", 1500)}},
		{"ms", "ms k 2 T5\r\nhi\r\n", []string{"ready:ms,k,2,T5|hi"}},
		{"empty line", "\r\n", []string{"ready:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseAll(NewParser(limits), []byte(tt.in))
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestParserByteAtATime feeds input one byte at a time, as a slow network
// would: results must equal parsing it whole.
func TestParserByteAtATime(t *testing.T) {
	in := []byte("set k 0 0 5\r\nhello\r\nget k j\r\nms x 3 F1\r\nabc\r\nincr n 1\r\n")
	p := NewParser(DefaultLimits)
	var got []string
	buf := []byte{}
	for _, b := range in {
		buf = append(buf, b)
		for {
			var r Request
			st, n := p.Parse(buf, &r)
			if st == NeedMore {
				break
			}
			got = append(got, string(bytes.Join(r.Tokens, []byte(",")))+"|"+string(r.Data))
			buf = buf[n:]
		}
	}
	want := []string{"set,k,0,0,5|hello", "get,k,j|", "ms,x,3,F1|abc", "incr,n,1|"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestParseNumbers(t *testing.T) {
	for _, tt := range []struct {
		in  string
		u   uint64
		uok bool
		i   int64
		iok bool
	}{
		{"0", 0, true, 0, true},
		{"18446744073709551615", 1<<64 - 1, true, 0, false},
		{"18446744073709551616", 0, false, 0, false},
		{"-1", 0, false, -1, true},
		{"9223372036854775807", 1<<63 - 1, true, 1<<63 - 1, true},
		{"-9223372036854775808", 0, false, -1 << 63, true},
		{"1a", 0, false, 0, false},
		{"", 0, false, 0, false},
		{"-", 0, false, 0, false},
	} {
		u, uok := parseUint([]byte(tt.in))
		i, iok := parseInt([]byte(tt.in))
		if u != tt.u || uok != tt.uok || i != tt.i || iok != tt.iok {
			t.Errorf("%q: parseUint=%d,%v parseInt=%d,%v", tt.in, u, uok, i, iok)
		}
	}
}

// FuzzParser checks that no input makes the parser panic, read out of
// bounds, consume more than it was given, or make no progress.
func FuzzParser(f *testing.F) {
	for _, s := range []string{"get a\r\n", "set k 0 0 3\r\nabc\r\n", "ms k 2 T1\r\nhi\r\n",
		"cas k 0 0 1 5 noreply\r\nx\r\n", "set k 0 0 99999999999\r\n", "\r\n", "mg k v\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p := NewParser(Limits{MaxLine: 64, MaxKeysLine: 256, MaxItemSize: 128})
		for steps := 0; len(in) > 0; steps++ {
			var r Request
			st, n := p.Parse(in, &r)
			if n < 0 || n > len(in) {
				t.Fatalf("consumed %d of %d", n, len(in))
			}
			if st == NeedMore {
				if r.Need != 0 && r.Need <= len(in) {
					t.Fatalf("needs %d but has %d", r.Need, len(in))
				}
				return
			}
			if n == 0 {
				t.Fatalf("no progress on %q", in)
			}
			if st == Fail && r.Close {
				return
			}
			in = in[n:]
		}
	})
}
