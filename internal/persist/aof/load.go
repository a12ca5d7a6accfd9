package aof

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
)

// ErrTruncated means a file ends inside a command (a crash in the middle of
// a write) or inside a MULTI block that never reached EXEC.
var ErrTruncated = errors.New("unexpected end of file")

// ErrFormat means a file holds something other than RESP commands where a
// command should start or continue.
var ErrFormat = errors.New("bad file format")

// LoadError is a failed load: which file, where, and why. Err wraps
// ErrTruncated, ErrFormat, the apply or RDB function's error, or an I/O
// error.
type LoadError struct {
	File   string // name inside the AOF directory (or the old-style file's name)
	Offset int64  // byte offset of the command that failed (of the tail, for ErrTruncated)
	Err    error

	notLast bool // a torn file followed by others: cutting it is no remedy
}

func (e *LoadError) Error() string {
	msg := fmt.Sprintf("aof: %s at offset %d: %v", e.File, e.Offset, e.Err)
	if errors.Is(e.Err, ErrTruncated) && !e.notLast {
		msg += " (the tail can be cut with aof-load-truncated yes, or redis-check-aof --fix)"
	}
	return msg
}

func (e *LoadError) Unwrap() error { return e.Err }

// LoadOptions configure Load. Apply is required.
type LoadOptions struct {
	DirName  string // appenddirname; "" means DefaultDirName
	FileName string // appendfilename; "" means DefaultFileName

	// LoadTruncated is aof-load-truncated (Redis's default is yes): a
	// last file that ends inside a command is cut back to its last
	// complete command with a warning instead of failing the load.
	LoadTruncated bool

	// RDB loads an RDB payload: a .rdb base file, or the RDB preamble of
	// an AOF file (both start with "REDIS"). It must read exactly the RDB
	// (through the EOF opcode and the checksum) and no further, since the
	// AOF commands that may follow are read from the same r. A decoder
	// that wraps r with bufio.NewReader gets r itself back, so it cannot
	// over-read. nil makes a file with an RDB payload an error.
	RDB func(file string, r *bufio.Reader) error

	// Apply runs one command in database db. args and their bytes are
	// only valid during the call. SELECT, MULTI and EXEC are handled by
	// Load and never passed: a transaction's commands are applied when
	// its EXEC is read. An error stops the load.
	Apply func(db int, args [][]byte) error

	// Total and Read, when set, receive the bytes the load will read
	// (every listed file's size) and the bytes read so far, so that
	// another goroutine can report the progress (percent loaded).
	Total, Read *atomic.Int64
}

func (o *LoadOptions) names() (string, string) {
	d, f := o.DirName, o.FileName
	if d == "" {
		d = DefaultDirName
	}
	if f == "" {
		f = DefaultFileName
	}
	return d, f
}

// LoadedFile describes one file Load read.
type LoadedFile struct {
	Name     string
	Type     FileType
	Size     int64 // after any truncation
	RDB      bool  // held an RDB payload
	Commands int64 // commands applied (SELECT, MULTI, EXEC not counted)
}

// Truncation describes a torn tail that Load cut.
type Truncation struct {
	File    string
	Offset  int64 // the file's new size: the end of its last complete command
	Dropped int64 // bytes removed
}

// LoadResult reports what Load found and did.
type LoadResult struct {
	Found     bool // an AOF existed (Redis: not AOF_NOT_EXIST)
	Upgraded  bool // an old-style single file was moved into the directory
	Manifest  *Manifest
	Files     []LoadedFile
	Commands  int64
	Size      int64       // total bytes of the loaded files (aof_current_size)
	Truncated *Truncation // non-nil when a torn tail was cut
	Warnings  []string    // what Redis would log as warnings
}

