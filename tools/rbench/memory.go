package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memUsage is one server's memory test outcome.
type memUsage struct {
	rssBefore, rssAfter   int64
	usedBefore, usedAfter int64 // INFO memory used_memory
	dbsize                int64
	checked, bad          int
	loadTime              time.Duration
}

// memoryTest loads keys into a fresh instance of each server, one at a
// time, and compares resident memory per key.
func memoryTest(specs []serverSpec, keys, size int) error {
	res := make([]memUsage, len(specs))
	for i, spec := range specs {
		s, err := startServer(spec)
		if err != nil {
			return err
		}
		u, err := measureMemory(s, keys, size)
		if err == nil {
			err = s.exited()
		}
		s.stop()
		if err != nil {
			return fmt.Errorf("%s: memory test: %w", spec.name, err)
		}
		res[i] = u
		fmt.Fprintf(os.Stderr, "memory %-5s %d keys loaded in %v (%.0f keys/s), RSS %d -> %d\n", spec.name, keys,
			u.loadTime.Round(time.Millisecond), float64(keys)/u.loadTime.Seconds(), u.rssBefore, u.rssAfter)
	}
	fmt.Printf("Memory: %d keys key:%%010d with %d-byte values, SET over 4 pipelined connections into fresh servers;\n", keys, size)
	fmt.Printf("RSS is VmRSS from /proc/PID/status, read 0.5 s after start and 1 s after the load.\n\n")
	fmt.Printf("| server | DBSIZE | RSS before | RSS after | RSS bytes/key | used_memory after | used_memory bytes/key | sampled GETs ok | load time |\n")
	fmt.Printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for i, u := range res {
		fmt.Printf("| %s | %d | %.1f MiB | %.1f MiB | %.1f | %.1f MiB | %.1f | %d/%d | %.1f s |\n", specs[i].name, u.dbsize,
			float64(u.rssBefore)/(1<<20), float64(u.rssAfter)/(1<<20), float64(u.rssAfter-u.rssBefore)/float64(keys),
			float64(u.usedAfter)/(1<<20), float64(u.usedAfter-u.usedBefore)/float64(keys),
			u.checked-u.bad, u.checked, u.loadTime.Seconds())
	}
	rss := func(u memUsage) float64 { return float64(u.rssAfter - u.rssBefore) }
	used := func(u memUsage) float64 { return float64(u.usedAfter - u.usedBefore) }
	fmt.Printf("\n%s/%s RSS per key: %.2f; used_memory per key: %.2f\n", specs[1].name, specs[0].name,
		rss(res[1])/rss(res[0]), used(res[1])/used(res[0]))
	return nil
}

// measureMemory loads keys into the fresh server s and reads its memory
// figures before and after, then checks a sample of the values.
func measureMemory(s *server, keys, size int) (memUsage, error) {
	var u memUsage
	time.Sleep(500 * time.Millisecond) // let start-up allocation settle
	var err error
	if u.rssBefore, err = rssBytes(s.pid()); err != nil {
		return u, err
	}
	if u.usedBefore, err = usedMemory(s.addr); err != nil {
		return u, err
	}
	t := time.Now()
	if err := loadKeys(s.addr, keys, size, 4); err != nil {
		return u, err
	}
	u.loadTime = time.Since(t)
	time.Sleep(time.Second)
	if u.rssAfter, err = rssBytes(s.pid()); err != nil {
		return u, err
	}
	if u.usedAfter, err = usedMemory(s.addr); err != nil {
		return u, err
	}
	r, err := oneCommand(s.addr, 10*time.Second, "DBSIZE")
	if err != nil {
		return u, fmt.Errorf("DBSIZE: %w", err)
	}
	n, ok := r.(int64)
	if !ok {
		return u, fmt.Errorf("DBSIZE replied %#v", r)
	}
	u.dbsize = n
	u.checked, u.bad, err = verifyKeys(s.addr, keys, size, max(keys/1000, 1))
	return u, err
}

// usedMemory returns used_memory from INFO memory.
func usedMemory(addr string) (int64, error) {
	r, err := oneCommand(addr, 10*time.Second, "INFO", "memory")
	if err != nil {
		return 0, fmt.Errorf("INFO memory: %w", err)
	}
	text, ok := r.(string)
	if !ok {
		return 0, fmt.Errorf("INFO memory replied %#v", r)
	}
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no used_memory in INFO memory")
}

// keyName returns the i'th key of the memory test.
func keyName(i int) string { return fmt.Sprintf("key:%010d", i) }

// valueFor returns the value stored under key i: its decimal index repeated
// to size bytes, so a value from the wrong key is noticed.
func valueFor(i, size int) []byte {
	v := make([]byte, 0, size+20)
	d := strconv.Itoa(i) + "."
	for len(v) < size {
		v = append(v, d...)
	}
	return v[:size]
}

const loadBatch = 256

// loadKeys SETs keys 0..n-1 over conns connections, each writing batches
// of loadBatch commands and checking every reply is OK.
func loadKeys(addr string, n, size, conns int) error {
	var wg sync.WaitGroup
	errs := make([]error, conns)
	for c := range conns {
		wg.Go(func() {
			errs[c] = loadPart(addr, n, size, c, conns)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// loadPart stores keys c, c+step, c+2·step, ... below n on one connection.
func loadPart(addr string, n, size, c, step int) error {
	cl, err := dial(addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer cl.Close()
	var buf []byte
	for i := c; i < n; {
		buf = buf[:0]
		sent := 0
		for ; i < n && sent < loadBatch; i += step {
			buf = appendCommand(buf, "SET", keyName(i), string(valueFor(i, size)))
			sent++
		}
		cl.nc.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := cl.nc.Write(buf); err != nil {
			return err
		}
		for range sent {
			r, err := readReply(cl.br)
			if err != nil {
				return fmt.Errorf("SET reply: %w", err)
			}
			if r != "OK" {
				return fmt.Errorf("SET replied %#v", r)
			}
		}
	}
	return nil
}

// verifyKeys GETs every step'th key and compares its value.
func verifyKeys(addr string, n, size, step int) (checked, bad int, err error) {
	cl, err := dial(addr, 5*time.Second)
	if err != nil {
		return 0, 0, err
	}
	defer cl.Close()
	var buf []byte
	var idx []int
	for i := 0; i < n; i += step {
		buf = appendCommand(buf, "GET", keyName(i))
		idx = append(idx, i)
	}
	cl.nc.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := cl.nc.Write(buf); err != nil {
		return 0, 0, err
	}
	for _, i := range idx {
		r, err := readReply(cl.br)
		if err != nil {
			return checked, bad, fmt.Errorf("GET reply: %w", err)
		}
		checked++
		if v, ok := r.(string); !ok || v != string(valueFor(i, size)) {
			bad++
			if bad <= 3 {
				fmt.Fprintf(os.Stderr, "GET %s: %#v, want %q\n", keyName(i), r, valueFor(i, size))
			}
		}
	}
	return checked, bad, nil
}
