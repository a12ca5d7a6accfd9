package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Stream value (rdb.c rdbSaveObject, t_stream.c), types 15, 19 and 21:
//
//	<len nodes> ( <string: master ID, 16 bytes: ms u64be, seq u64be>
//	              <string: listpack> )*
//	<len length> <len last.ms> <len last.seq>
//	[19, 21: <len first.ms> <len first.seq> <len maxdel.ms> <len maxdel.seq>
//	         <len entries-added>]
//	<len groups> ( <string name> <len last.ms> <len last.seq>
//	               [19, 21: <len entries-read>]
//	               <len pel> ( <16 bytes ID> <u64le delivery ms> <len count> )*
//	               <len consumers> ( <string name> <u64le seen ms>
//	                                 [21: <u64le active ms>]
//	                                 <len pel> <16 bytes ID>* )* )*
//
// Each node listpack holds a master entry and then the entries, IDs relative
// to the master ID:
//
//	<count> <deleted> <num master fields> <master field>... <0>
//	( <flags> <ms-diff> <seq-diff>
//	  ( <num fields> (<field> <value>)*   |  <value>* when flags & SAMEFIELDS )
//	  <lp-count> )*
//
// count/deleted count the live and deleted entries of the node; flags bit 0
// marks a deleted entry, bit 1 an entry with exactly the master fields;
// lp-count is the entry's number of listpack elements after the first three
// (fields + 3 with SAMEFIELDS, 2*fields + 4 without).

const (
	streamFlagDeleted    = 1
	streamFlagSameFields = 2
	streamIDSize         = 16
)

func decodeStreamID(b []byte) StreamID {
	return StreamID{Ms: binary.BigEndian.Uint64(b), Seq: binary.BigEndian.Uint64(b[8:])}
}

func appendStreamID(dst []byte, id StreamID) []byte {
	dst = binary.BigEndian.AppendUint64(dst, id.Ms)
	return binary.BigEndian.AppendUint64(dst, id.Seq)
}

func (r *Reader) readStreamID(what string) (StreamID, error) {
	ms, err := r.readPlainLen(what)
	if err != nil {
		return StreamID{}, err
	}
	seq, err := r.readPlainLen(what)
	return StreamID{Ms: ms, Seq: seq}, err
}

func (r *Reader) readMillis() (int64, error) {
	p, err := r.readN(8)
	if err != nil {
		return 0, err
	}
	return int64(binary.LittleEndian.Uint64(p)), nil
}

func (r *Reader) readStream(enc Encoding) (Value, error) {
	nodes, err := r.readCount("stream node count")
	if err != nil {
		return nil, err
	}
	s := &Stream{}
	a := &r.ar
	for i := 0; i < nodes; i++ {
		kb, koff, err := r.readBlob()
		if err != nil {
			return nil, err
		}
		if len(kb) != streamIDSize {
			return nil, r.corrupt(koff, "stream node key of %d bytes, want %d", len(kb), streamIDSize)
		}
		master := decodeStreamID(kb)
		lp, loff, err := r.readBlob()
		if err != nil {
			return nil, err
		}
		before := len(s.Entries)
		if s.Entries, err = decodeStreamNode(master, lp, s.Entries, a); err != nil {
			return nil, r.wrapBlobErr(loff, err)
		}
		for j := max(before, 1); j < len(s.Entries); j++ {
			if !s.Entries[j-1].ID.Less(s.Entries[j].ID) {
				return nil, r.corrupt(loff, "stream entry %s does not follow %s", s.Entries[j].ID, s.Entries[j-1].ID)
			}
		}
	}
	lenOff := r.off()
	length, err := r.readPlainLen("stream length")
	if err != nil {
		return nil, err
	}
	if length != uint64(len(s.Entries)) {
		return nil, r.corrupt(lenOff, "stream length %d but %d entries", length, len(s.Entries))
	}
	if s.LastID, err = r.readStreamID("stream last id"); err != nil {
		return nil, err
	}
	if enc == EncStreamListpacks {
		if len(s.Entries) > 0 {
			s.FirstID = s.Entries[0].ID
		}
		s.EntriesAdded = length
	} else {
		if s.FirstID, err = r.readStreamID("stream first id"); err != nil {
			return nil, err
		}
		if s.MaxDeletedID, err = r.readStreamID("stream max deleted id"); err != nil {
			return nil, err
		}
		if s.EntriesAdded, err = r.readPlainLen("stream entries added"); err != nil {
			return nil, err
		}
	}
	ng, err := r.readCount("stream group count")
	if err != nil {
		return nil, err
	}
	s.Groups = make([]StreamGroup, 0, capHint(ng))
	for i := 0; i < ng; i++ {
		g, err := r.readStreamGroup(enc)
		if err != nil {
			return nil, err
		}
		s.Groups = append(s.Groups, g)
	}
	if i := firstDup(len(s.Groups), func(i int) []byte { return s.Groups[i].Name }); i >= 0 {
		return nil, r.corrupt(lenOff, "duplicate consumer group %q", truncateForError(s.Groups[i].Name))
	}
	return s, nil
}

