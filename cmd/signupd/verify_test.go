package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

const (
	twilioSID     = "AC0123456789abcdef0123456789abcdef"
	twilioToken   = "verify-auth-token"
	twilioService = "VA0123456789abcdef0123456789abcdef"
)

// fakeTwilio plays Twilio Verify and Messages as documented: a verification
// holds one code per number until approved (then it is deleted), a wrong
// check leaves it pending, the sixth check is refused (60202), and a check
// with no pending verification is 404 with code 20404.
type fakeTwilio struct {
	mu      sync.Mutex
	codes   map[string]string // number -> pending code
	checks  map[string]int
	starts  int
	notices []string // numbers sent a notice through Messages
	// holdApproval, when set, delays an approval's answer until that many
	// checks were answered 404 since, so their verdicts land first.
	holdApproval int
	missed       int
}

func newFakeTwilio(t *testing.T) (*fakeTwilio, string) {
	f := &fakeTwilio{codes: map[string]string{}, checks: map[string]int{}}
	answer := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/Services/"+twilioService+"/Verifications", func(w http.ResponseWriter, r *http.Request) {
		n, _ := rand.Int(rand.Reader, big.NewInt(1e6))
		f.mu.Lock()
		to := r.PostFormValue("To")
		if _, ok := f.codes[to]; !ok { // a resend within the verification keeps its code
			f.codes[to], f.checks[to] = fmt.Sprintf("%06d", n), 0
		}
		f.starts++
		f.mu.Unlock()
		answer(w, http.StatusCreated, map[string]any{"sid": "VE1", "to": to, "channel": r.PostFormValue("Channel"), "status": "pending"})
	})
	mux.HandleFunc("POST /v2/Services/"+twilioService+"/VerificationCheck", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		to, code := r.PostFormValue("To"), r.PostFormValue("Code")
		want, ok := f.codes[to]
		switch {
		case !ok:
			f.missed++
			answer(w, http.StatusNotFound, map[string]any{"code": 20404, "message": "The requested resource was not found", "status": 404})
		case f.checks[to] >= 5:
			answer(w, http.StatusTooManyRequests, map[string]any{"code": 60202, "message": "Max check attempts reached", "status": 429})
		case code == want:
			delete(f.codes, to)
			f.missed = 0
			for deadline := time.Now().Add(5 * time.Second); f.missed < f.holdApproval && time.Now().Before(deadline); {
				f.mu.Unlock()
				sleepBriefly()
				f.mu.Lock()
			}
			answer(w, http.StatusOK, map[string]any{"to": to, "status": "approved", "valid": true})
		default:
			f.checks[to]++
			answer(w, http.StatusOK, map[string]any{"to": to, "status": "pending", "valid": false})
		}
	})
	mux.HandleFunc("POST /2010-04-01/Accounts/"+twilioSID+"/Messages.json", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.notices = append(f.notices, r.PostFormValue("To"))
		f.mu.Unlock()
		answer(w, http.StatusCreated, map[string]any{"sid": "SM1", "status": "queued"})
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != twilioSID || pass != twilioToken {
			answer(w, http.StatusUnauthorized, map[string]any{"code": 20003, "message": "Authenticate", "status": 401})
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func (f *fakeTwilio) code(to string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.codes[to]
}

func TestTwilioVerifyMakesTheCodes(t *testing.T) {
	f, url := newFakeTwilio(t)
	in := startSignupd(t, filepath.Join(t.TempDir(), "signup.db"), map[string]string{
		"SIGNUP_SMS_PROVIDER":                        "twilio_verify",
		"SIGNUP_SMS_TWILIO_VERIFY_ACCOUNT_SID":       twilioSID,
		"SIGNUP_SMS_TWILIO_VERIFY_AUTH_TOKEN":        twilioToken,
		"SIGNUP_SMS_TWILIO_VERIFY_SERVICE_SID":       twilioService,
		"SIGNUP_SMS_TWILIO_VERIFY_FROM":              "+15005550006",
		"SIGNUP_SMS_TWILIO_VERIFY_ENDPOINT":          url,
		"SIGNUP_SMS_TWILIO_VERIFY_MESSAGES_ENDPOINT": url,
		"SIGNUP_RESEND_INTERVAL":                     "0s",
	})
	waitCode := func(to string) string {
		t.Helper()
		for range 500 {
			if c := f.code(to); c != "" {
				return c
			}
			sleepBriefly()
		}
		t.Fatalf("Twilio was never asked to verify %s", to)
		return ""
	}
	send := func(p *peer, mobile, id string) {
		t.Helper()
		if err := p.get("/api/v1.0/image_codes/" + id); err != nil {
			t.Fatal(err)
		}
		if errno := p.sendCode(mobile, id); errno != "0" {
			t.Fatalf("send code: %s", errno)
		}
	}

	// Sign-up with the code Twilio made; 20 concurrent tries with it make one
	// user, even when the 19 that lost the race to Twilio hear so first.
	send(newPeer(in.URL), "13812345678", "v1")
	code := waitCode("+8613812345678")
	f.mu.Lock()
	f.holdApproval = 19
	f.mu.Unlock()
	peers := make([]*peer, 20)
	for i := range peers {
		peers[i] = newPeer(in.URL)
		peers[i].get("/register.html")
	}
	if counts := concurrently(20, func(i int) string { return peers[i].register("13812345678", code) }); counts["0"] != 1 {
		t.Fatalf("answers %v, want exactly one registration with the approved code", counts)
	}
	f.mu.Lock()
	f.holdApproval = 0
	f.mu.Unlock()

	// Wrong codes: five are counted here, then the code is void, even the right one.
	p := newPeer(in.URL)
	p.get("/register.html")
	send(p, "13812345679", "v2")
	code = waitCode("+8613812345679")
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	for range 5 {
		if errno := p.register("13812345679", wrong); errno != "4004" {
			t.Fatalf("wrong code: %s, want 4004", errno)
		}
	}
	if errno := p.register("13812345679", code); errno != "4201" {
		t.Fatalf("the right code after 5 wrong: %s, want 4201", errno)
	}

	// A registered number gets a notice through Messages, and no verification.
	f.mu.Lock()
	starts := f.starts
	f.mu.Unlock()
	send(p, "13812345678", "v3")
	for range 500 {
		f.mu.Lock()
		done := len(f.notices) == 1
		f.mu.Unlock()
		if done {
			break
		}
		sleepBriefly()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.notices) != 1 || f.notices[0] != "+8613812345678" || f.starts != starts {
		t.Fatalf("notices %v, starts %d then %d: want one notice and no new verification", f.notices, starts, f.starts)
	}
}
