package hashworker

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// niceValues returns the nice value of every thread of process pid.
func niceValues(t *testing.T, pid int) []int {
	t.Helper()
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(stats) == 0 {
		t.Fatalf("threads of %d: %v", pid, err)
	}
	var nices []int
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // the thread ended
		}
		// After "pid (comm) ", nice is the 17th field.
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		n, err := strconv.Atoi(fields[16])
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		nices = append(nices, n)
	}
	return nices
}

func TestChildRunsAtLowestPriority(t *testing.T) {
	c := newTestClient(t, testCommand)
	checkKey(t, c, 0)
	for _, n := range niceValues(t, c.Pid()) {
		if n != 19 {
			t.Errorf("a thread of the hash process has nice %d, want 19", n)
		}
	}
	for _, n := range niceValues(t, os.Getpid()) {
		if n != 0 {
			t.Errorf("a thread of the service has nice %d, want 0", n)
		}
	}
}
