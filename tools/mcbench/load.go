package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// loadBatch is how many noreply sets go in one write before a "version"
// request tells us the server has processed them all.
const loadBatch = 512

// load stores a size-byte value under every key in [0, keys), split over
// conns connections. Sets are sent with noreply, loadBatch per write, each
// batch closed by "version": its reply proves the batch was read, and any
// reply before it is an error (noreply sets have none on success).
func load(addr string, keys, size, conns int) error {
	if conns > keys {
		conns = max(keys, 1)
	}
	tail := fmt.Appendf(nil, " 0 0 %d noreply\r\n%s\r\n", size, makeValue(size))
	errs := make([]error, conns)
	var wg sync.WaitGroup
	for c := range conns {
		lo, hi := keys*c/conns, keys*(c+1)/conns
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[c] = loadRange(addr, lo, hi, tail)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// loadRange stores keys [lo, hi) over one connection.
func loadRange(addr string, lo, hi int, tail []byte) error {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	defer nc.Close()
	br := bufio.NewReader(nc)
	buf := make([]byte, 0, loadBatch*(len(tail)+keyLen+8)+16)
	for id := lo; id < hi; {
		buf = buf[:0]
		for n := 0; n < loadBatch && id < hi; n++ {
			buf = append(buf, "set "...)
			buf = appendKey(buf, uint64(id))
			buf = append(buf, tail...)
			id++
		}
		buf = append(buf, "version\r\n"...)
		nc.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := nc.Write(buf); err != nil {
			return fmt.Errorf("load: %w", err)
		}
		line, err := br.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		if !bytes.HasPrefix(line, []byte("VERSION ")) {
			return fmt.Errorf("load: noreply set answered %q", line)
		}
	}
	return nil
}

// stats returns the server's general-purpose "stats" as a map.
func stats(addr string) (map[string]string, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write([]byte("stats\r\n")); err != nil {
		return nil, err
	}
	br := bufio.NewReader(nc)
	m := map[string]string{}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		line = line[:len(line)-1]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if line == "END" {
			return m, nil
		}
		var k, v string
		if _, err := fmt.Sscanf(line, "STAT %s %s", &k, &v); err != nil {
			return nil, fmt.Errorf("stats: unexpected line %q", line)
		}
		m[k] = v
	}
}

// verify gets every step-th key in [0, keys) and reports how many missed or
// came back with the wrong value.
func verify(addr string, keys, size, step int) (checked, bad int, err error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, 0, err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	cfg := runConfig{keys: keys, size: size, pipeline: 1, prefilled: true}
	w := newWorker(&cfg, nc, 1)
	var hits, misses, errs uint64
	for id := 0; id < keys; id += step {
		w.wbuf = append(appendKey(append(w.wbuf[:0], "get "...), uint64(id)), "\r\n"...)
		if _, err := nc.Write(w.wbuf); err != nil {
			return checked, bad, err
		}
		if err := w.readGet(uint64(id), &hits, &misses, &errs); err != nil {
			return checked, bad, err
		}
		checked++
	}
	return checked, int(errs), nil
}

// rssBytes reads a process's resident set size (VmRSS) from /proc.
func rssBytes(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := bytes.Fields(rest) // "<n> kB"
			if len(f) == 2 && string(f[1]) == "kB" {
				kb, err := strconv.ParseInt(string(f[0]), 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
