package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// broker is a broker process started for the comparison.
type broker struct {
	name string
	url  string
	cmd  *exec.Cmd
	pid  func() int // the process whose memory is the broker's
	stop func()
}

// compareMain runs every scenario against Ferry and RabbitMQ, both started
// here, and prints the figures and their ratios.
func compareMain(args []string) int {
	fs := flag.NewFlagSet("amqpbench compare", flag.ExitOnError)
	ferryBin := fs.String("ferry", "", "ferry binary (required)")
	rabbitBin := fs.String("rabbitmq", "/usr/lib/rabbitmq/bin/rabbitmq-server", "rabbitmq-server start script")
	memN := fs.Int("mem-n", 1000000, "1 KB messages queued for the memory figure (0 = skip)")
	var lf loadFlags
	lf.register(fs)
	fs.Parse(args)
	if *ferryBin == "" {
		fmt.Fprintln(os.Stderr, "amqpbench compare: -ferry is required")
		return 2
	}
	tmp, err := os.MkdirTemp("", "amqpbench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)

	rmq, err := startRabbit(*rabbitBin, filepath.Join(tmp, "rabbitmq"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "rabbitmq:", err)
		return 1
	}
	defer rmq.stop()
	fy, err := startFerry(*ferryBin, filepath.Join(tmp, "ferry"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferry:", err)
		return 1
	}
	defer fy.stop()
	brokers := []*broker{fy, rmq}
	// Interrupted (^C, timeout(1)): stop both brokers before exiting, or
	// the RabbitMQ node and its epmd would outlive the run.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		fy.stop()
		rmq.stop()
		os.RemoveAll(tmp)
		os.Exit(1)
	}()

	type pair struct{ f, r result }
	var rows []pair
	for _, sc := range lf.scenarios() {
		var res [2]result
		for i, b := range brokers {
			r, err := run(b.url, sc)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s %s: %v\n", b.name, sc.name, err)
				return 1
			}
			fmt.Printf("%-8s %v\n", b.name, r)
			res[i] = r
		}
		rows = append(rows, pair{res[0], res[1]})
	}
	var mem [2]int64
	if *memN > 0 {
		for i, b := range brokers {
			before := rss(b.pid())
			if err := fillForMemory(b.url, *memN, 1024); err != nil {
				fmt.Fprintf(os.Stderr, "%s memory fill: %v\n", b.name, err)
				return 1
			}
			time.Sleep(2 * time.Second)
			mem[i] = rss(b.pid())
			fmt.Printf("%-8s RSS %d MiB before, %d MiB with %d 1 KB messages queued\n", b.name, before>>20, mem[i]>>20, *memN)
			teardown(b.url, scenario{queues: 1})
		}
	}

	fmt.Println()
	fmt.Println("| scenario | Ferry msg/s | RabbitMQ msg/s | ratio | Ferry p50 / p99 | RabbitMQ p50 / p99 | p99 ratio |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	for _, p := range rows {
		fmt.Printf("| %s | %.0f | %.0f | %.2fx | %v / %v | %v / %v | %.2fx |\n", p.f.name, p.f.rate(), p.r.rate(), p.f.rate()/p.r.rate(),
			p.f.p50.Round(time.Microsecond), p.f.p99.Round(time.Microsecond), p.r.p50.Round(time.Microsecond), p.r.p99.Round(time.Microsecond),
			float64(p.r.p99)/float64(p.f.p99))
	}
	if *memN > 0 {
		fmt.Printf("| RSS with %d × 1 KB queued | %d MiB | %d MiB | %.2fx less | | | |\n", *memN, mem[0]>>20, mem[1]>>20, float64(mem[1])/float64(mem[0]))
	}
	return 0
}

// freePort returns a loopback port nobody listens on now.
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitAMQP dials url until a connection opens or d passes.
func waitAMQP(url string, d time.Duration, exited func() bool) error {
	deadline := time.Now().Add(d)
	for {
		c, err := amqp091.Dial(url)
		if err == nil {
			c.Close()
			return nil
		}
		if exited() {
			return fmt.Errorf("process exited: %v", err)
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func startFerry(bin, dir string, extra ...string) (*broker, error) {
	port := freePort()
	cmd := exec.Command(bin, append([]string{"amqp", "--port", strconv.Itoa(port), "--dir", dir, "--loglevel", "warn"}, extra...)...)
	var logBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	b := &broker{name: "ferry", url: fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", port), cmd: cmd,
		pid: func() int { return cmd.Process.Pid }}
	b.stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	isExited := func() bool {
		select {
		case <-exited:
			return true
		default:
			return false
		}
	}
	if err := waitAMQP(b.url, 20*time.Second, isExited); err != nil {
		b.stop()
		return nil, fmt.Errorf("%v; log:\n%s", err, logBuf.String())
	}
	return b, nil
}

// startRabbit starts a RabbitMQ node of its own: its node name, ports
// (AMQP, distribution, epmd), Mnesia and log directories and Erlang cookie
// all private, so it disturbs no other node on the machine.
func startRabbit(script, dir string) (*broker, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "enabled_plugins"), []byte("[].\n"), 0o644); err != nil {
		return nil, err
	}
	port, dist, epmd := freePort(), freePort(), freePort()
	node := fmt.Sprintf("amqpbench%d@localhost", port)
	cmd := exec.Command(script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"HOME="+dir,
		"RABBITMQ_NODENAME="+node,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT="+strconv.Itoa(port),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(dist),
		"ERL_EPMD_PORT="+strconv.Itoa(epmd),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
		"RABBITMQ_PID_FILE="+filepath.Join(dir, "pid"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(dir, "rabbitmq"),
		"RABBITMQ_ADVANCED_CONFIG_FILE="+filepath.Join(dir, "advanced.config"),
	)
	var logBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	// Its own process group: the start script runs beam.smp as a child.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	b := &broker{name: "rabbitmq", url: fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", port), cmd: cmd}
	b.pid = func() int { return findProc("beam.smp", node) }
	b.stop = func() {
		epmdPid := findProc("epmd", "ERL_EPMD_PORT="+strconv.Itoa(epmd))
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		// epmd daemonises out of the group; it is ours by its port.
		if epmdPid > 0 {
			syscall.Kill(epmdPid, syscall.SIGTERM)
		}
	}
	isExited := func() bool {
		select {
		case <-exited:
			return true
		default:
			return false
		}
	}
	if err := waitAMQP(b.url, 120*time.Second, isExited); err != nil {
		b.stop()
		return nil, fmt.Errorf("%v; log:\n%s", err, logBuf.String())
	}
	return b, nil
}

// findProc returns the pid of a process named comm whose command line or
// environment contains marker, or 0.
func findProc(comm, marker string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		c, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if strings.TrimSpace(string(c)) != comm {
			continue
		}
		cl, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		env, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if bytes.Contains(cl, []byte(marker)) || bytes.Contains(env, []byte(marker)) {
			return pid
		}
	}
	return 0
}

// rss returns a process's resident set size in bytes.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}
