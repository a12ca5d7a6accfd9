package keyspace

import "errors"

// Domain errors. Front ends map them to wire text in their errmap.go.
var (
	// ErrOOM means the memory limit is reached and nothing may be evicted.
	ErrOOM = errors.New("keyspace: out of memory")
	// ErrTooLarge means a single item is larger than the whole memory limit.
	ErrTooLarge = errors.New("keyspace: item larger than memory limit")
	// ErrWrongType means an operation met a value of another type.
	ErrWrongType = errors.New("keyspace: wrong type")
	// ErrNotInteger means a value or argument is not an integer or out of range.
	ErrNotInteger = errors.New("keyspace: not an integer")
	// ErrOverflow means an increment would overflow.
	ErrOverflow = errors.New("keyspace: increment would overflow")
	// ErrNoSuchKey means the key does not exist.
	ErrNoSuchKey = errors.New("keyspace: no such key")
	// ErrBadDB means a database index is out of range.
	ErrBadDB = errors.New("keyspace: database index out of range")
)
