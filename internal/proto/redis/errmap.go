package redis

import (
	"errors"

	"ferry/internal/keyspace"
)

// Error replies, worded exactly as Redis 7.0's (clients match on them).
const (
	errSyntax       = "ERR syntax error"
	errNotInteger   = "ERR value is not an integer or out of range"
	errNotFloat     = "ERR value is not a valid float"
	errOverflow     = "ERR increment or decrement would overflow"
	errWrongType    = "WRONGTYPE Operation against a key holding the wrong kind of value"
	errNoSuchKey    = "ERR no such key"
	errOOM          = "OOM command not allowed when used memory > 'maxmemory'."
	errNoAuth       = "NOAUTH Authentication required."
	errWrongPass    = "WRONGPASS invalid username-password pair or user is disabled."
	errDBIndex      = "ERR DB index is out of range"
	errInvalidDB    = "ERR invalid DB index"
	errExpireTime   = "ERR invalid expire time in '%s' command"
	errIndexRange   = "ERR index out of range"
	errBitOffset    = "ERR bit offset is not an integer or out of range"
	errBitValue     = "ERR bit is not an integer or out of range"
	errStringTooBig = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
	errNaN          = "ERR increment would produce NaN or Infinity"
	errTimeout      = "ERR timeout is not a float or out of range"
	errTimeoutNeg   = "ERR timeout is negative"
	errExecAbort    = "EXECABORT Transaction discarded because of previous errors."
)

// keyspaceError maps an engine error to its Redis reply text.
func keyspaceError(err error) string {
	switch {
	case errors.Is(err, keyspace.ErrWrongType):
		return errWrongType
	case errors.Is(err, keyspace.ErrNotInteger):
		return errNotInteger
	case errors.Is(err, keyspace.ErrOverflow):
		return errOverflow
	case errors.Is(err, keyspace.ErrNoSuchKey):
		return errNoSuchKey
	case errors.Is(err, keyspace.ErrOOM), errors.Is(err, keyspace.ErrTooLarge):
		return errOOM
	case errors.Is(err, keyspace.ErrBadDB):
		return errDBIndex
	}
	return "ERR " + err.Error()
}
