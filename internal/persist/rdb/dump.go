package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// DUMP payload (cluster.c createDumpPayload / verifyDumpPayload):
//
//	<type u8> <value as in an RDB file> <version u16le> <crc64 u64le>
//
// The checksum covers everything before it, type and version included.

// ErrDumpPayload is the RESTORE error for a payload whose version is newer
// than this package's or whose checksum does not match, in Redis's words.
var ErrDumpPayload = errors.New("ERR DUMP payload version or checksum are wrong")

// ErrBadDataFormat is the RESTORE error for a payload that passes the version
// and checksum checks but does not decode, in Redis's words. ParseDump wraps
// it with the details.
var ErrBadDataFormat = errors.New("ERR Bad data format")

// AppendDump appends the DUMP payload of v to dst, using the encodings the
// Writer would use under opts (nil for Redis's defaults).
func AppendDump(dst []byte, v Value, opts *WriterOptions) ([]byte, error) {
	var e *encoder
	if opts == nil {
		e = defaultEncoders.Get().(*encoder)
		defer defaultEncoders.Put(e)
	} else {
		e = newEncoder(resolveOptions(opts))
	}
	start := len(dst)
	dst = append(dst, 0)
	out, enc, err := e.appendValue(dst, v)
	if err != nil {
		return dst[:start], err
	}
	out[start] = byte(enc)
	out = binary.LittleEndian.AppendUint16(out, Version)
	return binary.LittleEndian.AppendUint64(out, crc64Update(0, out[start:])), nil
}

// defaultEncoders recycles encoders (and their LZF hash tables) for DUMP
// payloads under the default options.
var defaultEncoders = sync.Pool{New: func() any { return newEncoder(resolveOptions(nil)) }}

// DumpValue returns the DUMP payload of v as Redis 7.0 would produce it
// under its default configuration, for RESTORE. It panics if v cannot be
// serialized (a nil value, an empty collection, a NaN score, an unordered
// stream): such a value is a broken invariant of the caller's keyspace.
// AppendDump reports these as errors instead.
func DumpValue(v Value) []byte {
	out, err := AppendDump(nil, v, nil)
	if err != nil {
		panic("rdb: DumpValue: " + err.Error())
	}
	return out
}

// ParseDump decodes a DUMP payload. It returns ErrDumpPayload when the
// version is newer than Version or the checksum does not match (as RESTORE
// checks), and an error wrapping ErrBadDataFormat when the value does not
// decode.
func ParseDump(payload []byte) (Value, error) {
	v, _, err := ParseDumpEncoding(payload)
	return v, err
}

// ParseDumpEncoding is ParseDump also reporting the encoding the value was
// serialized with.
func ParseDumpEncoding(payload []byte) (Value, Encoding, error) {
	if len(payload) < 10 {
		return nil, 0, ErrDumpPayload
	}
	n := len(payload)
	ver := binary.LittleEndian.Uint16(payload[n-10:])
	if ver > Version {
		return nil, 0, ErrDumpPayload
	}
	if crc64Update(0, payload[:n-8]) != binary.LittleEndian.Uint64(payload[n-8:]) {
		return nil, 0, ErrDumpPayload
	}
	body := payload[:n-10]
	if len(body) == 0 {
		return nil, 0, fmt.Errorf("%w: empty payload", ErrBadDataFormat)
	}
	r := &Reader{src: bytes.NewReader(body), buf: make([]byte, max(64, min(len(body), readBufSize)))}
	r.started, r.version = true, int(ver)
	r.ar.next = max(256, 2*len(body))
	enc := Encoding(body[0])
	if _, err := r.readByte(); err != nil {
		return nil, enc, fmt.Errorf("%w: %v", ErrBadDataFormat, err)
	}
	if !enc.Known() || enc == EncModule2 {
		return nil, enc, fmt.Errorf("%w: cannot restore a value of type %s", ErrBadDataFormat, enc)
	}
	v, err := r.readValue(enc)
	if err != nil {
		return nil, enc, fmt.Errorf("%w: %v", ErrBadDataFormat, err)
	}
	if off := r.off(); off != int64(len(body)) {
		return nil, enc, fmt.Errorf("%w: %d trailing bytes after the value", ErrBadDataFormat, int64(len(body))-off)
	}
	return v, enc, nil
}
