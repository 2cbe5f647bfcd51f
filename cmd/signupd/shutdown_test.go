package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// slowGateway is an SMS webhook that holds each message until released.
func slowGateway(t *testing.T) (url string, arrived <-chan struct{}, release func()) {
	in, out := make(chan struct{}, 10), make(chan struct{})
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in <- struct{}{}
		select {
		case <-out:
		case <-time.After(20 * time.Second):
		}
	}))
	t.Cleanup(gw.Close)
	var once bool
	return gw.URL, in, func() {
		if !once {
			once = true
			close(out)
		}
	}
}

func TestShutdownFinishesInFlightRequests(t *testing.T) {
	gwURL, arrived, release := slowGateway(t)
	defer release()
	in := startProcess(t, map[string]string{
		"SIGNUP_DATABASE_URL":       "sqlite:" + filepath.Join(t.TempDir(), "signup.db"),
		"SIGNUP_SMS_PROVIDER":       "webhook",
		"SIGNUP_SMS_WEBHOOK_URL":    gwURL,
		"SIGNUP_SMS_WEBHOOK_SECRET": "0123456789abcdef0123",
		"SIGNUP_SMS_TIMEOUT":        "30s",
		"SIGNUP_LOG_FORMAT":         "json",
	})
	p := newPeer(in.URL)
	if err := p.get("/api/v1.0/image_codes/inflight"); err != nil {
		t.Fatal(err)
	}
	answer := make(chan string, 1)
	go func() { answer <- p.sendCode("13812345678", "inflight") }()
	<-arrived // the request now waits inside the provider call

	stopped := make(chan error, 1)
	go func() { stopped <- in.stop() }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(in.stderr.String(), "shutting down") {
		if time.Now().After(deadline) {
			t.Fatal("SIGTERM did not start a shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := (&http.Client{Timeout: time.Second}).Get(in.URL + "/healthz"); err == nil {
		t.Error("a new connection was accepted after shutdown began")
	}
	select {
	case err := <-stopped:
		t.Fatalf("exited (%v) before its in-flight request finished", err)
	case <-time.After(300 * time.Millisecond):
	}
	release()
	if errno := <-answer; errno != "0" {
		t.Fatalf("in-flight send-code answered %s, want 0", errno)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("exit: %v", err)
	}
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
		if strings.Join(msgs, ",") == "code sent,request" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no request logged both its outcome and the code sent under one request id: %v", ids)
	}
}
