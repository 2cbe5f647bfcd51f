package sms_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/sms"
)

var testSecret = []byte("test-webhook-secret")

// received is one request that passed VerifyWebhook.
type received struct {
	header http.Header
	body   map[string]any
}

// newGateway starts a fake SMS gateway that checks requests the way a real
// receiver must: method, headers, signature and freshness. A request that
// fails gets 401, so Send reports it; one that passes is handed to the test.
func newGateway(t *testing.T, secret []byte) (*httptest.Server, <-chan received) {
	t.Helper()
	got := make(chan received, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil || r.Method != http.MethodPost {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		err = sms.VerifyWebhook(secret, r.Header.Get("X-Signup-Timestamp"), raw, r.Header.Get("X-Signup-Signature"), time.Now(), time.Minute)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		got <- received{header: r.Header.Clone(), body: body}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func TestWebhookSendsSignedJSON(t *testing.T) {
	t.Parallel()
	notice := account.Message{
		To: "+14155550123", Purpose: account.PurposeAlreadyRegistered, TTL: 0,
		Locale: account.LocaleEN, Text: "[Signup] Someone asked to sign up with this number.",
	}
	tests := []struct {
		name string
		msg  account.Message
		want map[string]any
	}{
		{"code", registerMessage("+8613812345678"), map[string]any{
			"to": "+8613812345678", "code": "123456", "purpose": "register", "ttl_seconds": 300.0,
			"locale": "zh-CN", "text": registerMessage("").Text,
		}},
		{"notice", notice, map[string]any{
			"to": "+14155550123", "code": "", "purpose": "already_registered", "ttl_seconds": 0.0,
			"locale": "en", "text": notice.Text,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, got := newGateway(t, testSecret)
			wh := sms.NewWebhook(srv.URL, testSecret, 2*time.Second, nil)
			if err := wh.Send(context.Background(), tt.msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			r := <-got
			for _, h := range [][2]string{{"Content-Type", "application/json"}, {"User-Agent", "signupd"}} {
				if v := r.header.Get(h[0]); v != h[1] {
					t.Errorf("%s = %q, want %q", h[0], v, h[1])
				}
			}
			for k, want := range tt.want {
				v, ok := r.body[k]
				if !ok {
					t.Errorf("body lacks %q", k)
				} else if v != want {
					t.Errorf("body[%q] = %#v, want %#v", k, v, want)
				}
			}
			for k := range r.body {
				if _, ok := tt.want[k]; !ok {
					t.Errorf("body has extra field %q", k)
				}
			}
		})
	}
}

func TestWebhookWrongSecretRejected(t *testing.T) {
	t.Parallel()
	srv, _ := newGateway(t, testSecret)
	err := sms.NewWebhook(srv.URL, []byte("another-secret"), 2*time.Second, nil).
		Send(context.Background(), registerMessage("+8613812345678"))
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Send with the wrong secret: err = %v, want a 401 error", err)
	}
	assertNoSecrets(t, err)
}

// signed returns a timestamp and a signature computed the documented way,
// independently of the package's own code.
func signed(secret []byte, ts time.Time, body []byte) (string, string) {
	return signedStamp(secret, strconv.FormatInt(ts.Unix(), 10), body)
}

func signedStamp(secret []byte, stamp string, body []byte) (string, string) {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(stamp + "." + string(body)))
	return stamp, "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func TestVerifyWebhook(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"to":"+8613812345678","code":"123456"}`)
	stamp, sig := signed(testSecret, now, body)
	staleStamp, staleSig := signed(testSecret, now.Add(-6*time.Minute), body)
	futureStamp, futureSig := signed(testSecret, now.Add(6*time.Minute), body)
	edgeStamp, edgeSig := signed(testSecret, now.Add(-5*time.Minute), body)
	// 300 years ahead: now.Sub saturates at the most negative Duration.
	farStamp, farSig := signedStamp(testSecret, strconv.FormatInt(now.Unix()+300*365*86400, 10), body)
	hugeStamp := "9223372036854775807"
	_, hugeSig := signedStamp(testSecret, hugeStamp, body)
	minStamp := "-9223372036854775808"
	_, minSig := signedStamp(testSecret, minStamp, body)

	tests := []struct {
		name      string
		secret    []byte
		stamp     string
		body      []byte
		sig       string
		wantError string // "" for success
	}{
		{"valid", testSecret, stamp, body, sig, ""},
		{"at the skew limit", testSecret, edgeStamp, body, edgeSig, ""},
		{"wrong secret", []byte("another-secret"), stamp, body, sig, "signature mismatch"},
		{"empty secret", nil, stamp, body, sig, "no secret"},
		{"tampered body", testSecret, stamp, []byte(`{"to":"+8613800000000","code":"123456"}`), sig, "signature mismatch"},
		{"timestamp swapped", testSecret, staleStamp, body, sig, "signature mismatch"},
		{"stale", testSecret, staleStamp, body, staleSig, "off by"},
		{"future", testSecret, futureStamp, body, futureSig, "off by"},
		{"300 years ahead", testSecret, farStamp, body, farSig, "off by"},
		{"max int64 timestamp", testSecret, hugeStamp, body, hugeSig, "off by"},
		{"min int64 timestamp", testSecret, minStamp, body, minSig, "off by"},
		{"malformed timestamp", testSecret, "yesterday", body, sig, "malformed timestamp"},
		{"no prefix", testSecret, stamp, body, strings.TrimPrefix(sig, "sha256="), "lacks sha256="},
		{"not hex", testSecret, stamp, body, "sha256=zz", "signature mismatch"},
		{"empty signature", testSecret, stamp, body, "", "lacks sha256="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := sms.VerifyWebhook(tt.secret, tt.stamp, tt.body, tt.sig, now, 5*time.Minute)
			switch {
			case tt.wantError == "" && err != nil:
				t.Errorf("err = %v, want nil", err)
			case tt.wantError != "" && (err == nil || !strings.Contains(err.Error(), tt.wantError)):
				t.Errorf("err = %v, want one containing %q", err, tt.wantError)
			}
		})
	}
}

func TestWebhookErrorStatus(t *testing.T) {
	t.Parallel()
	// A provider that echoes the request: the error must keep the status but
	// neither the number, nor the code, nor anything past 200 bytes.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "provider error 1016: bad request for 13812345678 code 123456 %s TAIL", strings.Repeat("x", 300))
	}))
	t.Cleanup(srv.Close)
	err := sms.NewWebhook(srv.URL, testSecret, 2*time.Second, nil).Send(context.Background(), registerMessage("+8613812345678"))
	if err == nil {
		t.Fatal("Send got nil error for a 500 answer")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "sms: webhook: transient failure 500: status 500") || !strings.Contains(msg, "provider error 1016") {
		t.Errorf("err = %q, want the status and the start of the body", msg)
	}
	if strings.Contains(msg, "TAIL") || len(msg) > 300 {
		t.Errorf("err = %q (%d bytes) carries the body beyond 200 bytes", msg, len(msg))
	}
	assertNoSecrets(t, err)
}

