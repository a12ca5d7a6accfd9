package msgstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// File format (keep in sync with docs/dev/amqp-broker.md).
//
// A segment file is a 16-byte header followed by records:
//
//	segment header (16 bytes)
//	+---------+---------+----------+------------+----------+
//	| "FMSG"  | ver u16 | rsvd u16 | seg no u32 | rsvd u32 |
//	+---------+---------+----------+------------+----------+
//
//	record
//	+---------+-----------+---------+---------------------+
//	| len u32 | crc32c u32| type u8 | body (len-1 bytes)  |
//	+---------+-----------+---------+---------------------+
//	len counts type+body; crc is CRC-32C (Castagnoli) of type+body.
//	All fixed-width integers are little-endian.
//
//	type 'M' message:  id u64 | nq uvarint | nq × queue uvarint |
//	                   headlen uvarint | head | body (the rest)
//	type 'R' removal:  queue uvarint | n uvarint | n × zigzag-varint deltas
//	                   (each id minus the previous one, the first minus 0)
const (
	segMagic      = "FMSG"
	segVersion    = 1
	segHeaderSize = 16
	recHeaderSize = 9 // len + crc + type

	recMessage = 'M'
	recRemove  = 'R'

	// maxRecord bounds a record's length field, so a corrupt length is
	// caught before a huge allocation (RabbitMQ's max_message_size is
	// 512 MiB at most).
	maxRecord = 1<<30 - 1
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errShort means the buffer ends inside a record (a torn tail when it is the
// end of the last segment).
var errShort = errors.New("record extends past end of file")

// record is one decoded record. Its slices alias the decoded buffer.
type record struct {
	typ    byte
	id     uint64   // 'M'
	queues []uint64 // 'M': the queues holding the message; 'R': one queue
	head   []byte   // 'M'
	body   []byte   // 'M'
	ids    []uint64 // 'R'
}

func appendSegHeader(dst []byte, seg uint32) []byte {
	dst = append(dst, segMagic...)
	dst = binary.LittleEndian.AppendUint16(dst, segVersion)
	dst = binary.LittleEndian.AppendUint16(dst, 0)
	dst = binary.LittleEndian.AppendUint32(dst, seg)
	return binary.LittleEndian.AppendUint32(dst, 0)
}

func checkSegHeader(b []byte, seg uint32) error {
	if len(b) < segHeaderSize {
		return errShort
	}
	if string(b[:4]) != segMagic {
		return fmt.Errorf("bad magic %q", b[:4])
	}
	if v := binary.LittleEndian.Uint16(b[4:]); v != segVersion {
		return fmt.Errorf("unsupported segment version %d", v)
	}
	if n := binary.LittleEndian.Uint32(b[8:]); n != seg {
		return fmt.Errorf("header names segment %d", n)
	}
	return nil
}

// messageRecordSize returns the encoded size of a message record.
func messageRecordSize(queues []uint64, head, body []byte) int {
	n := recHeaderSize + 8 + uvarintLen(uint64(len(queues)))
	for _, q := range queues {
		n += uvarintLen(q)
	}
	return n + uvarintLen(uint64(len(head))) + len(head) + len(body)
}

func appendMessageRecord(dst []byte, id uint64, queues []uint64, head, body []byte) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0, recMessage)
	dst = binary.LittleEndian.AppendUint64(dst, id)
	dst = binary.AppendUvarint(dst, uint64(len(queues)))
	for _, q := range queues {
		dst = binary.AppendUvarint(dst, q)
	}
	dst = binary.AppendUvarint(dst, uint64(len(head)))
	dst = append(dst, head...)
	dst = append(dst, body...)
	return sealRecord(dst, start)
}

func appendRemoveRecord(dst []byte, queue uint64, ids []uint64) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0, recRemove)
	dst = binary.AppendUvarint(dst, queue)
	dst = binary.AppendUvarint(dst, uint64(len(ids)))
	prev := uint64(0)
	for _, id := range ids {
		dst = binary.AppendVarint(dst, int64(id-prev))
		prev = id
	}
	return sealRecord(dst, start)
}

// sealRecord fills in the length and CRC of the record that starts at start.
func sealRecord(dst []byte, start int) []byte {
	payload := dst[start+8:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(payload, crcTable))
	return dst
}

// decodeRecord decodes the record at the start of b, returning it and its
// encoded size. errShort means b ends inside the record; any other error
// means the bytes are not a valid record.
func decodeRecord(b []byte) (record, int, error) {
	var r record
	if len(b) < recHeaderSize {
		return r, 0, errShort
	}
	n := binary.LittleEndian.Uint32(b)
	if n == 0 {
		return r, 0, errors.New("zero record length")
	}
	if n > maxRecord {
		return r, 0, fmt.Errorf("record length %d too large", n)
	}
	size := 8 + int(n)
	if len(b) < size {
		return r, 0, errShort
	}
	payload := b[8:size]
	if crc := crc32.Checksum(payload, crcTable); crc != binary.LittleEndian.Uint32(b[4:]) {
		return r, 0, fmt.Errorf("checksum mismatch")
	}
	r.typ = payload[0]
	p := payload[1:]
	var err error
	switch r.typ {
	case recMessage:
		if len(p) < 8 {
			return r, 0, errors.New("message record too short")
		}
		r.id = binary.LittleEndian.Uint64(p)
		p = p[8:]
		var nq uint64
		if nq, p, err = uvarint(p); err != nil {
			return r, 0, err
		}
		if nq > uint64(len(p)) { // each queue takes at least one byte
			return r, 0, errors.New("bad queue count")
		}
		r.queues = make([]uint64, nq)
		for i := range r.queues {
			if r.queues[i], p, err = uvarint(p); err != nil {
				return r, 0, err
			}
		}
		var hl uint64
		if hl, p, err = uvarint(p); err != nil {
			return r, 0, err
		}
		if hl > uint64(len(p)) {
			return r, 0, errors.New("bad head length")
		}
		r.head, r.body = p[:hl], p[hl:]
	case recRemove:
		var q, cnt uint64
		if q, p, err = uvarint(p); err != nil {
			return r, 0, err
		}
		r.queues = []uint64{q}
		if cnt, p, err = uvarint(p); err != nil {
			return r, 0, err
		}
		if cnt > uint64(len(p)) {
			return r, 0, errors.New("bad id count")
		}
		r.ids = make([]uint64, cnt)
		prev := uint64(0)
		for i := range r.ids {
			d, k := binary.Varint(p)
			if k <= 0 {
				return r, 0, errors.New("bad varint")
			}
			p = p[k:]
			prev += uint64(d)
			r.ids[i] = prev
		}
		if len(p) != 0 {
			return r, 0, errors.New("trailing bytes in removal record")
		}
	default:
		return r, 0, fmt.Errorf("unknown record type %#x", r.typ)
	}
	return r, size, nil
}

func uvarint(p []byte) (uint64, []byte, error) {
	v, k := binary.Uvarint(p)
	if k <= 0 {
		return 0, p, errors.New("bad varint")
	}
	return v, p[k:], nil
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
