package e2e

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Moving data between redis-server 7.0 and Ferry, both ways: dump.rdb
// files and multi-part AOF directories written by one are loaded by the
// other, and the datasets compared through the clients (TYPE, TTL and the
// full contents of every key in every database).

// realRedis runs /usr/bin/redis-server on a free port with dir as its data
// directory and returns a client factory (per database) and a stop func.
type realRedis struct {
	t    *testing.T
	addr string
	cmd  *exec.Cmd
	out  *strings.Builder
	done chan struct{}
}

func startRealRedisDir(t *testing.T, dir string, options ...string) *realRedis {
	t.Helper()
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		_, port, _ := net.SplitHostPort(addr)
		args := append([]string{"--port", port, "--bind", "127.0.0.1", "--dir", dir, "--save", "",
			"--appendonly", "no", "--logfile", ""}, options...)
		r := &realRedis{t: t, addr: addr, out: &strings.Builder{}, done: make(chan struct{})}
		r.cmd = exec.Command(requireCommand(t, "redis-server"), args...)
		r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
		if err := r.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { r.cmd.Wait(); close(r.done) }()
		t.Cleanup(r.stop)
		c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2})
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := c.Ping(context.Background()).Err()
			if err == nil {
				c.Close()
				return r
			}
			exited := false
			select {
			case <-r.done:
				exited = true
			default:
			}
			if exited || time.Now().After(deadline) {
				c.Close()
				r.stop()
				if exited && strings.Contains(r.out.String(), "Address already in use") && attempt < 5 {
					break
				}
				t.Fatalf("redis-server %v: %v\n%s", args, err, r.out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (r *realRedis) stop() {
	select {
	case <-r.done:
		return
	default:
	}
	r.cmd.Process.Kill()
	<-r.done
}

// populateAll writes every type in its small and large encodings, TTLs and
// several databases through c (a client of database 0).
func populateAll(t *testing.T, addr string) {
	t.Helper()
	ctx := context.Background()
	big := strings.Repeat("abcdefgh", 10_000)
	for _, db := range []int{0, 1, 15} {
		c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DB: db})
		p := c.Pipeline()
		p.Set(ctx, "str", "hello", 0)
		p.Set(ctx, "int", "12345", 0)
		p.Set(ctx, "bigint", "9223372036854775807", 0)
		p.Set(ctx, "notint", "0123", 0)
		p.Set(ctx, "bin", "\x00\xff\r\n\x01", 0)
		p.Set(ctx, "big", big, 0)
		p.Set(ctx, "empty", "", 0)
		p.Set(ctx, "ttl", "v", 2*time.Hour)
		p.RPush(ctx, "list:small", "a", "1", "", "-5", "b")
		for i := 0; i < 20; i++ {
			vals := make([]any, 0, 500)
			for j := 0; j < 500; j++ {
				vals = append(vals, fmt.Sprintf("e%d-%d", i, j))
			}
			p.RPush(ctx, "list:big", vals...)
		}
		p.RPush(ctx, "list:bigelem", big, "x", big)
		p.SAdd(ctx, "set:intset", 1, 2, 3, -5, int64(1)<<40, -(int64(1) << 62))
		p.SAdd(ctx, "set:small", "a", "b", "c")
		for i := 0; i < 1000; i++ {
			p.SAdd(ctx, "set:bigint", i*7)
			p.SAdd(ctx, "set:big", fmt.Sprintf("member-%d", i))
		}
		p.HSet(ctx, "hash:small", "f1", "v1", "f2", "2", "empty", "")
		for i := 0; i < 1000; i++ {
			p.HSet(ctx, "hash:big", fmt.Sprintf("field-%d", i), i)
		}
		p.HSet(ctx, "hash:bigval", "f", big)
		p.ZAdd(ctx, "zset:small", redis.Z{Score: 1, Member: "a"}, redis.Z{Score: -2.5, Member: "b"},
			redis.Z{Score: math.Inf(1), Member: "inf"}, redis.Z{Score: math.Inf(-1), Member: "-inf"},
			redis.Z{Score: 0.1, Member: "tenth"})
		for i := 0; i < 500; i++ {
			p.ZAdd(ctx, "zset:big", redis.Z{Score: float64(i) / 7, Member: fmt.Sprintf("m-%d", i)})
		}
		p.Expire(ctx, "list:small", 3*time.Hour)
		p.Expire(ctx, "set:big", 4*time.Hour)
		p.Expire(ctx, "hash:small", 5*time.Hour)
		p.Expire(ctx, "zset:big", 6*time.Hour)
		p.Set(ctx, fmt.Sprintf("only-in-%d", db), db, 0)
		if _, err := p.Exec(ctx); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
}

// contents renders every key of every database through the client: type,
// TTL (rounded to minutes: the two servers read it at different moments)
// and full value.
func contents(t *testing.T, addr string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for db := 0; db < 16; db++ {
		c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DB: db})
		var keys []string
		var cursor uint64
		for {
			ks, next, err := c.Scan(ctx, cursor, "*", 1000).Result()
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, ks...)
			if cursor = next; cursor == 0 {
				break
			}
		}
		for _, k := range keys {
			typ := c.Type(ctx, k).Val()
			ttl := c.PTTL(ctx, k).Val()
			ttlMin := int64(-1)
			if ttl > 0 {
				ttlMin = int64(math.Round(ttl.Minutes()))
			}
			var val string
			switch typ {
			case "string":
				val = strconv.Quote(c.Get(ctx, k).Val())
			case "list":
				val = quoteVals(c.LRange(ctx, k, 0, -1).Val(), false)
			case "set":
				val = quoteVals(c.SMembers(ctx, k).Val(), true)
			case "hash":
				var fv []string
				for f, v := range c.HGetAll(ctx, k).Val() {
					fv = append(fv, strconv.Quote(f)+"="+strconv.Quote(v))
				}
				sort.Strings(fv)
				val = strings.Join(fv, " ")
			case "zset":
				var ms []string
				for _, z := range c.ZRangeWithScores(ctx, k, 0, -1).Val() {
					ms = append(ms, fmt.Sprintf("%q@%v", z.Member, z.Score))
				}
				val = strings.Join(ms, " ")
			default:
				val = "(" + typ + ")"
			}
			out[fmt.Sprintf("%d/%s", db, k)] = fmt.Sprintf("%s ttl=%dm %s", typ, ttlMin, val)
		}
		c.Close()
	}
	return out
}

