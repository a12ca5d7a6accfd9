package rdb

import (
	"errors"
	"fmt"
	"strconv"
)

// Version is the RDB format version Redis 7.0 writes and this package writes.
const Version = 10

// Encoding is an RDB object type byte: it names both the data type and the
// serialized encoding of a value (rdb.h RDB_TYPE_*).
type Encoding byte

// The RDB object types. The numbering is fixed by the file format.
const (
	EncString           Encoding = 0
	EncList             Encoding = 1 // linked list of strings (RDB < 7)
	EncSet              Encoding = 2
	EncZSet             Encoding = 3 // scores as decimal strings (RDB < 8)
	EncHash             Encoding = 4
	EncZSet2            Encoding = 5 // scores as binary doubles
	EncModule           Encoding = 6 // pre-GA module format; cannot be skipped
	EncModule2          Encoding = 7
	EncHashZipmap       Encoding = 9
	EncListZiplist      Encoding = 10
	EncSetIntset        Encoding = 11
	EncZSetZiplist      Encoding = 12
	EncHashZiplist      Encoding = 13
	EncListQuicklist    Encoding = 14 // ziplist nodes
	EncStreamListpacks  Encoding = 15
	EncHashListpack     Encoding = 16
	EncZSetListpack     Encoding = 17
	EncListQuicklist2   Encoding = 18 // listpack or plain nodes (7.0)
	EncStreamListpacks2 Encoding = 19 // 7.0
	EncSetListpack      Encoding = 20 // 7.2
	EncStreamListpacks3 Encoding = 21 // 7.2
)

var encodingNames = map[Encoding]string{
	EncString: "string", EncList: "list", EncSet: "set", EncZSet: "zset",
	EncHash: "hash", EncZSet2: "zset-2", EncModule: "module", EncModule2: "module-2",
	EncHashZipmap: "hash-zipmap", EncListZiplist: "list-ziplist", EncSetIntset: "set-intset",
	EncZSetZiplist: "zset-ziplist", EncHashZiplist: "hash-ziplist", EncListQuicklist: "list-quicklist",
	EncStreamListpacks: "stream-listpacks", EncHashListpack: "hash-listpack",
	EncZSetListpack: "zset-listpack", EncListQuicklist2: "list-quicklist-2",
	EncStreamListpacks2: "stream-listpacks-2", EncSetListpack: "set-listpack",
	EncStreamListpacks3: "stream-listpacks-3",
}

// String returns a short name for the encoding, such as "hash-listpack".
func (e Encoding) String() string {
	if n, ok := encodingNames[e]; ok {
		return n
	}
	return "type-" + strconv.Itoa(int(e))
}

// Known reports whether e is an object type the Reader can decode (or, for
// module values, step over).
func (e Encoding) Known() bool {
	_, ok := encodingNames[e]
	return ok && e != EncModule
}

// Opcodes of the RDB stream (rdb.h RDB_OPCODE_*).
const (
	opSlotInfo    = 244 // 7.4 cluster slot info; only in files newer than version 10
	opFunction2   = 245
	opFunction    = 246 // 7.0-rc1/rc2 function format
	opModuleAux   = 247
	opIdle        = 248
	opFreq        = 249
	opAux         = 250
	opResizeDB    = 251
	opExpireMs    = 252
	opExpire      = 253
	opSelectDB    = 254
	opEOF         = 255
	moduleOpEOF   = 0
	moduleOpSInt  = 1
	moduleOpUInt  = 2
	moduleOpFloat = 3
	moduleOpDbl   = 4
	moduleOpStr   = 5
)

// Kind is the Redis data type of a Value, as the TYPE command names it.
type Kind uint8

// The data types a Value can hold.
const (
	KindString Kind = iota + 1
	KindList
	KindSet
	KindZSet
	KindHash
	KindStream
)

// String returns the name the Redis TYPE command uses for k.
func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindList:
		return "list"
	case KindSet:
		return "set"
	case KindZSet:
		return "zset"
	case KindHash:
		return "hash"
	case KindStream:
		return "stream"
	}
	return "kind-" + strconv.Itoa(int(k))
}

