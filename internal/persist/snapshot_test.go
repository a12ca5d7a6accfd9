package persist_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The snapshot tests prove that background saves and rewrites are
// point-in-time: writers keep changing every type while a snapshot is
// written, in transactions whose parts land in different shards, and the
// snapshot must hold each transaction whole or not at all — exactly the
// state at one instant between the last write acknowledged before BGSAVE
// and the first sent after its reply.

const txWriters = 6

// txLoad runs txWriters clients, each repeating one transaction that
// touches every type, until stopped. acked[g] is the last round client g
// saw acknowledged; sent[g] the last it sent.
type txLoad struct {
	acked, sent [txWriters]atomic.Int64
	stop        chan struct{}
	wg          sync.WaitGroup
	err         atomic.Pointer[error]
}

func wkey(g int, kind string) string { return fmt.Sprintf("w%d:%s", g, kind) }

// seedTxLoad prepares the keys (SMOVE needs a source set) and a bulk of
// unrelated keys that makes the snapshot take a while to write.
func seedTxLoad(t testing.TB, c *redis.Client, bulk int) {
	t.Helper()
	ctx := context.Background()
	p := c.Pipeline()
	for g := 0; g < txWriters; g++ {
		for i := 1; i <= 5000; i += 500 {
			members := make([]any, 0, 500)
			for j := i; j < i+500; j++ {
				members = append(members, j)
			}
			p.SAdd(ctx, wkey(g, "src"), members...)
		}
		p.Set(ctx, wkey(g, "str"), strings.Repeat("0", 20), 0)
	}
	for i := 0; i < bulk; i++ {
		p.Set(ctx, fmt.Sprintf("bulk:%d", i), strings.Repeat("b", 100), 0)
		if i%5000 == 4999 {
			if _, err := p.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
}

func startTxLoad(t testing.TB, c *redis.Client) *txLoad {
	l := &txLoad{stop: make(chan struct{})}
	ctx := context.Background()
	for g := 0; g < txWriters; g++ {
		l.wg.Add(1)
		go func(g int) {
			defer l.wg.Done()
			for i := int64(1); i <= 5000; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				l.sent[g].Store(i)
				s := strconv.FormatInt(i, 10)
				_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
					p.Incr(ctx, wkey(g, "count"))
					p.RPush(ctx, wkey(g, "list"), s)
					p.HSet(ctx, wkey(g, "hash"), s, s)
					p.SAdd(ctx, wkey(g, "set"), s)
					p.ZAdd(ctx, wkey(g, "zset"), redis.Z{Score: float64(i), Member: s})
					p.SMove(ctx, wkey(g, "src"), wkey(g, "dst"), s)
					// two in, one out through ZMPOP's own path
					p.ZAdd(ctx, wkey(g, "zp"), redis.Z{Score: float64(i), Member: "a" + s}, redis.Z{Score: float64(i), Member: "b" + s})
					p.ZMPop(ctx, "min", 1, wkey(g, "zp"))
					// same length: the in-place path unless shared
					p.Set(ctx, wkey(g, "str"), fmt.Sprintf("%020d", i), 0)
					p.Append(ctx, wkey(g, "app"), "x")
					p.IncrBy(ctx, "bank:"+strconv.Itoa(g), -int64(g+1))
					p.IncrBy(ctx, "bank:"+strconv.Itoa((g+1)%txWriters), int64(g+1))
					return nil
				})
				if err != nil {
					l.err.Store(&err)
					return
				}
				l.acked[g].Store(i)
			}
		}(g)
	}
	return l
}

func (l *txLoad) finish(t testing.TB) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	if e := l.err.Load(); e != nil {
		t.Fatal(*e)
	}
}

// checkTxState checks that a dataset holds every writer's transaction
// whole up to some round r[g] with lo[g] <= r[g] <= hi[g].
func checkTxState(t testing.TB, c *redis.Client, lo, hi [txWriters]int64) {
	t.Helper()
	ctx := context.Background()
	var bank int64
	for g := 0; g < txWriters; g++ {
		r, _ := c.Get(ctx, wkey(g, "count")).Int64()
		if r < lo[g] || r > hi[g] {
			t.Errorf("writer %d: snapshot holds round %d, outside [%d, %d] (acknowledged before BGSAVE, sent after its reply)", g, r, lo[g], hi[g])
		}
		list := c.LRange(ctx, wkey(g, "list"), 0, -1).Val()
		ok := int64(len(list)) == r
		for i, v := range list {
			ok = ok && v == strconv.Itoa(i+1)
		}
		if !ok {
			t.Errorf("writer %d: count %d but list %v", g, r, head(list))
		}
		if n := c.HLen(ctx, wkey(g, "hash")).Val(); n != r {
			t.Errorf("writer %d: count %d but hash has %d fields", g, r, n)
		}
		if n := c.SCard(ctx, wkey(g, "set")).Val(); n != r {
			t.Errorf("writer %d: count %d but set has %d members", g, r, n)
		}
		if n := c.ZCard(ctx, wkey(g, "zset")).Val(); n != r {
			t.Errorf("writer %d: count %d but zset has %d members", g, r, n)
		}
		if n := c.ZCard(ctx, wkey(g, "zp")).Val(); n != r {
			t.Errorf("writer %d: count %d but ZMPOP left %d members", g, r, n)
		}
		if n := c.SCard(ctx, wkey(g, "dst")).Val(); n != r {
			t.Errorf("writer %d: count %d but SMOVE moved %d members", g, r, n)
		}
		if n := c.SCard(ctx, wkey(g, "src")).Val(); n != 5000-r {
			t.Errorf("writer %d: count %d but SMOVE source has %d members", g, r, n)
		}
		if s := c.Get(ctx, wkey(g, "str")).Val(); s != fmt.Sprintf("%020d", r) {
			t.Errorf("writer %d: count %d but str %q", g, r, s)
		}
		if n := c.StrLen(ctx, wkey(g, "app")).Val(); n != r {
			t.Errorf("writer %d: count %d but app has %d bytes", g, r, n)
		}
		b, _ := c.Get(ctx, "bank:"+strconv.Itoa(g)).Int64()
		bank += b
	}
	if bank != 0 {
		t.Errorf("transfers between bank keys sum to %d, want 0", bank)
	}
}