func quoteVals(vs []string, sorted bool) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	if sorted {
		sort.Strings(q)
	}
	return strings.Join(q, " ")
}

// encodings renders OBJECT ENCODING of every key (for the log).
func encodings(addr string, keys map[string]string) map[string]string {
	ctx := context.Background()
	out := map[string]string{}
	for k := range keys {
		dbs, key, _ := strings.Cut(k, "/")
		db, _ := strconv.Atoi(dbs)
		c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DB: db})
		out[k] = c.ObjectEncoding(ctx, key).Val()
		c.Close()
	}
	return out
}

func sameContents(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	var diffs []string
	for k, w := range want {
		if g, ok := got[k]; !ok {
			diffs = append(diffs, "missing "+k)
		} else if g != w {
			diffs = append(diffs, fmt.Sprintf("%s:\n   got %.200s\n  want %.200s", k, g, w))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, "unexpected "+k)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Fatalf("%s: %d of %d keys differ:\n%s", what, len(diffs), len(want), strings.Join(diffs, "\n"))
	}
	if len(want) < 50 {
		t.Fatalf("%s: only %d keys compared", what, len(want))
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if info.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		outf, err := os.Create(dst)
		if err != nil {
			return err
		}
		if _, err := io.Copy(outf, in); err != nil {
			outf.Close()
			return err
		}
		return outf.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRDBFromRedis: a dump.rdb written by redis-server 7.0 loads into
// Ferry with the same keys, types, TTLs and contents in every database; a
// stream (a type Ferry does not have) is skipped with a warning.
func TestRDBFromRedis(t *testing.T) {
	rdir := t.TempDir()
	r := startRealRedisDir(t, rdir)
	populateAll(t, r.addr)
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: r.addr, Protocol: 2, DB: 2})
	defer rc.Close()
	rc.XAdd(ctx, &redis.XAddArgs{Stream: "stream", Values: []string{"f", "v"}})
	if err := rc.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	rc.Del(ctx, "stream") // not part of what Ferry must show
	want := contents(t, r.addr)
	wantEnc := encodings(r.addr, want)

	fdir := t.TempDir()
	copyTree(t, filepath.Join(rdir, "dump.rdb"), filepath.Join(fdir, "dump.rdb"))
	p, c := ferryRedis(t, fdir, "--appendonly", "no")
	sameContents(t, "Ferry loading Redis's dump.rdb", contents(t, p.Addrs["redis"]), want)
	if !strings.Contains(p.Log(), "level=WARN") || !strings.Contains(p.Log(), "stream") {
		t.Errorf("no warning about the skipped stream:\n%s", p.Log())
	}
	gotEnc := encodings(p.Addrs["redis"], want)
	for k, w := range wantEnc {
		if gotEnc[k] != w {
			t.Logf("encoding of %s: Ferry %s, Redis %s", k, gotEnc[k], w)
		}
	}
	_ = c
}

