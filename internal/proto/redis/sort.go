package redis

import (
	"bytes"
	"math"
	"slices"

	"ferry/internal/keyspace"
	"ferry/internal/keyspace/ds"
)

// SORT and SORT_RO (Redis's sort.c, 7.0): sort a list, set or sorted set
// numerically or (ALPHA) by bytes, by its elements or by the values of
// other keys (BY pattern, "*" replaced by the element, "key->field" for a
// hash field), return or GET other keys' values, or STORE the result as a
// list.

var _ = registerCommands(
	&Command{Name: "sort", Run: func(c *Conn, a [][]byte) { c.sort(a, false) }, Keys: sortKeys},
	cmd("sort_ro", func(c *Conn, a [][]byte) { c.sort(a, true) }),
)

// sortKeys finds SORT's keys as Redis's sortGetKeys: the sorted key and
// the last STORE destination. BY and GET patterns name keys that are only
// known while sorting; SORT locks every shard when it uses them.
func sortKeys(args [][]byte) [][]byte {
	if len(args) < 2 {
		return nil
	}
	keys := [][]byte{args[1]}
	var store []byte
	for i := 2; i < len(args); i++ {
		switch a := args[i]; {
		case equalFold(a, "limit"):
			i += 2
		case equalFold(a, "get"), equalFold(a, "by"):
			i++
		case equalFold(a, "store") && i+1 < len(args):
			store = args[i+1] // not skipped, as in Redis
		}
	}
	if store != nil {
		keys = append(keys, store)
	}
	return keys
}

// sortElem is one element being sorted: where its bytes are in the
// sorter's buffer, and what it sorts by.
type sortElem struct {
	off, len int
	score    float64
	by       []byte // ALPHA with BY: the BY value, if hasBy
	hasBy    bool
}

// sorter holds SORT's elements, copied into one buffer (a set's intset
// hands out a reused buffer).
type sorter struct {
	buf   []byte
	elems []sortElem
}

func (s *sorter) add(b []byte) {
	s.elems = append(s.elems, sortElem{off: len(s.buf), len: len(b)})
	s.buf = append(s.buf, b...)
}

func (s *sorter) elem(i int) []byte {
	e := s.elems[i]
	return s.buf[e.off : e.off+e.len : e.off+e.len]
}