// Load replays the AOF under dir (Redis's "dir"), as Redis 7.0's
// loadAppendOnlyFiles does: it reads the manifest, loads the base file (an
// RDB payload through opts.RDB, commands through opts.Apply), then each
// incremental file in order. Each file starts in database 0, as each gets a
// fresh client in Redis.
//
// An old-style single file <dir>/<appendfilename> is upgraded first, as
// Redis does: moved into the directory as the base of a new manifest.
//
// Only the last file may end in the middle of a command (or of a MULTI
// block): with opts.LoadTruncated it is truncated to its last complete
// command and the result carries a warning; otherwise, or in any other
// file, Load fails with a *LoadError wrapping ErrTruncated. Malformed
// content anywhere fails with ErrFormat and changes no file. A missing AOF
// is not an error: the result has Found false.
func Load(dir string, opts LoadOptions) (*LoadResult, error) {
	if opts.Apply == nil {
		return nil, errors.New("aof: Load needs an Apply function")
	}
	dirName, fileName := opts.names()
	aofDir := filepath.Join(dir, dirName)
	res := &LoadResult{}
	m, upgraded, err := prepareDir(dir, dirName, fileName, false)
	if err != nil {
		return nil, err
	}
	res.Upgraded = upgraded
	if upgraded {
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"Successfully migrated an old-style AOF into the AOF directory %s as base %s", dirName, fileName))
	}
	if m == nil || m.empty() {
		return res, nil
	}
	res.Found, res.Manifest = true, m
	files := m.files()
	sizes := make([]int64, len(files))
	for i, fi := range files {
		st, err := os.Stat(filepath.Join(aofDir, fi.Name))
		if err != nil {
			// Redis: an AOF listed in the manifest but missing on disk is fatal.
			return nil, &LoadError{File: fi.Name, Err: fmt.Errorf("listed in the manifest but unreadable: %w", err)}
		}
		sizes[i] = st.Size()
		if opts.Total != nil {
			opts.Total.Add(sizes[i])
		}
	}
	for i, fi := range files {
		last := i == len(files)-1
		lf, trunc, err := loadFile(aofDir, fi, sizes[i], last, &opts)
		if err != nil {
			return nil, err
		}
		if trunc != nil {
			res.Truncated = trunc
			res.Warnings = append(res.Warnings, fmt.Sprintf(
				"short read while loading the AOF file %s: truncated it at offset %d (%d bytes dropped); loaded anyway because aof-load-truncated is enabled",
				fi.Name, trunc.Offset, trunc.Dropped))
		}
		res.Files = append(res.Files, lf)
		res.Commands += lf.Commands
		res.Size += lf.Size
	}
	return res, nil
}

// prepareDir reads the manifest of dir/dirName and performs Redis's upgrade
// of an old-style single AOF (aofUpgradePrepare) when one of its three
// conditions holds. With create it also creates the AOF directory. A
// missing manifest yields an empty Manifest.
func prepareDir(dir, dirName, fileName string, create bool) (*Manifest, bool, error) {
	aofDir := filepath.Join(dir, dirName)
	dirExists := false
	if st, err := os.Stat(aofDir); err == nil && st.IsDir() {
		dirExists = true
	}
	m := &Manifest{}
	if dirExists {
		mm, err := ReadManifest(aofDir, fileName)
		if err != nil {
			return nil, false, err
		}
		if mm != nil {
			m = mm
		}
	}
	old := filepath.Join(dir, fileName)
	if st, err := os.Stat(old); err == nil && st.Mode().IsRegular() {
		onlyOldBase := m.Base != nil && len(m.Incr) == 0 && m.Base.Name == fileName
		if onlyOldBase {
			if _, err := os.Stat(filepath.Join(aofDir, fileName)); err == nil {
				onlyOldBase = false
			}
		}
		if !dirExists || m.empty() || onlyOldBase {
			if err := upgrade(dir, aofDir, fileName); err != nil {
				return nil, false, err
			}
			return &Manifest{Base: &FileInfo{Name: fileName, Seq: 1, Type: TypeBase}}, true, nil
		}
	}
	if create && !dirExists {
		if err := os.MkdirAll(aofDir, 0o755); err != nil {
			return nil, false, fmt.Errorf("aof: create directory: %w", err)
		}
		if err := syncDir(dir); err != nil {
			return nil, false, fmt.Errorf("aof: fsync directory: %w", err)
		}
	}
	return m, false, nil
}

