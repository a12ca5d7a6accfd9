package aof

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"ferry/internal/proto/resp"
)

// FileType is a manifest entry's type, the letter Redis writes.
type FileType byte

// The manifest's file types (Redis 7.0 AOF_FILE_TYPE_*).
const (
	TypeBase    FileType = 'b' // the base: RDB, or AOF commands
	TypeHistory FileType = 'h' // replaced by a rewrite, waiting to be deleted
	TypeIncr    FileType = 'i' // commands appended after the base
)

// FileInfo is one manifest entry.
type FileInfo struct {
	Name string // a bare file name inside the AOF directory
	Seq  int64
	Type FileType
}

// Manifest lists the files of an AOF directory. Loading reads the base, then
// each incremental file in order; history files are only waiting to be
// deleted.
type Manifest struct {
	Base    *FileInfo // nil when there is none (Redis accepts that)
	History []FileInfo
	Incr    []FileInfo // strictly increasing Seq
}

// Default names: Redis 7.0's appenddirname and appendfilename.
const (
	DefaultDirName  = "appendonlydir"
	DefaultFileName = "appendonly.aof"
)

// Name suffixes and prefixes, as Redis 7.0 composes them.
const (
	baseSuffix     = ".base"
	incrSuffix     = ".incr"
	rdbExt         = ".rdb"
	aofExt         = ".aof"
	manifestSuffix = ".manifest"
	tempPrefix     = "temp-"
	tempRewrite    = "temp-rewriteaof-ferry-"
	maxManifestLn  = 1024 // AOF_ANNOTATION_LINE_MAX_LEN
)

// ManifestName is the manifest's file name for appendfilename fileName.
func ManifestName(fileName string) string { return fileName + manifestSuffix }

// BaseName is the name of base file seq; rdb selects ".rdb" over ".aof".
func BaseName(fileName string, seq int64, rdb bool) string {
	ext := aofExt
	if rdb {
		ext = rdbExt
	}
	return fileName + "." + strconv.FormatInt(seq, 10) + baseSuffix + ext
}

// IncrName is the name of incremental file seq.
func IncrName(fileName string, seq int64) string {
	return fileName + "." + strconv.FormatInt(seq, 10) + incrSuffix + aofExt
}

// ManifestError is a manifest Redis would refuse: the reason is Redis's
// wording where it has one.
type ManifestError struct {
	File string
	Line int // 1-based; 0 when not about a line
	Msg  string
}

func (e *ManifestError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("aof: %s line %d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("aof: %s: %s", e.File, e.Msg)
}

// ParseManifest parses a manifest as Redis 7.0's aofLoadManifestFromFile
// does: '#' lines are comments, every line ends in '\n' and is at most 1024
// bytes, arguments split as sdssplitargs (quotes allowed), keys are
// case-insensitive and unknown key/value pairs are ignored (forward
// compatibility), names must be bare file names, at most one base, and
// incremental sequence numbers strictly increase. name is used in errors.
func ParseManifest(name string, data []byte) (*Manifest, error) {
	m := &Manifest{}
	bad := func(line int, msg string) (*Manifest, error) {
		return nil, &ManifestError{File: name, Line: line, Msg: msg}
	}
	if len(data) == 0 {
		return bad(0, "Found an empty AOF manifest")
	}
	var maxSeq int64
	var args [][]byte
	var store []byte
	for ln := 1; len(data) > 0; ln++ {
		nl := bytes.IndexByte(data, '\n')
		if data[0] == '#' { // a comment, whatever its length
			if nl < 0 {
				break
			}
			data = data[nl+1:]
			continue
		}
		// Redis reads lines with fgets into 1025 bytes and refuses a
		// line without its newline: too long, or the file's last line
		// unterminated.
		if nl < 0 || nl > maxManifestLn-1 {
			return bad(ln, "The AOF manifest file contains too long line")
		}
		line := data[:nl]
		data = data[nl+1:]
		line = bytes.Trim(line, " \t\r\n")
		if len(line) == 0 {
			return bad(ln, "Invalid AOF manifest file format")
		}
		var ok bool
		args, store, ok = resp.SplitArgs(args[:0], store[:0], line)
		if !ok || len(args) < 6 || len(args)%2 != 0 {
			return bad(ln, "Invalid AOF manifest file format")
		}
		var fi FileInfo
		for i := 0; i < len(args); i += 2 {
			k, v := string(args[i]), args[i+1]
			switch {
			case strings.EqualFold(k, "file"):
				fi.Name = string(v)
				if !isBaseName(fi.Name) {
					return bad(ln, "File can't be a path, just a filename")
				}
			case strings.EqualFold(k, "seq"):
				fi.Seq = atoll(v)
			case strings.EqualFold(k, "type"):
				if len(v) > 0 {
					fi.Type = FileType(v[0])
				}
			}
		}
		if fi.Name == "" || fi.Seq == 0 || fi.Type == 0 {
			return bad(ln, "Invalid AOF manifest file format")
		}
		switch fi.Type {
		case TypeBase:
			if m.Base != nil {
				return bad(ln, "Found duplicate base file information")
			}
			b := fi
			m.Base = &b
		case TypeHistory:
			m.History = append(m.History, fi)
		case TypeIncr:
			if fi.Seq <= maxSeq {
				return bad(ln, "Found a non-monotonic sequence number")
			}
			m.Incr = append(m.Incr, fi)
			maxSeq = fi.Seq
		default:
			return bad(ln, "Unknown AOF file type")
		}
	}
	return m, nil
}

// atoll reads a leading optional sign and digits as C's atoll does (0 when
// there are none), so a manifest Redis accepts is accepted here.
func atoll(b []byte) int64 {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		neg = b[i] == '-'
		i++
	}
	var n int64
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + int64(b[i]-'0')
		if n > 1<<53 {
			break
		}
	}
	if neg {
		n = -n
	}
	return n
}