func TestWebhookTimeout(t *testing.T) {
	t.Parallel()
	srv := hangingServer(t)

	const timeout = 200 * time.Millisecond
	start := time.Now()
	err := sms.NewWebhook(srv.URL, testSecret, timeout, nil).Send(context.Background(), registerMessage("+8613812345678"))
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("Send got nil error from a server that never answers")
	}
	if elapsed > timeout+800*time.Millisecond {
		t.Errorf("Send returned after %v, want about %v", elapsed, timeout)
	}
	if !strings.HasPrefix(err.Error(), "sms: webhook: ") {
		t.Errorf("err = %q, want the sms: webhook: prefix", err)
	}
	assertNoSecrets(t, err)
}

func TestWebhookCallerContextCanceled(t *testing.T) {
	t.Parallel()
	srv, _ := newGateway(t, testSecret)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := sms.NewWebhook(srv.URL, testSecret, 2*time.Second, nil).Send(ctx, registerMessage("+8613812345678"))
	if err == nil {
		t.Fatal("Send with a canceled context got nil error")
	}
}

func TestWebhookConcurrentSends(t *testing.T) {
	t.Parallel()
	srv, got := newGateway(t, testSecret)
	wh := sms.NewWebhook(srv.URL, testSecret, 5*time.Second, nil)
	const n = 20
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- wh.Send(context.Background(), registerMessage(account.Phone(fmt.Sprintf("+86138000000%02d", i))))
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	seen := make(map[any]bool)
	for range n {
		select {
		case r := <-got:
			seen[r.body["to"]] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d of %d messages arrived", len(seen), n)
		}
	}
	want := make(map[any]bool)
	for i := range n {
		want[fmt.Sprintf("+86138000000%02d", i)] = true
	}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("arrived %v, want %v", seen, want)
	}
}

// assertNoSecrets fails if err carries the code or the phone number, in any
// common form, of registerMessage("+8613812345678").
func assertNoSecrets(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{"123456", "13812345678"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("err = %q contains %q", err, s)
		}
	}
}

func TestWebhookClassifiesAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status     int
		retryAfter string
		permanent  bool
		wait       time.Duration
	}{
		{http.StatusBadRequest, "", true, 0},
		{http.StatusUnauthorized, "", true, 0},
		{http.StatusRequestTimeout, "", false, 0},
		{http.StatusTooManyRequests, "7", false, 7 * time.Second},
		{http.StatusBadGateway, "", false, 0},
		{http.StatusServiceUnavailable, "2", false, 2 * time.Second},
	} {
		var key string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key = r.Header.Get("Idempotency-Key")
			if tc.retryAfter != "" {
				w.Header().Set("Retry-After", tc.retryAfter)
			}
			w.WriteHeader(tc.status)
		}))
		m := registerMessage("+8613812345678")
		m.ID = "msg-42"
		err := sms.NewWebhook(srv.URL, testSecret, 2*time.Second, nil).Send(context.Background(), m)
		srv.Close()
		if err == nil || sms.IsPermanent(err) != tc.permanent || sms.RetryAfter(err) != tc.wait {
			t.Errorf("status %d: err %v, permanent %v, retry after %v; want permanent %v, %v",
				tc.status, err, sms.IsPermanent(err), sms.RetryAfter(err), tc.permanent, tc.wait)
		}
		if key != "msg-42" {
			t.Errorf("status %d: Idempotency-Key %q, want the message id", tc.status, key)
		}
	}
}

// hangingServer answers nothing until the client gives up or the test ends.
func hangingServer(t *testing.T) *httptest.Server {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: Close waits for handlers
	return srv
}
