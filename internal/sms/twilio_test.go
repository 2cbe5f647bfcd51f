package sms_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/sms"
)

const (
	twilioSID   = "AC5f3c9e2ab7d04e18a6c2f9b03d7e1a44"
	twilioToken = "f00dfeedc0ffee9876abcdef42deadbe"
	twilioFrom  = "+15005550006"
	twilioMSID  = "MG9a8b7c6d5e4f30219a8b7c6d5e4f3021"
	twilioTo    = "+8613812345678"
	twilioCode  = "123456"
)

// twilioRequest is one request as the fake Twilio saw it.
type twilioRequest struct {
	method, path, query string
	header              http.Header
	form                url.Values
}

// newTwilioFake plays Twilio: every request must carry Basic auth with
// twilioSID and twilioToken, or it gets Twilio's real 401 answer; an
// authenticated request is recorded and answered by answer.
func newTwilioFake(t *testing.T, answer func(w http.ResponseWriter, r twilioRequest)) (*httptest.Server, <-chan twilioRequest) {
	t.Helper()
	got := make(chan twilioRequest, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		user, pass, ok := r.BasicAuth()
		if !ok || user != twilioSID || pass != twilioToken {
			w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
			twilioJSON(w, http.StatusUnauthorized, twilioErrorBody(20003, http.StatusUnauthorized, "Authenticate"))
			return
		}
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			twilioJSON(w, http.StatusBadRequest, twilioErrorBody(21100, http.StatusBadRequest, "malformed form"))
			return
		}
		req := twilioRequest{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, header: r.Header.Clone(), form: form}
		got <- req
		answer(w, req)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func twilioJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// twilioErrorBody is Twilio's error document, as documented for every REST error.
func twilioErrorBody(code, status int, message string) string {
	return fmt.Sprintf(`{"code":%d,"message":%q,"more_info":"https://www.twilio.com/docs/errors/%d","status":%d}`, code, message, code, status)
}

// twilioMessageResource is a Message resource as Twilio answers a create.
func twilioMessageResource(r twilioRequest) string {
	const sid = "SM1f0e9d8c7b6a59483726150f1e2d3c4b"
	return fmt.Sprintf(`{"account_sid":%q,"api_version":"2010-04-01","body":%q,"date_created":"Thu, 12 Nov 2026 08:01:45 +0000",
"date_sent":null,"date_updated":"Thu, 12 Nov 2026 08:01:45 +0000","direction":"outbound-api","error_code":null,"error_message":null,
"from":%q,"messaging_service_sid":%q,"num_media":"0","num_segments":"1","price":null,"price_unit":"USD","sid":%q,"status":"queued",
"subresource_uris":{"media":"/2010-04-01/Accounts/%s/Messages/%s/Media.json"},"to":%q,"uri":"/2010-04-01/Accounts/%s/Messages/%s.json"}`,
		twilioSID, r.form.Get("Body"), r.form.Get("From"), r.form.Get("MessagingServiceSid"), sid, twilioSID, sid, r.form.Get("To"), twilioSID, sid)
}

func twilioMessage() account.Message {
	return account.Message{
		ID: "01JCDX8Q7Z3V4N5P6R7S8T9VWX", To: twilioTo, Purpose: account.PurposeRegister, Code: twilioCode,
		TTL: 5 * time.Minute, Locale: account.LocaleEN,
		Text: "[Signup] Your sign-up code is 123456. It expires in 5 minutes. If you did not ask for it, ignore this message.",
	}
}

func newTwilioSender(t *testing.T, endpoint string, mod func(*sms.TwilioConfig)) *sms.Twilio {
	t.Helper()
	cfg := sms.TwilioConfig{AccountSID: twilioSID, AuthToken: twilioToken, From: twilioFrom, Endpoint: endpoint, Timeout: 2 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	tw, err := sms.NewTwilio(cfg, nil)
	if err != nil {
		t.Fatalf("NewTwilio: %v", err)
	}
	return tw
}

// assertTwilioNoSecrets fails if err carries the code, the number in any
// common form, or the auth token.
func assertTwilioNoSecrets(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{twilioCode, "13812345678", twilioToken} {
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("err = %q contains %q", err, s)
		}
	}
}

func TestTwilioSendRequest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		mod    func(*sms.TwilioConfig)
		id     string
		sender url.Values
	}{
		{"from", nil, "01JCDX8Q7Z3V4N5P6R7S8T9VWX", url.Values{"From": {twilioFrom}}},
		{"messaging service", func(c *sms.TwilioConfig) { c.From, c.MessagingServiceSID = "", twilioMSID }, "01JCDX8Q7Z3V4N5P6R7S8T9VWX", url.Values{"MessagingServiceSid": {twilioMSID}}},
		{"alphanumeric sender", func(c *sms.TwilioConfig) { c.From = "Signup" }, "01JCDX8Q7Z3V4N5P6R7S8T9VWX", url.Values{"From": {"Signup"}}},
		{"no message id", nil, "", url.Values{"From": {twilioFrom}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, got := newTwilioFake(t, func(w http.ResponseWriter, r twilioRequest) {
				twilioJSON(w, http.StatusCreated, twilioMessageResource(r))
			})
			m := twilioMessage()
			m.ID = tc.id
			if err := newTwilioSender(t, srv.URL, tc.mod).Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			r := <-got
			if r.method != http.MethodPost || r.path != "/2010-04-01/Accounts/"+twilioSID+"/Messages.json" || r.query != "" {
				t.Errorf("request %s %s?%s, want POST /2010-04-01/Accounts/%s/Messages.json", r.method, r.path, r.query, twilioSID)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type = %q", ct)
			}
			want := url.Values{"To": {twilioTo}, "Body": {m.Text}}
			for k, v := range tc.sender {
				want[k] = v
			}
			if !reflect.DeepEqual(r.form, want) {
				t.Errorf("form = %v, want exactly %v", r.form, want)
			}
			if v := r.header.Values("I-Twilio-Idempotency-Token"); !reflect.DeepEqual(v, nonEmpty(tc.id)) {
				t.Errorf("I-Twilio-Idempotency-Token = %q, want %q", v, nonEmpty(tc.id))
			}
		})
	}
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func TestTwilioSendWrongCredentials(t *testing.T) {
	t.Parallel()
	srv, got := newTwilioFake(t, func(w http.ResponseWriter, r twilioRequest) {
		t.Error("a request with wrong credentials got through")
	})
	tw := newTwilioSender(t, srv.URL, func(c *sms.TwilioConfig) { c.AuthToken = "0000000000000000000000000000dead" })
	err := tw.Send(context.Background(), twilioMessage())
	var f *sms.Failure
	if !errors.As(err, &f) || !f.Permanent || f.Code != "20003" || f.Provider != "twilio" {
		t.Fatalf("err = %v, want a permanent twilio failure 20003", err)
	}
	if len(got) != 0 {
		t.Error("the fake recorded a request it refused")
	}
	assertTwilioNoSecrets(t, err)
}