// upgrade moves an old-style AOF into the directory as the base of a new
// manifest. The manifest is written first: a crash before the rename leaves
// the third upgrade condition true, so the next start finishes the job.
func upgrade(dir, aofDir, fileName string) error {
	if err := os.MkdirAll(aofDir, 0o755); err != nil {
		return fmt.Errorf("aof: upgrade: create directory: %w", err)
	}
	m := &Manifest{Base: &FileInfo{Name: fileName, Seq: 1, Type: TypeBase}}
	if err := WriteManifest(aofDir, fileName, m); err != nil {
		return fmt.Errorf("aof: upgrade: %w", err)
	}
	if err := os.Rename(filepath.Join(dir, fileName), filepath.Join(aofDir, fileName)); err != nil {
		return fmt.Errorf("aof: upgrade: move %s: %w", fileName, err)
	}
	if err := syncDir(aofDir); err != nil {
		return fmt.Errorf("aof: upgrade: fsync directory: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("aof: upgrade: fsync directory: %w", err)
	}
	return nil
}

// loadFile replays one file. A torn tail of the last file is cut when
// allowed.
func loadFile(aofDir string, fi FileInfo, size int64, last bool, opts *LoadOptions) (LoadedFile, *Truncation, error) {
	lf := LoadedFile{Name: fi.Name, Type: fi.Type, Size: size}
	path := filepath.Join(aofDir, fi.Name)
	f, err := os.Open(path)
	if err != nil {
		return lf, nil, &LoadError{File: fi.Name, Err: err}
	}
	defer f.Close()
	rp := replayer{apply: opts.Apply, rdb: opts.RDB, name: fi.Name}
	var r io.Reader = f
	if opts.Read != nil {
		r = &progressReader{r: f, n: opts.Read}
	}
	valid, err := rp.run(r, size)
	lf.Commands, lf.RDB = rp.commands, rp.sawRDB
	if err == nil {
		return lf, nil, nil
	}
	le, ok := err.(*LoadError)
	if !ok || !errors.Is(le.Err, ErrTruncated) || !last || !opts.LoadTruncated || valid < 0 {
		if ok && errors.Is(le.Err, ErrTruncated) && !last {
			// Redis: "Fatal error: the truncated file is not the last file".
			le.Err = fmt.Errorf("%w, and it is not the last file: files after it depend on the lost tail", le.Err)
			le.notLast = true
		}
		return lf, nil, err
	}
	if err := truncateFile(path, valid); err != nil {
		return lf, nil, &LoadError{File: fi.Name, Offset: valid, Err: fmt.Errorf("truncating the torn tail: %w", err)}
	}
	lf.Size = valid
	return lf, &Truncation{File: fi.Name, Offset: valid, Dropped: size - valid}, nil
}

func truncateFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Replay reads AOF commands (optionally after an RDB preamble) from r, which
// holds size bytes, and calls apply for each, as Load does for one file.
// It returns the number of commands applied. A torn tail yields a
// *LoadError wrapping ErrTruncated whose Offset is the end of the last
// complete command. name is used in errors.
func Replay(name string, r io.Reader, size int64, rdb func(string, *bufio.Reader) error, apply func(db int, args [][]byte) error) (int64, error) {
	rp := replayer{apply: apply, rdb: rdb, name: name}
	_, err := rp.run(r, size)
	return rp.commands, err
}

// replayer parses one file's commands, tracking SELECT and MULTI as Redis's
// loadSingleAppendOnlyFile does with its fake client.
type replayer struct {
	apply    func(db int, args [][]byte) error
	rdb      func(string, *bufio.Reader) error
	name     string
	commands int64
	sawRDB   bool

	db    int
	multi bool
	queue []queued // commands of an open MULTI, with copied bytes
	qdata []byte

	data  []byte   // the current command's bytes
	spans [][2]int // its arguments within data
	args  [][]byte
}

type queued struct {
	off   int64
	spans [][2]int // within qdata
}

// countReader counts the bytes taken from the file, so that the position
// after an RDB preamble is known however the RDB decoder reads.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// progressReader adds the bytes read to a shared counter.
type progressReader struct {
	r io.Reader
	n *atomic.Int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n.Add(int64(n))
	return n, err
}

const maxHeader = 32 // "*<count>\r\n" or "$<len>\r\n": longer is not a header

// run parses the stream. valid is the end of the last complete command
// (before an open MULTI), the size to truncate a torn tail to.
func (rp *replayer) run(r io.Reader, size int64) (valid int64, err error) {
	cr := &countReader{r: r}
	br := bufio.NewReaderSize(cr, 64<<10)
	var pos int64
	if head, _ := br.Peek(5); string(head) == "REDIS" {
		rp.sawRDB = true
		if rp.rdb == nil {
			return -1, &LoadError{File: rp.name, Err: errors.New("starts with an RDB payload but no RDB loader was given")}
		}
		if err := rp.rdb(rp.name, br); err != nil {
			return -1, &LoadError{File: rp.name, Err: fmt.Errorf("loading the RDB payload: %w", err)}
		}
		pos = cr.n - int64(br.Buffered())
	}
	valid = pos
	validBeforeMulti := pos
	fail := func(off int64, e error) (int64, error) {
		if errors.Is(e, ErrTruncated) {
			if rp.multi {
				valid = validBeforeMulti
			}
			off = valid
		}
		if le, ok := e.(*LoadError); ok {
			return valid, le
		}
		return valid, &LoadError{File: rp.name, Offset: off, Err: e}
	}
	for {
		start := pos
		line, n, err := readLine(br)
		pos += int64(n)
		if err == io.EOF && n == 0 {
			break
		}
		if n > 0 && line[0] == '#' {
			// An annotation (Redis's #TS:…). One cut off by the end of
			// the file is a torn tail: appending after it would glue
			// the next command onto it.
			if err == io.EOF {
				return fail(start, fmt.Errorf("%w: annotation without newline", ErrTruncated))
			}
			if err != nil {
				return fail(start, err)
			}
			valid = pos
			continue
		}
		argc, herr := header(line, err, '*')
		if herr != nil {
			return fail(start, herr)
		}
		if argc < 1 {
			return fail(start, fmt.Errorf("%w: multibulk count %d", ErrFormat, argc))
		}
		rp.data, rp.spans = rp.data[:0], rp.spans[:0]
		for j := int64(0); j < argc; j++ {
			at := pos
			line, n, err := readLine(br)
			pos += int64(n)
			blen, herr := header(line, err, '$')
			if herr != nil {
				return fail(at, herr)
			}
			if blen < 0 {
				return fail(at, fmt.Errorf("%w: bulk length %d", ErrFormat, blen))
			}
			// The length is bounded by what the file still holds, so
			// a corrupt header cannot make us allocate more than that.
			if blen > size-pos-2 {
				return fail(at, ErrTruncated)
			}
			off := len(rp.data)
			rp.data = slices.Grow(rp.data, int(blen)+2)[:off+int(blen)+2]
			got, err := io.ReadFull(br, rp.data[off:])
			pos += int64(got)
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return fail(at, ErrTruncated)
			}
			if err != nil {
				return fail(at, err)
			}
			if rp.data[off+int(blen)] != '\r' || rp.data[off+int(blen)+1] != '\n' {
				return fail(pos-2, fmt.Errorf("%w: bulk of %d bytes not followed by CRLF", ErrFormat, blen))
			}
			rp.spans = append(rp.spans, [2]int{off, off + int(blen)})
		}
		args := rp.args[:0]
		for _, s := range rp.spans {
			args = append(args, rp.data[s[0]:s[1]])
		}
		rp.args = args
		if err := rp.command(start, args, &validBeforeMulti); err != nil {
			return fail(start, err)
		}
		valid = pos
		if cap(rp.data) > 4<<20 {
			rp.data = nil
		}
	}
	if rp.multi {
		// Redis: "Revert incomplete MULTI/EXEC transaction": handled as
		// a short read, cut back to before the MULTI.
		return fail(validBeforeMulti, fmt.Errorf("%w: MULTI without EXEC", ErrTruncated))
	}
	return valid, nil
}

