package memcache

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"ferry/internal/keyspace"
)

// benchPipeline sends batches of `depth` copies of req over loopback and
// reads back `depth` replies of replyLen bytes each. allocs/op covers the
// server too, since it runs in this process.
func benchPipeline(b *testing.B, setup, req string, replyLen, depth int) {
	ts := startServer(&testing.T{}, Config{}, keyspace.Config{})
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	r := bufio.NewReaderSize(nc, 64<<10)
	if setup != "" {
		io.WriteString(nc, setup)
		r.ReadString('\n')
	}
	batch := []byte(strings.Repeat(req, depth))
	reply := make([]byte, replyLen*depth)
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += depth {
		if _, err := nc.Write(batch); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(r, reply); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetHit(b *testing.B) {
	val := strings.Repeat("v", 100)
	for _, depth := range []int{1, 16} {
		b.Run(fmt.Sprint("depth", depth), func(b *testing.B) {
			benchPipeline(b, "set key:0000000001 0 0 100\r\n"+val+"\r\n", "get key:0000000001\r\n",
				len("VALUE key:0000000001 0 100\r\n")+100+2+5, depth)
		})
	}
}

func BenchmarkSet(b *testing.B) {
	val := strings.Repeat("v", 100)
	for _, depth := range []int{1, 16} {
		b.Run(fmt.Sprint("depth", depth), func(b *testing.B) {
			benchPipeline(b, "", "set key:0000000001 0 0 100\r\n"+val+"\r\n", len("STORED\r\n"), depth)
		})
	}
}

func BenchmarkMetaGet(b *testing.B) {
	benchPipeline(b, "set k 0 0 3\r\nabc\r\n", "mg k v f t\r\n", len("VA 3 f0 t-1\r\nabc\r\n"), 16)
}
