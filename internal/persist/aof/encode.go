package aof

import (
	"bufio"
	"io"
	"strconv"
)

// AppendCommand appends args to dst as a RESP multibulk command, the form
// every command takes in an AOF file.
func AppendCommand(dst []byte, args ...[]byte) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = appendBulk(dst, a)
	}
	return dst
}

func appendBulk(dst, a []byte) []byte {
	dst = append(dst, '$')
	dst = strconv.AppendInt(dst, int64(len(a)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(dst, a...)
	return append(dst, '\r', '\n')
}

// appendSelect appends SELECT db; small databases use a precomputed form.
func appendSelect(dst []byte, db int) []byte {
	if db >= 0 && db < len(selectCmds) {
		return append(dst, selectCmds[db]...)
	}
	return AppendCommand(dst, []byte("SELECT"), strconv.AppendInt(nil, int64(db), 10))
}

var selectCmds = func() [][]byte {
	s := make([][]byte, 16)
	for i := range s {
		s[i] = AppendCommand(nil, []byte("SELECT"), []byte(strconv.Itoa(i)))
	}
	return s
}()

// WriteCommand writes args to w as one RESP multibulk command.
func WriteCommand(w io.Writer, args ...[]byte) error {
	_, err := w.Write(AppendCommand(nil, args...))
	return err
}

// ItemsPerCommand is how many elements a rewrite puts in one variadic
// command (RPUSH, SADD, ZADD, HSET …), Redis's AOF_REWRITE_ITEMS_PER_CMD,
// so that loading never builds one enormous command.
const ItemsPerCommand = 64

// Rewriter writes commands as RESP for an AOF-format base file (a rewrite
// with aof-use-rdb-preamble no). It buffers and adds a SELECT before the
// first command and whenever the database changes, as Redis's
// rewriteAppendOnlyFileRio does. A Rewriter is not safe for concurrent use.
type Rewriter struct {
	bw  *bufio.Writer
	db  int
	buf []byte
	n   int64
	err error
}

// NewRewriter returns a Rewriter writing to w; call Flush at the end.
func NewRewriter(w io.Writer) *Rewriter {
	return &Rewriter{bw: bufio.NewWriterSize(w, 64<<10), db: -1}
}

// Command writes one command for database db (db < 0: no SELECT).
func (r *Rewriter) Command(db int, args ...[]byte) error {
	if r.err != nil {
		return r.err
	}
	b := r.buf[:0]
	if db >= 0 && db != r.db {
		b = appendSelect(b, db)
		r.db = db
	}
	b = AppendCommand(b, args...)
	r.buf = b
	return r.write(b)
}

// Variadic writes name key items… in database db, split into commands of
// at most ItemsPerCommand elements, where an element is width consecutive
// items (1 for RPUSH and SADD, 2 for ZADD score member and HSET field
// value). It writes nothing when items is empty.
func (r *Rewriter) Variadic(db int, name, key []byte, items [][]byte, width int) error {
	if width < 1 {
		width = 1
	}
	per := ItemsPerCommand * width
	for len(items) > 0 && r.err == nil {
		n := min(per, len(items))
		b := r.buf[:0]
		if db >= 0 && db != r.db {
			b = appendSelect(b, db)
			r.db = db
		}
		b = append(b, '*')
		b = strconv.AppendInt(b, int64(2+n), 10)
		b = append(b, '\r', '\n')
		b = appendBulk(b, name)
		b = appendBulk(b, key)
		for _, it := range items[:n] {
			b = appendBulk(b, it)
		}
		r.buf = b
		if err := r.write(b); err != nil {
			return err
		}
		items = items[n:]
	}
	return r.err
}

func (r *Rewriter) write(b []byte) error {
	n, err := r.bw.Write(b)
	r.n += int64(n)
	if err != nil {
		r.err = err
	}
	if cap(r.buf) > 1<<20 {
		r.buf = nil
	}
	return err
}

// Written reports how many bytes the Rewriter has accepted.
func (r *Rewriter) Written() int64 { return r.n }

// Flush writes buffered bytes to the underlying writer.
func (r *Rewriter) Flush() error {
	if r.err != nil {
		return r.err
	}
	if err := r.bw.Flush(); err != nil {
		r.err = err
	}
	return r.err
}
