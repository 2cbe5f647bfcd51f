package hashworker

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
