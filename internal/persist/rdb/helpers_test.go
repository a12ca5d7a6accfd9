package rdb

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"math/rand"
	"slices"
	"sort"
	"strings"
	"testing"
)

// canon renders a value in an order-independent, comparable text form:
// sets and hashes sorted, sorted sets by (score, member).
func canon(v Value) string {
	var b strings.Builder
	switch v := v.(type) {
	case String:
		fmt.Fprintf(&b, "string %q", []byte(v))
	case List:
		b.WriteString("list")
		for _, e := range v {
			fmt.Fprintf(&b, " %q", e)
		}
	case Set:
		ms := make([]string, len(v))
		for i, m := range v {
			ms[i] = string(m)
		}
		sort.Strings(ms)
		b.WriteString("set")
		for _, m := range ms {
			fmt.Fprintf(&b, " %q", m)
		}
	case ZSet:
		z := slices.Clone(v)
		sort.Slice(z, func(i, j int) bool {
			if z[i].Score != z[j].Score {
				return z[i].Score < z[j].Score
			}
			return bytes.Compare(z[i].Member, z[j].Member) < 0
		})
		b.WriteString("zset")
		for _, m := range z {
			fmt.Fprintf(&b, " %q=%s", m.Member, fmtScore(m.Score))
		}
	case Hash:
		h := slices.Clone(v)
		sort.Slice(h, func(i, j int) bool { return bytes.Compare(h[i].Field, h[j].Field) < 0 })
		b.WriteString("hash")
		for _, f := range h {
			fmt.Fprintf(&b, " %q=%q", f.Field, f.Value)
		}
	case *Stream:
		fmt.Fprintf(&b, "stream last=%s first=%s maxdel=%s added=%d\n", v.LastID, v.FirstID, v.MaxDeletedID, v.EntriesAdded)
		for _, e := range v.Entries {
			fmt.Fprintf(&b, "  %s", e.ID)
			for _, f := range e.Fields {
				fmt.Fprintf(&b, " %q=%q", f.Field, f.Value)
			}
			b.WriteString("\n")
		}
		for _, g := range v.Groups {
			fmt.Fprintf(&b, "  group %q last=%s read=%d\n", g.Name, g.LastID, g.EntriesRead)
			pel := slices.Clone(g.Pending)
			slices.SortFunc(pel, func(a, b StreamPending) int { return cmpStreamID(a.ID, b.ID) })
			for _, p := range pel {
				fmt.Fprintf(&b, "    pending %s t=%d n=%d\n", p.ID, p.DeliveryTime, p.DeliveryCount)
			}
			cs := slices.Clone(g.Consumers)
			slices.SortFunc(cs, func(a, b StreamConsumer) int { return bytes.Compare(a.Name, b.Name) })
			for _, c := range cs {
				ids := slices.Clone(c.Pending)
				slices.SortFunc(ids, cmpStreamID)
				fmt.Fprintf(&b, "    consumer %q seen=%d active=%d %v\n", c.Name, c.SeenTime, c.ActiveTime, ids)
			}
		}
	case nil:
		b.WriteString("<nil>")
	default:
		fmt.Fprintf(&b, "%T", v)
	}
	return b.String()
}

func fmtScore(f float64) string {
	if f == 0 && math.Signbit(f) {
		return "-0"
	}
	return fmt.Sprint(f)
}

func sameValue(t *testing.T, what string, want, got Value) {
	t.Helper()
	w, g := canon(want), canon(got)
	if w != g {
		wl, gl := strings.Split(w, "\n"), strings.Split(g, "\n")
		for i := 0; i < len(wl) && i < len(gl); i++ {
			if wl[i] != gl[i] {
				t.Errorf("%s: first difference at line %d:\n want %.300s\n  got %.300s", what, i, wl[i], gl[i])
				return
			}
		}
		if len(w) > 600 {
			w = w[:600] + "..."
		}
		if len(g) > 600 {
			g = g[:600] + "..."
		}
		t.Errorf("%s:\n want %s\n  got %s", what, w, g)
	}
}

// readAll decodes a whole file, failing the test on error.
func readAll(t testing.TB, data []byte) ([]*Record, *Reader) {
	t.Helper()
	r := NewReader(bytes.NewReader(data))
	var recs []*Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return recs, r
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		c := *rec
		recs = append(recs, &c)
	}
}

// keysOf indexes the key records of a file by "db/key".
func keysOf(recs []*Record) map[string]*Record {
	m := map[string]*Record{}
	for _, r := range recs {
		if r.Type == RecordKey {
			m[fmt.Sprintf("%d/%s", r.DB, r.Key)] = r
		}
	}
	return m
}

func strs(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func rangeStrs(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	rng.Read(b)
	return b
}

func nan() float64 { return math.NaN() }

func newRand() *rand.Rand { return rand.New(rand.NewSource(7)) }
