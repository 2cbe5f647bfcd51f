package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/captcha"
	"github.com/signupd/signupd/internal/memstore"
	"github.com/signupd/signupd/internal/metrics"
	"github.com/signupd/signupd/internal/sqlstore"
	"github.com/signupd/signupd/internal/web"
	"github.com/signupd/signupd/internal/web/site"
)

// answer is the fixed captcha answer of the test servers.
const answer = "AC34"

// outbox records what the service asked the SMS provider to send, and can
// play a provider that is down.
type outbox struct {
	mu   sync.Mutex
	sent []account.Message
	down bool
}

func (o *outbox) Send(_ context.Context, m account.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.down {
		return errors.New("provider down")
	}
	o.sent = append(o.sent, m)
	return nil
}

func (o *outbox) setDown(down bool) { o.mu.Lock(); o.down = down; o.mu.Unlock() }

func (o *outbox) messages() []account.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]account.Message(nil), o.sent...)
}

// last returns the last message sent to phone.
func (o *outbox) last(t *testing.T, phone string) account.Message {
	t.Helper()
	ms := o.messages()
	for i := len(ms) - 1; i >= 0; i-- {
		if string(ms[i].To) == phone {
			return ms[i]
		}
	}
	t.Fatalf("no SMS sent to %s", phone)
	return account.Message{}
}

type env struct {
	t       *testing.T
	srv     *httptest.Server
	db      *sqlstore.DB
	kv      *memstore.Store
	sms     *outbox
	metrics *metrics.Metrics
	web     *web.Server
	client  *http.Client // keeps cookies, like a browser
}

type envOption func(*account.Options, *web.Options)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "signup.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	drawer, err := captcha.NewDrawer()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, kv: memstore.New(nil), sms: &outbox{}, metrics: metrics.New()}
	ao := account.DefaultOptions()
	wo := web.Options{
		Captcha: drawer, Secret: []byte("csrf key for tests, 32 bytes long"), Pages: site.FS(), BuiltIn: true,
		CookieSecure: "auto", SessionMaxAge: 3600,
		Checks:   map[string]func(context.Context) error{"database": db.Ping, "store": e.kv.Ping},
		Requests: e.metrics, Metrics: e.metrics.Handler(),
	}
	for _, o := range opts {
		o(&ao, &wo)
	}
	wo.Accounts = account.NewService(account.Deps{
		Users: db, Sessions: db, Captchas: e.kv, Codes: e.kv, Failures: e.kv, Sender: e.metrics.Sender("test", e.sms),
		Observer: e.metrics,
		Secret:   []byte("code key for tests, 32 bytes long"),
		Answer:   func() (string, error) { return answer, nil },
	}, ao)
	e.web = web.New(wo)
	e.srv = httptest.NewServer(e.web)
	t.Cleanup(e.srv.Close)
	e.client = e.newClient()
	return e
}

func (e *env) newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

// answer is a decoded API answer.
type apiAnswer struct {
	Status int
	Errno  string         `json:"errno"`
	Errmsg string         `json:"errmsg"`
	Data   map[string]any `json:"data"`
}

type req struct {
	method, path string
	body         any
	header       map[string]string
	noCSRF       bool
	client       *http.Client
}

// do sends r like the original front end does: JSON body, the CSRF cookie
// echoed in X-CSRFToken.
func (e *env) do(r req) apiAnswer {
	e.t.Helper()
	var body io.Reader
	if r.body != nil {
		b, _ := json.Marshal(r.body)
		if s, ok := r.body.(string); ok {
			b = []byte(s)
		}
		body = bytes.NewReader(b)
	}
	hr, _ := http.NewRequest(r.method, e.srv.URL+r.path, body)
	c := r.client
	if c == nil {
		c = e.client
	}
	if r.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if !r.noCSRF {
		hr.Header.Set("X-CSRFToken", e.cookie(c, "csrf_token"))
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := c.Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		e.t.Fatalf("%s %s: Content-Type %q, want application/json", r.method, r.path, ct)
	}
	var a apiAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		e.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	a.Status = resp.StatusCode
	return a
}

func (e *env) cookie(c *http.Client, name string) string {
	for _, ck := range c.Jar.Cookies(mustURL(e.srv.URL)) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// openPage loads the sign-up page, which gives the client its cookies.
func (e *env) openPage(c *http.Client) {
	e.t.Helper()
	resp, err := c.Get(e.srv.URL + "/register.html")
	if err != nil {
		e.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// captcha fetches a captcha image for id and checks it is a PNG.
func (e *env) captcha(id string) {
	e.t.Helper()
	resp, err := e.client.Get(e.srv.URL + "/api/v1.0/image_codes/" + id)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "image/png" {
		e.t.Fatalf("captcha %s: Content-Type %q", id, resp.Header.Get("Content-Type"))
	}
}

func (e *env) sendCode(mobile, id, answer string) apiAnswer {
	e.t.Helper()
	return e.do(req{method: "GET", path: "/api/v1.0/sms_codes/" + mobile + "?image_code=" + answer + "&image_code_id=" + id})
}

var codeInText = regexp.MustCompile(`\d{6}`)

// code runs captcha and send-code for mobile and returns the code the SMS carried.
func (e *env) code(mobile string) string {
	e.t.Helper()
	id := newID()
	e.captcha(id)
	if a := e.sendCode(mobile, id, answer); a.Errno != "0" {
		e.t.Fatalf("send code: %+v", a)
	}
	m := e.sms.last(e.t, canonical(mobile))
	if m.Code == "" || codeInText.FindString(m.Text) != m.Code {
		e.t.Fatalf("SMS %+v carries no code", m)
	}
	return m.Code
}

func (e *env) register(mobile, code, pw string) apiAnswer {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/api/v1.0/users", body: map[string]string{
		"mobile": mobile, "sms_code": code, "password": pw, "password2": pw,
	}})
}

func (e *env) login(mobile, pw string) apiAnswer {
	e.t.Helper()
	return e.do(req{method: "POST", path: "/api/v1.0/sessions", body: map[string]string{"mobile": mobile, "password": pw}})
}

// signUp opens the page and registers mobile with pw through the whole flow.
func (e *env) signUp(mobile, pw string) {
	e.t.Helper()
	e.openPage(e.client)
	if a := e.register(mobile, e.code(mobile), pw); a.Errno != "0" {
		e.t.Fatalf("register: %+v", a)
	}
}

func want(t *testing.T, a apiAnswer, errno string, msgPart string) {
	t.Helper()
	if a.Errno != errno || a.Status != http.StatusOK || !strings.Contains(a.Errmsg, msgPart) {
		t.Fatalf("answer %+v, want HTTP 200 errno %s with errmsg containing %q", a, errno, msgPart)
	}
}

var idSeq atomic.Int64

// newID makes a captcha id the way a page does: unique per captcha.
func newID() string { return "id-" + strconv.FormatInt(idSeq.Add(1), 10) }

func canonical(mobile string) string {
	p, err := account.ParsePhone(mobile, "CN")
	if err != nil {
		panic(err)
	}
	return string(p)
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