func (r *Reader) readStreamGroup(enc Encoding) (StreamGroup, error) {
	var g StreamGroup
	var err error
	off := r.off()
	if g.Name, err = r.readArenaString(); err != nil {
		return g, err
	}
	if g.LastID, err = r.readStreamID("group last id"); err != nil {
		return g, err
	}
	g.EntriesRead = -1
	if enc != EncStreamListpacks {
		v, err := r.readPlainLen("group entries read")
		if err != nil {
			return g, err
		}
		if v > math.MaxInt64 {
			g.EntriesRead = -1 // SCG_INVALID_ENTRIES_READ saved as an unsigned length
		} else {
			g.EntriesRead = int64(v)
		}
	}
	n, err := r.readCount("group pel size")
	if err != nil {
		return g, err
	}
	g.Pending = make([]StreamPending, 0, capHint(n))
	pel := make(map[StreamID]bool, capHint(n))
	for i := 0; i < n; i++ {
		idOff := r.off()
		p, err := r.readN(streamIDSize)
		if err != nil {
			return g, err
		}
		id := decodeStreamID(p)
		if _, dup := pel[id]; dup {
			return g, r.corrupt(idOff, "duplicate pending entry %s in group %q", id, truncateForError(g.Name))
		}
		pel[id] = false
		var pe StreamPending
		pe.ID = id
		if pe.DeliveryTime, err = r.readMillis(); err != nil {
			return g, err
		}
		if pe.DeliveryCount, err = r.readPlainLen("delivery count"); err != nil {
			return g, err
		}
		g.Pending = append(g.Pending, pe)
	}
	nc, err := r.readCount("consumer count")
	if err != nil {
		return g, err
	}
	g.Consumers = make([]StreamConsumer, 0, capHint(nc))
	for i := 0; i < nc; i++ {
		var c StreamConsumer
		if c.Name, err = r.readArenaString(); err != nil {
			return g, err
		}
		if c.SeenTime, err = r.readMillis(); err != nil {
			return g, err
		}
		c.ActiveTime = c.SeenTime
		if enc == EncStreamListpacks3 {
			if c.ActiveTime, err = r.readMillis(); err != nil {
				return g, err
			}
		}
		np, err := r.readCount("consumer pel size")
		if err != nil {
			return g, err
		}
		c.Pending = make([]StreamID, 0, capHint(np))
		mine := make(map[StreamID]struct{}, capHint(np))
		for j := 0; j < np; j++ {
			idOff := r.off()
			p, err := r.readN(streamIDSize)
			if err != nil {
				return g, err
			}
			id := decodeStreamID(p)
			if _, ok := pel[id]; !ok {
				return g, r.corrupt(idOff, "consumer %q pending entry %s is not in the group pending list",
					truncateForError(c.Name), id)
			}
			if _, dup := mine[id]; dup {
				return g, r.corrupt(idOff, "duplicate pending entry %s for consumer %q", id, truncateForError(c.Name))
			}
			mine[id] = struct{}{}
			c.Pending = append(c.Pending, id)
		}
		g.Consumers = append(g.Consumers, c)
	}
	if i := firstDup(len(g.Consumers), func(i int) []byte { return g.Consumers[i].Name }); i >= 0 {
		return g, r.corrupt(off, "duplicate consumer %q in group %q",
			truncateForError(g.Consumers[i].Name), truncateForError(g.Name))
	}
	return g, nil
}