// Value is a decoded Redis value: one of String, List, Set, ZSet, Hash or
// *Stream. Values returned by the Reader own their memory, but the byte slices
// inside one value may share a backing array (and stream entries share their
// field names), so treat them as read-only or copy before mutating.
type Value interface {
	Kind() Kind
	isValue()
}

// String is a Redis string value.
type String []byte

// List is a Redis list, head first.
type List [][]byte

// Set is a Redis set; member order is unspecified.
type Set [][]byte

// ZSet is a Redis sorted set; member order is unspecified when writing and is
// the file's order when reading.
type ZSet []ZMember

// Hash is a Redis hash; field order is unspecified.
type Hash []FieldValue

// ZMember is one member of a sorted set.
type ZMember struct {
	Member []byte
	Score  float64
}

// FieldValue is one field of a hash or of a stream entry.
type FieldValue struct {
	Field, Value []byte
}

// Kind reports KindString.
func (String) Kind() Kind { return KindString }

// Kind reports KindList.
func (List) Kind() Kind { return KindList }

// Kind reports KindSet.
func (Set) Kind() Kind { return KindSet }

// Kind reports KindZSet.
func (ZSet) Kind() Kind { return KindZSet }

// Kind reports KindHash.
func (Hash) Kind() Kind { return KindHash }

// Kind reports KindStream.
func (*Stream) Kind() Kind { return KindStream }

func (String) isValue()  {}
func (List) isValue()    {}
func (Set) isValue()     {}
func (ZSet) isValue()    {}
func (Hash) isValue()    {}
func (*Stream) isValue() {}

// StreamID is a stream entry ID, ms-seq.
type StreamID struct {
	Ms, Seq uint64
}

// String formats the ID as Redis does, "ms-seq".
func (id StreamID) String() string {
	return strconv.FormatUint(id.Ms, 10) + "-" + strconv.FormatUint(id.Seq, 10)
}

// Less reports whether id sorts before o.
func (id StreamID) Less(o StreamID) bool {
	return id.Ms < o.Ms || (id.Ms == o.Ms && id.Seq < o.Seq)
}

// Stream is a Redis stream with its consumer groups (t_stream.c).
type Stream struct {
	// Entries are the live entries in ascending ID order; XLEN is len(Entries).
	Entries []StreamEntry
	// LastID is the last ID ever generated (XINFO STREAM last-generated-id).
	LastID StreamID
	// FirstID is the ID of the first live entry, 0-0 when empty.
	FirstID StreamID
	// MaxDeletedID is the greatest ID ever deleted (max-deleted-entry-id).
	MaxDeletedID StreamID
	// EntriesAdded counts every entry ever added (entries-added).
	EntriesAdded uint64
	Groups       []StreamGroup
}

// StreamEntry is one stream entry.
type StreamEntry struct {
	ID     StreamID
	Fields []FieldValue
}

// StreamGroup is a consumer group.
type StreamGroup struct {
	Name   []byte
	LastID StreamID
	// EntriesRead is the group's logical read counter; -1 when unknown
	// (files written before 7.0 do not store it).
	EntriesRead int64
	// Pending is the group's pending entries list, in ID order.
	Pending []StreamPending
	// Consumers own the pending entries: every Pending ID appears in exactly
	// one consumer's Pending list.
	Consumers []StreamConsumer
}

// StreamPending is an entry delivered to a consumer and not yet acknowledged.
type StreamPending struct {
	ID            StreamID
	DeliveryTime  int64 // Unix ms of the last delivery
	DeliveryCount uint64
}

// StreamConsumer is a consumer of a group.
type StreamConsumer struct {
	Name     []byte
	SeenTime int64 // Unix ms of the last interaction
	// ActiveTime is the Unix ms of the last successful read; files written
	// before 7.2 do not store it and it is then SeenTime, as Redis 7.2 does.
	ActiveTime int64
	Pending    []StreamID
}

// Entry is one key with its value and metadata: what the Writer writes and
// what the Reader returns in a RecordKey record.
type Entry struct {
	DB    int
	Key   []byte
	Value Value
	// ExpireAt is the absolute expiry in Unix milliseconds; 0 means none. The
	// Reader reports a stored expiry of 0 as 1 so that it still reads as
	// expired (long ago) rather than as no expiry.
	ExpireAt int64
	// Idle is the LRU idle time in seconds, present when HasIdle (Redis
	// writes it under an LRU maxmemory-policy).
	Idle    uint64
	HasIdle bool
	// Freq is the LFU logarithmic counter, present when HasFreq (Redis
	// writes it under an LFU maxmemory-policy).
	Freq    uint8
	HasFreq bool
}

