package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// browserTimeout bounds a whole browser test: the browser, the pages and
// every wait.
const browserTimeout = 60 * time.Second

// waitTimeout bounds one wait, so that a test fails while its browser still
// runs and can show the page.
const waitTimeout = 15 * time.Second

// browserPath finds Chromium or Chrome on PATH, "" if there is none.
func browserPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser is one headless Chromium tab driven by a test.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// needBrowser returns the path of Chromium or Chrome. Without one the test
// skips, but under CI=true it fails: a test that needs a server must not
// pass by skipping there.
func needBrowser(t *testing.T) string {
	t.Helper()
	path := browserPath()
	if path == "" {
		const msg = "no chromium, chromium-browser or google-chrome on PATH (Debian: apt-get install chromium)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; CI=true, so the browser test fails instead of skipping")
		}
		t.Skip(msg)
	}
	return path
}

// newBrowser starts the browser at path, headless, with a fresh profile
// that prefers Chinese, and closes it when t ends.
func newBrowser(t *testing.T, path string) *browser {
	t.Helper()
	profile := t.TempDir()
	// Not t.Context(): it ends before the cleanups, and the browser must
	// close before its profile is removed.
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.Flag("accept-lang", "zh-CN"),
		chromedp.WindowSize(800, 900),
		chromedp.UserDataDir(profile),
	)
	t.Cleanup(cancelAlloc)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)

	b := &browser{t: t, ctx: tabCtx}
	if err := chromedp.Do(tabCtx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	messages := chromedp.Console(tabCtx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	t.Cleanup(b.checkConsole)
	return b
}

// checkConsole fails the test on an uncaught exception or a refused
// resource (a Content Security Policy violation) and logs the rest.
func (b *browser) checkConsole() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		s := m.String()
		switch {
		case m.IsException(), strings.Contains(s, "Content Security Policy"):
			b.t.Errorf("browser console: %s: %s", m.URL, s)
		default:
			b.t.Logf("browser console (%s): %s: %s", m.Type, m.URL, s)
		}
	}
}

// do runs actions in the tab and fails the test on an error.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

// eval returns the value of a JavaScript expression in the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.fail("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor polls a boolean JavaScript expression until it holds. Unlike
// chromedp.Poll it survives navigations, which the pages start on their own
// after a successful request.
func (b *browser) waitFor(what, expr string) {
	b.t.Helper()
	last := "the condition stayed false"
	deadline := time.After(waitTimeout)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err == nil && ok {
			return
		}
		if err != nil {
			last = err.Error()
		} else {
			last = "the condition stayed false"
		}
		select {
		case <-b.ctx.Done():
			b.fail("waiting for %s: %v (last: %s)", what, b.ctx.Err(), last)
		case <-deadline:
			b.fail("waiting for %s: gave up after %v (last: %s)", what, waitTimeout, last)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// fail ends the test with the page's address and text, and a screenshot in
// the test's artifact directory (kept with go test -artifacts).
func (b *browser) fail(format string, args ...any) {
	b.t.Helper()
	msg := fmt.Sprintf(format, args...)
	// The test context may be the reason for the failure: look with a
	// fresh one.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), 5*time.Second)
	defer cancel()
	if state, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`location.pathname + "\n" + document.body.innerText`)); err == nil {
		msg += "\npage: " + state
	}
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		name := filepath.Join(b.t.ArtifactDir(), "failure.png")
		if os.WriteFile(name, png, 0o644) == nil {
			msg += "\nscreenshot: " + name
		}
	}
	b.t.Fatal(msg)
}

// page is a JavaScript condition: the page at path has loaded its scripts.
func page(path string) string {
	return fmt.Sprintf(`location.pathname === %q && document.readyState === "complete"`, path)
}

// text is a JavaScript condition: the element with id has exactly s as text.
func text(id, s string) string {
	return fmt.Sprintf(`document.getElementById(%q).textContent.trim() === %q`, id, s)
}

// loggedIn is a JavaScript condition: index.html shows the user with phone.
func loggedIn(phone string) string {
	return page("/index.html") + ` && !document.getElementById("details").hidden && ` +
		text("user-mobile", phone) + " && " + text("user-name", phone) +
		` && document.getElementById("loading").hidden`
}

const (
	testNumber   = "13812345678"
	testPhone    = "+8613812345678" // testNumber in E.164, as the pages show it
	testPassword = "correct horse battery"
)

// signUp registers number through register.html and leaves the browser on
// index.html, logged in.
func (b *browser) signUp(in *instance, number, phone, password string) {
	b.t.Helper()
	b.do("opening register.html", chromedp.Navigate(in.URL+"/register.html"))
	b.waitFor("register.html", page("/register.html"))
	b.waitFor("the captcha image",
		`(i => i.complete && i.naturalWidth === 120)(document.getElementById("imagecode-img"))`)

	// The answer in lower case: the server compares it case-insensitively.
	b.do("asking for a code",
		chromedp.SendKeys(chromedp.ID("mobile"), number),
		chromedp.SendKeys(chromedp.ID("imagecode"), strings.ToLower(testAnswer)),
		chromedp.Click(chromedp.ID("get-code")),
	)
	b.waitFor("the resend countdown", `(g => g.disabled && /^\d+秒后重发$/.test(g.textContent))(document.getElementById("get-code"))`)
	b.waitFor("the notice", text("notice", "短信验证码已发送，请查收"))
	if e := eval[string](b, `document.getElementById("error").textContent`); e != "" {
		b.fail("#error after asking for a code: %q", e)
	}
	// Every answer brings a fresh captcha, since each is single use.
	b.waitFor("a fresh, empty captcha", `document.getElementById("imagecode").value === ""`)

	code := in.smsCode(b.t, phone)
	b.do("signing up",
		chromedp.SendKeys(chromedp.ID("smscode"), code),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.SendKeys(chromedp.ID("password2"), password),
		chromedp.Click(chromedp.ID("register-submit")),
	)
	b.waitFor("index.html with the new user", loggedIn(phone))
}

