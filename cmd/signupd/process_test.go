package main

import (
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/testserver"
)

// asMain makes the test binary run as signupd itself, so that tests can start
// real signupd processes without building another binary. A service run in
// the test process starts its hash process from the test binary too.
const asMain = "SIGNUPD_TEST_RUN_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" || len(os.Args) == 2 && os.Args[1] == "hash-worker" {
		main()
		os.Exit(0)
	}
	os.Exit(testserver.Main(m))
}

// startProcess starts signupd as a process of its own with env (plus a fixed
// captcha answer and a free port) and stops it with SIGTERM when t ends.
func startProcess(t *testing.T, env map[string]string) *instance {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{asMain + "=1", "PATH=" + os.Getenv("PATH"),
		"SIGNUP_ADDR=127.0.0.1:0", "SIGNUP_TEST_CAPTCHA_ANSWER=" + testAnswer}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	in := &instance{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = in.stdout, in.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in.pid = cmd.Process.Pid
	exited := make(chan struct{}) // closed when the process has ended
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	var once sync.Once
	var killed bool
	in.kill = func() {
		once.Do(func() { killed = true; cmd.Process.Kill(); <-exited })
	}
	in.stop = func() error {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				<-exited
			}
		})
		if killed {
			return nil
		}
		return waitErr
	}
	t.Cleanup(func() {
		if err := in.stop(); err != nil {
			t.Errorf("signupd process: %v\n%s", err, in.stderr)
		}
	})
	listening := regexp.MustCompile(`msg=listening addr=(\S+)|"msg":"listening","addr":"([^"]+)"`)
	deadline := time.After(30 * time.Second)
	for {
		if m := listening.FindStringSubmatch(in.stderr.String()); m != nil {
			in.URL = "http://" + m[1] + m[2]
			return in
		}
		select {
		case <-exited:
			t.Fatalf("signupd exited before listening: %v\n%s", waitErr, in.stderr)
		case <-deadline:
			t.Fatalf("signupd did not start listening:\n%s", in.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
