package keyspace

import (
	"math/rand/v2"
	"testing"
)

// crc16Bytewise is the textbook one-byte-at-a-time CRC-16/XMODEM.
func crc16Bytewise(b []byte) uint16 {
	var c uint16
	for _, x := range b {
		c ^= uint16(x) << 8
		for j := 0; j < 8; j++ {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
	}
	return c
}

func TestCRC16(t *testing.T) {
	// The check value of CRC-16/XMODEM, and Redis Cluster's own example.
	if got := crc16([]byte("123456789")); got != 0x31C3 {
		t.Fatalf("crc16(123456789) = %#x, want 0x31c3", got)
	}
	r := rand.New(rand.NewPCG(1, 1))
	for n := 0; n < 100; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if got, want := crc16(b), crc16Bytewise(b); got != want {
			t.Fatalf("crc16(%x) = %#x, want %#x", b, got, want)
		}
	}
}

func BenchmarkSlot(b *testing.B) {
	key := []byte("key:000000012345")
	for i := 0; i < b.N; i++ {
		Slot(key)
	}
}

func FuzzSlot(f *testing.F) {
	f.Add([]byte("{user1000}.following"))
	f.Add([]byte("foo{}{bar}"))
	f.Fuzz(func(t *testing.T, key []byte) {
		if got, want := crc16(key), crc16Bytewise(key); got != want {
			t.Fatalf("crc16(%q) = %#x, want %#x", key, got, want)
		}
		if s := Slot(key); s < 0 || s >= SlotCount {
			t.Fatalf("Slot(%q) = %d", key, s)
		}
	})
}
