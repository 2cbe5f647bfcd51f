package sms_test

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/sms"
)

// Made-up credentials in the platform's shapes (32 hex characters each).
const (
	ronglianSID   = "aaaabbbbccccddddeeeeffff00001111"
	ronglianToken = "0123456789abcdef0123456789abcdef"
	ronglianApp   = "ffffeeeeddddccccbbbbaaaa99998888"
	ronglianOK    = `{"statusCode":"000000","templateSMS":{"smsMessageSid":"ff8080813c373cab013c94b0f0512345","dateCreated":"20261123101500"}}`
)

// ronglianGot is one request that passed the fake's authentication.
type ronglianGot struct {
	header http.Header
	body   map[string]any
}

// newRonglianFake starts a server that plays Ronglian's TemplateSMS endpoint.
// It checks method and path, then authenticates the way the platform
// documents it, recomputed here from the published algorithm: Authorization
// is base64(SID ":" yyyyMMddHHmmss) with the time in UTC+8 and close to now,
// and sig in the query is upper-case hex MD5(SID + token + the same stamp). A
// failure gets the platform's answer (HTTP 200, statusCode 1111xx); a request
// that passes is handed to the test and answered by answer.
func newRonglianFake(t *testing.T, answer http.HandlerFunc) (*httptest.Server, <-chan ronglianGot) {
	t.Helper()
	got := make(chan ronglianGot, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil || r.Method != http.MethodPost || r.URL.Path != "/2013-12-26/Accounts/"+ronglianSID+"/SMS/TemplateSMS" {
			t.Errorf("fake: unexpected %s %s", r.Method, r.URL.Path)
			http.NotFound(w, r)
			return
		}
		if code, msg := ronglianAuthenticate(r); code != "" {
			ronglianAnswer(w, http.StatusOK, fmt.Sprintf(`{"statusCode":%q,"statusMsg":%q}`, code, msg))
			return
		}
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			ronglianAnswer(w, http.StatusOK, `{"statusCode":"160031","statusMsg":"参数解析失败"}`)
			return
		}
		got <- ronglianGot{header: r.Header.Clone(), body: body}
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// ronglianAuthenticate returns the platform's error code and message for a
// request that fails authentication, or "" when it passes.
func ronglianAuthenticate(r *http.Request) (code, msg string) {
	decoded, err := base64.StdEncoding.DecodeString(r.Header.Get("Authorization"))
	if err != nil {
		return "111102", "【账号】请求包头Authorization参数Base64解码失败"
	}
	sid, stamp, ok := strings.Cut(string(decoded), ":")
	if !ok || stamp == "" {
		return "111103", "【账号】请求包头Authorization参数解码后格式有误"
	}
	if sid != ronglianSID {
		return "111107", "【账号】请求包头Authorization参数中账户ID跟请求地址中的账户ID不一致"
	}
	at, err := time.ParseInLocation("20060102150405", stamp, time.FixedZone("UTC+8", 8*60*60))
	if err != nil {
		return "111113", "【账号】请求包头Authorization参数中时间戳格式有误"
	}
	if d := time.Since(at); d > 5*time.Second || d < -5*time.Second {
		return "111106", "【账号】请求包头Authorization参数解码后时间戳过期"
	}
	q := r.URL.Query()
	if len(q) != 1 || len(q["sig"]) != 1 {
		return "111108", "【账号】请求地址Sig参数为空"
	}
	sum := md5.Sum([]byte(ronglianSID + ronglianToken + stamp))
	if q.Get("sig") != strings.ToUpper(hex.EncodeToString(sum[:])) {
		return "111109", "【账号】请求地址Sig校验失败"
	}
	return "", ""
}

func ronglianAnswer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func ronglianAnswers(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { ronglianAnswer(w, status, body) }
}

func ronglianConfig(endpoint string) sms.RonglianConfig {
	return sms.RonglianConfig{
		AccountSID: ronglianSID, AuthToken: ronglianToken, AppID: ronglianApp,
		Templates: map[string]string{account.PurposeRegister: "1", account.PurposeAlreadyRegistered: "20571"},
		Endpoint:  endpoint,
	}
}

// newRonglianSender uses the default client: a timeout and no redirects.
func newRonglianSender(t *testing.T, cfg sms.RonglianConfig) *sms.Ronglian {
	t.Helper()
	s, err := sms.NewRonglian(cfg, nil)
	if err != nil {
		t.Fatalf("NewRonglian: %v", err)
	}
	return s
}

func ronglianCodeMessage() account.Message {
	return account.Message{
		ID: "m20261123x0001", To: "+8613812345678", Purpose: account.PurposeRegister,
		Code: "483920", TTL: 5 * time.Minute, Locale: account.LocaleZH,
		Text: "【Signup】您的注册验证码是483920,5分钟内有效。如非本人操作,请忽略本短信。",
	}
}

func ronglianReceive(t *testing.T, got <-chan ronglianGot) ronglianGot {
	t.Helper()
	select {
	case g := <-got:
		return g
	default:
		t.Fatal("the fake received no authenticated request")
		return ronglianGot{}
	}
}

// ronglianCheckQuiet fails when err gives away the code, the full number (in
// either form) or the signature.
func ronglianCheckQuiet(t *testing.T, err error, m account.Message) {
	t.Helper()
	text := err.Error()
	for _, secret := range []string{m.Code, string(m.To), strings.TrimPrefix(string(m.To), "+86"), "sig="} {
		if secret != "" && strings.Contains(text, secret) {
			t.Errorf("error %q contains %q", text, secret)
		}
	}
}

func TestRonglianSendsSignedTemplateSMS(t *testing.T) {
	srv, got := newRonglianFake(t, ronglianAnswers(http.StatusOK, ronglianOK))
	s := newRonglianSender(t, ronglianConfig(srv.URL))
	m := ronglianCodeMessage()
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	g := ronglianReceive(t, got)
	if v := g.header.Get("Accept"); v != "application/json" {
		t.Errorf("Accept = %q", v)
	}
	if v := g.header.Get("Content-Type"); v != "application/json;charset=utf-8" {
		t.Errorf("Content-Type = %q", v)
	}
	// Nothing but the transport's own headers and the three of the protocol.
	allowed := map[string]bool{"Accept": true, "Content-Type": true, "Authorization": true,
		"Content-Length": true, "User-Agent": true, "Accept-Encoding": true}
	for k := range g.header {
		if !allowed[k] {
			t.Errorf("unexpected header %s", k)
		}
	}
	want := map[string]any{
		"to": "13812345678", "appId": ronglianApp, "templateId": "1",
		"datas": []any{"483920", "5"}, "reqId": "m20261123x0001",
	}
	if !reflect.DeepEqual(g.body, want) {
		t.Errorf("body = %#v\nwant   %#v", g.body, want)
	}
}

func TestRonglianSendsNoticeAndInternationalNumber(t *testing.T) {
	srv, got := newRonglianFake(t, ronglianAnswers(http.StatusOK, ronglianOK))
	s := newRonglianSender(t, ronglianConfig(srv.URL))
	m := account.Message{To: "+85261234567", Purpose: account.PurposeAlreadyRegistered, TTL: 5 * time.Minute, Locale: account.LocaleEN}
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	// No message id: no reqId. A notice fills no variables.
	want := map[string]any{"to": "0085261234567", "appId": ronglianApp, "templateId": "20571", "datas": []any{}}
	if g := ronglianReceive(t, got); !reflect.DeepEqual(g.body, want) {
		t.Errorf("body = %#v\nwant   %#v", g.body, want)
	}
}

func TestRonglianReqIDIsStableForLongIDs(t *testing.T) {
	srv, got := newRonglianFake(t, ronglianAnswers(http.StatusOK, ronglianOK))
	s := newRonglianSender(t, ronglianConfig(srv.URL))
	m := ronglianCodeMessage()
	m.ID = "0f8fad5b-d9cb-469f-a165-70867728950e" // 36 characters with hyphens: not a valid reqId
	var ids []string
	for range 2 {
		if err := s.Send(t.Context(), m); err != nil {
			t.Fatalf("Send: %v", err)
		}
		id, _ := ronglianReceive(t, got).body["reqId"].(string)
		ids = append(ids, id)
	}
	if len(ids[0]) != 32 || strings.Trim(ids[0], "0123456789abcdef") != "" || ids[0] != ids[1] {
		t.Errorf("reqIds %q: want the same 32 hex digits on every attempt", ids)
	}
}

func TestRonglianWrongTokenIsPermanent(t *testing.T) {
	srv, got := newRonglianFake(t, ronglianAnswers(http.StatusOK, ronglianOK))
	cfg := ronglianConfig(srv.URL)
	cfg.AuthToken = "fedcba9876543210fedcba9876543210"
	m := ronglianCodeMessage()
	err := newRonglianSender(t, cfg).Send(t.Context(), m)
	var f *sms.Failure
	if !errors.As(err, &f) || f.Code != "111109" || !f.Permanent || f.Provider != "ronglian" {
		t.Fatalf("err = %v, want a permanent ronglian failure 111109", err)
	}
	if len(got) != 0 {
		t.Error("the fake accepted a request signed with the wrong token")
	}
	ronglianCheckQuiet(t, err, m)
}

func TestRonglianClassifiesRefusals(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		body      string
		header    map[string]string
		code      string
		permanent bool
		wait      time.Duration
	}{
		{"flow control", 200, `{"statusCode":"160038","statusMsg":"短信验证码发送过频繁"}`, nil, "160038", false, time.Minute},
		{"flow control, numeric code", 200, `{"statusCode":160038,"statusMsg":"短信验证码发送过频繁"}`, nil, "160038", false, time.Minute},
		{"daily cap", 200, `{"statusCode":"160040","statusMsg":"验证码超出同模板同号码天发送上限"}`, nil, "160040", true, 0},
		{"invalid number", 200, `{"statusCode":"160042","statusMsg":"号码格式有误"}`, nil, "160042", true, 0},
		{"number missing", 200, `{"statusCode":"112300","statusMsg":"接收短信的手机号码为空"}`, nil, "112300", true, 0},
		{"invalid template", 200, `{"statusCode":"160032","statusMsg":"短信模板无效"}`, nil, "160032", true, 0},
		{"app not published", 200, `{"statusCode":"112310","statusMsg":"应用未上线，模板短信接收号码外呼受限"}`, nil, "112310", true, 0},
		{"balance exhausted", 200, `{"statusCode":"111142","statusMsg":"主账户余额不足"}`, nil, "111142", true, 0},
		{"request repeated", 200, `{"statusCode":"160054","statusMsg":"请求重复"}`, nil, "160054", true, 0},
		{"too many concurrent", 200, `{"statusCode":"111111","statusMsg":"超过规定的并发数"}`, nil, "111111", false, 0},
		{"system error", 200, `{"statusCode":"160000","statusMsg":"系统错误"}`, nil, "160000", false, 0},
		{"unknown code", 200, `{"statusCode":"169999","statusMsg":"?"}`, nil, "169999", true, 0},
		{"echoes number and code", 200, `{"statusCode":"160042","statusMsg":"号码格式有误: 13812345678, 483920"}`, nil, "160042", true, 0},
		{"http 500", 500, `<html>Internal Server Error</html>`, nil, "500", false, 0},
		{"http 503 with Retry-After", 503, ``, map[string]string{"Retry-After": "7"}, "503", false, 7 * time.Second},
		{"http 404", 404, `not found`, nil, "404", true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := newRonglianFake(t, func(w http.ResponseWriter, _ *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				ronglianAnswer(w, tc.status, tc.body)
			})
			m := ronglianCodeMessage()
			err := newRonglianSender(t, ronglianConfig(srv.URL)).Send(t.Context(), m)
			var f *sms.Failure
			if !errors.As(err, &f) {
				t.Fatalf("err = %v, want a *sms.Failure", err)
			}
			if f.Provider != "ronglian" || f.Code != tc.code || f.Permanent != tc.permanent || f.RetryAfter != tc.wait {
				t.Errorf("failure = %+v, want code %s permanent %v retry after %v", f, tc.code, tc.permanent, tc.wait)
			}
			if sms.IsPermanent(err) != tc.permanent || sms.RetryAfter(err) != tc.wait {
				t.Errorf("IsPermanent/RetryAfter disagree with the failure: %v", err)
			}
			ronglianCheckQuiet(t, err, m)
		})
	}
}