func head(s []string) []string {
	if len(s) > 10 {
		return append(s[:10:10], "…")
	}
	return s
}

// loadFileAlone starts a fresh node (no AOF) over a copy of an RDB file.
func loadFileAlone(t testing.TB, path string) *node {
	t.Helper()
	cfg := testConfig(t)
	cfg.AppendOnly = false
	copyFile(t, path, filepath.Join(cfg.Dir, cfg.DBFilename))
	return startNode(t, cfg)
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

func snapshotOf(l *txLoad) (acked [txWriters]int64) {
	for g := range acked {
		acked[g] = l.acked[g].Load()
	}
	return acked
}

func sentOf(l *txLoad) (sent [txWriters]int64) {
	for g := range sent {
		sent[g] = l.sent[g].Load()
	}
	return sent
}

// TestBGSavePointInTime: BGSAVE while every type is being written.
func TestBGSavePointInTime(t *testing.T) {
	cfg := testConfig(t)
	cfg.AppendOnly = false
	n := startNode(t, cfg)
	c := n.client()
	ctx := context.Background()
	seedTxLoad(t, c, 30000)
	l := startTxLoad(t, c)
	time.Sleep(100 * time.Millisecond)
	lo := snapshotOf(l)
	if err := c.BgSave(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	hi := sentOf(l)
	waitFor(t, 60*time.Second, "BGSAVE", func() bool { return infoField(t, c, "rdb_bgsave_in_progress") == "0" })
	l.finish(t)
	if v := infoField(t, c, "rdb_last_bgsave_status"); v != "ok" {
		t.Fatalf("rdb_last_bgsave_status:%s\n%s", v, n.logBuf)
	}
	t.Logf("acknowledged before BGSAVE %v, sent after its reply %v, at the end %v", lo, hi, snapshotOf(l))
	loaded := loadFileAlone(t, filepath.Join(cfg.Dir, "dump.rdb"))
	checkTxState(t, loaded.client(), lo, hi)
	if n := loaded.client().DBSize(ctx).Val(); n < 30000 {
		t.Errorf("snapshot has %d keys", n)
	}
	// The live dataset went on: it is consistent at its last round.
	end := snapshotOf(l)
	checkTxState(t, c, end, end)
}

// TestRewritePointInTime: the base a BGREWRITEAOF writes is the dataset at
// the instant the rewrite started, the new incremental file holds exactly
// the writes after it, and the two replay to the live dataset. A SAVE runs
// while the rewrite is still writing (two snapshots at once).
func TestRewritePointInTime(t *testing.T) {
	cfg := testConfig(t)
	n := startNode(t, cfg)
	c := n.client()
	ctx := context.Background()
	seedTxLoad(t, c, 60000)
	l := startTxLoad(t, c)
	time.Sleep(100 * time.Millisecond)
	lo := snapshotOf(l)
	if err := c.BgRewriteAOF(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	hi := sentOf(l)
	overlapped := infoField(t, c, "aof_rewrite_in_progress") == "1"
	saveLo := snapshotOf(l)
	if err := c.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	saveHi := sentOf(l)
	waitFor(t, 60*time.Second, "BGREWRITEAOF", func() bool { return infoField(t, c, "aof_rewrite_in_progress") == "0" })
	if !overlapped {
		t.Logf("the rewrite had finished before SAVE ran: no overlap this time")
	}
	time.Sleep(100 * time.Millisecond)
	l.finish(t)
	if v := infoField(t, c, "aof_last_bgrewrite_status"); v != "ok" {
		t.Fatalf("aof_last_bgrewrite_status:%s\n%s", v, n.logBuf)
	}
	bases, _ := filepath.Glob(filepath.Join(cfg.Dir, "appendonlydir", "*.base.rdb"))
	if len(bases) != 1 {
		t.Fatalf("base files %v", bases)
	}
	base := loadFileAlone(t, bases[0])
	checkTxState(t, base.client(), lo, hi)
	saved := loadFileAlone(t, filepath.Join(cfg.Dir, "dump.rdb"))
	checkTxState(t, saved.client(), saveLo, saveHi)
	want := dump(n.ks)
	end := snapshotOf(l)
	n = n.restart()
	sameDump(t, dump(n.ks), want)
	checkTxState(t, n.client(), end, end)
}
