package hashworker

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// priority is a thread's nice value and scheduling policy.
type priority struct{ nice, policy int }

// priorities returns the priority of every thread of process pid.
func priorities(t *testing.T, pid int) []priority {
	t.Helper()
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(stats) == 0 {
		t.Fatalf("threads of %d: %v", pid, err)
	}
	var ps []priority
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the thread ended
		}
		// After "pid (comm) ", nice is the 17th field and policy the 39th.
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		nice, err1 := strconv.Atoi(fields[16])
		policy, err2 := strconv.Atoi(fields[38])
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", path, err1, err2)
		}
		ps = append(ps, priority{nice, policy})
	}
	return ps
}

func TestChildRunsAtLowestPriority(t *testing.T) {
	c := newTestClient(t, testCommand)
	checkKey(t, c, 0)
	for _, p := range priorities(t, c.Pid()) {
		if p != (priority{19, unix.SCHED_IDLE}) {
			t.Errorf("a thread of the hash process has nice %d and policy %d, want 19 and SCHED_IDLE", p.nice, p.policy)
		}
	}
	for _, p := range priorities(t, os.Getpid()) {
		if p != (priority{0, unix.SCHED_NORMAL}) {
			t.Errorf("a thread of the service has nice %d and policy %d, want 0 and SCHED_NORMAL", p.nice, p.policy)
		}
	}
}

// peakRSS is the peak resident memory of process pid, in bytes.
func peakRSS(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if kib, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kib), "kB")))
			if err != nil {
				t.Fatalf("VmHWM: %v", err)
			}
			return n << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// The child collects its garbage after every hash, before it answers, so its
// peak memory stays near the hashes in flight; left to GOGC it reached twice
// that.
func TestChildPeakMemory(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's shadow memory blurs RSS; scripts/test runs this without it")
	}
	c := newTestClient(t, testCommand)
	const inFlight, memoryKiB = 2, 19 * 1024
	pw, salt := []byte("correct horse battery"), []byte("0123456789abcdef")
	var wg sync.WaitGroup
	for range inFlight {
		wg.Go(func() {
			for range 10 {
				c.IDKey(pw, salt, 1, memoryKiB, 1, 32)
			}
		})
	}
	wg.Wait()
	// The hashes in flight and the process itself: 43-45 MiB measured, where
	// GOGC gave 80-83 MiB, and a collection after the answer 65-83 MiB.
	budget := inFlight*memoryKiB<<10 + 20<<20
	if peak := peakRSS(t, c.Pid()); peak > budget {
		t.Errorf("the hash process peaked at %d MiB for %d hashes of %d MiB at once, want at most %d MiB",
			peak>>20, inFlight, memoryKiB>>10, budget>>20)
	}
}
