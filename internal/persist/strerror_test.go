package persist

import (
	"fmt"
	"io"
	"syscall"
	"testing"

	"ferry/internal/persist/aof"
)

// TestStrerror: MISCONF replies carry the C library's error text, as
// Redis's "-MISCONF Errors writing to the AOF file: %s" does.
func TestStrerror(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{&aof.DiskError{Op: "write", File: "appendonly.aof.1.incr.aof", Err: fmt.Errorf("write /x: %w", syscall.ENOSPC)}, "No space left on device"},
		{&aof.DiskError{Op: "fsync", File: "f", Err: syscall.EIO}, "Input/output error"},
		{&aof.DiskError{Op: "write", File: "f", Err: syscall.EROFS}, "Read-only file system"},
		{&aof.DiskError{Op: "write", File: "f", Err: syscall.EDQUOT}, "Disk quota exceeded"},
		{&aof.DiskError{Op: "write", File: "f", Err: io.ErrShortWrite}, "No space left on device"},
	} {
		if got := strerror(tt.err); got != tt.want {
			t.Errorf("strerror(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
