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
	"time"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/captcha"
	"github.com/signupd/signupd/internal/delivery"
	"github.com/signupd/signupd/internal/memstore"
	"github.com/signupd/signupd/internal/metrics"
	"github.com/signupd/signupd/internal/sqlstore"
	"github.com/signupd/signupd/internal/web"
	"github.com/signupd/signupd/internal/web/site"
)

// answer is the fixed captcha answer of the test servers.
const answer = "AC34"

// gateway plays the SMS provider: it records what it is asked to deliver,
// and can be down.
type gateway struct {
	mu   sync.Mutex
	sent []account.Message
	down bool
}

func (g *gateway) Send(_ context.Context, m account.Message) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.down {
		return errors.New("provider down")
	}
	g.sent = append(g.sent, m)
	return nil
}

func (g *gateway) setDown(down bool) { g.mu.Lock(); g.down = down; g.mu.Unlock() }

func (g *gateway) messages() []account.Message {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]account.Message(nil), g.sent...)
}

// last waits for a message to phone and returns the latest: delivery runs
// in the background, a moment after the API answered.
func (g *gateway) last(t *testing.T, phone string) account.Message {
	t.Helper()
	return g.await(t, phone, func(account.Message) bool { return true })
}

// await waits until the latest message to phone satisfies ok, and returns it.
func (g *gateway) await(t *testing.T, phone string, ok func(account.Message) bool) account.Message {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		ms := g.messages()
		for i := len(ms) - 1; i >= 0; i-- {
			if string(ms[i].To) == phone {
				if ok(ms[i]) {
					return ms[i]
				}
				break
			}
		}
	}
	t.Fatalf("no such SMS delivered to %s; delivered: %v", phone, g.messages())
	return account.Message{}
}

type env struct {
	t       *testing.T
	srv     *httptest.Server
	db      *sqlstore.DB
	kv      *memstore.Store
	sms     *gateway
	queue   *sqlstore.DB // the outbox's database, apart so a test can break it alone
	metrics *metrics.Metrics
	web     *web.Server
	client  *http.Client // keeps cookies, like a browser
}

type envOption func(*account.Options, *web.Options, *routes)

// routes are the SMS routes of a test server: by default every number goes
// to the test gateway.
type routes struct {
	fallback bool
	byCode   []string
	// codeOutbox starts codes in the queue's database, in the transaction
	// that queues their message, as the embedded default does.
	codeOutbox bool
}

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
	queue, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "queue.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { queue.Close() })
	e := &env{t: t, db: db, queue: queue, kv: memstore.New(nil), sms: &gateway{}, metrics: metrics.New()}
	ao := account.DefaultOptions()
	wo := web.Options{
		Captcha: drawer, Secret: []byte("csrf key for tests, 32 bytes long"), Pages: site.FS(), BuiltIn: true,
		CookieSecure: "auto", SessionMaxAge: 3600,
		Checks:   map[string]func(context.Context) error{"database": db.Ping, "store": e.kv.Ping},
		Requests: e.metrics, Metrics: e.metrics.Handler(), Replays: e.kv,
	}
	rt := routes{fallback: true}
	for _, o := range opts {
		o(&ao, &wo, &rt)
	}
	ob := e.startDelivery(rt)
	deps := account.Deps{
		Users: db, Sessions: db, Captchas: e.kv, Codes: e.kv, Failures: e.kv, Quotas: e.kv, Budgets: e.kv, Events: e.kv, Outbox: ob,
		Observer: e.metrics,
		Secret:   []byte("code key for tests, 32 bytes long"),
		Answer:   func() (string, error) { return answer, nil },
	}
	if rt.codeOutbox {
		deps.Codes, deps.CodeOutbox = queue, ob
	}
	wo.Accounts = account.NewService(deps, ao)
	e.web = web.New(wo)
	e.srv = httptest.NewServer(e.web)
	t.Cleanup(e.srv.Close)
	e.client = e.newClient()
	return e
}

// startDelivery runs the outbox's worker until the test ends, with short
// polls and back-off so tests see deliveries and retries quickly.
func (e *env) startDelivery(rt routes) *delivery.Outbox {
	test := []delivery.Named{{Name: "test", Provider: e.sms}}
	var fallback []delivery.Named
	if rt.fallback {
		fallback = test
	}
	byCode := map[string][]delivery.Named{}
	for _, code := range rt.byCode {
		byCode[code] = test
	}
	ob, err := delivery.NewOutbox(e.queue, []byte("outbox key for tests, 32 bytes!!"), delivery.NewRouter(fallback, byCode), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	w := delivery.NewWorker(ob, delivery.WorkerOptions{
		PollInterval: 10 * time.Millisecond, BackoffBase: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
		Observer: e.metrics,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
	return ob
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
