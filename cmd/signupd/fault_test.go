package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/testserver"
)

// outageAnswerLimit bounds how long a request may take while a dependency is
// down: timeouts are short, so the answer is DBERR at once, not a hang.
const outageAnswerLimit = 5 * time.Second

// captchaErrno fetches a captcha: "png" when one is drawn, else the errno.
func captchaErrno(t *testing.T, base, id string) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := http.Get(base + "/api/v1.0/image_codes/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	d := time.Since(start)
	if resp.Header.Get("Content-Type") == "image/png" {
		return "png", d
	}
	var a struct{ Errno string }
	json.NewDecoder(resp.Body).Decode(&a)
	return a.Errno, d
}

func readyStatus(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if code, _ := readyStatus(t, base); code == 200 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	code, body := readyStatus(t, base)
	t.Fatalf("not ready 20 s after the dependency came back: %d %s", code, body)
}

func goroutines(t *testing.T, base string) int {
	t.Helper()
	n := metric(t, base, "go_goroutines")
	if n == 0 {
		t.Fatal("no go_goroutines in /metrics")
	}
	return n
}

// settled waits for the goroutine count to fall to at most limit: requests
// that failed must leave nothing behind.
func settled(t *testing.T, base string, limit int) {
	t.Helper()
	n := 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if n = goroutines(t, base); n <= limit {
			return
		}
	}
	t.Fatalf("%d goroutines 5 s after the burst, want at most %d: requests pile up", n, limit)
}

// timed runs fn and fails when it takes longer than outageAnswerLimit.
func timed(t *testing.T, what string, fn func() string) string {
	t.Helper()
	start := time.Now()
	errno := fn()
	if d := time.Since(start); d > outageAnswerLimit {
		t.Fatalf("%s took %v during the outage, want under %v", what, d, outageAnswerLimit)
	}
	return errno
}

func TestRedisOutage(t *testing.T) {
	redis := testserver.NewRedis(t)
	in := startSignupd(t, "", map[string]string{
		"SIGNUP_REDIS_URL": redis.URL(), "SIGNUP_DATABASE_URL": testserver.SharedPostgres(t).Database(t),
	})
	c := newClient(t, in.URL)
	c.signUp(in, "13812345678", "+8613812345678", "correct horse")
	baseline := goroutines(t, in.URL)

	redis.Stop(t)
	if errno, d := captchaErrno(t, in.URL, "outage-1"); errno != "4001" || d > outageAnswerLimit {
		t.Fatalf("captcha while Redis is down: %s after %v, want 4001 at once", errno, d)
	}
	if errno := timed(t, "login", func() string {
		e, _ := c.call("POST", "/api/v1.0/sessions", map[string]string{"mobile": "13812345678", "password": "correct horse"})
		return e
	}); errno != "4001" {
		t.Fatalf("login while Redis is down: %s, want 4001", errno)
	}
	// Sessions live in PostgreSQL: the logged-in user is still served.
	if errno, _ := c.call("GET", "/api/v1.0/user", nil); errno != "0" {
		t.Fatalf("user while Redis is down: %s, want 0", errno)
	}
	if code, body := readyStatus(t, in.URL); code != 503 || !strings.Contains(body, "redis") {
		t.Fatalf("readyz while Redis is down: %d %s", code, body)
	}
	burst := &http.Client{Transport: &http.Transport{}}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := burst.Get(in.URL + "/api/v1.0/image_codes/pile-" + strconv.Itoa(i)); err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	burst.CloseIdleConnections()
	settled(t, in.URL, baseline+20)

	redis.Start(t)
	waitReady(t, in.URL)
	if errno, _ := captchaErrno(t, in.URL, "after-1"); errno != "png" {
		t.Fatalf("captcha after Redis came back: %s", errno)
	}
	if errno, _ := c.call("GET", "/api/v1.0/user", nil); errno != "0" {
		t.Fatalf("session lost across the Redis outage: %s", errno)
	}
}

func TestPostgresOutage(t *testing.T) {
	pg := testserver.NewPostgres(t)
	in := startSignupd(t, "", map[string]string{
		"SIGNUP_REDIS_URL": testserver.NewRedis(t).URL(), "SIGNUP_DATABASE_URL": pg.Database(t),
	})
	c := newClient(t, in.URL)
	c.signUp(in, "13812345678", "+8613812345678", "correct horse")

	pg.Stop(t)
	for _, step := range []struct {
		what, method, path string
		body               any
	}{
		{"user", "GET", "/api/v1.0/user", nil},
		{"session", "GET", "/api/v1.0/session", nil},
		{"login", "POST", "/api/v1.0/sessions", map[string]string{"mobile": "13812345678", "password": "correct horse"}},
	} {
		if errno := timed(t, step.what, func() string { e, _ := c.call(step.method, step.path, step.body); return e }); errno != "4001" {
			t.Fatalf("%s while PostgreSQL is down: %s, want 4001", step.what, errno)
		}
	}
	if code, body := readyStatus(t, in.URL); code != 503 || !strings.Contains(body, "database") {
		t.Fatalf("readyz while PostgreSQL is down: %d %s", code, body)
	}
	// Captchas live in Redis and keep working.
	if errno, _ := captchaErrno(t, in.URL, "pg-down"); errno != "png" {
		t.Fatalf("captcha while PostgreSQL is down: %s", errno)
	}

	pg.Start(t)
	waitReady(t, in.URL)
	if errno, data := c.call("GET", "/api/v1.0/user", nil); errno != "0" || data["mobile"] != "+8613812345678" {
		t.Fatalf("after PostgreSQL came back: %s %v, want the same user and session", errno, data)
	}
	if errno, _ := c.call("POST", "/api/v1.0/sessions", map[string]string{"mobile": "13812345678", "password": "correct horse"}); errno != "0" {
		t.Fatalf("login after PostgreSQL came back: %s", errno)
	}
}
