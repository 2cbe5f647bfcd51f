package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/sms"
)

// gateway is an SMS webhook receiver that checks signatures, records every
// delivery by idempotency key, and can hold requests until released.
type gateway struct {
	t        *testing.T
	url      string
	secret   string
	mu       sync.Mutex
	accepted map[string]int // Idempotency-Key -> acceptances
	inFlight int
	hold     chan struct{} // closed: answer at once
	arrived  chan struct{}
}

func newGateway(t *testing.T, held bool) *gateway {
	g := &gateway{t: t, secret: "0123456789abcdef0123", accepted: map[string]int{}, hold: make(chan struct{}), arrived: make(chan struct{}, 1000)}
	if !held {
		close(g.hold)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := sms.VerifyWebhook([]byte(g.secret), r.Header.Get("X-Signup-Timestamp"), body, r.Header.Get("X-Signup-Signature"), time.Now(), time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		g.mu.Lock()
		g.inFlight++
		g.mu.Unlock()
		g.arrived <- struct{}{}
		select {
		case <-g.hold:
		case <-time.After(30 * time.Second):
		}
		g.mu.Lock()
		g.inFlight--
		g.accepted[r.Header.Get("Idempotency-Key")]++
		g.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

func (g *gateway) release() {
	select {
	case <-g.hold:
	default:
		close(g.hold)
	}
}

func (g *gateway) snapshot() (accepted map[string]int, inFlight int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	a := map[string]int{}
	for k, v := range g.accepted {
		a[k] = v
	}
	return a, g.inFlight
}

func (g *gateway) env(db string) map[string]string {
	return map[string]string{
		"SIGNUP_DATABASE_URL":       "sqlite:" + db,
		"SIGNUP_SMS_PROVIDER":       "webhook",
		"SIGNUP_SMS_WEBHOOK_URL":    g.url,
		"SIGNUP_SMS_WEBHOOK_SECRET": g.secret,
	}
}

// sendCodes asks for codes to n numbers through p, each with its own captcha.
func sendCodes(t *testing.T, p *peer, n int) {
	t.Helper()
	for i := range n {
		id := fmt.Sprintf("cap-%d", i)
		if err := p.get("/api/v1.0/image_codes/" + id); err != nil {
			t.Fatal(err)
		}
		if errno := p.sendCode(fmt.Sprintf("1370000%04d", i), id); errno != "0" {
			t.Fatalf("send code %d: %s", i, errno)
		}
	}
}

func TestShutdownFinishesInFlightWork(t *testing.T) {
	g := newGateway(t, true)
	env := g.env(filepath.Join(t.TempDir(), "signup.db"))
	env["SIGNUP_LOG_FORMAT"], env["SIGNUP_HASH_CONCURRENCY"] = "json", "1"
	in := startProcess(t, env)
	p := newPeer(in.URL)
	t.Cleanup(g.release)
	sendCodes(t, p, 1)
	<-g.arrived // one SMS is now in flight at the provider

	// Ten logins queue behind one hashing slot: HTTP work in flight too.
	// Each has a connection of its own (a pooled idle one may be closed by
	// the shutdown before the request reaches the server: that is new work,
	// rightly refused), and all reach the server before the SIGTERM.
	p.get("/register.html")
	p.http.Transport = &http.Transport{DisableKeepAlives: true}
	answers := make(chan string, 10)
	for range 10 {
		go func() {
			answers <- p.call("POST", "/api/v1.0/sessions", map[string]string{"mobile": "13900000000", "password": "whatever1"})
		}()
	}
	time.Sleep(300 * time.Millisecond)
	stopped := make(chan error, 1)
	go func() { stopped <- in.stop() }()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(in.stderr.String(), "shutting down"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("SIGTERM did not start a shutdown")
		}
	}
	for range 10 {
		// Wrong password; busy when the queue for the hash outlasted its
		// bound; or throttled, past the account's 5 free failures: each an
		// answer, never a dropped connection.
		if errno := <-answers; errno != "4004" && errno != "4500" && errno != "4201" {
			t.Fatalf("a login in flight at SIGTERM answered %q, want 4004, 4500 or 4201", errno)
		}
	}
	select {
	case err := <-stopped:
		t.Fatalf("exited (%v) while an SMS was still in flight", err)
	case <-time.After(300 * time.Millisecond):
	}
	g.release()
	if err := <-stopped; err != nil {
		t.Fatalf("exit: %v", err)
	}
	if accepted, _ := g.snapshot(); len(accepted) != 1 {
		t.Fatalf("gateway accepted %v, want the one message", accepted)
	}
}

// TestKilledWhileDelivering kills signupd (SIGKILL) with messages queued and
// in flight. After a restart every message is delivered. The bound on
// duplicates: only a message the provider was processing when the process
// died may arrive twice (the provider accepted it, but signupd never learnt
// so), and it carries the same Idempotency-Key both times, so a provider that
// honours the key delivers it once.
func TestKilledWhileDelivering(t *testing.T) {
	g := newGateway(t, true)
	db := filepath.Join(t.TempDir(), "signup.db")
	env := g.env(db)
	env["SIGNUP_SMS_TIMEOUT"], env["SIGNUP_SMS_WORKERS"] = "1s", "3"
	// Twelve codes from one address: more than the per-IP default allows.
	env["SIGNUP_LIMIT_IP_PER_HOUR"], env["SIGNUP_LIMIT_IP_PER_DAY"] = "100", "100"
	in := startProcess(t, env)
	sendCodes(t, newPeer(in.URL), 12)
	for range 3 {
		<-g.arrived // three in flight, nine queued
	}
	in.kill()
	_, inFlightAtKill := g.snapshot()
	g.release() // the provider finishes what it was given: those are accepted

	startProcess(t, env) // the leases of the dead process run out, then its messages go again
	var accepted map[string]int
	for deadline := time.Now().Add(40 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if accepted, _ = g.snapshot(); len(accepted) == 12 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 12 messages delivered after the restart", len(accepted))
		}
	}
	time.Sleep(500 * time.Millisecond)
	accepted, _ = g.snapshot()
	twice := 0
	for key, n := range accepted {
		if key == "" || n > 2 {
			t.Fatalf("message %q delivered %d times", key, n)
		}
		if n == 2 {
			twice++
		}
	}
	if twice > inFlightAtKill {
		t.Fatalf("%d messages delivered twice, but only %d were in flight when signupd died", twice, inFlightAtKill)
	}
	t.Logf("12 delivered; %d in flight at the kill, %d of them twice under one idempotency key", inFlightAtKill, twice)
}

func TestJSONLogsCarryRequestIDs(t *testing.T) {
	in := startProcess(t, map[string]string{
		"SIGNUP_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "signup.db"),
		"SIGNUP_LOG_FORMAT":   "json",
	})
	p := newPeer(in.URL)
	if err := p.get("/api/v1.0/image_codes/json-logs"); err != nil {
		t.Fatal(err)
	}
	if errno := p.sendCode("13812345678", "json-logs"); errno != "0" {
		t.Fatalf("send code: %s", errno)
	}
	in.smsCode(t, "+8613812345678")
	in.stop()
	ids := map[string][]string{} // request id -> messages logged under it
	sc := bufio.NewScanner(strings.NewReader(in.stderr.String()))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		if id, ok := rec["request_id"].(string); ok {
			ids[id] = append(ids[id], rec["msg"].(string))
		}
	}
	var found bool
	for _, msgs := range ids {
		if strings.Join(msgs, ",") == "code queued,request" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no request logged both its outcome and the queued code under one request id: %v", ids)
	}
}
