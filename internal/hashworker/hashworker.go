// Package hashworker computes argon2id keys in a child process that runs at
// the lowest CPU priority. A password hash holds a CPU for tens of
// milliseconds; in the service's own process a flood of logins would make
// captchas and sends wait behind it. With the child in the idle scheduling
// class the kernel runs hashes only on CPU time that requests leave over,
// so hashing can use every CPU without slowing the rest.
package hashworker

import (
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

type request struct {
	ID              uint64
	Password, Salt  []byte
	Time, MemoryKiB uint32
	Threads         uint8
	KeyLen          uint32
}

type response struct {
	ID  uint64
	Key []byte
}

// Serve is the child's side: it lowers this process to the lowest CPU
// priority, then reads requests from r until it ends, computes each on its
// own goroutine (the parent bounds how many are in flight) and writes the
// keys to w. It runs the process's garbage collection itself, so it must
// have the process to itself.
func Serve(r io.Reader, w io.Writer) error {
	if err := lowerPriority(); err != nil {
		return fmt.Errorf("hashworker: lower priority: %w", err)
	}
	// A hash allocates its whole memory cost (19 MiB by default) and drops it
	// when done. Left to GOGC, the heap grows to twice the hashes in flight
	// before a collection: a peak RSS of 80-140 MB with two at once. A
	// collection after each hash instead holds the peak near the hashes in
	// flight (43-45 MB; TestChildPeakMemory), for about 2 ms of a 25 ms hash
	// (logins 58/s instead of 63/s, medians of 3). Every request ends in a
	// hash, so nothing piles up between collections.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	dec, enc := gob.NewDecoder(r), gob.NewEncoder(w)
	var mu sync.Mutex // guards enc and failed
	var failed error
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		var req request
		if err := dec.Decode(&req); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("hashworker: read request: %w", err)
		}
		wg.Go(func() {
			key := argon2.IDKey(req.Password, req.Salt, req.Time, req.MemoryKiB, req.Threads, req.KeyLen)
			// Before the answer, so that the request the parent sends next
			// cannot allocate while the memory it could reuse is uncollected.
			runtime.GC()
			mu.Lock()
			if failed == nil {
				failed = enc.Encode(response{ID: req.ID, Key: key})
			}
			mu.Unlock()
		})
	}
}

// ServeStdio runs Serve on this process's stdin and stdout, the pipes the
// Client made. They are switched to non-blocking mode first, so that Go waits
// for them in its poller: a read blocked in a system call would hold a CPU
// slot of the runtime until its monitor took it back, up to 10 ms later,
// and the hashes would wait for it.
func ServeStdio() error {
	stdin, stdout, err := pollableStdio()
	if err != nil {
		return fmt.Errorf("hashworker: stdio: %w", err)
	}
	return Serve(stdin, stdout)
}

// Client hands argon2id computations to a child process made by command. If
// the child cannot be started or dies, the computation runs in this process
// instead, so hashing never fails; a new child is tried at most once a
// second.
type Client struct {
	command func() *exec.Cmd
	logger  *slog.Logger

	mu        sync.Mutex // guards child and nextStart
	child     *child
	nextStart time.Time
	closed    bool
}

// NewClient returns a client that starts the child with command, whose
// process must run Serve on its stdin and stdout. The child starts with the
// first computation.
func NewClient(command func() *exec.Cmd, logger *slog.Logger) *Client {
	return &Client{command: command, logger: logger}
}

// IDKey is argon2.IDKey, computed in the child.
func (c *Client) IDKey(password, salt []byte, time, memoryKiB uint32, threads uint8, keyLen uint32) []byte {
	req := request{Password: password, Salt: salt, Time: time, MemoryKiB: memoryKiB, Threads: threads, KeyLen: keyLen}
	if ch := c.running(); ch != nil {
		key, err := ch.call(req, patience(time, memoryKiB))
		if err == nil {
			return key
		}
		c.logger.Error("password hash process failed or starved; hashing in the service's process until it restarts", "err", err)
		c.drop(ch)
	}
	return argon2.IDKey(password, salt, time, memoryKiB, threads, keyLen)
}