func TestTwilioSendClassifiesErrors(t *testing.T) {
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
		{"too many requests", 429, "7", twilioErrorBody(20429, 429, "Too Many Requests"), "20429", false, 7 * time.Second},
		{"invalid To", 400, "", twilioErrorBody(21211, 400, "The 'To' number +8613812345678 is not a valid phone number."), "21211", true, 0},
		{"unsubscribed", 400, "", twilioErrorBody(21610, 400, "Attempt to send to unsubscribed recipient"), "21610", true, 0},
		{"region not permitted", 400, "", twilioErrorBody(21408, 400, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: +8613812345678."), "21408", true, 0},
		{"not a mobile", 400, "", twilioErrorBody(21614, 400, "'To' number is not a valid mobile number"), "21614", true, 0},
		{"bad From", 400, "", twilioErrorBody(21606, 400, "The 'From' phone number provided (+15005550006) is not a valid message-capable Twilio phone number for this destination."), "21606", true, 0},
		{"From not Twilio's", 400, "", twilioErrorBody(21659, 400, "'From' +15005550006 is not a Twilio phone number or Short Code country mismatch"), "21659", true, 0},
		{"filtered", 400, "", twilioErrorBody(30007, 400, "Message filtered"), "30007", true, 0},
		{"sender queue full", 400, "", twilioErrorBody(21611, 400, "This 'From' number has exceeded the maximum number of queued messages"), "21611", false, 0},
		{"unlisted 4xx", 400, "", twilioErrorBody(21999, 400, "something new"), "21999", true, 0},
		{"internal error", 500, "", twilioErrorBody(20500, 500, "Internal Server Error"), "20500", false, 0},
		{"proxy 502 page", 502, "", "<html><body>502 Bad Gateway</body></html>", "502", false, 0},
		{"unavailable with a date", 503, time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat), "", "503", false, 90 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := newTwilioFake(t, func(w http.ResponseWriter, r twilioRequest) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				twilioJSON(w, tc.status, tc.body)
			})
			err := newTwilioSender(t, srv.URL, nil).Send(context.Background(), twilioMessage())
			var f *sms.Failure
			if !errors.As(err, &f) {
				t.Fatalf("err = %v, want a *sms.Failure", err)
			}
			if f.Provider != "twilio" || f.Code != tc.code || f.Permanent != tc.permanent || sms.IsPermanent(err) != tc.permanent {
				t.Errorf("failure %+v, want provider twilio, code %s, permanent %v", f, tc.code, tc.permanent)
			}
			// An HTTP date has whole seconds, so allow 2s either way.
			if d := sms.RetryAfter(err); d < tc.wait-2*time.Second || d > tc.wait+2*time.Second || (tc.wait == 0) != (d == 0) {
				t.Errorf("RetryAfter = %v, want about %v", d, tc.wait)
			}
			assertTwilioNoSecrets(t, err)
		})
	}
}

