package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// children returns the pids of the processes whose parent is pid.
func children(t *testing.T, pid int) []int {
	t.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var pids []int
	for _, path := range stats {
		f := procStat(path)
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			n, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
			pids = append(pids, n)
		}
	}
	return pids
}

// procStat returns the fields of a /proc stat file after "pid (comm)":
// state, ppid, ... (nice is index 16).
func procStat(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

func TestPasswordHashesRunInALowPriorityProcess(t *testing.T) {
	in := startProcess(t, map[string]string{"SIGNUP_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "signup.db")})
	c := newClient(t, in.URL)
	c.signUp(in, "13812345678", "+8613812345678", "correct horse")

	kids := children(t, in.pid)
	if len(kids) != 1 {
		t.Fatalf("signupd has %d child processes, want its hash process", len(kids))
	}
	hashes := kids[0]
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", hashes))
	if args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00"); args[len(args)-1] != "hash-worker" {
		t.Fatalf("child runs %q, want signupd hash-worker", args)
	}
	if nice := procStat(fmt.Sprintf("/proc/%d/stat", hashes))[16]; nice != "19" {
		t.Errorf("hash process runs at nice %s, want 19", nice)
	}
	if nice := procStat(fmt.Sprintf("/proc/%d/stat", in.pid))[16]; nice != "0" {
		t.Errorf("signupd runs at nice %s, want 0", nice)
	}

	// With the hash process killed, logins still work, hashed in signupd
	// until a new hash process starts.
	if err := syscall.Kill(hashes, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	login := map[string]string{"mobile": "13812345678", "password": "correct horse"}
	if errno, _ := c.call("POST", "/api/v1.0/sessions", login); errno != "0" {
		t.Fatalf("login with the hash process killed: errno %s", errno)
	}
	var restarted []int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if errno, _ := c.call("POST", "/api/v1.0/sessions", login); errno != "0" {
			t.Fatalf("login after the hash process was killed: errno %s", errno)
		}
		if restarted = children(t, in.pid); len(restarted) == 1 && restarted[0] != hashes {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new hash process after the first was killed (children %v)", restarted)
		}
	}

	// The hash process ends with signupd (a zombie has ended too).
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
	running := func() bool {
		f := procStat(fmt.Sprintf("/proc/%d/stat", restarted[0]))
		return f != nil && f[0] != "Z"
	}
	for deadline := time.Now().Add(10 * time.Second); running(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the hash process outlived signupd")
		}
	}
}