// Close ends the child, after the computations in flight.
func (c *Client) Close() error {
	c.mu.Lock()
	ch := c.child
	c.child, c.closed = nil, true
	c.mu.Unlock()
	if ch != nil {
		ch.close()
	}
	return nil
}

// Pid is the child's process id, or 0 while none runs.
func (c *Client) Pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.child == nil {
		return 0
	}
	return c.child.cmd.Process.Pid
}

func (c *Client) running() *child {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.child != nil || c.closed || time.Now().Before(c.nextStart) {
		return c.child
	}
	c.nextStart = time.Now().Add(time.Second)
	ch, err := startChild(c.command())
	if err != nil {
		c.logger.Error("cannot start the password hash process; hashing in the service's process", "err", err)
		return nil
	}
	c.child = ch
	return ch
}

func (c *Client) drop(ch *child) {
	c.mu.Lock()
	if c.child == ch {
		c.child = nil
	}
	c.mu.Unlock()
	go ch.close() // the caller holds a hashing slot; it need not wait for the exit
}

// child is one running hash process and the calls waiting on it.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	enc   *gob.Encoder
	done  chan struct{} // closed once the child's output has ended

	mu      sync.Mutex // guards enc, pending, nextID and err
	pending map[uint64]chan []byte
	nextID  uint64
	err     error // why the child ended
}

func startChild(cmd *exec.Cmd) (*child, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ch := &child{cmd: cmd, stdin: stdin, enc: gob.NewEncoder(stdin), done: make(chan struct{}), pending: map[uint64]chan []byte{}}
	go ch.read(stdout)
	return ch, nil
}

func (ch *child) read(stdout io.Reader) {
	dec := gob.NewDecoder(stdout)
	var err error
	for {
		var resp response
		if err = dec.Decode(&resp); err != nil {
			break
		}
		ch.mu.Lock()
		reply := ch.pending[resp.ID]
		delete(ch.pending, resp.ID)
		ch.mu.Unlock()
		if reply != nil {
			reply <- resp.Key
		}
	}
	waitErr := ch.cmd.Wait()
	ch.mu.Lock()
	ch.err = fmt.Errorf("hash process ended: %v (%v)", waitErr, err)
	for id, reply := range ch.pending {
		close(reply)
		delete(ch.pending, id)
	}
	ch.mu.Unlock()
	close(ch.done)
}

func (ch *child) call(req request, patience time.Duration) ([]byte, error) {
	reply := make(chan []byte, 1)
	ch.mu.Lock()
	if ch.err != nil {
		defer ch.mu.Unlock()
		return nil, ch.err
	}
	ch.nextID++
	req.ID = ch.nextID
	ch.pending[req.ID] = reply
	err := ch.enc.Encode(req)
	if err != nil {
		delete(ch.pending, req.ID)
	}
	ch.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("send to hash process: %w", err)
	}
	timeout := time.NewTimer(patience)
	defer timeout.Stop()
	select {
	case key, ok := <-reply:
		if !ok {
			ch.mu.Lock()
			defer ch.mu.Unlock()
			return nil, ch.err
		}
		return key, nil
	case <-timeout.C:
		ch.cmd.Process.Kill()
		return nil, fmt.Errorf("no answer from the hash process in %v", patience)
	}
}

// patience is how long a hash of the given cost may take in the child: 50
// times what it takes on an idle CPU here (25 ms at m=19 MiB, t=2), at least
// a second. A child that takes longer is stuck, or starved: its idle class
// gets no CPU while other work keeps every CPU busy. Then the hash runs in
// the service's own process, at its normal share, so logins still finish
// while the machine is saturated.
func patience(passes, memoryKiB uint32) time.Duration {
	expected := time.Duration(passes) * time.Duration(memoryKiB) * 25 * time.Millisecond / (2 * 19456)
	return max(time.Second, 50*expected)
}

// close ends the child's input, so it finishes what it holds and exits, and
// waits for that.
func (ch *child) close() {
	ch.stdin.Close()
	select {
	case <-ch.done:
	case <-time.After(10 * time.Second):
		ch.cmd.Process.Kill()
		<-ch.done
	}
}
