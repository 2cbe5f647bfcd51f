package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signupd/signupd/internal/testserver"
)

// client is a browser-like API client of one instance.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, http: &http.Client{Jar: jar}}
}

func (c *client) csrf() string {
	u, _ := url.Parse(c.base)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == "csrf_token" {
			return ck.Value
		}
	}
	return ""
}

// call sends a request as the original front end does and returns the errno.
func (c *client) call(method, path string, body any) (string, map[string]any) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRFToken", c.csrf())
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		Errno string         `json:"errno"`
		Data  map[string]any `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return a.Errno, a.Data
}

func (c *client) page() {
	resp, err := c.http.Get(c.base + "/register.html")
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
}

func (c *client) signUp(in *instance, mobile, e164, pw string) {
	c.t.Helper()
	c.page()
	resp, err := c.http.Get(c.base + "/api/v1.0/image_codes/restart-1")
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	if errno, _ := c.call("GET", "/api/v1.0/sms_codes/"+mobile+"?image_code="+testAnswer+"&image_code_id=restart-1", nil); errno != "0" {
		c.t.Fatalf("send code: errno %s", errno)
	}
	body := map[string]string{"mobile": mobile, "sms_code": in.smsCode(c.t, e164), "password": pw, "password2": pw}
	if errno, _ := c.call("POST", "/api/v1.0/users", body); errno != "0" {
		c.t.Fatalf("register: errno %s", errno)
	}
}

func TestRestartKeepsUsersAndSessions(t *testing.T) {
	db := filepath.Join(t.TempDir(), "signup.db")
	first := startSignupd(t, db, nil)
	c := newClient(t, first.URL)
	c.signUp(first, "13812345678", "+8613812345678", "correct horse")
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}

	second := startSignupd(t, db, map[string]string{"SIGNUP_ADDR": strings.TrimPrefix(first.URL, "http://")})
	if errno, data := c.call("GET", "/api/v1.0/user", nil); errno != "0" || data["mobile"] != "+8613812345678" {
		t.Fatalf("after restart the session is gone: errno %s, data %v", errno, data)
	}
	// The generated secret was kept: the CSRF token still holds.
	if errno, _ := c.call("DELETE", "/api/v1.0/session", nil); errno != "0" {
		t.Fatalf("logout after restart: errno %s", errno)
	}
	other := newClient(t, second.URL)
	other.page()
	if errno, _ := other.call("POST", "/api/v1.0/sessions", map[string]string{"mobile": "13812345678", "password": "correct horse"}); errno != "0" {
		t.Fatalf("login after restart: errno %s", errno)
	}
}

func TestLogsKeepSecrets(t *testing.T) {
	in := startSignupd(t, "", nil)
	c := newClient(t, in.URL)
	c.signUp(in, "13812345678", "+8613812345678", "correct horse")
	c.call("POST", "/api/v1.0/sessions", map[string]string{"mobile": "13812345678", "password": "correct horse"})
	code := in.smsCode(t, "+8613812345678")
	logs := in.stderr.String()
	for _, secret := range []string{"13812345678", code, "correct horse"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the log contains %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, "+86*******5678") {
		t.Fatalf("the log should name the number masked:\n%s", logs)
	}
}

func TestBadConfiguration(t *testing.T) {
	for name, tc := range map[string]struct {
		env  map[string]string
		args []string
		want string
	}{
		"address":       {env: map[string]string{"SIGNUP_ADDR": "8080"}, want: "SIGNUP_ADDR"},
		"database":      {env: map[string]string{"SIGNUP_DATABASE_URL": "mysql://x"}, want: "SIGNUP_DATABASE_URL"},
		"provider":      {env: map[string]string{"SIGNUP_SMS_PROVIDER": "carrier-pigeon"}, want: "SIGNUP_SMS_PROVIDER"},
		"webhook":       {env: map[string]string{"SIGNUP_SMS_PROVIDER": "webhook"}, want: "SIGNUP_SMS_WEBHOOK_URL"},
		"short secret":  {env: map[string]string{"SIGNUP_SECRET": "short"}, want: "SIGNUP_SECRET"},
		"duration":      {env: map[string]string{"SIGNUP_CODE_TTL": "five minutes"}, want: "SIGNUP_CODE_TTL"},
		"code lifetime": {env: map[string]string{"SIGNUP_CODE_TTL": "1h"}, want: "SIGNUP_CODE_TTL"},
		"weak argon2":   {env: map[string]string{"SIGNUP_ARGON2_MEMORY_KIB": "1024"}, want: "SIGNUP_ARGON2_MEMORY_KIB"},
		"test captcha":  {env: map[string]string{"SIGNUP_TEST_CAPTCHA_ANSWER": "OOOO", "SIGNUP_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "x.db")}, want: "SIGNUP_TEST_CAPTCHA_ANSWER"},
		"web root":      {env: map[string]string{"SIGNUP_WEB_ROOT": t.TempDir(), "SIGNUP_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "y.db")}, want: "SIGNUP_WEB_ROOT"},
		"region":        {env: map[string]string{"SIGNUP_DEFAULT_REGION": "XX"}, want: "SIGNUP_DEFAULT_REGION"},
		"sms text":      {env: map[string]string{"SIGNUP_SMS_TEXT_REGISTER_EN": "code for {{.Mobile}}", "SIGNUP_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "z.db")}, want: "SIGNUP_SMS_TEXT"},
		"flag wins":     {env: map[string]string{}, args: []string{"-addr", "nonsense"}, want: "SIGNUP_ADDR"},
		"unknown flag":  {args: []string{"-nope"}, want: "nope"},
	} {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(context.Background(), tc.args, func(k string) string { return tc.env[k] }, io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error()+stderr.String(), tc.want) {
				t.Fatalf("err = %v (stderr %q), want a message naming %s", err, stderr.String(), tc.want)
			}
		})
	}
}

func TestGracefulShutdown(t *testing.T) {
	in := startSignupd(t, "", nil)
	if err := in.stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if !strings.Contains(in.stderr.String(), "shutting down") {
		t.Fatal("no shutdown logged")
	}
	if _, err := http.Get(in.URL + "/register.html"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

func TestMigrateCommand(t *testing.T) {
	for name, url := range map[string]string{
		"SQLite":     "sqlite:" + filepath.Join(t.TempDir(), "migrate.db"),
		"PostgreSQL": testserver.SharedPostgres(t).Database(t),
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			getenv := func(k string) string { return map[string]string{"SIGNUP_DATABASE_URL": url}[k] }
			for range 2 { // a second run finds nothing to do
				if err := run(context.Background(), []string{"migrate"}, getenv, &out, io.Discard); err != nil {
					t.Fatal(err)
				}
			}
			if !strings.Contains(out.String(), "up to date") {
				t.Fatalf("output %q", out.String())
			}
			// The migrated database serves at once.
			in := startSignupd(t, "", map[string]string{"SIGNUP_DATABASE_URL": url})
			c := newClient(t, in.URL)
			c.signUp(in, "13812345678", "+8613812345678", "correct horse")
		})
	}
	if err := run(context.Background(), []string{"migrate"}, func(k string) string {
		return map[string]string{"SIGNUP_DATABASE_URL": "postgres://nobody@127.0.0.1:1/none?connect_timeout=1"}[k]
	}, io.Discard, io.Discard); err == nil {
		t.Fatal("migrating an unreachable database succeeded")
	}
}

func TestOperatorMessageText(t *testing.T) {
	in := startSignupd(t, "", map[string]string{
		"SIGNUP_APP_NAME":             "Shop",
		"SIGNUP_SMS_TEXT_REGISTER_ZH": "【{{.App}}】验证码{{.Code}},{{.Minutes}}分钟有效",
	})
	c := newClient(t, in.URL)
	c.signUp(in, "13812345678", "+8613812345678", "correct horse")
	code := in.smsCode(t, "+8613812345678")
	if want := "【Shop】验证码" + code + ",5分钟有效"; !strings.Contains(in.stdout.String(), want) {
		t.Fatalf("SMS text is not the operator's: %s", in.stdout)
	}
}
