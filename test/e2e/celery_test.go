package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The Celery tests run the real Celery (Debian python3-celery 5.2 with
// kombu and py-amqp) against Ferry: worker processes started with
// `python3 -m celery -A tasks worker`, and the scenarios of
// testdata/celery/driver.py calling tasks as a user does. Each transport
// configuration gets its own Ferry; its scenarios run at the same time
// (they use distinct tasks and tags) so the file stays within a few
// minutes on two loaded cores.

// celeryPython is Debian's interpreter, where python3-celery lives.
const celeryPython = "/usr/bin/python3"

// celeryConfig is one way users configure Celery: a broker transport and a
// result backend.
type celeryConfig struct {
	name    string
	broker  string // "redis" or "amqp"
	backend string // "redis" or "rpc"
}

var celeryConfigs = []celeryConfig{
	{"redis", "redis", "redis"},
	{"amqp-redis", "amqp", "redis"},
	{"amqp-rpc", "amqp", "rpc"},
}

// celeryDrivers bounds the scenario processes running at once across
// configurations: each costs a second or two of CPU to start, and too
// many at once starve the workers on a two-core machine.
var celeryDrivers = make(chan struct{}, 6)

// celeryAppDir is the directory holding tasks.py and driver.py.
func celeryAppDir(t testing.TB) string {
	t.Helper()
	d, err := filepath.Abs(filepath.Join("testdata", "celery"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// startCeleryFerry runs a ferry with the Redis and AMQP front ends on
// ephemeral ports, keeping its data in dir.
func startCeleryFerry(t testing.TB, dir string, extra ...string) *Proc {
	t.Helper()
	args := append([]string{"--redis-addr", "127.0.0.1:0", "--amqp-addr", "127.0.0.1:0",
		"--memcached", "no", "--admin-addr", "no", "--save", "", "--dir", dir}, extra...)
	return startFerry(t, []string{"redis", "amqp"}, args...)
}

// celeryEnviron is the environment tasks.py reads: broker and backend
// URLs pointing at p, and the side-effect log directory.
func celeryEnviron(c celeryConfig, p *Proc, effectsDir string, extra ...string) []string {
	broker := "redis://" + p.Addrs["redis"] + "/0"
	if c.broker == "amqp" {
		broker = "amqp://guest:guest@" + p.Addrs["amqp"] + "//"
	}
	backend := "redis://" + p.Addrs["redis"] + "/1"
	if c.backend == "rpc" {
		backend = "rpc://"
	}
	env := append(os.Environ(),
		"FERRY_CELERY_BROKER="+broker,
		"FERRY_CELERY_BACKEND="+backend,
		"FERRY_CELERY_DIR="+effectsDir,
		"PYTHONDONTWRITEBYTECODE=1", // keep testdata free of __pycache__
		"PYTHONUNBUFFERED=1",
	)
	return append(env, extra...)
}

// celeryWorker is a `celery worker` process in its own process group (the
// main process and its prefork pool), so that it can be killed whole.
type celeryWorker struct {
	name string
	cmd  *exec.Cmd
	out  lockedBuffer
	done chan struct{}
}

// startCeleryWorker starts a worker named name (node name@host form) and
// waits until it reports ready. The test's cleanup stops it.
func startCeleryWorker(t testing.TB, env []string, name string, args ...string) *celeryWorker {
	t.Helper()
	w := spawnCeleryWorker(t, env, name, args...)
	w.waitReady(t)
	return w
}

// spawnCeleryWorker starts a worker without waiting for it, so that
// several boot at once.
func spawnCeleryWorker(t testing.TB, env []string, name string, args ...string) *celeryWorker {
	t.Helper()
	w := &celeryWorker{name: name, done: make(chan struct{})}
	argv := append([]string{"-m", "celery", "-A", "tasks", "worker", "-n", name,
		"--loglevel", "INFO", "--without-mingle", "--without-gossip"}, args...)
	w.cmd = exec.Command(celeryPython, argv...)
	w.cmd.Dir = celeryAppDir(t)
	w.cmd.Env = env
	w.cmd.Stdout, w.cmd.Stderr = &w.out, &w.out
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.cmd.Wait(); close(w.done) }()
	t.Cleanup(func() { w.stop(t) })
	return w
}

// waitReady waits (150 s at most: a worker's start costs seconds of CPU,
// and the machine is shared) until the worker logs "NAME ready.".
func (w *celeryWorker) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(150 * time.Second)
	for !strings.Contains(w.out.String(), w.name+" ready.") {
		select {
		case <-w.done:
			t.Fatalf("worker %s exited before it was ready:\n%s", w.name, w.out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker %s not ready within 150s:\n%s", w.name, w.out.String())
		}
	}
}

// stop asks the worker for a warm shutdown (SIGTERM: finish running
// tasks) and kills its process group if it takes longer than 20 s.
func (w *celeryWorker) stop(t testing.TB) {
	select {
	case <-w.done:
		return
	default:
	}
	w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(20 * time.Second):
		t.Logf("worker %s ignored SIGTERM for 20s; killing it", w.name)
		w.kill9()
	}
}

// kill9 sends SIGKILL to the worker's process group (its own pid is the
// group id) — the main process and every pool child — and waits.
func (w *celeryWorker) kill9() {
	syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	<-w.done
}

// driverRun is a driver.py process.
type driverRun struct {
	scenario string
	args     []string
	cmd      *exec.Cmd
	out      lockedBuffer
	cancel   context.CancelFunc
}

// startDriver starts driver.py SCENARIO ARGS (240 s at most).
func startDriver(t testing.TB, env []string, scenario string, args ...string) *driverRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 240*time.Second)
	d := &driverRun{scenario: scenario, args: args, cancel: cancel}
	d.cmd = exec.CommandContext(ctx, celeryPython, append([]string{"driver.py", scenario}, args...)...)
	d.cmd.Dir = celeryAppDir(t)
	d.cmd.Env = env
	d.cmd.Stdout, d.cmd.Stderr = &d.out, &d.out
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	d.cmd.Cancel = func() error { return syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL) }
	if err := d.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	return d
}