// decodeStreamNode appends the live entries of one node listpack to out.
func decodeStreamNode(master StreamID, lp []byte, out []StreamEntry, a *arena) ([]StreamEntry, error) {
	it, count, err := lpOpen(lp)
	if err != nil {
		return out, err
	}
	if it.done() {
		return out, errors.New("stream: empty listpack")
	}
	// readCount bounds a count by the bytes left: every counted item takes
	// at least per bytes, so a lying count cannot size an allocation.
	readCount := func(what string, per int) (int, error) {
		v, err := it.nextInt()
		if err != nil {
			return 0, err
		}
		if v < 0 || v > int64((len(lp)-it.pos)/per) {
			return 0, fmt.Errorf("stream: invalid %s %d", what, v)
		}
		return int(v), nil
	}
	live, err := readCount("entry count", 1)
	if err != nil {
		return out, err
	}
	deleted, err := readCount("deleted count", 1)
	if err != nil {
		return out, err
	}
	nf, err := readCount("master field count", 2)
	if err != nil {
		return out, err
	}
	masterFields := make([][]byte, nf)
	for i := range masterFields {
		s, v, isInt, err := it.next()
		if err != nil {
			return out, err
		}
		masterFields[i] = a.elem(s, v, isInt)
	}
	if z, err := it.nextInt(); err != nil {
		return out, err
	} else if z != 0 {
		return out, errors.New("stream: master entry not terminated by 0")
	}
	seenLive, seenDeleted := 0, 0
	for n := 0; n < live+deleted; n++ {
		if it.done() {
			return out, fmt.Errorf("stream: listpack ends after %d of %d entries", n, live+deleted)
		}
		flags, err := it.nextInt()
		if err != nil {
			return out, err
		}
		msDiff, err := it.nextInt()
		if err != nil {
			return out, err
		}
		seqDiff, err := it.nextInt()
		if err != nil {
			return out, err
		}
		isDeleted := flags&streamFlagDeleted != 0
		fields := nf
		extra := 3
		same := flags&streamFlagSameFields != 0
		if !same {
			if fields, err = readCount("field count", 4); err != nil {
				return out, err
			}
			extra += fields + 1
		}
		var fv []FieldValue
		if !isDeleted {
			fv = make([]FieldValue, fields)
		}
		for i := 0; i < fields; i++ {
			var f []byte
			if !same {
				s, v, isInt, err := it.next()
				if err != nil {
					return out, err
				}
				if !isDeleted {
					f = a.elem(s, v, isInt)
				}
			} else {
				f = masterFields[i]
			}
			s, v, isInt, err := it.next()
			if err != nil {
				return out, err
			}
			if !isDeleted {
				fv[i] = FieldValue{Field: f, Value: a.elem(s, v, isInt)}
			}
		}
		lpCount, err := it.nextInt()
		if err != nil {
			return out, err
		}
		if lpCount != int64(fields+extra) {
			return out, fmt.Errorf("stream: entry lp-count %d, want %d", lpCount, fields+extra)
		}
		if isDeleted {
			seenDeleted++
			continue
		}
		seenLive++
		id := StreamID{Ms: master.Ms + uint64(msDiff), Seq: master.Seq + uint64(seqDiff)}
		out = append(out, StreamEntry{ID: id, Fields: fv})
	}
	if err := it.finish(count); err != nil {
		return out, err
	}
	if seenLive != live || seenDeleted != deleted {
		return out, fmt.Errorf("stream: master entry counts %d live and %d deleted, found %d and %d",
			live, deleted, seenLive, seenDeleted)
	}
	return out, nil
}

