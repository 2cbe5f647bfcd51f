package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/web"
)

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestBuiltInPages(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/", "/index.html", "/register.html", "/login.html"} {
		resp, body := get(t, e.newClient(), e.srv.URL+path)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "<html") {
			t.Fatalf("%s: %d %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		csrf, sess := cookieNamed(resp, "csrf_token"), cookieNamed(resp, "session")
		if csrf == nil || csrf.HttpOnly || csrf.Value == "" {
			t.Fatalf("%s: csrf_token cookie %+v, want one scripts can read", path, csrf)
		}
		if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Secure || sess.Path != "/" {
			t.Fatalf("%s: session cookie %+v, want HttpOnly, SameSite=Lax, Path=/, not Secure over plain HTTP", path, sess)
		}
		h := resp.Header
		if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
			t.Fatalf("%s: security headers %v", path, h)
		}
	}
	// A returning client keeps its session id and token across pages.
	c := e.newClient()
	e.openPage(c)
	token := e.cookie(c, "csrf_token")
	e.openPage(c)
	if e.cookie(c, "csrf_token") != token {
		t.Fatal("a second page view changed the CSRF token")
	}
	if resp, _ := get(t, c, e.srv.URL+"/static/js/register.js"); resp.StatusCode != 200 {
		t.Fatalf("static script: %d", resp.StatusCode)
	}
	for _, path := range []string{"/nope.html", "/register", "/static/nope.js", "/html/register.html"} {
		if resp, _ := get(t, c, e.srv.URL+path); resp.StatusCode != 404 {
			t.Fatalf("%s: %d, want 404", path, resp.StatusCode)
		}
	}
	if resp, _ := get(t, c, e.srv.URL+"/favicon.ico"); resp.StatusCode != 204 {
		t.Fatalf("favicon without one: %d, want 204", resp.StatusCode)
	}
	a := e.do(req{method: "GET", path: "/api/v1.0/nothing"})
	if a.Status != 404 || a.Errno != "4002" {
		t.Fatalf("unknown API route: %+v", a)
	}
}

func TestWebRoot(t *testing.T) {
	own := fstest.MapFS{
		"html/index.html":    {Data: []byte("<html>own index</html>")},
		"html/register.html": {Data: []byte("<html>own register<script>inline()</script></html>")},
		"static/js/main.js":  {Data: []byte("console.log(1)")},
		"static/favicon.ico": {Data: []byte("icon")},
	}
	const csp = "default-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
	e := newEnv(t, func(_ *account.Options, w *web.Options, _ *routes) { w.Pages, w.BuiltIn, w.PagesCSP = own, false, csp })
	resp, body := get(t, e.newClient(), e.srv.URL+"/")
	if body != "<html>own index</html>" || cookieNamed(resp, "csrf_token") == nil {
		t.Fatalf("/ = %q with cookies %v", body, resp.Cookies())
	}
	if got := resp.Header.Get("Content-Security-Policy"); got != csp {
		t.Fatalf("own pages got the CSP %q, want the deployment's %q", got, csp)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") == "" {
		t.Fatalf("own pages lack the other security headers: %v", resp.Header)
	}
	if _, body := get(t, e.newClient(), e.srv.URL+"/favicon.ico"); body != "icon" {
		t.Fatalf("favicon = %q", body)
	}
	if _, body := get(t, e.newClient(), e.srv.URL+"/static/js/main.js"); body != "console.log(1)" {
		t.Fatalf("static = %q", body)
	}
	if resp, _ := get(t, e.newClient(), e.srv.URL+"/login.html"); resp.StatusCode != 404 {
		t.Fatal("a page the folder lacks must be 404, not the built-in one")
	}
}

func TestCookiesOverTLS(t *testing.T) {
	e := newEnv(t)
	tls := httptest.NewTLSServer(e.srv.Config.Handler)
	defer tls.Close()
	resp, _ := get(t, tls.Client(), tls.URL+"/register.html")
	sess, csrf := cookieNamed(resp, "__Host-session"), cookieNamed(resp, "csrf_token")
	if sess == nil || !sess.Secure || !sess.HttpOnly || sess.Path != "/" || sess.Domain != "" || csrf == nil || !csrf.Secure {
		t.Fatalf("over TLS: cookies %v, want a Secure __Host-session and a Secure csrf_token", resp.Cookies())
	}
}