// wait fails the test unless the scenario exits having printed its "ok"
// line, and returns its output.
func (d *driverRun) wait(t testing.TB) string {
	t.Helper()
	err := d.cmd.Wait()
	d.cancel()
	out := d.out.String()
	if err != nil || !strings.Contains(out, "ok "+d.scenario+"\n") {
		t.Fatalf("driver.py %s %v: %v\n%s", d.scenario, d.args, err, out)
	}
	return out
}

// runDriver runs driver.py SCENARIO ARGS to its end (see wait).
func runDriver(t testing.TB, env []string, scenario string, args ...string) string {
	t.Helper()
	return startDriver(t, env, scenario, args...).wait(t)
}

// effect is one line of the tasks' side-effect log.
type effect struct {
	tag, what string
	pid       int
	at        float64
}

// readEffects returns the lines of dir/effects.log with the given tag.
func readEffects(t testing.TB, dir, tag string) []effect {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "effects.log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []effect
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 4 || fs[0] != tag {
			continue
		}
		pid, _ := strconv.Atoi(fs[2])
		at, _ := strconv.ParseFloat(fs[3], 64)
		out = append(out, effect{fs[0], fs[1], pid, at})
	}
	return out
}

func countEffects(es []effect, what string) int {
	n := 0
	for _, e := range es {
		if e.what == what {
			n++
		}
	}
	return n
}

// runAll runs each function as a subtest, all at the same time, and
// returns when every one has finished. (Subtests marked Parallel would
// wait for one of GOMAXPROCS slots; these mostly wait on other processes.)
func runAll(t *testing.T, names []string, fn func(t *testing.T, name string)) {
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(name, func(t *testing.T) { fn(t, name) })
		}()
	}
	wg.Wait()
}

// TestCelery runs every scenario on every transport configuration: the
// broker on Ferry's Redis or AMQP front end, results in Ferry's Redis or
// sent back over AMQP (rpc://).
func TestCelery(t *testing.T) {
	requireCommand(t, celeryPython)
	names := make([]string, len(celeryConfigs))
	for i, c := range celeryConfigs {
		names[i] = c.name
	}
	runAll(t, names, func(t *testing.T, name string) {
		var c celeryConfig
		for _, cc := range celeryConfigs {
			if cc.name == name {
				c = cc
			}
		}
		t.Run("Scenarios", func(t *testing.T) { celeryScenarios(t, c) })
		// The two crash tests after the scenarios (fewer processes at a
		// time on a shared machine), beside each other.
		runAll(t, []string{"AcksLateKill9", "FerryRestart"}, func(t *testing.T, part string) {
			if testing.Short() {
				t.Skip("slow: -short")
			}
			if part == "AcksLateKill9" {
				celeryAcksLateKill9(t, c)
			} else {
				celeryFerryRestart(t, c)
			}
		})
	})
}