func sameFieldNames(fields []FieldValue, master [][]byte) bool {
	if len(fields) != len(master) {
		return false
	}
	for i := range fields {
		if !bytesEqual(fields[i].Field, master[i]) {
			return false
		}
	}
	return true
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// streamNode builds one node listpack for entries (all sharing the node).
func (e *encoder) streamNode(entries []StreamEntry) []byte {
	master := entries[0].ID
	mf := make([][]byte, len(entries[0].Fields))
	for i, f := range entries[0].Fields {
		mf[i] = f.Field
	}
	lp := lpStart(nil)
	lp = lpAppendInt(lp, int64(len(entries)))
	lp = lpAppendInt(lp, 0)
	lp = lpAppendInt(lp, int64(len(mf)))
	for _, f := range mf {
		lp = lpAppendString(lp, f)
	}
	lp = lpAppendInt(lp, 0)
	count := 4 + len(mf)
	for _, en := range entries {
		same := sameFieldNames(en.Fields, mf)
		flags := int64(0)
		if same {
			flags = streamFlagSameFields
		}
		lp = lpAppendInt(lp, flags)
		lp = lpAppendInt(lp, int64(en.ID.Ms-master.Ms))
		lp = lpAppendInt(lp, int64(en.ID.Seq-master.Seq))
		n := len(en.Fields)
		if same {
			for _, f := range en.Fields {
				lp = lpAppendString(lp, f.Value)
			}
			lp = lpAppendInt(lp, int64(n+3))
			count += 3 + n + 1
		} else {
			lp = lpAppendInt(lp, int64(n))
			for _, f := range en.Fields {
				lp = lpAppendString(lp, f.Field)
				lp = lpAppendString(lp, f.Value)
			}
			lp = lpAppendInt(lp, int64(2*n+4))
			count += 3 + 1 + 2*n + 1
		}
	}
	return lpFinish(lp, count)
}

// appendStream writes a STREAM_LISTPACKS_2 value. Entries must be in
// ascending ID order; every consumer's pending IDs must be in its group's
// pending list. LastID and EntriesAdded are raised to cover the entries if
// they are lower; FirstID is taken from the entries.
func (e *encoder) appendStream(dst []byte, s *Stream) ([]byte, error) {
	for i := 1; i < len(s.Entries); i++ {
		if !s.Entries[i-1].ID.Less(s.Entries[i].ID) {
			return dst, fmt.Errorf("rdb: stream entry %s does not follow %s", s.Entries[i].ID, s.Entries[i-1].ID)
		}
	}
	// Split into nodes as streamAppendItem would: a node takes entries
	// until it holds stream-node-max-entries or its listpack reaches
	// stream-node-max-bytes.
	var nodes [][]byte
	var firsts []StreamID
	for i := 0; i < len(s.Entries); {
		start, size := i, lpHeaderSize+1
		for i < len(s.Entries) {
			if i > start {
				if e.o.streamEntries > 0 && i-start >= e.o.streamEntries {
					break
				}
				if e.o.streamBytes > 0 && size >= e.o.streamBytes {
					break
				}
			}
			for _, f := range s.Entries[i].Fields {
				size += len(f.Field) + len(f.Value) + 4
			}
			size += 8
			i++
		}
		nodes = append(nodes, e.streamNode(s.Entries[start:i]))
		firsts = append(firsts, s.Entries[start].ID)
	}
	dst = appendLen(dst, uint64(len(nodes)))
	var key [streamIDSize]byte
	for i, lp := range nodes {
		dst = e.appendString(dst, appendStreamID(key[:0], firsts[i]))
		dst = e.appendString(dst, lp)
	}
	last, first := s.LastID, StreamID{}
	added := s.EntriesAdded
	if n := len(s.Entries); n > 0 {
		first = s.Entries[0].ID
		if last.Less(s.Entries[n-1].ID) {
			last = s.Entries[n-1].ID
		}
		added = max(added, uint64(n))
	}
	dst = appendLen(dst, uint64(len(s.Entries)))
	dst = appendLen(dst, last.Ms)
	dst = appendLen(dst, last.Seq)
	dst = appendLen(dst, first.Ms)
	dst = appendLen(dst, first.Seq)
	dst = appendLen(dst, s.MaxDeletedID.Ms)
	dst = appendLen(dst, s.MaxDeletedID.Seq)
	dst = appendLen(dst, added)
	dst = appendLen(dst, uint64(len(s.Groups)))
	for gi := range s.Groups {
		g := &s.Groups[gi]
		dst = e.appendString(dst, g.Name)
		dst = appendLen(dst, g.LastID.Ms)
		dst = appendLen(dst, g.LastID.Seq)
		if g.EntriesRead < 0 {
			dst = appendLen(dst, math.MaxUint64)
		} else {
			dst = appendLen(dst, uint64(g.EntriesRead))
		}
		pel := slices.Clone(g.Pending)
		slices.SortFunc(pel, func(a, b StreamPending) int { return cmpStreamID(a.ID, b.ID) })
		inPEL := make(map[StreamID]bool, len(pel))
		for i, p := range pel {
			if i > 0 && pel[i-1].ID == p.ID {
				return dst, fmt.Errorf("rdb: group %q: duplicate pending entry %s", truncateForError(g.Name), p.ID)
			}
			inPEL[p.ID] = true
		}
		dst = appendLen(dst, uint64(len(pel)))
		for _, p := range pel {
			dst = appendStreamID(dst, p.ID)
			dst = binary.LittleEndian.AppendUint64(dst, uint64(p.DeliveryTime))
			dst = appendLen(dst, p.DeliveryCount)
		}
		dst = appendLen(dst, uint64(len(g.Consumers)))
		for _, c := range g.Consumers {
			dst = e.appendString(dst, c.Name)
			dst = binary.LittleEndian.AppendUint64(dst, uint64(c.SeenTime))
			ids := slices.Clone(c.Pending)
			slices.SortFunc(ids, cmpStreamID)
			dst = appendLen(dst, uint64(len(ids)))
			for i, id := range ids {
				if !inPEL[id] {
					return dst, fmt.Errorf("rdb: consumer %q: pending entry %s is not in the group's pending list",
						truncateForError(c.Name), id)
				}
				if i > 0 && ids[i-1] == id {
					return dst, fmt.Errorf("rdb: consumer %q: duplicate pending entry %s", truncateForError(c.Name), id)
				}
				dst = appendStreamID(dst, id)
			}
		}
	}
	return dst, nil
}

func cmpStreamID(a, b StreamID) int {
	switch {
	case a.Less(b):
		return -1
	case b.Less(a):
		return 1
	}
	return 0
}
