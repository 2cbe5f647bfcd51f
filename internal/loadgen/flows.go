package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The steps a report times; a flow is its steps together.
const (
	stepPage     = "page"
	stepCaptcha  = "captcha"
	stepSend     = "send"
	stepCode     = "code" // from the send's answer until the code reached the webhook
	stepRegister = "register"
	stepLogin    = "login"
	stepSession  = "session"
	stepFlow     = "flow"
)

// client is one browser: its cookies and its address.
type client struct {
	g       *generator
	rec     *recorder
	addr    string // X-Forwarded-For, or ""
	session string // the session cookie, as name=value
	csrf    string
	body    bytes.Buffer // the last answer's body, reused
}

func (g *generator) newClient(rec *recorder) *client {
	c := &client{g: g, rec: rec}
	if g.cfg.SpreadClients {
		c.addr = clientAddr()
	}
	return c
}

// answer is the API's reply.
type answer struct {
	Errno  string `json:"errno"`
	Errmsg string `json:"errmsg"`
}

// do sends one request for step and times it. It returns false, after
// counting the error, unless the answer is wantStatus and, for JSON, errno 0.
func (c *client) do(ctx context.Context, step, method, path string, body any, wantStatus int) bool {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			panic(err) // the bodies are this package's own maps
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.g.cfg.Target+path, r)
	if err != nil {
		c.rec.fail(step, "bad request: "+err.Error())
		return false
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRFToken", c.csrf)
	}
	if c.session != "" {
		req.Header.Set("Cookie", c.session)
	}
	if c.addr != "" {
		req.Header.Set("X-Forwarded-For", c.addr)
	}
	t0 := time.Now()
	resp, err := c.g.http.Do(req)
	if err != nil {
		c.rec.fail(step, transportError(err))
		return false
	}
	c.body.Reset()
	_, err = c.body.ReadFrom(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	elapsed := time.Since(t0)
	data := c.body.Bytes()
	if err != nil {
		c.rec.fail(step, transportError(err))
		return false
	}
	c.keepCookies(resp)
	if resp.StatusCode != wantStatus {
		c.rec.fail(step, fmt.Sprintf("HTTP %d %s", resp.StatusCode, brief(data)))
		return false
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		var a answer
		if err := json.Unmarshal(data, &a); err != nil {
			c.rec.fail(step, "malformed JSON: "+brief(data))
			return false
		}
		if a.Errno != "0" {
			c.rec.fail(step, "errno "+a.Errno+" "+a.Errmsg)
			return false
		}
	}
	c.rec.add(step, elapsed)
	return true
}

func (c *client) keepCookies(resp *http.Response) {
	for _, ck := range resp.Cookies() {
		switch {
		case ck.Name == "csrf_token":
			c.csrf = ck.Value
		case strings.HasSuffix(ck.Name, "session"):
			c.session = ck.Name + "=" + ck.Value
		}
	}
}

func (c *client) page(ctx context.Context) bool {
	return c.do(ctx, stepPage, "GET", "/register.html", nil, http.StatusOK)
}

func (c *client) captcha(ctx context.Context, id string) bool {
	return c.do(ctx, stepCaptcha, "GET", "/api/v1.0/image_codes/"+id, nil, http.StatusOK)
}

// sendCode solves a captcha, asks for a code for mobile and waits for the
// code at the webhook.
func (c *client) sendCode(ctx context.Context, mobile string) (string, bool) {
	id := newCaptchaID()
	if !c.captcha(ctx, id) {
		return "", false
	}
	to := "+86" + mobile
	code := c.g.inbox.expect(to)
	defer c.g.inbox.forget(to)
	q := url.Values{"image_code": {c.g.cfg.CaptchaAnswer}, "image_code_id": {id}}
	if !c.do(ctx, stepSend, "GET", "/api/v1.0/sms_codes/"+mobile+"?"+q.Encode(), nil, http.StatusOK) {
		return "", false
	}
	t0 := time.Now()
	select {
	case v := <-code:
		c.rec.add(stepCode, time.Since(t0))
		return v, true
	case <-time.After(c.g.cfg.CodeWait):
		c.rec.fail(stepCode, fmt.Sprintf("no SMS at the webhook within %v", c.g.cfg.CodeWait))
		return "", false
	case <-ctx.Done():
		return "", false
	}
}

func (c *client) register(ctx context.Context, mobile, code string) bool {
	return c.do(ctx, stepRegister, "POST", "/api/v1.0/users", map[string]string{
		"mobile": mobile, "sms_code": code, "password": c.g.cfg.Password, "password2": c.g.cfg.Password,
	}, http.StatusOK)
}

func (c *client) checkSession(ctx context.Context) bool {
	return c.do(ctx, stepSession, "GET", "/api/v1.0/session", nil, http.StatusOK)
}

func (g *generator) captchaFlow(ctx context.Context, rec *recorder) bool {
	return g.newClient(rec).captcha(ctx, newCaptchaID())
}

func (g *generator) smsFlow(ctx context.Context, rec *recorder) bool {
	_, ok := g.newClient(rec).sendCode(ctx, g.newMobile())
	return ok
}

func (g *generator) signUpFlow(ctx context.Context, rec *recorder) bool {
	c := g.newClient(rec)
	mobile := g.newMobile()
	if !c.page(ctx) {
		return false
	}
	code, ok := c.sendCode(ctx, mobile)
	return ok && c.register(ctx, mobile, code) && c.checkSession(ctx)
}

// account is one made for the login mode.
type account struct {
	mobile string
	addr   string
}

// makeAccounts signs one account up per client, before the clock starts.
func (g *generator) makeAccounts(ctx context.Context) ([]account, error) {
	rec := g.report.recorder() // not merged: setup is not measured
	accounts := make([]account, g.cfg.Clients)
	for i := range accounts {
		c := g.newClient(rec)
		mobile := g.newMobile()
		if !c.page(ctx) {
			return nil, fmt.Errorf("loadgen: making accounts: %v", rec.firstError())
		}
		code, ok := c.sendCode(ctx, mobile)
		if !ok || !c.register(ctx, mobile, code) {
			return nil, fmt.Errorf("loadgen: making accounts: %v", rec.firstError())
		}
		accounts[i] = account{mobile: mobile, addr: c.addr}
	}
	return accounts, nil
}

func (g *generator) loginFlow(ctx context.Context, rec *recorder, a account) bool {
	c := g.newClient(rec)
	if c.addr != "" {
		c.addr = a.addr
	}
	if !c.page(ctx) {
		return false
	}
	return c.do(ctx, stepLogin, "POST", "/api/v1.0/sessions",
		map[string]string{"mobile": a.mobile, "password": g.cfg.Password}, http.StatusOK) &&
		c.checkSession(ctx)
}

func newCaptchaID() string {
	return fmt.Sprintf("%016x%016x", randomUint64(), randomUint64())
}

// brief is the start of a body, for an error line.
func brief(b []byte) string {
	const n = 80
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}

// transportError names a failed request without its URL, so that errors of
// one kind count as one.
func transportError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return "transport: " + err.Error()
}
