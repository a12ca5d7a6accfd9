package keyspace

// SlotCount is the number of Redis Cluster hash slots.
const SlotCount = 16384

// crcTable is CRC-16/XMODEM (polynomial 0x1021), the checksum Redis Cluster
// uses to map keys to slots.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for j := 0; j < 8; j++ {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

func crc16(b []byte) uint16 {
	var c uint16
	for _, x := range b {
		c = c<<8 ^ crcTable[byte(c>>8)^x]
	}
	return c
}

// Slot returns key's Redis Cluster hash slot, honouring hash tags: when the
// key holds a non-empty "{…}" section, only that section is hashed. Keys of
// one slot always share a shard, so the keyspace can later hand whole slots
// to other nodes.
func Slot(key []byte) int {
	for i, c := range key {
		if c != '{' {
			continue
		}
		for j := i + 1; j < len(key); j++ {
			if key[j] == '}' {
				if j > i+1 {
					key = key[i+1 : j]
				}
				return int(crc16(key)) & (SlotCount - 1)
			}
		}
		break
	}
	return int(crc16(key)) & (SlotCount - 1)
}