// logOut clicks #logout on index.html and waits for login.html.
func (b *browser) logOut() {
	b.t.Helper()
	b.do("logging out", chromedp.Click(chromedp.ID("logout")))
	b.waitFor("login.html after logging out", page("/login.html"))
}

// TestBrowserSignUpFlow signs up, logs out and logs in again through the
// built-in pages in headless Chromium, then checks a wrong password and the
// language toggle.
func TestBrowserSignUpFlow(t *testing.T) {
	t.Parallel()
	path := needBrowser(t)
	in := startSignupd(t, "", nil)
	b := newBrowser(t, path)

	b.do("opening register.html", chromedp.Navigate(in.URL+"/register.html"))
	b.waitFor("register.html", page("/register.html"))
	if got := eval[string](b, `navigator.language + " " + document.documentElement.lang + " " + document.querySelector("h1").textContent`); got != "zh-CN zh-CN 注册账号" {
		t.Fatalf("language, page language, heading = %q, want the Chinese page", got)
	}
	b.signUp(in, testNumber, testPhone, testPassword)

	b.logOut()
	// The session ended on the server too: index.html sends us back.
	b.do("opening index.html", chromedp.Navigate(in.URL+"/index.html"))
	b.waitFor("login.html instead of index.html", page("/login.html"))

	b.do("logging in",
		chromedp.SendKeys(chromedp.ID("mobile"), testNumber),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.ID("login-submit")),
	)
	b.waitFor("index.html after logging in", loggedIn(testPhone))
	b.logOut()

	// A wrong password shows the server's errmsg, and the button is usable
	// again.
	b.do("logging in with a wrong password",
		chromedp.SendKeys(chromedp.ID("mobile"), testNumber),
		chromedp.SendKeys(chromedp.ID("password"), "wrong horse battery"),
		chromedp.Click(chromedp.ID("login-submit")),
	)
	b.waitFor("the wrong password message", text("error", "手机号或密码错误"))
	b.waitFor("the button usable again", `!document.getElementById("login-submit").hasAttribute("aria-disabled")`)
	if p := eval[string](b, "location.pathname"); p != "/login.html" {
		t.Fatalf("after a wrong password the browser is on %s", p)
	}

	// The toggle switches the page to English and remembers the choice.
	b.do("switching to English", chromedp.Click(chromedp.ID("lang-toggle")))
	b.waitFor("the English page", `document.documentElement.lang === "en" && `+
		text("lang-toggle", "中文")+" && "+
		`document.querySelector("h1").textContent === "Log in" && `+
		text("login-submit", "Log in")+" && "+
		`document.querySelector("label[for=mobile]").textContent === "Mobile number" && `+
		`document.title === "Log in - signupd"`)
	if got := eval[string](b, `localStorage.getItem("signupd.lang")`); got != "en" {
		t.Errorf("localStorage signupd.lang = %q, want en", got)
	}
	// The API answers in the page's language now.
	b.do("a wrong password in English", chromedp.Click(chromedp.ID("login-submit")))
	b.waitFor("the English wrong password message", text("error", "Wrong mobile number or password"))
	b.do("reloading login.html", chromedp.Reload())
	b.waitFor("the page still in English", page("/login.html")+
		` && document.querySelector("h1").textContent === "Log in"`)
}

// TestBrowserKeyboardOnly logs in with key presses alone: Tab from the top
// of login.html to the fields, and Enter to submit.
func TestBrowserKeyboardOnly(t *testing.T) {
	t.Parallel()
	path := needBrowser(t)
	in := startSignupd(t, "", nil)
	b := newBrowser(t, path)
	b.signUp(in, testNumber, testPhone, testPassword)
	b.logOut()

	// The focus order is the toggle in the header, then the form.
	focused := func(id string) string {
		return fmt.Sprintf(`document.activeElement && document.activeElement.id === %q`, id)
	}
	b.do("tabbing to the toggle", chromedp.KeyEvent(kb.Tab))
	b.waitFor("the focus on #lang-toggle", focused("lang-toggle"))
	b.do("tabbing to the number", chromedp.KeyEvent(kb.Tab))
	b.waitFor("the focus on #mobile", focused("mobile"))
	b.do("typing the number and tabbing on", chromedp.KeyEvent(testNumber+kb.Tab))
	b.waitFor("the focus on #password", focused("password"))
	b.do("typing the password and pressing Enter", chromedp.KeyEvent(testPassword+kb.Enter))
	b.waitFor("index.html after logging in", loggedIn(testPhone))

	// Tab reaches the log-out button, and Enter presses it.
	for i := 0; ; i++ {
		if eval[bool](b, focused("logout")) {
			break
		}
		if i == 10 {
			b.fail("#logout not reached with %d Tab presses", i)
		}
		b.do("tabbing", chromedp.KeyEvent(kb.Tab))
	}
	b.do("pressing Enter on #logout", chromedp.KeyEvent(kb.Enter))
	b.waitFor("login.html after logging out", page("/login.html"))
}