func TestTwilioSendTimeout(t *testing.T) {
	t.Parallel()
	srv := hangingServer(t)

	const timeout = 200 * time.Millisecond
	tw := newTwilioSender(t, srv.URL, func(c *sms.TwilioConfig) { c.Timeout = timeout })
	start := time.Now()
	err := tw.Send(context.Background(), twilioMessage())
	elapsed := time.Since(start)
	var f *sms.Failure
	if err == nil || errors.As(err, &f) || sms.IsPermanent(err) {
		t.Fatalf("err = %v, want a plain (transient) error", err)
	}
	if elapsed > timeout+800*time.Millisecond {
		t.Errorf("Send returned after %v, want about %v", elapsed, timeout)
	}
	if !strings.HasPrefix(err.Error(), "sms: twilio: send: ") {
		t.Errorf("err = %q, want the sms: twilio: send: prefix", err)
	}
	assertTwilioNoSecrets(t, err)
}

func TestTwilioSendFollowsNoRedirect(t *testing.T) {
	t.Parallel()
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the redirect was followed: %s %s", r.Method, r.URL)
	}))
	t.Cleanup(elsewhere.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(srv.Close)
	err := newTwilioSender(t, srv.URL, nil).Send(context.Background(), twilioMessage())
	if !sms.IsPermanent(err) {
		t.Errorf("err = %v, want a permanent failure for a redirect", err)
	}
}

