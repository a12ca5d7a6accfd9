package aof

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// rec is one replayed command.
type rec struct {
	db   int
	args []string
}

func (r rec) String() string { return fmt.Sprintf("%d:%q", r.db, r.args) }

func toArgs(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// recorder collects applied commands.
type recorder struct{ recs []rec }

func (r *recorder) apply(db int, args [][]byte) error {
	ss := make([]string, len(args))
	for i, a := range args {
		ss[i] = string(a)
	}
	r.recs = append(r.recs, rec{db, ss})
	return nil
}

// fakeRDB is the stand-in for an RDB payload in tests: "REDIS0010", a
// 4-digit length, that many bytes, 0xFF and an 8-byte checksum. The loader
// below reads exactly that, as a real decoder must.
func fakeRDB(payload string) []byte {
	b := []byte("REDIS0010")
	b = append(b, fmt.Sprintf("%04d", len(payload))...)
	b = append(b, payload...)
	b = append(b, 0xFF)
	return append(b, "CHECKSUM"...)
}

type rdbLog struct{ payloads []string }

func (l *rdbLog) load(name string, r *bufio.Reader) error {
	head := make([]byte, 13)
	if _, err := io.ReadFull(r, head); err != nil {
		return err
	}
	if string(head[:9]) != "REDIS0010" {
		return errors.New("bad magic")
	}
	n, err := strconv.ParseUint(string(head[9:]), 10, 16) // 4 digits
	if err != nil {
		return err
	}
	p := make([]byte, n+9)
	if _, err := io.ReadFull(r, p); err != nil {
		return err
	}
	if p[n] != 0xFF {
		return errors.New("no EOF opcode")
	}
	l.payloads = append(l.payloads, string(p[:n]))
	return nil
}

func loadDir(t *testing.T, dir string, opts LoadOptions) ([]rec, *LoadResult, error) {
	t.Helper()
	var r recorder
	var rl rdbLog
	opts.Apply = r.apply
	if opts.RDB == nil {
		opts.RDB = rl.load
	}
	res, err := Load(dir, opts)
	return r.recs, res, err
}

func mustOpen(t testing.TB, dir string, opts Options) *Writer {
	t.Helper()
	w, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func sameRecs(t *testing.T, got, want []rec) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d commands, want %d\n got: %v\nwant: %v", len(got), len(want), head(got), head(want))
	}
	for i := range got {
		if got[i].String() != want[i].String() {
			t.Fatalf("command %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

func head(r []rec) []rec {
	if len(r) > 8 {
		return r[:8]
	}
	return r
}

// randCmd makes a random command with binary-safe arguments.
func randCmd(rng *rand.Rand) rec {
	names := []string{"SET", "DEL", "APPEND", "RPUSH", "HSET", "PEXPIREAT", "INCRBY"}
	n := 1 + rng.Intn(4)
	args := []string{names[rng.Intn(len(names))]}
	for i := 0; i < n; i++ {
		b := make([]byte, rng.Intn(20))
		if rng.Intn(10) == 0 {
			b = make([]byte, 200+rng.Intn(5000))
		}
		rng.Read(b)
		if rng.Intn(3) == 0 { // CR LF and '*' / '$' inside values must survive
			b = append(b, "\r\n*3\r\n$1\r\n"...)
		}
		args = append(args, string(b))
	}
	return rec{db: rng.Intn(20), args: args}
}

// faultFS opens incremental files whose writes and fsyncs can be made to
// fail, as a full or broken disk does.
type faultFS struct {
	mu       sync.Mutex
	writeErr error
	partial  int // bytes a failing write still gets out
	syncErr  error
	openErr  error
	syncs    atomic.Int64
	writes   atomic.Int64
}

type faultFile struct {
	f  *os.File
	fs *faultFS
}

func (fs *faultFS) open(path string) (appendFile, error) {
	fs.mu.Lock()
	err := fs.openErr
	fs.mu.Unlock()
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &faultFile{f, fs}, nil
}

func (fs *faultFS) set(write, sync, open error, partial int) {
	fs.mu.Lock()
	fs.writeErr, fs.syncErr, fs.openErr, fs.partial = write, sync, open, partial
	fs.mu.Unlock()
}

func (f *faultFile) Write(p []byte) (int, error) {
	f.fs.writes.Add(1)
	f.fs.mu.Lock()
	err, partial := f.fs.writeErr, f.fs.partial
	f.fs.mu.Unlock()
	if err != nil {
		n := min(partial, len(p))
		if n > 0 {
			f.f.Write(p[:n])
		}
		return n, err
	}
	return f.f.Write(p)
}

func (f *faultFile) Sync() error {
	f.fs.syncs.Add(1)
	f.fs.mu.Lock()
	err := f.fs.syncErr
	f.fs.mu.Unlock()
	if err != nil {
		return err
	}
	return f.f.Sync()
}

func (f *faultFile) Close() error { return f.f.Close() }
