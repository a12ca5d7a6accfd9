package msgstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func open(t *testing.T, dir string, o Options) (*Store, *Recovery) {
	t.Helper()
	o.Logger = quiet()
	s, rec, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s, rec
}

// model is what a store should recover: message id → queues and payload.
type model map[uint64]modelMsg

type modelMsg struct {
	queues []uint64
	head   string
	body   string
}

func (m model) remove(q uint64, id uint64) {
	mm, ok := m[id]
	if !ok {
		return
	}
	i := slices.Index(mm.queues, q)
	if i < 0 {
		return
	}
	mm.queues = slices.Delete(slices.Clone(mm.queues), i, i+1)
	if len(mm.queues) == 0 {
		delete(m, id)
		return
	}
	m[id] = mm
}

func checkRecovery(t *testing.T, rec *Recovery, want model) {
	t.Helper()
	if len(rec.Messages) != len(want) {
		t.Fatalf("recovered %d messages, want %d", len(rec.Messages), len(want))
	}
	var prev uint64
	for _, r := range rec.Messages {
		if r.ID <= prev {
			t.Fatalf("messages not in id order: %d after %d", r.ID, prev)
		}
		prev = r.ID
		w, ok := want[r.ID]
		if !ok {
			t.Fatalf("recovered message %d that should be gone", r.ID)
		}
		got := slices.Clone(r.Queues)
		slices.Sort(got)
		wq := slices.Clone(w.queues)
		slices.Sort(wq)
		if !slices.Equal(got, wq) {
			t.Fatalf("message %d: queues %v, want %v", r.ID, got, wq)
		}
		if string(r.Head) != w.head || string(r.Body) != w.body {
			t.Fatalf("message %d: payload %q/%q, want %q/%q", r.ID, r.Head, r.Body, w.head, w.body)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, rec := open(t, dir, Options{})
	if len(rec.Messages) != 0 {
		t.Fatalf("fresh store recovered %d messages", len(rec.Messages))
	}
	want := model{}
	for i := 0; i < 100; i++ {
		qs := []uint64{uint64(i%3 + 1)}
		if i%10 == 0 {
			qs = []uint64{1, 2, 7}
		}
		head, body := fmt.Sprintf("h%d", i), fmt.Sprintf("body-%d", i)
		id, err := s.Add(qs, []byte(head), []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		want[id] = modelMsg{qs, head, body}
	}
	// Remove every even id from queue 1 and the multi-queue messages from 7.
	for id, m := range want {
		if id%2 == 0 && slices.Contains(m.queues, 1) {
			if err := s.Remove(1, []uint64{id}); err != nil {
				t.Fatal(err)
			}
			want.remove(1, id)
		}
		if slices.Contains(m.queues, 7) {
			s.Remove(7, []uint64{id})
			want.remove(7, id)
		}
	}
	// Removing what a queue does not hold is ignored.
	s.Remove(99, []uint64{1, 2, 3})
	s.Remove(1, []uint64{1 << 40})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, rec = open(t, dir, Options{})
	defer s.Close()
	checkRecovery(t, rec, want)
	id, err := s.Add([]uint64{1}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k := range want {
		if id <= k {
			t.Fatalf("new id %d not above recovered id %d", id, k)
		}
	}
}

func TestNotifyAfterSync(t *testing.T) {
	s, _ := open(t, t.TempDir(), Options{SyncInterval: time.Hour})
	defer s.Close()
	got := make(chan uint64, 10)
	for i := uint64(1); i <= 5; i++ {
		s.Add([]uint64{1}, nil, []byte("x"))
		s.Notify(waiterFunc(func(tok uint64, err error) {
			if err != nil {
				t.Error(err)
			}
			got <- tok
		}), i)
	}
	for i := uint64(1); i <= 5; i++ {
		select {
		case tok := <-got:
			if tok != i {
				t.Fatalf("token %d out of order, want %d", tok, i)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("waiter not called")
		}
	}
}

type waiterFunc func(uint64, error)

func (f waiterFunc) Synced(tok uint64, err error) { f(tok, err) }

func TestGroupCommit(t *testing.T) {
	s, _ := open(t, t.TempDir(), Options{})
	defer s.Close()
	const writers, per = 8, 200
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				if _, err := s.Add([]uint64{1}, []byte("h"), make([]byte, 100)); err != nil {
					t.Error(err)
					return
				}
				if err := s.Sync(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	st := s.Stats()
	t.Logf("%d appends, %d fsyncs", st.Appends, st.Fsyncs)
	if st.Appends != writers*per {
		t.Fatalf("appends = %d", st.Appends)
	}
	if st.Fsyncs >= writers*per {
		t.Fatalf("no grouping: %d fsyncs for %d synced appends", st.Fsyncs, st.Appends)
	}
}

// TestCompactionAndDependencies keeps one old message alive while lots of
// traffic passes, so the old segment is sparse and later segments hold
// removals that cancel records in it; compaction must rewrite and delete
// without ever resurrecting a removed message.
func TestCompactionAndDependencies(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentSize: 4096, CompactRatio: 0.5, CompactInterval: time.Hour}
	s, _ := open(t, dir, o)
	want := model{}
	keep, _ := s.Add([]uint64{1, 2}, []byte("keep"), []byte("kept body"))
	want[keep] = modelMsg{[]uint64{1, 2}, "keep", "kept body"}
	s.Remove(2, []uint64{keep})
	want.remove(2, keep)
	for i := 0; i < 400; i++ {
		id, err := s.Add([]uint64{1}, []byte("h"), bytes.Repeat([]byte{byte(i)}, 100))
		if err != nil {
			t.Fatal(err)
		}
		if i%50 == 49 {
			want[id] = modelMsg{[]uint64{1}, "h", string(bytes.Repeat([]byte{byte(i)}, 100))}
			continue
		}
		s.Remove(1, []uint64{id})
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	before := s.Stats()
	for i := 0; i < 5; i++ {
		if err := s.Compact(); err != nil {
			t.Fatal(err)
		}
	}
	after := s.Stats()
	t.Logf("before: %+v", before)
	t.Logf("after:  %+v", after)
	if after.Segments >= before.Segments/2 {
		t.Fatalf("compaction kept %d of %d segments", after.Segments, before.Segments)
	}
	if after.Rewritten == 0 {
		t.Fatal("nothing rewritten")
	}
	// Traffic after compaction, then recovery must match exactly.
	for i := 0; i < 50; i++ {
		id, _ := s.Add([]uint64{3}, nil, []byte("late"))
		want[id] = modelMsg{[]uint64{3}, "", "late"}
	}
	s.Remove(1, []uint64{keep})
	want.remove(1, keep)
	s.Close()
	s, rec := open(t, dir, o)
	checkRecovery(t, rec, want)
	s.Close()
}

// TestRandomModel drives random adds, removals, compactions and reopens
// against a model of what must survive.
func TestRandomModel(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentSize: 2048, CompactRatio: 0.6, CompactInterval: time.Millisecond}
	r := rand.New(rand.NewSource(7))
	s, _ := open(t, dir, o)
	want := model{}
	var live []uint64
	for step := 0; step < 3000; step++ {
		switch x := r.Intn(100); {
		case x < 45:
			n := 1 + r.Intn(3)
			var qs []uint64
			for len(qs) < n {
				q := uint64(1 + r.Intn(5))
				if !slices.Contains(qs, q) {
					qs = append(qs, q)
				}
			}
			body := fmt.Sprintf("m%d-%s", step, bytes.Repeat([]byte("z"), r.Intn(200)))
			id, err := s.Add(qs, []byte(fmt.Sprint(step)), []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			want[id] = modelMsg{qs, fmt.Sprint(step), body}
			live = append(live, id)
		case x < 90 && len(live) > 0:
			i := r.Intn(len(live))
			id := live[i]
			m, ok := want[id]
			if !ok {
				live = slices.Delete(live, i, i+1)
				continue
			}
			q := m.queues[r.Intn(len(m.queues))]
			s.Remove(q, []uint64{id})
			want.remove(q, id)
		case x < 95:
			if err := s.Compact(); err != nil {
				t.Fatal(err)
			}
		default:
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			var rec *Recovery
			s, rec = open(t, dir, o)
			checkRecovery(t, rec, want)
		}
	}
	s.Close()
	s, rec := open(t, dir, o)
	checkRecovery(t, rec, want)
	s.Close()
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	sort.Strings(m)
	return m
}

func TestTornTail(t *testing.T) {
	tests := []struct {
		name string
		tail func(valid []byte) []byte
	}{
		{"partial header", func([]byte) []byte { return []byte{5, 0, 0} }},
		{"length past end", func(v []byte) []byte { return v[:len(v)-3] }},
		{"zeros", func([]byte) []byte { return make([]byte, 4096) }},
		{"bad crc last record", func(v []byte) []byte {
			c := slices.Clone(v)
			c[len(c)-1] ^= 0xff
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := open(t, dir, Options{})
			want := model{}
			for i := 0; i < 10; i++ {
				id, _ := s.Add([]uint64{1}, []byte("h"), []byte(fmt.Sprint(i)))
				want[id] = modelMsg{[]uint64{1}, "h", fmt.Sprint(i)}
			}
			s.Close()
			files := segFiles(t, dir)
			last := files[len(files)-1]
			info, _ := os.Stat(last)
			valid := appendMessageRecord(nil, 999, []uint64{1}, []byte("h"), []byte("torn away"))
			f, _ := os.OpenFile(last, os.O_APPEND|os.O_WRONLY, 0)
			f.Write(tt.tail(valid))
			f.Close()
			s, rec := open(t, dir, Options{})
			if len(rec.Warnings) != 1 {
				t.Fatalf("warnings = %q", rec.Warnings)
			}
			checkRecovery(t, rec, want)
			s.Close()
			if info2, _ := os.Stat(last); info2.Size() != info.Size() {
				t.Fatalf("tail not cut: size %d, was %d", info2.Size(), info.Size())
			}
			// A second open is clean.
			s, rec = open(t, dir, Options{})
			if len(rec.Warnings) != 0 {
				t.Fatalf("second open warnings = %q", rec.Warnings)
			}
			s.Close()
		})
	}
}

func TestCorruptionRefused(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentSize: 1024}
	s, _ := open(t, dir, o)
	for i := 0; i < 50; i++ {
		s.Add([]uint64{1}, []byte("h"), bytes.Repeat([]byte("b"), 100))
	}
	s.Close()
	files := segFiles(t, dir)
	if len(files) < 3 {
		t.Fatalf("want several segments, have %d", len(files))
	}
	target := files[0]
	data, _ := os.ReadFile(target)
	off := segHeaderSize + 20 // inside the first record's body
	data[off] ^= 0x55
	os.WriteFile(target, data, 0o644)
	_, _, err := Open(dir, Options{Logger: quiet()})
	var ce *CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("Open = %v, want *CorruptError", err)
	}
	if ce.File != target || ce.Offset != segHeaderSize {
		t.Fatalf("error names %s offset %d, want %s offset %d", ce.File, ce.Offset, target, segHeaderSize)
	}
	t.Log(err)

	// A bad record in the middle of the newest segment is corruption too.
	dir2 := t.TempDir()
	s, _ = open(t, dir2, Options{})
	for i := 0; i < 5; i++ {
		s.Add([]uint64{1}, nil, []byte("abcdefgh"))
	}
	s.Close()
	files = segFiles(t, dir2)
	data, _ = os.ReadFile(files[0])
	data[segHeaderSize+12] ^= 1
	os.WriteFile(files[0], data, 0o644)
	if _, _, err := Open(dir2, Options{Logger: quiet()}); !errors.As(err, &ce) {
		t.Fatalf("Open = %v, want *CorruptError", err)
	}
	// A bad segment header is corruption.
	dir3 := t.TempDir()
	s, _ = open(t, dir3, Options{})
	s.Add([]uint64{1}, nil, nil)
	s.Close()
	files = segFiles(t, dir3)
	data, _ = os.ReadFile(files[0])
	copy(data, "XXXX")
	os.WriteFile(files[0], data, 0o644)
	if _, _, err := Open(dir3, Options{Logger: quiet()}); !errors.As(err, &ce) {
		t.Fatalf("Open = %v, want *CorruptError", err)
	}
}

func TestClosedStore(t *testing.T) {
	s, _ := open(t, t.TempDir(), Options{})
	s.Close()
	if _, err := s.Add([]uint64{1}, nil, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add after Close = %v", err)
	}
	if err := s.Sync(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sync after Close = %v", err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := s.Add(nil, nil, nil); err == nil {
		t.Fatal("Add without queues accepted")
	}
}

func TestRecordRoundTrip(t *testing.T) {
	b := appendMessageRecord(nil, 42, []uint64{1, 300, 1 << 40}, []byte("head"), []byte("body"))
	if len(b) != messageRecordSize([]uint64{1, 300, 1 << 40}, []byte("head"), []byte("body")) {
		t.Fatalf("size mismatch %d", len(b))
	}
	r, n, err := decodeRecord(b)
	if err != nil || n != len(b) || r.id != 42 || !slices.Equal(r.queues, []uint64{1, 300, 1 << 40}) ||
		string(r.head) != "head" || string(r.body) != "body" {
		t.Fatalf("decode = %+v %d %v", r, n, err)
	}
	ids := []uint64{10, 5, 1 << 50, 6}
	b = appendRemoveRecord(nil, 9, ids)
	r, n, err = decodeRecord(b)
	if err != nil || n != len(b) || r.queues[0] != 9 || !slices.Equal(r.ids, ids) {
		t.Fatalf("decode = %+v %d %v", r, n, err)
	}
	binary.LittleEndian.PutUint32(b, maxRecord+1)
	if _, _, err := decodeRecord(b); err == nil {
		t.Fatal("huge length accepted")
	}
}

type cumWaiter struct {
	mu     sync.Mutex
	tokens []uint64
	done   chan struct{}
	last   uint64
}

func (c *cumWaiter) Synced(tok uint64, err error) {
	c.mu.Lock()
	c.tokens = append(c.tokens, tok)
	c.mu.Unlock()
	if tok == c.last {
		close(c.done)
	}
}

func (c *cumWaiter) Cumulative() {}

func TestCumulativeWaitersCoalesce(t *testing.T) {
	s, _ := open(t, t.TempDir(), Options{SyncInterval: time.Hour})
	defer s.Close()
	// Hold the syncer back so all notifications land in one round.
	s.mu.Lock()
	c := &cumWaiter{done: make(chan struct{}), last: 20}
	plain := make(chanWaiter, 20)
	for i := uint64(1); i <= 20; i++ {
		s.index[1<<40+i] = entry{} // nothing real to write is needed
		s.waiters = append(s.waiters, waiter{c, i}, waiter{plain, i})
	}
	for i := uint64(1); i <= 20; i++ {
		delete(s.index, 1<<40+i)
	}
	s.mu.Unlock()
	s.wakeSyncer()
	<-c.done
	if len(c.tokens) != 1 || c.tokens[0] != 20 {
		t.Fatalf("cumulative waiter called with %v, want once with 20", c.tokens)
	}
	for i := 0; i < 20; i++ {
		if err := <-plain; err != nil {
			t.Fatal(err)
		}
	}
}