// RecordType says what a Record returned by Reader.Next carries.
type RecordType uint8

// The kinds of records a Reader returns.
const (
	// RecordKey is a key with its value (Record.Entry, Record.Encoding).
	RecordKey RecordType = iota + 1
	// RecordAux is an AUX field (Record.AuxKey, Record.AuxValue), such as
	// redis-ver or ctime.
	RecordAux
	// RecordFunction is a function library (Record.FunctionCode), as
	// FUNCTION LOAD takes it.
	RecordFunction
	// RecordResizeDB is the size hint for the database in Record.DB
	// (Record.DBSize, Record.ExpiresSize).
	RecordResizeDB
)

// String names the record type.
func (t RecordType) String() string {
	switch t {
	case RecordKey:
		return "key"
	case RecordAux:
		return "aux"
	case RecordFunction:
		return "function"
	case RecordResizeDB:
		return "resizedb"
	}
	return "record-" + strconv.Itoa(int(t))
}

// Record is one item of an RDB file.
type Record struct {
	Type RecordType
	// Offset is the byte offset in the file where the record starts
	// (including any EXPIRETIME/IDLE/FREQ prefix of a key).
	Offset int64
	// Entry is the key for RecordKey; Entry.DB is also set for RecordResizeDB.
	Entry
	// Encoding is the RDB object type the value was stored with (RecordKey).
	Encoding Encoding
	// AuxKey and AuxValue are set for RecordAux.
	AuxKey, AuxValue []byte
	// FunctionCode is the library source for RecordFunction. Files from
	// 7.0-rc1/rc2 are translated to the "#!<engine> name=<lib>\n<code>" form
	// as Redis 7.0 does when loading them.
	FunctionCode []byte
	// DBSize and ExpiresSize are set for RecordResizeDB.
	DBSize, ExpiresSize uint64
}

// CorruptError reports invalid input: a bad header, an impossible length, a
// malformed embedded encoding, a checksum mismatch, a truncated file.
type CorruptError struct {
	// Offset is the byte offset in the input where the problem was found,
	// or where the string holding a malformed embedded encoding starts.
	Offset int64
	// Key is the key being decoded, if any.
	Key []byte
	Msg string
	// Err is an underlying cause such as io.ErrUnexpectedEOF, or nil.
	Err error
}

// Error describes the problem with its offset and key.
func (e *CorruptError) Error() string {
	s := "rdb: corrupt input at offset " + strconv.FormatInt(e.Offset, 10)
	if e.Key != nil {
		s += " (key " + strconv.Quote(truncateForError(e.Key)) + ")"
	}
	return s + ": " + e.Msg
}

// Unwrap returns the underlying cause.
func (e *CorruptError) Unwrap() error { return e.Err }

// ErrChecksum is wrapped by the CorruptError reporting a CRC64 mismatch.
var ErrChecksum = errors.New("rdb: checksum mismatch")

// VersionError reports an RDB version this package does not accept.
type VersionError struct {
	Version int
	Max     int
}

// Error names the refused version, in the words Redis logs.
func (e *VersionError) Error() string {
	return fmt.Sprintf("rdb: can't handle RDB format version %d (this reader accepts 1..%d)", e.Version, e.Max)
}

// UnsupportedError reports a value the Reader stepped over because it has no
// Go representation here (a module value). The Reader stays usable: call Next
// again to continue with the following record.
type UnsupportedError struct {
	Offset   int64
	DB       int
	Key      []byte
	Encoding Encoding
	// Module is the module type name for module values, such as "ReJSON-RL".
	Module string
}

// Error names the skipped key, its type and module.
func (e *UnsupportedError) Error() string {
	s := fmt.Sprintf("rdb: skipped %s value of key %q in db %d at offset %d",
		e.Encoding, truncateForError(e.Key), e.DB, e.Offset)
	if e.Module != "" {
		s += " (module type " + e.Module + ")"
	}
	return s
}

func truncateForError(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}
