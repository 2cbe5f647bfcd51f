package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer that run's goroutines and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// instance is signupd running in this process through run, as main runs it.
type instance struct {
	URL            string
	stdout, stderr *syncBuffer
	stop           func() error
	kill           func() // SIGKILL, for processes only
	pid            int    // for processes only
}

// testAnswer is the fixed captcha answer the test instances use.
const testAnswer = "AC34"

// startSignupd runs signupd with env on a free loopback port, with a fixed
// captcha answer and the console SMS provider, and stops it when t ends.
// A dbPath of "" gives the instance a database of its own.
func startSignupd(t *testing.T, dbPath string, env map[string]string) *instance {
	t.Helper()
	if dbPath == "" {
		dbPath = filepath.Join(t.TempDir(), "signup.db")
	}
	vars := map[string]string{
		"SIGNUP_ADDR":                "127.0.0.1:0",
		"SIGNUP_DATABASE_URL":        "sqlite:" + dbPath,
		"SIGNUP_TEST_CAPTCHA_ANSWER": testAnswer,
	}
	for k, v := range env {
		vars[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return vars[k] }, in.stdout, in.stderr) }()
	var once sync.Once
	var stopErr error
	in.stop = func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}
	t.Cleanup(func() {
		if err := in.stop(); err != nil {
			t.Errorf("signupd stopped with %v", err)
		}
	})
	listening := regexp.MustCompile(`msg=listening addr=(\S+)`)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := listening.FindStringSubmatch(in.stderr.String()); m != nil {
			in.URL = "http://" + m[1]
			return in
		}
		select {
		case err := <-done:
			t.Fatalf("signupd exited before listening: %v\n%s", err, in.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("signupd did not start listening:\n%s", in.stderr)
	return nil
}

// smsCode waits for the console provider to print a code for phone (E.164)
// and returns the latest one.
func (in *instance) smsCode(t *testing.T, phone string) string {
	t.Helper()
	re := regexp.MustCompile(`SMS to ` + regexp.QuoteMeta(phone) + `\b.*?(\d{6})`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if all := re.FindAllStringSubmatch(in.stdout.String(), -1); all != nil {
			return all[len(all)-1][1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no SMS code for %s in:\n%s", phone, in.stdout)
	return ""
}

func sleepBriefly() { time.Sleep(10 * time.Millisecond) }

// metric reads base's /metrics and sums the samples of name whose labels
// contain every one of labels; 0 when there is none.
func metric(t *testing.T, base, name string, labels ...string) int {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	sum := 0
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if f := strings.Fields(line); ok {
			n, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += int(n)
		}
	}
	return sum
}