func TestRonglianHangEndsAtTheTimeout(t *testing.T) {
	release := make(chan struct{})
	srv, _ := newRonglianFake(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	// Cleanups run last-registered first: the handler is let go before
	// srv.Close waits for it.
	t.Cleanup(func() { close(release) })
	s := newRonglianSender(t, ronglianConfig(srv.URL))
	const timeout = 300 * time.Millisecond
	m := ronglianCodeMessage()
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	err := s.Send(ctx, m)
	elapsed := time.Since(start)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if elapsed < timeout || elapsed > timeout+2*time.Second {
		t.Errorf("Send returned after %v, want about %v", elapsed, timeout)
	}
	var f *sms.Failure
	if errors.As(err, &f) || sms.IsPermanent(err) {
		t.Errorf("a timeout must be a plain, retryable error: %v", err)
	}
	ronglianCheckQuiet(t, err, m)
}

func TestRonglianDoesNotFollowRedirects(t *testing.T) {
	hits := make(chan struct{}, 10)
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits <- struct{}{} }))
	t.Cleanup(elsewhere.Close)
	srv, _ := newRonglianFake(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL, http.StatusTemporaryRedirect)
	})
	m := ronglianCodeMessage()
	err := newRonglianSender(t, ronglianConfig(srv.URL)).Send(t.Context(), m)
	var f *sms.Failure
	if !errors.As(err, &f) || f.Code != "307" || !f.Permanent {
		t.Errorf("err = %v, want a permanent failure 307", err)
	}
	if len(hits) != 0 {
		t.Error("the body was re-sent to the redirect target")
	}
	ronglianCheckQuiet(t, err, m)
}

