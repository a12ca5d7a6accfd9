package resp

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func parseOne(p *Parser, in string) ([]string, int, error) {
	args, n, err := p.Parse([]byte(in))
	var out []string
	for _, a := range args {
		out = append(out, string(a))
	}
	return out, n, err
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		used     int
		err      string // "" ok, "incomplete", or the protocol error text
	}{
		{"multibulk", "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", []string{"GET", "k"}, 20, ""},
		{"binary bulk", "*1\r\n$4\r\na\r\nb\r\n", []string{"a\r\nb"}, 14, ""},
		{"empty bulk", "*1\r\n$0\r\n\r\n", []string{""}, 10, ""},
		{"pipeline leaves rest", "*1\r\n$4\r\nPING\r\n*1\r\n", []string{"PING"}, 14, ""},
		{"zero multibulk", "*0\r\n", nil, 4, ""},
		{"inline", "SET k \"a b\"\r\n", []string{"SET", "k", "a b"}, 13, ""},
		{"inline LF", "PING\n", []string{"PING"}, 5, ""},
		{"inline escapes", `ECHO "\x41\n" 'it\'s'` + "\r\n", []string{"ECHO", "A\n", "it's"}, 23, ""},
		{"inline empty", "\r\n", nil, 2, ""},
		{"partial header", "*2\r", nil, 0, "incomplete"},
		{"partial bulk", "*1\r\n$5\r\nab", nil, 0, "incomplete"},
		{"partial inline", "PIN", nil, 0, "incomplete"},
		{"bad multibulk", "*x\r\n", nil, 0, "invalid multibulk length"},
		{"huge multibulk", "*3000000000\r\n", nil, 0, "invalid multibulk length"},
		{"missing dollar", "*1\r\n+x\r\n", nil, 0, "expected '$', got '+'"},
		{"bad bulk len", "*1\r\n$x\r\n", nil, 0, "invalid bulk length"},
		{"negative bulk", "*1\r\n$-1\r\n", nil, 0, "invalid bulk length"},
		{"bulk over limit", "*1\r\n$1073741824\r\n", nil, 0, "invalid bulk length"},
		{"unbalanced quotes", "SET \"a\r\n", nil, 0, "unbalanced quotes in request"},
		{"quote then text", "SET \"a\"b\r\n", nil, 0, "unbalanced quotes in request"},
		{"inline too big", strings.Repeat("a", 70000), nil, 0, "too big inline request"},
		{"header too big", "*" + strings.Repeat("1", 70000), nil, 0, "too big mbulk count string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n, err := parseOne(NewParser(DefaultLimits), tt.in)
			switch {
			case tt.err == "incomplete":
				if err != ErrIncomplete {
					t.Fatalf("err = %v, want incomplete", err)
				}
			case tt.err != "":
				var pe *ProtocolError
				if !errors.As(err, &pe) || pe.Msg != tt.err {
					t.Fatalf("err = %v, want protocol error %q", err, tt.err)
				}
			default:
				if err != nil || n != tt.used || strings.Join(got, "|") != strings.Join(tt.want, "|") {
					t.Fatalf("got %q used %d err %v; want %q used %d", got, n, err, tt.want, tt.used)
				}
			}
		})
	}
}

func TestUnauthenticatedLimits(t *testing.T) {
	p := NewParser(DefaultLimits)
	p.Unauthenticated = true
	if _, _, err := p.Parse([]byte("*11\r\n")); err == nil || err.Error() != "Protocol error: unauthenticated multibulk length" {
		t.Fatalf("err %v", err)
	}
	if _, _, err := p.Parse([]byte("*1\r\n$20000\r\n")); err == nil || err.Error() != "Protocol error: unauthenticated bulk length" {
		t.Fatalf("err %v", err)
	}
}

// TestIncrementalAndMoved feeds a command one byte at a time and moves the
// unread bytes to a new buffer between calls, as a connection compacting
// its buffer does.
func TestIncrementalAndMoved(t *testing.T) {
	in := "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$10\r\n0123456789\r\n*1\r\n$4\r\nPING\r\nECHO hi\r\n"
	p := NewParser(DefaultLimits)
	var got []string
	pending := []byte{}
	for i := 0; i < len(in); i++ {
		pending = append([]byte(nil), append(pending, in[i])...) // new backing array each time
		for {
			args, n, err := p.Parse(pending)
			if err == ErrIncomplete {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, a := range args {
				parts = append(parts, string(a))
			}
			got = append(got, strings.Join(parts, " "))
			pending = pending[n:]
		}
	}
	want := []string{"SET key 0123456789", "PING", "ECHO hi"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %q", got)
	}
}

func TestNeed(t *testing.T) {
	p := NewParser(DefaultLimits)
	buf := []byte("*1\r\n$100000\r\nab")
	if _, _, err := p.Parse(buf); err != ErrIncomplete {
		t.Fatal(err)
	}
	if p.Need() != 13+100000+2 {
		t.Fatalf("Need = %d", p.Need())
	}
}

func TestWriter(t *testing.T) {
	for _, proto := range []int{2, 3} {
		w := &Writer{Proto: proto}
		w.OK()
		w.Error("ERR bad\nthing")
		w.Int(-5)
		w.BulkString("hi")
		w.Null()
		w.NullArray()
		w.Map(1)
		w.Set(2)
		w.Push(1)
		w.Bool(true)
		w.Double(1.5)
		w.Verbatim("txt", "x")
		want := map[int]string{
			2: "+OK\r\n-ERR bad thing\r\n:-5\r\n$2\r\nhi\r\n$-1\r\n*-1\r\n*2\r\n*2\r\n*1\r\n:1\r\n$3\r\n1.5\r\n$1\r\nx\r\n",
			3: "+OK\r\n-ERR bad thing\r\n:-5\r\n$2\r\nhi\r\n_\r\n_\r\n%1\r\n~2\r\n>1\r\n#t\r\n,1.5\r\n=5\r\ntxt:x\r\n",
		}[proto]
		if string(w.Buf) != want {
			t.Errorf("RESP%d:\n got %q\nwant %q", proto, w.Buf, want)
		}
	}
}

func TestAppendDouble(t *testing.T) {
	for _, tt := range []struct {
		f    float64
		want string
	}{
		{1.5, "1.5"}, {3, "3"}, {-2, "-2"}, {0, "0"}, {math.Copysign(0, -1), "-0"},
		{0.1, "0.10000000000000001"}, {1e20, "1e+20"}, {4503599627370496, "4503599627370496"},
		{math.Inf(1), "inf"}, {math.Inf(-1), "-inf"}, {1.0 / 3, "0.33333333333333331"}, {1e-5, "1.0000000000000001e-05"},
	} {
		if got := string(AppendDouble(nil, tt.f)); got != tt.want {
			t.Errorf("AppendDouble(%v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}

func FuzzParser(f *testing.F) {
	for _, s := range []string{"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", "PING\r\n", `SET "a\x41" 'b'` + "\n", "*1\r\n$-1\r\n", "*-1\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p := NewParser(Limits{MaxBulkLen: 1 << 10, MaxMultibulk: 64, MaxInline: 256})
		for len(in) > 0 {
			args, n, err := p.Parse(in)
			if err != nil {
				return
			}
			if n <= 0 || n > len(in) {
				t.Fatalf("used %d of %d", n, len(in))
			}
			for _, a := range args {
				if len(a) > len(in) {
					t.Fatalf("argument longer than input")
				}
			}
			in = in[n:]
		}
	})
}
