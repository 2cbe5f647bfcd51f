package hashworker

import (
	"os"
	"strconv"
	"syscall"
)

// pollableStdio returns stdin and stdout in non-blocking mode, for the poller.
func pollableStdio() (stdin, stdout *os.File, err error) {
	for _, fd := range []int{0, 1} {
		if err := syscall.SetNonblock(fd, true); err != nil {
			return nil, nil, err
		}
	}
	return os.NewFile(0, "stdin"), os.NewFile(1, "stdout"), nil
}

// lowerPriority sets every thread of this process to nice 19. Linux keeps a
// nice value per thread and a new thread inherits its creator's, so once a
// pass over the threads finds nothing left to change, every thread the
// runtime makes later is niced too.
func lowerPriority() error {
	for {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		changed := false
		for _, task := range tasks {
			tid, err := strconv.Atoi(task.Name())
			if err != nil {
				continue
			}
			// getpriority's raw result is 20 - nice.
			if prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid); err == nil && prio == 20-19 {
				continue
			}
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, 19); err != nil && err != syscall.ESRCH {
				return err
			}
			changed = true
		}
		if !changed {
			return nil
		}
	}
}