func TestRonglianRefusesWithoutRequest(t *testing.T) {
	cases := []struct {
		name string
		edit func(*account.Message)
		code string
	}{
		{"no template for purpose", func(m *account.Message) { m.Purpose = "login" }, "no_template"},
		{"mainland number too short", func(m *account.Message) { m.To = "+86138123456" }, "bad_number"},
		{"not E.164", func(m *account.Message) { m.To = "13812345678" }, "bad_number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, got := newRonglianFake(t, ronglianAnswers(http.StatusOK, ronglianOK))
			m := ronglianCodeMessage()
			tc.edit(&m)
			err := newRonglianSender(t, ronglianConfig(srv.URL)).Send(t.Context(), m)
			var f *sms.Failure
			if !errors.As(err, &f) || f.Code != tc.code || !f.Permanent {
				t.Errorf("err = %v, want a permanent failure %s", err, tc.code)
			}
			if len(got) != 0 {
				t.Error("a request was sent")
			}
			ronglianCheckQuiet(t, err, m)
		})
	}
}

func TestNewRonglianValidates(t *testing.T) {
	cases := []struct {
		name string
		edit func(*sms.RonglianConfig)
		ok   bool
	}{
		{"complete, default endpoint", func(c *sms.RonglianConfig) { c.Endpoint = "" }, true},
		{"https endpoint with slash", func(c *sms.RonglianConfig) { c.Endpoint = "https://sandboxapp.cloopen.com:8883/" }, true},
		{"extra purpose", func(c *sms.RonglianConfig) { c.Templates["login"] = "30000" }, true},
		{"no account SID", func(c *sms.RonglianConfig) { c.AccountSID = "" }, false},
		{"SID with a slash", func(c *sms.RonglianConfig) { c.AccountSID = "abc/../x" }, false},
		{"no token", func(c *sms.RonglianConfig) { c.AuthToken = "" }, false},
		{"token with a newline", func(c *sms.RonglianConfig) { c.AuthToken = ronglianToken + "\n" }, false},
		{"no app ID", func(c *sms.RonglianConfig) { c.AppID = "" }, false},
		{"no register template", func(c *sms.RonglianConfig) { delete(c.Templates, account.PurposeRegister) }, false},
		{"no notice template", func(c *sms.RonglianConfig) { delete(c.Templates, account.PurposeAlreadyRegistered) }, false},
		{"template not numeric", func(c *sms.RonglianConfig) { c.Templates[account.PurposeRegister] = "SMS_1" }, false},
		{"plain http to a remote host", func(c *sms.RonglianConfig) { c.Endpoint = "http://app.cloopen.com:8883" }, false},
		{"endpoint with query", func(c *sms.RonglianConfig) { c.Endpoint = "https://app.cloopen.com:8883?x=1" }, false},
		{"endpoint not a URL", func(c *sms.RonglianConfig) { c.Endpoint = "app.cloopen.com" }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ronglianConfig("http://127.0.0.1:1")
			tc.edit(&cfg)
			_, err := sms.NewRonglian(cfg, nil)
			if (err == nil) != tc.ok {
				t.Errorf("err = %v, want ok %v", err, tc.ok)
			}
			if err != nil && strings.Contains(err.Error(), ronglianToken) {
				t.Errorf("error %q contains the token", err)
			}
		})
	}
}
