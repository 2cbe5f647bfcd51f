package sms_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/sms"
)

const twilioVSID = "VAe4d3c2b1a09f8e7d6c5b4a3928170f6e"

// twilioVerification is a Verification (or VerificationCheck) resource with
// the given status, as Verify answers.
func twilioVerification(r twilioRequest, status string) string {
	const sid = "VE0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	return fmt.Sprintf(`{"sid":%q,"service_sid":%q,"account_sid":%q,"to":%q,"channel":"sms","status":%q,"valid":%t,
"amount":null,"payee":null,"date_created":"2026-11-12T08:01:45Z","date_updated":"2026-11-12T08:01:45Z","lookup":{"carrier":null},
"send_code_attempts":[{"time":"2026-11-12T08:01:45.000Z","channel":"SMS","attempt_sid":"VL0f1e2d3c4b5a69788796a5b4c3d2e1f0"}],
"url":"https://verify.twilio.com/v2/Services/%s/Verifications/%s"}`,
		sid, twilioVSID, twilioSID, r.form.Get("To"), status, status == "approved", twilioVSID, sid)
}

func newTwilioVerifier(t *testing.T, endpoint string, timeout time.Duration) *sms.TwilioVerify {
	t.Helper()
	v, err := sms.NewTwilioVerify(sms.TwilioVerifyConfig{
		AccountSID: twilioSID, AuthToken: twilioToken, ServiceSID: twilioVSID, Endpoint: endpoint, Timeout: timeout,
	}, nil)
	if err != nil {
		t.Fatalf("NewTwilioVerify: %v", err)
	}
	return v
}

func TestTwilioVerifyStartRequest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		locale string
		want   []string // Locale values sent
	}{
		{account.LocaleZH, []string{"zh"}},
		{account.LocaleEN, []string{"en"}},
		{"fr", nil},
		{"", nil},
	} {
		t.Run("locale "+tc.locale, func(t *testing.T) {
			t.Parallel()
			srv, got := newTwilioFake(t, func(w http.ResponseWriter, r twilioRequest) {
				twilioJSON(w, http.StatusCreated, twilioVerification(r, "pending"))
			})
			if err := newTwilioVerifier(t, srv.URL, 2*time.Second).Start(context.Background(), twilioTo, tc.locale); err != nil {
				t.Fatalf("Start: %v", err)
			}
			r := <-got
			if r.method != http.MethodPost || r.path != "/v2/Services/"+twilioVSID+"/Verifications" || r.query != "" {
				t.Errorf("request %s %s?%s, want POST /v2/Services/%s/Verifications", r.method, r.path, r.query, twilioVSID)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type = %q", ct)
			}
			want := url.Values{"To": {twilioTo}, "Channel": {"sms"}}
			if tc.want != nil {
				want["Locale"] = tc.want
			}
			if !reflect.DeepEqual(r.form, want) {
				t.Errorf("form = %v, want exactly %v", r.form, want)
			}
		})
	}
}

func TestTwilioVerifyStartErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		status     int
		retryAfter string
		body       string
		code       string
		permanent  bool
		wait       time.Duration
	}{
		{"max send attempts", 429, "", twilioErrorBody(60203, 429, "Max send attempts reached"), "60203", true, 0},
		{"too many requests", 429, "3", twilioErrorBody(20429, 429, "Too Many Requests"), "20429", false, 3 * time.Second},
		{"invalid parameter", 400, "", twilioErrorBody(60200, 400, "Invalid parameter `To`: +8613812345678"), "60200", true, 0},
		{"landline", 403, "", twilioErrorBody(60205, 403, "SMS is not supported by landline phone number"), "60205", true, 0},
		{"fraud guard", 403, "", twilioErrorBody(60410, 403, "Verification delivery attempt blocked"), "60410", true, 0},
		{"wrong service", 404, "", twilioErrorBody(20404, 404, "The requested resource /Services/"+twilioVSID+"/Verifications was not found"), "20404", true, 0},
		{"server error", 500, "", twilioErrorBody(20500, 500, "Internal Server Error"), "20500", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := newTwilioFake(t, func(w http.ResponseWriter, r twilioRequest) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				twilioJSON(w, tc.status, tc.body)
			})
			err := newTwilioVerifier(t, srv.URL, 2*time.Second).Start(context.Background(), twilioTo, account.LocaleZH)
			var f *sms.Failure
			if !errors.As(err, &f) || f.Provider != "twilio-verify" || f.Code != tc.code || f.Permanent != tc.permanent {
				t.Fatalf("err = %v (%+v), want a twilio-verify failure %s, permanent %v", err, f, tc.code, tc.permanent)
			}
			if d := sms.RetryAfter(err); d != tc.wait {
				t.Errorf("RetryAfter = %v, want %v", d, tc.wait)
			}
			assertTwilioNoSecrets(t, err)
		})
	}
}

func TestTwilioVerifyCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		status     int
		retryAfter string
		body       func(r twilioRequest) string
		want       account.CodeCheck
		code       string // "" for no error
		permanent  bool
		wait       time.Duration
	}{
		{"approved", 200, "", func(r twilioRequest) string { return twilioVerification(r, "approved") }, account.CodeMatched, "", false, 0},
		{"pending", 200, "", func(r twilioRequest) string { return twilioVerification(r, "pending") }, account.CodeMismatch, "", false, 0},
		{"no pending verification", 404, "", func(twilioRequest) string {
			return twilioErrorBody(20404, 404, "The requested resource /Services/"+twilioVSID+"/VerificationCheck was not found")
		}, account.CodeMissing, "", false, 0},
		{"max check attempts", 429, "", func(twilioRequest) string {
			return twilioErrorBody(60202, 429, "Max check attempts reached")
		}, account.CodeVoid, "", false, 0},
		{"too many requests", 429, "4", func(twilioRequest) string {
			return twilioErrorBody(20429, 429, "Too Many Requests")
		}, 0, "20429", false, 4 * time.Second},
		{"server error", 503, "", func(twilioRequest) string { return "Service Unavailable for code 123456" }, 0, "503", false, 0},
		{"bare 404", 404, "", func(twilioRequest) string { return "404 page not found" }, 0, "404", true, 0},
		{"echoing bad request", 400, "", func(twilioRequest) string {
			return twilioErrorBody(60200, 400, "Invalid parameter: Code 123456 for +8613812345678")
		}, 0, "60200", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, got := newTwilioFake(t, func(w http.ResponseWriter, r twilioRequest) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				twilioJSON(w, tc.status, tc.body(r))
			})
			res, err := newTwilioVerifier(t, srv.URL, 2*time.Second).Check(context.Background(), twilioTo, twilioCode)
			if res != tc.want {
				t.Errorf("Check = %v, want %v", res, tc.want)
			}
			var f *sms.Failure
			switch {
			case tc.code == "" && err != nil:
				t.Errorf("err = %v, want nil", err)
			case tc.code != "" && (!errors.As(err, &f) || f.Code != tc.code || f.Permanent != tc.permanent || f.RetryAfter != tc.wait):
				t.Errorf("err = %v (%+v), want failure %s, permanent %v, retry after %v", err, f, tc.code, tc.permanent, tc.wait)
			}
			assertTwilioNoSecrets(t, err)
			r := <-got
			if r.method != http.MethodPost || r.path != "/v2/Services/"+twilioVSID+"/VerificationCheck" || r.query != "" {
				t.Errorf("request %s %s?%s, want POST /v2/Services/%s/VerificationCheck", r.method, r.path, r.query, twilioVSID)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type = %q", ct)
			}
			if want := (url.Values{"To": {twilioTo}, "Code": {twilioCode}}); !reflect.DeepEqual(r.form, want) {
				t.Errorf("form = %v, want exactly %v", r.form, want)
			}
		})
	}
}

func TestTwilioVerifyWrongCredentials(t *testing.T) {
	t.Parallel()
	srv, _ := newTwilioFake(t, func(w http.ResponseWriter, r twilioRequest) {
		t.Error("a request with wrong credentials got through")
	})
	v, err := sms.NewTwilioVerify(sms.TwilioVerifyConfig{
		AccountSID: twilioSID, AuthToken: "0000000000000000000000000000dead", ServiceSID: twilioVSID, Endpoint: srv.URL,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	startErr := v.Start(context.Background(), twilioTo, account.LocaleEN)
	res, checkErr := v.Check(context.Background(), twilioTo, twilioCode)
	for _, err := range []error{startErr, checkErr} {
		var f *sms.Failure
		if !errors.As(err, &f) || !f.Permanent || f.Code != "20003" {
			t.Errorf("err = %v, want a permanent failure 20003", err)
		}
		assertTwilioNoSecrets(t, err)
	}
	if res == account.CodeMatched {
		t.Error("Check with wrong credentials matched")
	}
}

func TestTwilioVerifyCheckMalformedCode(t *testing.T) {
	t.Parallel()
	srv, got := newTwilioFake(t, func(w http.ResponseWriter, r twilioRequest) {
		twilioJSON(w, http.StatusOK, twilioVerification(r, "approved"))
	})
	v := newTwilioVerifier(t, srv.URL, 2*time.Second)
	for _, code := range []string{"", "123", "12345678901", "12 34", "1234\n", "１２３４５６"} {
		if res, err := v.Check(context.Background(), twilioTo, code); res != account.CodeMismatch || err != nil {
			t.Errorf("Check(%q) = %v, %v; want mismatch, nil", code, res, err)
		}
	}
	if len(got) != 0 {
		t.Errorf("%d malformed codes reached Twilio", len(got))
	}
}

func TestTwilioVerifyTimeout(t *testing.T) {
	t.Parallel()
	srv := hangingServer(t)

	const timeout = 200 * time.Millisecond
	v := newTwilioVerifier(t, srv.URL, timeout)
	start := time.Now()
	res, checkErr := v.Check(context.Background(), twilioTo, twilioCode)
	startErr := v.Start(context.Background(), twilioTo, account.LocaleZH)
	if elapsed := time.Since(start); elapsed > 2*timeout+1600*time.Millisecond {
		t.Errorf("two calls took %v, want about %v", elapsed, 2*timeout)
	}
	for op, err := range map[string]error{"check": checkErr, "start": startErr} {
		var f *sms.Failure
		if err == nil || errors.As(err, &f) || !strings.HasPrefix(err.Error(), "sms: twilio verify: "+op+": ") {
			t.Errorf("%s: err = %v, want a plain sms: twilio verify: %s: error", op, err, op)
		}
		assertTwilioNoSecrets(t, err)
	}
	if res == account.CodeMatched {
		t.Error("Check timed out yet matched")
	}
}

func TestNewTwilioVerifyValidates(t *testing.T) {
	t.Parallel()
	good := sms.TwilioVerifyConfig{AccountSID: twilioSID, AuthToken: twilioToken, ServiceSID: twilioVSID}
	for name, mod := range map[string]func(*sms.TwilioVerifyConfig){
		"bad account sid": func(c *sms.TwilioVerifyConfig) { c.AccountSID = "AC123" },
		"no token":        func(c *sms.TwilioVerifyConfig) { c.AuthToken = "" },
		"bad service sid": func(c *sms.TwilioVerifyConfig) { c.ServiceSID = twilioMSID },
		"plain http":      func(c *sms.TwilioVerifyConfig) { c.Endpoint = "http://verify.twilio.com" },
	} {
		cfg := good
		mod(&cfg)
		if _, err := sms.NewTwilioVerify(cfg, nil); err == nil || strings.Contains(err.Error(), twilioToken) {
			t.Errorf("%s: err = %v, want a refusal without the token", name, err)
		}
	}
	v, err := sms.NewTwilioVerify(good, nil)
	if err != nil {
		t.Fatalf("NewTwilioVerify: %v", err)
	}
	if s := fmt.Sprintf("%v %+v %#v %v", v, v, v, good); strings.Contains(s, twilioToken) {
		t.Errorf("printed %q, which holds the token", s)
	}
}
