package msgstore

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const crashEnv = "FERRY_MSGSTORE_CRASH_DIR"

// TestKill9Child is the child half of TestKill9: it appends messages as
// fast as it can and prints "C <id> <queues>" once a message is confirmed
// on disk and "R <id>" once a removal of queue 1 is, until it is killed.
func TestKill9Child(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("child of TestKill9 only")
	}
	s, _, err := Open(dir, Options{SegmentSize: 32 << 10, CompactInterval: 5 * time.Millisecond, Logger: quiet()})
	if err != nil {
		fmt.Println("E", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	emit := func(line string) {
		mu.Lock()
		out.WriteString(line)
		out.Flush()
		mu.Unlock()
	}
	type pending struct {
		id     uint64
		queues string
	}
	for i := 0; ; i++ {
		qs := []uint64{1}
		if i%4 == 0 {
			qs = []uint64{1, 2}
		}
		id, err := s.Add(qs, []byte(fmt.Sprintf("h%d", i)), []byte(strings.Repeat("x", i%300)))
		if err != nil {
			fmt.Println("E", err)
			os.Exit(1)
		}
		p := pending{id, fmt.Sprint(len(qs))}
		s.Notify(waiterFunc(func(uint64, error) { emit(fmt.Sprintf("C %d %s %d\n", p.id, p.queues, i)) }), id)
		if i%3 == 0 && i > 0 {
			// Remove an earlier message from queue 1 and report it once a
			// sync covers the removal.
			old := id - 2
			emit(fmt.Sprintf("I %d\n", old)) // before the removal can reach disk
			s.Remove(1, []uint64{old})
			s.Notify(waiterFunc(func(uint64, error) { emit(fmt.Sprintf("R %d\n", old)) }), old)
		}
	}
}

// TestKill9 runs TestKill9Child in a child process, kills it with SIGKILL
// mid-stream, and checks that every confirmed message is recovered, every
// confirmed removal stays removed, and nothing comes back twice or garbled.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	for round := 0; round < 3; round++ {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^TestKill9Child$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		type conf struct {
			queues int
			i      int
		}
		confirmed := map[uint64]conf{}
		removed := map[uint64]bool{}
		intended := map[uint64]bool{} // removal issued, maybe not on disk
		sc := bufio.NewScanner(stdout)
		deadline := time.Now().Add(20 * time.Second)
		target := 3000 + round*2000
		killed := false
		for sc.Scan() {
			line := sc.Text()
			var id uint64
			var q, i int
			switch {
			case strings.HasPrefix(line, "C "):
				fmt.Sscanf(line, "C %d %d %d", &id, &q, &i)
				confirmed[id] = conf{q, i}
			case strings.HasPrefix(line, "I "):
				fmt.Sscanf(line, "I %d", &id)
				intended[id] = true
			case strings.HasPrefix(line, "R "):
				fmt.Sscanf(line, "R %d", &id)
				removed[id] = true
			case strings.HasPrefix(line, "E "):
				t.Fatalf("child: %s", line)
			}
			if !killed && (len(confirmed) >= target || time.Now().After(deadline)) {
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			}
		}
		if !killed {
			cmd.Process.Signal(syscall.SIGKILL)
		}
		cmd.Wait()
		if len(confirmed) == 0 {
			t.Fatal("child confirmed nothing")
		}
		s, rec, err := Open(dir, Options{Logger: quiet()})
		if err != nil {
			t.Fatalf("recovery after kill -9: %v", err)
		}
		got := map[uint64]Recovered{}
		for _, m := range rec.Messages {
			if _, dup := got[m.ID]; dup {
				t.Fatalf("message %d recovered twice", m.ID)
			}
			got[m.ID] = m
			var i int
			if _, err := fmt.Sscanf(string(m.Head), "h%d", &i); err != nil || len(m.Body) != i%300 {
				t.Fatalf("message %d garbled: head %q body %d bytes", m.ID, m.Head, len(m.Body))
			}
		}
		for id, c := range confirmed {
			m, ok := got[id]
			if removed[id] {
				if ok && containsQ(m.Queues, 1) {
					t.Fatalf("message %d came back in queue 1 after its removal was confirmed", id)
				}
				if c.queues == 2 && (!ok || !containsQ(m.Queues, 2)) {
					t.Fatalf("message %d lost from queue 2", id)
				}
				continue
			}
			if intended[id] && (!ok || !containsQ(m.Queues, 1)) {
				// The removal may or may not have reached the disk.
				if c.queues == 2 && (!ok || !containsQ(m.Queues, 2)) {
					t.Fatalf("message %d lost from queue 2", id)
				}
				continue
			}
			if !ok {
				t.Fatalf("confirmed message %d lost (%d confirmed, %d recovered)", id, len(confirmed), len(got))
			}
			if !containsQ(m.Queues, 1) || (c.queues == 2) != containsQ(m.Queues, 2) {
				t.Fatalf("message %d recovered with queues %v", id, m.Queues)
			}
		}
		t.Logf("round %d: %d confirmed, %d removals confirmed, %d recovered, warnings %q",
			round, len(confirmed), len(removed), len(got), rec.Warnings)
		s.Close()
	}
}

func containsQ(qs []uint64, q uint64) bool {
	for _, x := range qs {
		if x == q {
			return true
		}
	}
	return false
}
