package main

import (
	"errors"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// loadTarget starts signupd set up as the README's Performance section sets
// it up, sending its SMS to the webhook address the load tool will listen on.
func loadTarget(t *testing.T) (in *instance, webhook string, env map[string]string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	webhook = ln.Addr().String()
	ln.Close()
	env = map[string]string{
		"SIGNUP_SMS_PROVIDER":       "webhook",
		"SIGNUP_SMS_WEBHOOK_URL":    "http://" + webhook + "/sms",
		"SIGNUP_SMS_WEBHOOK_SECRET": "load-test-secret-0123456789",
		"SIGNUP_TRUSTED_PROXIES":    "127.0.0.1/32",
		"SIGNUP_SMS_MAX_PER_MINUTE": "1000000",
		"SIGNUP_SMS_DAILY_BUDGET":   "0",
	}
	return startSignupd(t, "", env), webhook, env
}

func runLoad(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut syncBuffer
	err := run(t.Context(), append([]string{"load"}, args...), func(k string) string { return env[k] }, &out, &errOut)
	return out.String() + errOut.String(), err
}

var flowsLine = regexp.MustCompile(`(\d+) flows, [\d.]+ flows/s, (\d+) errors`)

// Every mode drives the real flow for a second without an error, and what it
// reports as done the service did: each sms flow is a message sent, each
// sign-up flow a code matched.
func TestLoadModes(t *testing.T) {
	in, webhook, env := loadTarget(t)
	for _, mode := range []string{"captcha", "sms", "flow", "login"} {
		out, err := runLoad(t, env, "-target", in.URL, "-mode", mode, "-clients", "4", "-duration", "1s",
			"-webhook-addr", webhook, "-captcha-answer", testAnswer, "-spread")
		if err != nil {
			t.Fatalf("%s: %v\n%s", mode, err, out)
		}
		m := flowsLine.FindStringSubmatch(out)
		if m == nil || m[1] == "0" || m[2] != "0" {
			t.Fatalf("%s: want some flows and no errors:\n%s", mode, out)
		}
		for _, step := range map[string][]string{"captcha": {"captcha"}, "sms": {"captcha", "send", "code"},
			"flow": {"page", "captcha", "send", "code", "register", "session"}, "login": {"page", "login", "session"}}[mode] {
			if !regexp.MustCompile(`(?m)^\s*` + step + `\s+[1-9]\d*\s+[\d.]+ms\s+[\d.]+ms\s+[\d.]+ms\s+[\d.]+ms`).MatchString(out) {
				t.Errorf("%s: no timings for step %s:\n%s", mode, step, out)
			}
		}
		flows, _ := strconv.Atoi(m[1])
		switch mode {
		case "sms":
			// A message counts as sent once its webhook call has returned,
			// a moment after the load tool got the code.
			sent := 0
			for deadline := time.Now().Add(5 * time.Second); sent < flows && time.Now().Before(deadline); sleepBriefly() {
				sent = metric(t, in.URL, "signup_sms_messages_total", `state="sent"`)
			}
			if sent < flows {
				t.Errorf("sms: %d flows reported, %d messages sent", flows, sent)
			}
		case "flow":
			if matched := metric(t, in.URL, "signup_code_checks_total", `result="matched"`); matched < flows {
				t.Errorf("flow: %d sign-ups reported, %d codes matched", flows, matched)
			}
		}
	}
}

// A run with failing requests prints each error by kind and exits non-zero.
func TestLoadReportsErrors(t *testing.T) {
	in, webhook, env := loadTarget(t)
	out, err := runLoad(t, env, "-target", in.URL, "-mode", "sms", "-clients", "2", "-duration", "300ms",
		"-webhook-addr", webhook, "-captcha-answer", "XXXX")
	if !errors.Is(err, errLoadFailed) {
		t.Fatalf("err = %v, want errLoadFailed\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^\s+[1-9]\d*  send: errno 4004 `).MatchString(out) || !strings.Contains(out, " 0 flows") {
		t.Fatalf("want the wrong captchas counted as send errors and no flows:\n%s", out)
	}
}

// A paced run starts flows on its schedule, never more, whatever the speed
// of the target: 40/s for 1 s is at most 41 flows.
func TestLoadRate(t *testing.T) {
	in, webhook, env := loadTarget(t)
	out, err := runLoad(t, env, "-target", in.URL, "-mode", "captcha", "-clients", "4", "-duration", "1s",
		"-rate", "40", "-webhook-addr", webhook, "-captcha-answer", testAnswer)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m := flowsLine.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "4 clients at 40/s") {
		t.Fatalf("no paced report:\n%s", out)
	}
	if flows, _ := strconv.Atoi(m[1]); flows < 5 || flows > 41 {
		t.Fatalf("%d flows at 40/s for 1 s, want 5 to 41:\n%s", flows, out)
	}
}
