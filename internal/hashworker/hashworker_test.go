package hashworker

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// asChild makes the test binary run as the hash process.
const asChild = "HASHWORKER_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(asChild) == "1" {
		if err := ServeStdio(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func testCommand() *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), asChild+"=1")
	cmd.Stderr = os.Stderr
	return cmd
}

func newTestClient(t *testing.T, command func() *exec.Cmd) *Client {
	t.Helper()
	c := NewClient(command, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { c.Close() })
	return c
}

func checkKey(t *testing.T, c *Client, i int) {
	t.Helper()
	pw, salt := fmt.Appendf(nil, "password %d", i), fmt.Appendf(nil, "salt of call %d", i)
	got := c.IDKey(pw, salt, 1, 64, 1, 32)
	if want := argon2.IDKey(pw, salt, 1, 64, 1, 32); !bytes.Equal(got, want) {
		t.Errorf("call %d: key %x, want %x", i, got, want)
	}
}

func TestKeysAreArgon2id(t *testing.T) {
	c := newTestClient(t, testCommand)
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() { checkKey(t, c, i) })
	}
	wg.Wait()
	// A child that other tests starve of CPU for a second is dropped and
	// its calls finish here (see patience); a new one starts a second on.
	for deadline := time.Now().Add(10 * time.Second); c.Pid() == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		checkKey(t, c, 64)
	}
	if c.Pid() == 0 {
		t.Fatal("no hash process ran the calls")
	}
	pw, salt := []byte("correct horse battery"), []byte("0123456789abcdef")
	if got, want := c.IDKey(pw, salt, 2, 19*1024, 1, 32), argon2.IDKey(pw, salt, 2, 19*1024, 1, 32); !bytes.Equal(got, want) {
		t.Errorf("default cost: key %x, want %x", got, want)
	}
}

func TestChildDeathFallsBackAndRestarts(t *testing.T) {
	c := newTestClient(t, testCommand)
	checkKey(t, c, 0)
	first := c.Pid()
	if first == 0 {
		t.Fatal("no hash process started")
	}
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 5; i++ {
		checkKey(t, c, i) // in this process while the child is down
	}
	deadline := time.Now().Add(10 * time.Second)
	for i := 5; c.Pid() == 0 || c.Pid() == first; i++ {
		if time.Now().After(deadline) {
			t.Fatal("no new hash process after the first was killed")
		}
		time.Sleep(100 * time.Millisecond)
		checkKey(t, c, i)
	}
}

// A child that never answers (stuck, or starved of CPU) holds a hash no
// longer than its patience: the hash is made in this process instead.
func TestSilentChildFallsBack(t *testing.T) {
	c := newTestClient(t, func() *exec.Cmd { return exec.Command("sleep", "60") })
	start := time.Now()
	checkKey(t, c, 0)
	if waited := time.Since(start); waited > 20*time.Second {
		t.Fatalf("a silent hash process held the hash %v", waited)
	}
	if pid := c.Pid(); pid != 0 {
		t.Errorf("the silent hash process %d was kept", pid)
	}
}

func TestNoChildHashesInProcess(t *testing.T) {
	c := newTestClient(t, func() *exec.Cmd { return exec.Command("/nonexistent/hash-process") })
	for i := range 3 {
		checkKey(t, c, i)
	}
	if pid := c.Pid(); pid != 0 {
		t.Errorf("Pid = %d with no hash process", pid)
	}
}

func TestCloseEndsChild(t *testing.T) {
	c := NewClient(testCommand, slog.New(slog.DiscardHandler))
	checkKey(t, c, 0)
	pid := c.Pid()
	c.Close()
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("hash process %d still runs after Close", pid)
	}
	checkKey(t, c, 1) // a closed client still hashes, in this process
	if c.Pid() != 0 {
		t.Error("a closed client started a new hash process")
	}
}
