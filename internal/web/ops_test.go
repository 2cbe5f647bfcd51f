package web_test

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestHealthAndReadiness(t *testing.T) {
	e := newEnv(t)
	c := e.newClient()
	if resp, body := get(t, c, e.srv.URL+"/healthz"); resp.StatusCode != 200 || !strings.Contains(body, "ok") {
		t.Fatalf("healthz: %d %s", resp.StatusCode, body)
	}
	if resp, body := get(t, c, e.srv.URL+"/readyz"); resp.StatusCode != 200 {
		t.Fatalf("readyz: %d %s", resp.StatusCode, body)
	}
	e.db.Close()
	if resp, body := get(t, c, e.srv.URL+"/readyz"); resp.StatusCode != 503 || !strings.Contains(body, "database") {
		t.Fatalf("readyz with the database closed: %d %s, want 503 naming the database", resp.StatusCode, body)
	}
	if resp, _ := get(t, c, e.srv.URL+"/healthz"); resp.StatusCode != 200 {
		t.Fatal("healthz must not depend on the database")
	}
}

func TestReadinessFailsWhenDraining(t *testing.T) {
	e := newEnv(t)
	e.web.Drain()
	if resp, body := get(t, e.newClient(), e.srv.URL+"/readyz"); resp.StatusCode != 503 || !strings.Contains(body, "shutting down") {
		t.Fatalf("readyz while draining: %d %s", resp.StatusCode, body)
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	e.openPage(e.client)
	e.code("13812345678")
	id := newID()
	e.captcha(id)
	e.sendCode("13812345678", id, "WRNG")
	e.register("13812345678", "000000", "correct horse")
	for range 6 {
		e.login("13900000000", "whatever1")
	}
	var body string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, body = get(t, e.newClient(), e.srv.URL+"/metrics"); strings.Contains(body, `signup_sms_messages_total{state="sent"} 1`) {
			break // delivery is recorded just after the gateway saw the message
		}
	}
	for _, want := range []string{
		`signup_http_requests_total{errno="0",route="GET /api/v1.0/sms_codes/{mobile}",status="200"} 1`,
		`signup_http_requests_total{errno="4004",route="GET /api/v1.0/sms_codes/{mobile}",status="200"} 1`,
		`signup_http_request_duration_seconds_count{route="GET /api/v1.0/image_codes/{image_code_id}"} 2`,
		`signup_captchas_total{result="issued"} 2`,
		`signup_captchas_total{result="passed"} 1`,
		`signup_captchas_total{result="wrong"} 1`,
		`signup_sms_attempts_total{provider="test",result="sent"} 1`,
		`signup_sms_messages_total{state="sent"} 1`,
		`signup_sms_attempts_per_message_count 1`,
		`signup_sms_delivery_seconds_count 1`,
		`signup_limits_hit_total{kind="login_account"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if !regexp.MustCompile(`signup_code_checks_total\{result="(mismatch|matched)"\} 1`).MatchString(body) {
		t.Error("metrics lack the code check")
	}
	if strings.Contains(body, "13812345678") || strings.Contains(body, "127.0.0.1") {
		t.Error("a number or an address leaked into metric labels")
	}
}
