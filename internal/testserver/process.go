package testserver

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is one server process, started again with the same command line
// after a stop. Its output is appended to a log file.
type process struct {
	name     string // for messages: "redis 127.0.0.1:6379"
	path     string
	args     []string
	dir      string   // working directory
	env      []string // nil: inherit ours
	logPath  string
	cred     *syscall.Credential // nil: run as ourselves
	deathSig syscall.Signal      // sent by the kernel should the test binary die

	mu  sync.Mutex // serializes start and stop
	run *run       // the latest run, nil before the first start
}

// run is one execution of a process.
type run struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd has exited
	err  error         // cmd.Wait's result, readable once done is closed
}

func (p *process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.run != nil && !p.run.exited() {
		return fmt.Errorf("testserver: %s is already running", p.name)
	}
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("testserver: %s: %w", p.name, err)
	}
	defer logFile.Close() // the child has its own descriptor
	fmt.Fprintf(logFile, "--- testserver: %s %s\n", p.path, strings.Join(p.args, " "))

	cmd := exec.Command(p.path, p.args...)
	cmd.Dir, cmd.Env = p.dir, p.env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Pdeathsig is set by the kernel after the credentials change, so it
	// holds for a server run as another user too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Pdeathsig: p.deathSig}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testserver: starting %s: %w", p.name, err)
	}
	r := &run{cmd: cmd, done: make(chan struct{})}
	go func() {
		r.err = cmd.Wait()
		close(r.done)
	}()
	p.run = r
	return nil
}

func (r *run) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// stop sends sig and waits for the process to exit. Only a process still
// running after stopTimeout is killed, and that is reported as an error.
func (p *process) stop(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.run
	if r == nil || r.exited() {
		return nil
	}
	if err := r.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("testserver: stopping %s: %w", p.name, err)
	}
	select {
	case <-r.done:
		return nil
	case <-time.After(stopTimeout):
	}
	r.cmd.Process.Kill()
	<-r.done
	return fmt.Errorf("testserver: %s did not exit within %v of %v, so it was killed; its log:\n%s",
		p.name, stopTimeout, sig, p.logTail())
}

// running reports whether the process is up (not whether it answers).
func (p *process) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.run != nil && !p.run.exited()
}

// waitReady polls ready until it succeeds, the process exits or readyTimeout
// passes; failures carry the server's log.
func (p *process) waitReady(ready func() error) error {
	p.mu.Lock()
	r := p.run
	p.mu.Unlock()
	deadline := time.Now().Add(readyTimeout)
	for {
		err := ready()
		// Checked after ready: an answer from a process that is not ours
		// (one that took the port first) does not count.
		if r.exited() {
			return fmt.Errorf("testserver: %s exited during start-up (%v); its log:\n%s", p.name, r.err, p.logTail())
		}
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testserver: %s not ready after %v: %v; its log:\n%s", p.name, readyTimeout, err, p.logTail())
		}
		select {
		case <-r.done:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// logTail returns the end of the server's log, for failure messages.
func (p *process) logTail() string {
	const max = 8 << 10
	f, err := os.Open(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		f.Seek(fi.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// bindFailed reports whether a start failed because the port was taken, in
// which case the caller tries another port.
func bindFailed(err error) bool {
	return err != nil && strings.Contains(err.Error(), "in use")
}

// lookBinary finds a program in PATH or, failing that, in the usual folders.
func lookBinary(name string) (string, error) {
	if path, err := exec.LookPath(name); err == nil {
		return path, nil
	}
	for _, dir := range []string{"/usr/bin", "/usr/local/bin", "/usr/sbin"} {
		path := dir + "/" + name
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return path, nil
		}
	}
	return "", &missingError{what: name}
}