func TestTwilioSendRefusesBadMessages(t *testing.T) {
	t.Parallel()
	srv, got := newTwilioFake(t, func(w http.ResponseWriter, r twilioRequest) { w.WriteHeader(http.StatusCreated) })
	tw := newTwilioSender(t, srv.URL, nil)
	for name, mod := range map[string]func(*account.Message){
		"not E.164":    func(m *account.Message) { m.To = "13812345678" },
		"no text":      func(m *account.Message) { m.Text = "" },
		"header break": func(m *account.Message) { m.ID = "id\r\nX-Evil: 1" },
	} {
		m := twilioMessage()
		mod(&m)
		err := tw.Send(context.Background(), m)
		if !sms.IsPermanent(err) {
			t.Errorf("%s: err = %v, want a permanent failure", name, err)
		}
		assertTwilioNoSecrets(t, err)
	}
	if len(got) != 0 {
		t.Errorf("%d requests reached Twilio", len(got))
	}
}

func TestNewTwilioValidates(t *testing.T) {
	t.Parallel()
	good := sms.TwilioConfig{AccountSID: twilioSID, AuthToken: twilioToken, From: twilioFrom}
	for name, mod := range map[string]func(*sms.TwilioConfig){
		"bad account sid":       func(c *sms.TwilioConfig) { c.AccountSID = "SK5f3c9e2ab7d04e18a6c2f9b03d7e1a44" },
		"sid with a path":       func(c *sms.TwilioConfig) { c.AccountSID = "AC5f3c9e2ab7d04e18a6c2f9b03d7e1a/.." },
		"no token":              func(c *sms.TwilioConfig) { c.AuthToken = "" },
		"no sender":             func(c *sms.TwilioConfig) { c.From = "" },
		"two senders":           func(c *sms.TwilioConfig) { c.MessagingServiceSID = twilioMSID },
		"bad service sid":       func(c *sms.TwilioConfig) { c.From, c.MessagingServiceSID = "", "MGxyz" },
		"bad from":              func(c *sms.TwilioConfig) { c.From = "+1 (500) 555-0006" },
		"sender id too long":    func(c *sms.TwilioConfig) { c.From = "SignupServiceX" },
		"plain http":            func(c *sms.TwilioConfig) { c.Endpoint = "http://api.twilio.com" },
		"endpoint with creds":   func(c *sms.TwilioConfig) { c.Endpoint = "https://user:" + twilioToken + "@api.twilio.com" },
		"endpoint with a query": func(c *sms.TwilioConfig) { c.Endpoint = "https://api.twilio.com?x=1" },
		"endpoint no scheme":    func(c *sms.TwilioConfig) { c.Endpoint = "api.twilio.com" },
	} {
		cfg := good
		mod(&cfg)
		tw, err := sms.NewTwilio(cfg, nil)
		if err == nil {
			t.Errorf("%s: NewTwilio accepted %v", name, cfg)
			continue
		}
		if tw != nil || strings.Contains(err.Error(), twilioToken) {
			t.Errorf("%s: got %v, %q", name, tw, err)
		}
	}
	for name, mod := range map[string]func(*sms.TwilioConfig){
		"default endpoint": func(*sms.TwilioConfig) {},
		"short code":       func(c *sms.TwilioConfig) { c.From = "894546" },
		"regional https":   func(c *sms.TwilioConfig) { c.Endpoint = "https://api.dublin.ie1.twilio.com/" },
		"loopback http":    func(c *sms.TwilioConfig) { c.Endpoint = "http://127.0.0.1:8089" },
	} {
		cfg := good
		mod(&cfg)
		if _, err := sms.NewTwilio(cfg, nil); err != nil {
			t.Errorf("%s: NewTwilio: %v", name, err)
		}
	}
}

func TestTwilioKeepsTokenOutOfPrints(t *testing.T) {
	t.Parallel()
	cfg := sms.TwilioConfig{AccountSID: twilioSID, AuthToken: twilioToken, From: twilioFrom}
	tw, err := sms.NewTwilio(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	slog.New(slog.NewJSONHandler(&log, nil)).Info("config", "twilio", cfg)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, tw), fmt.Sprintf("%v %+v %#v", tw, tw, tw), log.String()} {
		if strings.Contains(s, twilioToken) || !strings.Contains(s, twilioSID) {
			t.Errorf("printed %q: want the account SID and not the token", s)
		}
	}
}
