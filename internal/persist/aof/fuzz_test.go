package aof

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzReplay feeds random bytes as an incremental file: the loader must
// return commands or an error, never panic, and never allocate more than
// the input holds. A torn tail's offset must be a clean cut: the bytes
// before it replay without error to the same commands.
func FuzzReplay(f *testing.F) {
	f.Add(cmds(rec{0, []string{"SET", "a", "1"}}, rec{3, []string{"RPUSH", "l", "x\r\ny"}}))
	f.Add([]byte("*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n*1\r\n$4\r\nEXEC\r\n"))
	f.Add([]byte("#TS:1\r\n*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$100000000\r\nab"))
	f.Add([]byte("*99999999999\r\n$1\r\n"))
	f.Add(append(fakeRDB("x"), "*1\r\n$4\r\nPING\r\n"...))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r recorder
		var rl rdbLog
		_, err := Replay("fuzz", bytes.NewReader(data), int64(len(data)), rl.load, r.apply)
		var le *LoadError
		if err != nil && !errors.As(err, &le) {
			t.Fatalf("error of type %T: %v", err, err)
		}
		if err == nil || !errors.Is(err, ErrTruncated) {
			return
		}
		if le.Offset < 0 || le.Offset > int64(len(data)) {
			t.Fatalf("truncation offset %d outside [0,%d]", le.Offset, len(data))
		}
		var r2 recorder
		cut := data[:le.Offset]
		if _, err := Replay("fuzz", bytes.NewReader(cut), int64(len(cut)), rl.load, r2.apply); err != nil {
			t.Fatalf("the cut file %q does not load: %v", cut, err)
		}
		// The cut keeps every command applied before the tear, except
		// those of an open MULTI, which were never applied.
		if len(r2.recs) != len(r.recs) {
			t.Fatalf("cut file replays %d commands, the torn one %d", len(r2.recs), len(r.recs))
		}
	})
}