// command runs one parsed command, or queues it inside MULTI.
func (rp *replayer) command(off int64, args [][]byte, validBeforeMulti *int64) error {
	name := args[0]
	switch {
	case eqFold(name, "multi"):
		if !rp.multi { // a nested MULTI is an error reply in Redis, ignored
			rp.multi = true
			*validBeforeMulti = off
			rp.queue, rp.qdata = rp.queue[:0], rp.qdata[:0]
		}
		return nil
	case eqFold(name, "exec"):
		if !rp.multi {
			return nil // EXEC without MULTI: an error reply in Redis, ignored
		}
		rp.multi = false
		var qargs [][]byte
		for _, q := range rp.queue {
			qargs = qargs[:0]
			for _, s := range q.spans {
				qargs = append(qargs, rp.qdata[s[0]:s[1]])
			}
			if err := rp.run1(qargs); err != nil {
				return &LoadError{File: rp.name, Offset: q.off, Err: err}
			}
		}
		rp.queue, rp.qdata = rp.queue[:0], rp.qdata[:0]
		if cap(rp.qdata) > 4<<20 {
			rp.qdata = nil
		}
		return nil
	case eqFold(name, "discard"):
		rp.multi = false
		rp.queue, rp.qdata = rp.queue[:0], rp.qdata[:0]
		return nil
	}
	if rp.multi {
		q := queued{off: off, spans: make([][2]int, len(args))}
		for i, a := range args {
			q.spans[i] = [2]int{len(rp.qdata), len(rp.qdata) + len(a)}
			rp.qdata = append(rp.qdata, a...)
		}
		rp.queue = append(rp.queue, q)
		return nil
	}
	return rp.run1(args)
}