// celeryScenarios starts two workers — one on the default queue, one
// consuming only the "special" queue — and runs the user scenarios at
// the same time against them.
func celeryScenarios(t *testing.T, c celeryConfig) {
	p := startCeleryFerry(t, t.TempDir())
	effects := t.TempDir()
	env := celeryEnviron(c, p, effects)
	mainNode, specialNode := "main@"+c.name, "special@"+c.name
	mainW := spawnCeleryWorker(t, env, mainNode, "-Q", "celery", "-c", "2")
	specialW := spawnCeleryWorker(t, env, specialNode, "-Q", "special", "-c", "1")
	mainW.waitReady(t)
	specialW.waitReady(t)
	// The first step alone (its 10 s timeout is tight on a loaded
	// machine), then the rest at once.
	runAll(t, []string{"basic"}, func(t *testing.T, s string) {
		runDriver(t, env, s)
	})
	scenarios := []string{"countdown", "retry", "canvas", "routing", "ratelimit",
		"revoke", "broadcast", "events", "events_dump"}
	runAll(t, scenarios, func(t *testing.T, s string) {
		celeryDrivers <- struct{}{}
		defer func() { <-celeryDrivers }()
		runDriver(t, env, s, mainNode, specialNode)
	})
	if t.Failed() {
		t.Logf("worker %s:\n%s", mainNode, tail(mainW.out.String(), 40000))
		t.Logf("worker %s:\n%s", specialNode, tail(specialW.out.String(), 40000))
		t.Logf("ferry:\n%s", tail(p.Log(), 4000))
	}
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// celeryAcksLateKill9 is "no task is lost" with task_acks_late: a worker
// is killed (SIGKILL to it and its pool) in the middle of a task and a
// second worker finishes it. AMQP redelivers the unacked message when
// the connection drops; the Redis transport restores it from its unacked
// hash once the visibility timeout has passed.
func celeryAcksLateKill9(t *testing.T, c celeryConfig) {
	const visibility = 4 // seconds (Redis transport)
	p := startCeleryFerry(t, t.TempDir())
	effects := t.TempDir()
	env := celeryEnviron(c, p, effects, "FERRY_CELERY_ACKS_LATE=1", "FERRY_CELERY_EVENTS=0",
		"FERRY_CELERY_VISIBILITY="+strconv.Itoa(visibility))
	w1 := startCeleryWorker(t, env, "k1@"+c.name, "-Q", "durable", "-c", "1")

	const tag = "killed"
	submit := startDriver(t, env, "submit_slow", tag, "3")
	deadline := time.Now().Add(60 * time.Second)
	for countEffects(readEffects(t, effects, tag), "start") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the task never started on %s:\n%s", w1.name, w1.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	started := readEffects(t, effects, tag)[0]
	w1.kill9()
	if c.broker == "redis" {
		// The restore happens when the next worker starts polling; the
		// message must be older than the visibility timeout by then.
		time.Sleep(time.Until(time.Unix(0, int64(started.at*1e9)).Add(visibility*time.Second + 500*time.Millisecond)))
	}
	w2 := startCeleryWorker(t, env, "k2@"+c.name, "-Q", "durable", "-c", "1")
	if err := submit.cmd.Wait(); err != nil || !strings.Contains(submit.out.String(), "ok submit_slow\n") {
		t.Fatalf("the killed task did not complete: %v\n%s\neffects %v\nk2:\n%s", err, submit.out.String(),
			readEffects(t, effects, tag), tail(w2.out.String(), 8000))
	}
	submit.cancel()
	es := readEffects(t, effects, tag)
	if countEffects(es, "start") < 2 || countEffects(es, "done") != 1 {
		t.Fatalf("want the task started by both workers and finished once; effects %v", es)
	}
	for _, e := range es {
		if e.what == "done" && e.pid == started.pid {
			t.Fatalf("the killed worker's pool process finished the task: %v", es)
		}
	}
}

// celeryFerryRestart submits tasks while no worker runs, kills Ferry with
// SIGKILL, starts it again on the same directory and only then starts a
// worker: every task runs exactly once. The Redis transport's lists are
// in the AOF (appendfsync always: a reply means it is on disk); the AMQP
// queue is durable, the messages persistent, and each publish confirmed.
func celeryFerryRestart(t *testing.T, c celeryConfig) {
	const n = 40
	dir, effects := t.TempDir(), t.TempDir()
	ids := filepath.Join(effects, "ids.json")
	p1 := startCeleryFerry(t, dir, "--appendfsync", "always")
	env1 := celeryEnviron(c, p1, effects, "FERRY_CELERY_CONFIRM=1", "FERRY_CELERY_EVENTS=0")
	runDriver(t, env1, "submit_many", "restart", strconv.Itoa(n), ids)
	p1.Cmd.Process.Signal(syscall.SIGKILL)
	p1.Cmd.Wait()

	p2 := startCeleryFerry(t, dir, "--appendfsync", "always")
	env2 := celeryEnviron(c, p2, effects, "FERRY_CELERY_EVENTS=0")
	startCeleryWorker(t, env2, "r@"+c.name, "-Q", "durable", "-c", "1")
	runDriver(t, env2, "collect_many", "restart", strconv.Itoa(n), ids)
}