// TestRDBToRedis: a dump.rdb written by Ferry passes redis-check-rdb and
// loads into redis-server 7.0 with the same content.
func TestRDBToRedis(t *testing.T) {
	for _, opts := range [][]string{nil, {"--rdbcompression", "no"}} {
		t.Run(strings.Join(append([]string{"defaults"}, opts...), " "), func(t *testing.T) {
			fdir := t.TempDir()
			p, c := ferryRedis(t, fdir, append([]string{"--appendonly", "no"}, opts...)...)
			populateAll(t, p.Addrs["redis"])
			want := contents(t, p.Addrs["redis"])
			if err := c.Save(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
			dump := filepath.Join(fdir, "dump.rdb")
			out, err := exec.Command(requireCommand(t, "redis-check-rdb"), dump).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "RDB looks OK!") {
				t.Fatalf("redis-check-rdb: %v\n%s", err, out)
			}
			rdir := t.TempDir()
			copyTree(t, dump, filepath.Join(rdir, "dump.rdb"))
			r := startRealRedisDir(t, rdir)
			sameContents(t, "redis-server loading Ferry's dump.rdb", contents(t, r.addr), want)
		})
	}
}

// TestAOFFromRedis: a multi-part AOF directory written by redis-server 7.0
// (an RDB-preamble base from a rewrite plus incremental files) loads into
// Ferry; so does one whose base is in AOF form.
func TestAOFFromRedis(t *testing.T) {
	for _, preamble := range []string{"yes", "no"} {
		t.Run("aof-use-rdb-preamble "+preamble, func(t *testing.T) {
			rdir := t.TempDir()
			r := startRealRedisDir(t, rdir, "--appendonly", "yes", "--appendfsync", "always", "--aof-use-rdb-preamble", preamble)
			ctx := context.Background()
			rc := redis.NewClient(&redis.Options{Addr: r.addr, Protocol: 2})
			defer rc.Close()
			populateAll(t, r.addr)
			if err := rc.BgRewriteAOF(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				info := rc.Info(ctx, "persistence").Val()
				if strings.Contains(info, "aof_rewrite_in_progress:0") && strings.Contains(info, "aof_rewrite_scheduled:0") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("redis-server rewrite did not finish")
				}
			}
			// After the rewrite: more writes go to the new incremental file,
			// with commands Redis rewrites for its log.
			rc.Set(ctx, "after:ex", "v", time.Hour)
			rc.Incr(ctx, "after:counter")
			rc.IncrByFloat(ctx, "after:float", 1.5)
			rc.SPop(ctx, "set:small")
			rc.RPush(ctx, "after:list", "x", "y")
			rc.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, "after:tx", "1", 0)
				p.Expire(ctx, "after:tx", time.Hour)
				return nil
			})
			want := contents(t, r.addr)
			r.stop()
			ents, _ := os.ReadDir(filepath.Join(rdir, "appendonlydir"))
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Logf("redis-server's AOF directory: %v", names)

			fdir := t.TempDir()
			copyTree(t, filepath.Join(rdir, "appendonlydir"), filepath.Join(fdir, "appendonlydir"))
			p, _ := ferryRedis(t, fdir, "--appendonly", "yes")
			sameContents(t, "Ferry loading Redis's AOF", contents(t, p.Addrs["redis"]), want)
		})
	}
}