func isBaseName(s string) bool {
	return !strings.ContainsAny(s, "/\\") && s != "." && s != ".."
}

// Marshal renders m as Redis 7.0's getAofManifestAsString does: the base,
// then history files, then incremental files, one
// "file <name> seq <n> type <t>\n" line each.
func (m *Manifest) Marshal() []byte {
	var b []byte
	line := func(fi FileInfo) {
		b = append(b, "file "...)
		b = appendRepr(b, fi.Name)
		b = append(b, " seq "...)
		b = strconv.AppendInt(b, fi.Seq, 10)
		b = append(b, " type "...)
		b = append(b, byte(fi.Type), '\n')
	}
	if m.Base != nil {
		line(*m.Base)
	}
	for _, fi := range m.History {
		line(fi)
	}
	for _, fi := range m.Incr {
		line(fi)
	}
	return b
}

// appendRepr appends s unchanged, or quoted as sdscatrepr does when
// sdsneedsrepr says it must be. Unlike Redis it also quotes a name holding
// a single quote, which Redis writes bare and then cannot read back.
func appendRepr(b []byte, s string) []byte {
	need := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' || c == '"' || c == '\'' || c < 0x20 || c > 0x7e || c == ' ' {
			need = true
			break
		}
	}
	if !need {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '"':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		case '\a':
			b = append(b, `\a`...)
		case '\b':
			b = append(b, `\b`...)
		default:
			if c >= 0x20 && c <= 0x7e {
				b = append(b, c)
			} else {
				const hex = "0123456789abcdef"
				b = append(b, '\\', 'x', hex[c>>4], hex[c&15])
			}
		}
	}
	return append(b, '"')
}

// clone returns a deep copy.
func (m *Manifest) clone() *Manifest {
	c := &Manifest{History: append([]FileInfo(nil), m.History...), Incr: append([]FileInfo(nil), m.Incr...)}
	if m.Base != nil {
		b := *m.Base
		c.Base = &b
	}
	return c
}

// empty reports whether m lists no base and no incremental file, which
// Redis reads as "no AOF".
func (m *Manifest) empty() bool { return m.Base == nil && len(m.Incr) == 0 }

// files lists the files loading reads, in order.
func (m *Manifest) files() []FileInfo {
	var fs []FileInfo
	if m.Base != nil {
		fs = append(fs, *m.Base)
	}
	return append(fs, m.Incr...)
}

// ReadManifest reads the manifest of the AOF directory aofDir. A missing
// manifest yields (nil, nil).
func ReadManifest(aofDir, fileName string) (*Manifest, error) {
	name := ManifestName(fileName)
	data, err := os.ReadFile(filepath.Join(aofDir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("aof: read manifest: %w", err)
	}
	return ParseManifest(name, data)
}

// WriteManifest replaces the manifest atomically, as Redis's
// persistAofManifest does: write temp-<name>, fsync it, rename it over the
// manifest, fsync the directory.
func WriteManifest(aofDir, fileName string, m *Manifest) error {
	_, err := writeManifest(aofDir, fileName, m)
	return err
}

// writeManifest is WriteManifest that also reports whether the rename
// happened: then the new manifest is the one on disk even if the
// directory fsync failed, and the caller must act on it.
func writeManifest(aofDir, fileName string, m *Manifest) (renamed bool, err error) {
	name := ManifestName(fileName)
	tmp := filepath.Join(aofDir, tempPrefix+name)
	if err := writeFileSync(tmp, m.Marshal()); err != nil {
		os.Remove(tmp)
		return false, fmt.Errorf("aof: write manifest: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(aofDir, name)); err != nil {
		os.Remove(tmp)
		return false, fmt.Errorf("aof: rename manifest: %w", err)
	}
	if err := syncDir(aofDir); err != nil {
		return true, fmt.Errorf("aof: fsync directory: %w", err)
	}
	return true, nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir fsyncs a directory so that renames and creations in it survive a
// crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