func (c *Conn) sort(args [][]byte, readonly bool) {
	var (
		desc, alpha, dontsort bool
		limitStart            int64
		limitCount            int64 = -1
		sortby, storekey      []byte
		gets                  [][]byte
	)
	for j := 2; j < len(args); j++ {
		left := len(args) - j - 1
		a := args[j]
		switch {
		case equalFold(a, "asc"):
			desc = false
		case equalFold(a, "desc"):
			desc = true
		case equalFold(a, "alpha"):
			alpha = true
		case equalFold(a, "limit") && left >= 2:
			var ok bool
			if limitStart, ok = c.intArg(args[j+1]); !ok {
				return
			}
			if limitCount, ok = c.intArg(args[j+2]); !ok {
				return
			}
			j += 2
		case !readonly && equalFold(a, "store") && left >= 1:
			storekey = args[j+1]
			j++
		case equalFold(a, "by") && left >= 1:
			sortby = args[j+1]
			// A constant BY (no '*') means "do not sort"; as in Redis, a
			// later BY with a pattern does not undo it.
			if bytes.IndexByte(sortby, '*') < 0 {
				dontsort = true
			}
			j++
		case equalFold(a, "get") && left >= 1:
			gets = append(gets, args[j+1])
			j++
		default:
			c.out.Error(errSyntax)
			return
		}
	}

	// Patterns read keys known only while sorting: lock every shard then.
	needAll := sortby != nil && !dontsort
	for _, g := range gets {
		if !(len(g) == 1 && g[0] == '#') && bytes.IndexByte(g, '*') >= 0 {
			needAll = true
		}
	}
	var t *keyspace.Txn
	switch {
	case needAll:
		t = c.lockAll()
	case storekey != nil:
		t = c.lockKeys([][]byte{args[1], storekey})
	default:
		t = c.lock(args[1])
	}
	defer c.unlock(t)

	e := t.Lookup(args[1])
	typ := keyspace.TypeList // a missing key sorts as an empty list
	if e != nil {
		typ = e.Type()
		if typ != keyspace.TypeList && typ != keyspace.TypeSet && typ != keyspace.TypeZSet {
			c.out.Error(errWrongType)
			return
		}
	}
	// A set has no order of its own: when the result is stored, sort it
	// (by bytes) so that it does not depend on the set's layout.
	if dontsort && typ == keyspace.TypeSet && storekey != nil {
		dontsort, alpha, sortby = false, true, nil
	}

	// Redis converts a listpack sorted set to a skiplist for good before
	// sorting it ("Destructively convert encoded sorted sets for SORT"),
	// which OBJECT ENCODING shows; so does Ferry.
	if e != nil && typ == keyspace.TypeZSet {
		if z := e.Object().(*ds.ZSet); z.Encoding() == "listpack" {
			z = t.Mutable(e).(*ds.ZSet)
			z.ToSkiplist()
			t.Resized(e, z.MemSize())
		}
	}

	var length int
	if e != nil {
		switch typ {
		case keyspace.TypeList:
			length = e.Object().(*ds.List).Len()
		case keyspace.TypeSet:
			length = e.Object().(interface{ Len() int }).Len()
		case keyspace.TypeZSet:
			length = e.Object().(*ds.ZSet).Card()
		}
	}
	// LIMIT, clamped as Redis does (start..end inclusive, maybe empty).
	start := int(min(max(limitStart, 0), int64(length)))
	count := int(min(max(limitCount, -1), int64(length)))
	end := length - 1
	if count >= 0 {
		end = start + count - 1
	}
	if start >= length {
		start, end = length-1, length-2
	}
	end = min(end, length-1)

	var s sorter
	if e != nil {
		switch obj := e.Object(); {
		case dontsort && typ == keyspace.TypeList:
			// The list's own order (reversed by DESC), only the LIMIT range.
			l := obj.(*ds.List)
			if end >= start {
				if desc {
					l.Range(length-1-end, length-1-start, func(v []byte) bool { s.add(v); return true })
					slices.Reverse(s.elems)
				} else {
					l.Range(start, end, func(v []byte) bool { s.add(v); return true })
				}
			}
			end -= start
			start = 0
		case dontsort && typ == keyspace.TypeZSet:
			z := obj.(*ds.ZSet)
			if end >= start {
				z.RangeByRank(start, end, desc, func(m []byte, _ float64) bool { s.add(m); return true })
			}
			end -= start
			start = 0
		case typ == keyspace.TypeList:
			obj.(*ds.List).Iter(false, func(v []byte) bool { s.add(v); return true })
		case typ == keyspace.TypeSet:
			obj.(interface {
				Each(func([]byte) bool)
			}).Each(func(m []byte) bool { s.add(m); return true })
		default:
			obj.(*ds.ZSet).Iter(false, func(m []byte, _ float64) bool { s.add(m); return true })
		}
	}

	if !dontsort {
		badScore := false
		for i := range s.elems {
			byval := s.elem(i)
			if sortby != nil {
				v, found := lookupByPattern(t, sortby, byval)
				if !found {
					continue // no value: score 0, or first for ALPHA
				}
				byval = v
			}
			if alpha {
				if sortby != nil {
					s.elems[i].by, s.elems[i].hasBy = byval, true
				}
				continue
			}
			f, erange, ok := strtod(byval)
			if !ok || erange || math.IsNaN(f) {
				badScore = true
			}
			s.elems[i].score = f
		}
		if badScore {
			c.out.Error("ERR One or more scores can't be converted into double")
			return
		}
		slices.SortStableFunc(s.elems, func(a, b sortElem) int {
			var cmp int
			switch {
			case !alpha:
				switch {
				case a.score > b.score:
					cmp = 1
				case a.score < b.score:
					cmp = -1
				default:
					// Equal scores: by bytes, so the result is deterministic.
					cmp = bytes.Compare(s.buf[a.off:a.off+a.len], s.buf[b.off:b.off+b.len])
				}
			case sortby != nil:
				switch {
				case !a.hasBy && !b.hasBy:
					cmp = 0
				case !a.hasBy:
					cmp = -1
				case !b.hasBy:
					cmp = 1
				default:
					cmp = bytes.Compare(a.by, b.by)
				}
			default:
				cmp = bytes.Compare(s.buf[a.off:a.off+a.len], s.buf[b.off:b.off+b.len])
			}
			if desc {
				return -cmp
			}
			return cmp
		})
	}

	n := max(end-start+1, 0)
	outputLen := n
	if len(gets) > 0 {
		outputLen = len(gets) * n
	}
	if storekey == nil {
		c.out.Array(outputLen)
		for i := start; i <= end; i++ {
			if len(gets) == 0 {
				c.out.Bulk(s.elem(i))
			}
			for _, g := range gets {
				if v, found := lookupByPattern(t, g, s.elem(i)); found {
					c.out.Bulk(v)
				} else {
					c.out.Null()
				}
			}
		}
		return
	}
	if outputLen == 0 {
		c.storeEmpty(t, storekey)
		return
	}
	l := c.srv.newList()
	for i := start; i <= end; i++ {
		if len(gets) == 0 {
			l.PushRight(s.elem(i))
		}
		for _, g := range gets {
			v, _ := lookupByPattern(t, g, s.elem(i))
			l.PushRight(v) // a missing value is stored as ""
		}
	}
	c.createColl(t, storekey, keyspace.TypeList, l)
	c.notify(notifyList, "sortstore", storekey)
	c.out.Int(int64(outputLen))
}

// lookupByPattern returns the value a BY or GET pattern names for element
// subst, as Redis's lookupKeyByPattern: "#" is the element itself; else
// the first '*' is replaced by the element to name a string key, or, with
// "->field" after the '*', a hash key and its field. A pattern without '*',
// a missing key or field, or a key of another type give nothing.
func lookupByPattern(t *keyspace.Txn, pattern, subst []byte) ([]byte, bool) {
	if len(pattern) == 1 && pattern[0] == '#' {
		return subst, true
	}
	p := bytes.IndexByte(pattern, '*')
	if p < 0 {
		return nil, false
	}
	postfix, field := pattern[p+1:], []byte(nil)
	if f := bytes.Index(postfix, []byte("->")); f >= 0 && f+2 < len(postfix) {
		postfix, field = postfix[:f], postfix[f+2:]
	}
	var stack [128]byte
	key := append(append(append(stack[:0], pattern[:p]...), subst...), postfix...)
	e := t.Lookup(key)
	if e == nil {
		return nil, false
	}
	if field != nil {
		if e.Type() != keyspace.TypeHash {
			return nil, false
		}
		h, ok := e.Object().(interface {
			Get(field []byte) ([]byte, bool)
		})
		if !ok {
			return nil, false
		}
		return h.Get(field)
	}
	if e.Type() != keyspace.TypeString {
		return nil, false
	}
	return e.Value(), true
}
