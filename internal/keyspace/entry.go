package keyspace

import (
	"hash/maphash"
	"slices"
	"unsafe"
)

// Type is a value's Redis type.
type Type uint8

// The value types. TypeNone is what TYPE says of a missing key.
const (
	TypeNone Type = iota
	TypeString
	TypeList
	TypeSet
	TypeZSet
	TypeHash
	TypeStream
)

// String returns the name TYPE replies with.
func (t Type) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeList:
		return "list"
	case TypeSet:
		return "set"
	case TypeZSet:
		return "zset"
	case TypeHash:
		return "hash"
	case TypeStream:
		return "stream"
	}
	return "none"
}

// Entry is one key and its value. It is laid out to fit Go's 64-byte size
// class, one cache line: a million keys are a million of these plus one
// byte buffer each, so every field here costs real memory. Strings keep key
// and value bytes in one pointer-free buffer, which the garbage collector
// never scans. The fields a dict lookup reads (chain, data, key length)
// come first. There is no LRU list: eviction samples entries by atime, as
// Redis does, so an access writes only the entry itself.
//
// An Entry may be read or changed only while its shard is locked (inside a
// Txn), and must not be kept after the Txn ends.
type Entry struct {
	hnext *Entry         // next in the dict bucket chain
	data  unsafe.Pointer // TypeString: key bytes then value bytes; else *object
	klen  uint32         // key length
	vlen  uint32         // string value length

	expire int64  // absolute Unix time in ms; 0 = persistent
	cas    uint64 // memcached's CAS unique; changes on every write
	atime  int64  // last access, ns on the keyspace's monotonic clock

	dcap  uint32 // capacity of the string buffer (key+value)
	hidx  int32  // position in the shard's expiry heap; -1 if none
	flags uint32 // memcached's client flags

	typ  Type
	enc  uint8 // strings: front-end marks; bit 7 (encShared): a snapshot reads the value
	dict uint8 // physical database id
	lfu  uint8 // LFU counter (logarithmic, as Redis's), decayed by idle time
}

// object holds a non-string value. Its key is kept here because the entry's
// data pointer is taken by the value.
type object struct {
	key  []byte
	val  any
	size int64 // accounted bytes of val, kept up to date by Txn.Account
}

// entryOverhead is what an entry costs beyond its buffers: the Entry itself
// and about one and a half dict bucket pointers (load factor 0.5–1).
const entryOverhead = int64(unsafe.Sizeof(Entry{})) + 12

// objectOverhead is the object header of a non-string value.
const objectOverhead = int64(unsafe.Sizeof(object{}))

// Key returns the entry's key. The slice aliases the entry's storage.
func (e *Entry) Key() []byte {
	if e.typ == TypeString {
		return unsafe.Slice((*byte)(e.data), e.klen)
	}
	return (*object)(e.data).key
}

// Type returns the value's type.
func (e *Entry) Type() Type { return e.typ }

// Value returns a string entry's value, aliasing the entry's storage: copy it
// before the Txn ends. It is nil for other types.
func (e *Entry) Value() []byte {
	if e.typ != TypeString {
		return nil
	}
	return unsafe.Slice((*byte)(e.data), e.klen+e.vlen)[e.klen:]
}

// Object returns a non-string entry's value (nil for strings).
func (e *Entry) Object() any {
	if e.typ == TypeString {
		return nil
	}
	return (*object)(e.data).val
}

// Expire returns the absolute expiry in Unix ms, or 0 when the key persists.
func (e *Entry) Expire() int64 { return e.expire }

// CAS returns memcached's CAS unique of the current value.
func (e *Entry) CAS() uint64 { return e.cas }

// Flags returns memcached's client flags.
func (e *Entry) Flags() uint32 { return e.flags }

// size is the memory the entry is accounted for.
func (e *Entry) size() int64 {
	if e.typ == TypeString {
		return entryOverhead + int64(e.dcap)
	}
	o := (*object)(e.data)
	return entryOverhead + objectOverhead + int64(cap(o.key)) + o.size
}

// ItemSize is the accounted memory of a string item with the given key and
// value lengths, for callers that must reserve room before storing it.
func ItemSize(klen, vlen int) int64 {
	return entryOverhead + int64(allocSize(klen+vlen))
}

// setString points e at a buffer holding key and val, reusing e's buffer
// when val fits and would not waste more than half of it.
func (e *Entry) setString(key, val []byte) {
	n := len(key) + len(val)
	// A buffer a snapshot still reads is never written in place.
	if e.typ == TypeString && e.data != nil && e.enc&encShared == 0 && len(val) == int(e.vlen) &&
		len(val) > 0 && unsafe.SliceData(val) == (*byte)(unsafe.Add(e.data, e.klen)) {
		return // the entry's own bytes (a caller about to write in place): keep its room
	}
	if e.typ == TypeString && e.data != nil && e.enc&encShared == 0 && n <= int(e.dcap) && n*2 >= int(e.dcap) {
		buf := unsafe.Slice((*byte)(e.data), e.dcap)
		copy(buf[e.klen:], val) // key unchanged; copy is a memmove, so val may alias buf
		e.vlen = uint32(len(val))
		return
	}
	buf := slices.Grow([]byte(nil), n)[:n]
	copy(buf, key)
	copy(buf[len(key):], val)
	e.typ = TypeString
	e.data = unsafe.Pointer(unsafe.SliceData(buf))
	e.klen, e.vlen, e.dcap = uint32(len(key)), uint32(len(val)), uint32(cap(buf))
}

// setObject makes e hold a non-string value.
func (e *Entry) setObject(key []byte, typ Type, val any, size int64) {
	k := slices.Clone(key)
	e.data = unsafe.Pointer(&object{key: k, val: val, size: size})
	e.typ = typ
	e.klen, e.vlen, e.dcap = uint32(len(key)), 0, 0
}

// sizeClasses are the Go allocator's small object sizes (runtime/sizeclasses.go);
// TestAllocSizeMatchesRuntime checks them against the running runtime.
var sizeClasses = [...]uint32{8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160,
	176, 192, 208, 224, 240, 256, 288, 320, 352, 384, 416, 448, 480, 512, 576,
	640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048, 2304, 2688,
	3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472,
	9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760,
	24576, 27264, 28672, 32768}

// allocSize is the capacity Go's allocator gives a byte slice of n bytes,
// computed without allocating.
func allocSize(n int) int {
	if n <= 0 {
		return 0
	}
	if n > 32768 {
		const page = 8192
		return (n + page - 1) / page * page
	}
	lo, hi := 0, len(sizeClasses)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if int(sizeClasses[mid]) >= n {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return int(sizeClasses[lo])
}

var hashSeed = maphash.MakeSeed()

// hashKey hashes a key for dict buckets. maphash is seeded per process, so
// clients cannot choose keys that collide (hash flooding).
func hashKey(k []byte) uint64 { return maphash.Bytes(hashSeed, k) }
