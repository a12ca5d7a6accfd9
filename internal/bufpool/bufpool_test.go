package bufpool

import "testing"

func TestGetPutGrow(t *testing.T) {
	for _, n := range []int{0, 1, 65536, 65537, 1 << 20, 3 << 20} {
		b := Get(n)
		if len(b) != 0 || cap(b) < n {
			t.Fatalf("Get(%d): len %d cap %d", n, len(b), cap(b))
		}
		Put(b)
	}
	b := append(make([]byte, 0, 10), "hello"...)
	b = Grow(b, 100000)
	if string(b) != "hello" || cap(b) < 100005 {
		t.Fatalf("Grow kept %q cap %d", b, cap(b))
	}
	if g := Grow(b, 10); &g[0] != &b[0] {
		t.Fatal("Grow reallocated although there was room")
	}
	huge := Get(100 << 20)
	if cap(huge) != 100<<20 {
		t.Fatalf("huge cap %d", cap(huge))
	}
	Put(huge) // ignored, must not panic
}

func BenchmarkGetPut(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Put(Get(200 << 10))
	}
}
