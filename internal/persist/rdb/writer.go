package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

const writeBufSize = 64 << 10

// Writer writes an RDB version 10 file, as Redis 7.0 does (rdbSaveRio): the
// header and AUX fields, then whatever the caller adds (AUX fields,
// functions, databases and keys), then on Close the EOF opcode and checksum.
// Each value is encoded whole in memory before it is written. A Writer is not
// safe for concurrent use; after an I/O error every call returns that error.
type Writer struct {
	dst      io.Writer
	enc      *encoder
	buf      []byte
	crc      uint64
	written  int64
	started  bool
	closed   bool
	db       int
	selected bool
	err      error
}

// NewWriter returns a Writer writing to w; opts may be nil for Redis's
// defaults. Nothing is written until the first call.
func NewWriter(w io.Writer, opts *WriterOptions) *Writer {
	return &Writer{dst: w, enc: newEncoder(resolveOptions(opts)), buf: make([]byte, 0, writeBufSize)}
}

// Written returns the number of bytes handed to the underlying writer.
func (w *Writer) Written() int64 { return w.written }

func (w *Writer) flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf) == 0 {
		return nil
	}
	if w.enc.o.checksum {
		w.crc = crc64Update(w.crc, w.buf)
	}
	n, err := w.dst.Write(w.buf)
	w.written += int64(n)
	if err == nil && n < len(w.buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = fmt.Errorf("rdb: write: %w", err)
		return w.err
	}
	if cap(w.buf) > 4*writeBufSize {
		w.buf = make([]byte, 0, writeBufSize)
	} else {
		w.buf = w.buf[:0]
	}
	return nil
}

func (w *Writer) maybeFlush() error {
	if len(w.buf) >= writeBufSize {
		return w.flush()
	}
	return nil
}

func (w *Writer) appendAux(key, value string) {
	w.buf = append(w.buf, opAux)
	w.buf = w.enc.appendStringS(w.buf, key)
	w.buf = w.enc.appendStringS(w.buf, value)
}

// begin writes the header and the AUX fields Redis 7.0 writes (rdbSaveInfoAuxFields).
func (w *Writer) begin() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("rdb: writer is closed")
	}
	if w.started {
		return nil
	}
	w.started = true
	o := &w.enc.o
	ctime := o.ctime
	if ctime.IsZero() {
		ctime = time.Now()
	}
	w.buf = append(w.buf, "REDIS0010"...)
	w.appendAux("redis-ver", o.redisVersion)
	w.appendAux("redis-bits", "64")
	w.appendAux("ctime", strconv.FormatInt(ctime.Unix(), 10))
	w.appendAux("used-mem", strconv.FormatInt(o.usedMem, 10))
	aof := "0"
	if o.aofBase {
		aof = "1"
	}
	w.appendAux("aof-base", aof)
	return nil
}

// WriteAux writes an AUX field. Redis ignores fields it does not know.
func (w *Writer) WriteAux(key, value string) error {
	if err := w.begin(); err != nil {
		return err
	}
	w.appendAux(key, value)
	return w.maybeFlush()
}

// WriteFunction writes a function library (FUNCTION2), code being what
// FUNCTION LOAD takes ("#!lua name=mylib\n..."). Redis writes these before
// the databases.
func (w *Writer) WriteFunction(code []byte) error {
	if err := w.begin(); err != nil {
		return err
	}
	w.buf = append(w.buf, opFunction2)
	w.buf = w.enc.appendString(w.buf, code)
	return w.maybeFlush()
}

// SelectDB starts database db with a RESIZEDB hint of keys keys of which
// expires have an expiry, as Redis does before each non-empty database.
// WriteEntry selects databases by itself; SelectDB only adds the hint.
func (w *Writer) SelectDB(db int, keys, expires uint64) error {
	if err := w.begin(); err != nil {
		return err
	}
	if db < 0 {
		return fmt.Errorf("rdb: invalid database %d", db)
	}
	w.buf = append(w.buf, opSelectDB)
	w.buf = appendLen(w.buf, uint64(db))
	w.buf = append(w.buf, opResizeDB)
	w.buf = appendLen(w.buf, keys)
	w.buf = appendLen(w.buf, expires)
	w.db, w.selected = db, true
	return w.maybeFlush()
}

// WriteEntry writes one key: SELECTDB if e.DB is not the current database,
// then EXPIRETIME_MS, IDLE and FREQ as present, the type, the key and the
// value in the encoding Redis 7.0 would use. An invalid value (empty
// collection, NaN score, unordered stream) is reported without writing
// anything and without spoiling the Writer. Values must hold no duplicate
// set members, hash fields or sorted set members: Redis refuses to load them.
func (w *Writer) WriteEntry(e *Entry) error {
	if err := w.begin(); err != nil {
		return err
	}
	if e.DB < 0 {
		return fmt.Errorf("rdb: invalid database %d", e.DB)
	}
	if !w.selected || e.DB != w.db {
		w.buf = append(w.buf, opSelectDB)
		w.buf = appendLen(w.buf, uint64(e.DB))
		w.db, w.selected = e.DB, true
	}
	mark := len(w.buf)
	if e.ExpireAt != 0 {
		w.buf = append(w.buf, opExpireMs)
		w.buf = binary.LittleEndian.AppendUint64(w.buf, uint64(e.ExpireAt))
	}
	if e.HasIdle {
		w.buf = append(w.buf, opIdle)
		w.buf = appendLen(w.buf, e.Idle)
	}
	if e.HasFreq {
		w.buf = append(w.buf, opFreq, e.Freq)
	}
	typeAt := len(w.buf)
	w.buf = append(w.buf, 0)
	w.buf = w.enc.appendString(w.buf, e.Key)
	buf, enc, err := w.enc.appendValue(w.buf, e.Value)
	if err != nil {
		w.buf = w.buf[:mark]
		return fmt.Errorf("rdb: key %q: %w", truncateForError(e.Key), err)
	}
	buf[typeAt] = byte(enc)
	w.buf = buf
	return w.maybeFlush()
}

// Close writes the EOF opcode and the checksum (zero with NoChecksum) and
// flushes. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	if err := w.begin(); err != nil {
		return err
	}
	w.closed = true
	w.buf = append(w.buf, opEOF)
	if err := w.flush(); err != nil {
		return err
	}
	var sum uint64
	if w.enc.o.checksum {
		sum = w.crc
	}
	w.buf = binary.LittleEndian.AppendUint64(w.buf, sum)
	n, err := w.dst.Write(w.buf)
	w.written += int64(n)
	if err == nil && n < len(w.buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = fmt.Errorf("rdb: write: %w", err)
	}
	w.buf = w.buf[:0]
	return w.err
}
