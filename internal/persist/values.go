// Package persist keeps the keyspace on disk: RDB snapshots (dump.rdb),
// the append-only file, loading at startup, background saves and
// rewrites, save points, and the durability status the front ends report
// (MISCONF, replies that wait for fsync). Snapshots are fork-less: it reads
// a keyspace.Snapshot while the server runs on. Imports: keyspace,
// keyspace/ds, persist/aof, persist/rdb.
package persist

import (
	"errors"
	"fmt"

	"ferry/internal/keyspace"
	"ferry/internal/keyspace/ds"
	"ferry/internal/persist/rdb"
)

// Limits are the collection encoding thresholds new values are built with
// (the redis.conf options of the same names).
type Limits struct {
	HashEntries, HashValue int
	SetIntset              int
	ZSetEntries, ZSetValue int
	ListSize               int
}

// DefaultLimits are redis-server 7.0.15's defaults.
var DefaultLimits = Limits{HashEntries: 512, HashValue: 64, SetIntset: 512, ZSetEntries: 128, ZSetValue: 64, ListSize: -2}

// sized is what every collection reports.
type sized interface{ MemSize() int64 }

// ToRDB converts a keyspace value (a string, or a ds collection) to the RDB
// codec's plain form. The collection is only read.
func ToRDB(typ keyspace.Type, str []byte, obj any) (rdb.Value, error) {
	switch typ {
	case keyspace.TypeString:
		return rdb.String(str), nil
	case keyspace.TypeList:
		l := obj.(*ds.List)
		out := make(rdb.List, 0, l.Len())
		l.Iter(false, func(v []byte) bool { out = append(out, v); return true })
		return out, nil
	case keyspace.TypeSet:
		s := obj.(*ds.Set)
		out := make(rdb.Set, 0, s.Len())
		if s.Encoding() == "intset" {
			// An intset formats each member into one scratch buffer, valid
			// only during the call: keep them all in one buffer of our own.
			buf := make([]byte, 0, 20*s.Len())
			s.Each(func(m []byte) bool {
				start := len(buf)
				buf = append(buf, m...)
				out = append(out, buf[start:len(buf):len(buf)])
				return true
			})
			return out, nil
		}
		s.Each(func(m []byte) bool { out = append(out, m); return true })
		return out, nil
	case keyspace.TypeHash:
		h := obj.(*ds.Hash)
		out := make(rdb.Hash, 0, h.Len())
		h.Each(func(f, v []byte) bool { out = append(out, rdb.FieldValue{Field: f, Value: v}); return true })
		return out, nil
	case keyspace.TypeZSet:
		z := obj.(*ds.ZSet)
		out := make(rdb.ZSet, 0, z.Card())
		z.Iter(false, func(m []byte, score float64) bool {
			out = append(out, rdb.ZMember{Member: m, Score: score})
			return true
		})
		return out, nil
	}
	return nil, fmt.Errorf("persist: cannot save values of type %s", typ)
}

// ErrUnsupportedType is returned for RDB values Ferry has no type for yet
// (streams, module values).
var ErrUnsupportedType = errors.New("persist: value type not supported")

// FromRDB builds a keyspace value from a decoded RDB value: the type, and
// either the string bytes or a ds collection with its memory size. The
// value's bytes are copied (the RDB reader reuses its buffers).
func FromRDB(v rdb.Value, lim Limits) (keyspace.Type, []byte, any, int64, error) {
	switch x := v.(type) {
	case rdb.String:
		return keyspace.TypeString, append([]byte(nil), x...), nil, 0, nil
	case rdb.List:
		l := ds.NewList(lim.ListSize)
		l.PushRight(x...)
		return keyspace.TypeList, nil, l, l.MemSize(), nil
	case rdb.Set:
		s := ds.NewSet(lim.SetIntset)
		for _, m := range x {
			s.Add(m)
		}
		return keyspace.TypeSet, nil, s, s.MemSize(), nil
	case rdb.Hash:
		h := ds.NewHash(lim.HashEntries, lim.HashValue)
		for _, fv := range x {
			h.Set(fv.Field, fv.Value)
		}
		return keyspace.TypeHash, nil, h, h.MemSize(), nil
	case rdb.ZSet:
		z := ds.NewZSet(lim.ZSetEntries, lim.ZSetValue)
		for _, m := range x {
			if _, _, err := z.Add(m.Member, m.Score, 0); err != nil {
				return 0, nil, nil, 0, err
			}
		}
		return keyspace.TypeZSet, nil, z, z.MemSize(), nil
	}
	return 0, nil, nil, 0, fmt.Errorf("%w: %s", ErrUnsupportedType, v.Kind())
}

// Store puts a decoded value under key in the Txn's database, with an
// absolute expiry (0 = none) and memcached flags.
func Store(t *keyspace.Txn, key []byte, typ keyspace.Type, str []byte, obj any, size int64, expire int64, flags uint32) {
	if typ == keyspace.TypeString {
		t.SetString(key, str, flags, expire)
		return
	}
	e := t.SetObject(key, typ, obj, size)
	if expire != 0 {
		t.SetExpire(e, expire)
	}
}