// run1 applies one command outside MULTI (or from an EXEC).
func (rp *replayer) run1(args [][]byte) error {
	if eqFold(args[0], "select") {
		if len(args) != 2 {
			return fmt.Errorf("%w: SELECT with %d arguments", ErrFormat, len(args)-1)
		}
		db, err := strconv.Atoi(string(args[1]))
		if err != nil || db < 0 {
			return fmt.Errorf("%w: SELECT %q", ErrFormat, args[1])
		}
		rp.db = db
		return nil
	}
	rp.commands++
	return rp.apply(rp.db, args)
}

// readLine reads through the next '\n', at most maxHeader bytes. It
// returns the line, how many bytes it consumed, and io.EOF when the stream
// ended before a newline. A longer line is ErrFormat, except an annotation
// ('#'), which is consumed whole and returned as "#".
func readLine(br *bufio.Reader) ([]byte, int, error) {
	b, err := br.Peek(1)
	if err != nil {
		return nil, 0, eofOr(err)
	}
	if b[0] == '#' {
		n := 0
		for {
			s, err := br.ReadSlice('\n')
			n += len(s)
			if err != bufio.ErrBufferFull {
				return hashLine, n, eofOr(err)
			}
		}
	}
	b, err = br.Peek(maxHeader)
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line := b[: i+1 : i+1]
		br.Discard(i + 1)
		return line, i + 1, nil
	}
	if len(b) < maxHeader { // the stream ended (or failed) first
		line := b[:len(b):len(b)]
		br.Discard(len(b))
		return line, len(line), eofOr(err)
	}
	return nil, 0, fmt.Errorf("%w: header line longer than %d bytes", ErrFormat, maxHeader)
}

var hashLine = []byte{'#'}

func eofOr(err error) error {
	if err == io.ErrUnexpectedEOF {
		return io.EOF
	}
	return err
}

// header parses "<kind><integer>\r\n". A line cut off by the end of the
// file is ErrTruncated while what is there could still become a header;
// anything else malformed is ErrFormat.
func header(line []byte, rerr error, kind byte) (int64, error) {
	if rerr != nil && rerr != io.EOF {
		return 0, rerr
	}
	if rerr == io.EOF {
		// A prefix of a header is a torn tail; anything else is not.
		ok := len(line) == 0 || line[0] == kind
		for i := 1; ok && i < len(line); i++ {
			c := line[i]
			ok = (c >= '0' && c <= '9') || (c == '-' && i == 1) || (c == '\r' && i == len(line)-1)
		}
		if ok {
			return 0, ErrTruncated
		}
	}
	if len(line) < 4 || line[0] != kind || line[len(line)-2] != '\r' {
		if len(line) > 0 && line[0] != kind {
			return 0, fmt.Errorf("%w: expected '%c', got %q", ErrFormat, kind, line[0])
		}
		return 0, fmt.Errorf("%w: malformed header %q", ErrFormat, line)
	}
	n, err := strconv.ParseInt(string(line[1:len(line)-2]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: malformed header %q", ErrFormat, line)
	}
	return n, nil
}

func eqFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
