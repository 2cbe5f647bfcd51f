package web_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/web"
)

func TestLogin(t *testing.T) {
	e := newEnv(t)
	e.signUp("13812345678", "correct horse")
	other := e.newClient()
	e.openPage(other)
	login := func(mobile, pw string) apiAnswer {
		return e.do(req{method: "POST", path: "/api/v1.0/sessions", client: other, body: map[string]string{"mobile": mobile, "password": pw}})
	}
	want(t, login("", "x"), "4103", "参数不完整")
	want(t, login("13812345678", ""), "4103", "参数不完整")
	want(t, login("138", "x"), "4103", "手机号格式错误")

	unknown, wrong := login("13900000000", "correct horse"), login("13812345678", "wrong horse")
	want(t, unknown, "4004", "手机号或密码错误")
	if unknown.Errno != wrong.Errno || unknown.Errmsg != wrong.Errmsg || unknown.Status != wrong.Status {
		t.Fatalf("unknown number %+v and wrong password %+v must answer the same", unknown, wrong)
	}

	before := e.cookie(other, "session")
	want(t, login("13812345678", "correct horse"), "0", "登录成功")
	if after := e.cookie(other, "session"); after == before || after == "" {
		t.Fatal("login must rotate the session id")
	}
	want(t, e.do(req{method: "GET", path: "/api/v1.0/session", client: other}), "0", "")
}

func TestLoginThrottledPerAccount(t *testing.T) {
	e := newEnv(t)
	e.signUp("13812345678", "correct horse")
	for range 5 {
		want(t, e.login("13812345678", "wrong horse"), "4004", "")
	}
	a := e.login("13812345678", "correct horse")
	want(t, a, "4201", "秒后再试")
	// The wait runs from the start of the 5th attempt, which hashed for a
	// while: on a loaded machine more than a second may have passed.
	if !strings.Contains(a.Errmsg, "30秒") && !strings.Contains(a.Errmsg, "29秒") {
		t.Fatalf("errmsg %q should say 30 seconds", a.Errmsg)
	}
	// Another account from the same client is not held back.
	want(t, e.login("13900000000", "whatever1"), "4004", "")
}

func TestLoginThrottledPerIP(t *testing.T) {
	e := newEnv(t, func(o *account.Options, _ *web.Options, _ *routes) { o.Login.IPFree = 3 })
	e.openPage(e.client)
	for i := range 3 {
		want(t, e.login("1390000000"+string(rune('0'+i)), "whatever1"), "4004", "")
	}
	want(t, e.login("13900000009", "whatever1"), "4202", "您所在网络的登录失败次数过多")
}

func TestLoginSuccessClearsAccountFailures(t *testing.T) {
	e := newEnv(t)
	e.signUp("13812345678", "correct horse")
	for range 4 {
		want(t, e.login("13812345678", "wrong horse"), "4004", "")
	}
	want(t, e.login("13812345678", "correct horse"), "0", "")
	for range 4 {
		want(t, e.login("13812345678", "wrong horse"), "4004", "")
	}
	want(t, e.login("13812345678", "correct horse"), "0", "")
}

func TestLoginDatabaseDown(t *testing.T) {
	e := newEnv(t)
	e.openPage(e.client)
	e.db.Close()
	want(t, e.login("13812345678", "correct horse"), "4001", "用户数据存取失败")
}

func TestSessionAndLogout(t *testing.T) {
	e := newEnv(t)
	e.openPage(e.client)
	want(t, e.do(req{method: "GET", path: "/api/v1.0/session"}), "4101", "用户未登录")
	want(t, e.do(req{method: "GET", path: "/api/v1.0/user"}), "4101", "用户未登录")

	e.signUp("13812345678", "correct horse")
	s := e.do(req{method: "GET", path: "/api/v1.0/session"})
	want(t, s, "0", "")
	if s.Data["name"] != "+8613812345678" {
		t.Fatalf("session data %+v", s.Data)
	}
	stolen := e.cookie(e.client, "session")
	csrf := e.cookie(e.client, "csrf_token")

	want(t, e.do(req{method: "DELETE", path: "/api/v1.0/session"}), "0", "已退出")
	want(t, e.do(req{method: "GET", path: "/api/v1.0/session"}), "4101", "")
	// A copy of the cookie is dead after logout.
	want(t, e.do(req{method: "GET", path: "/api/v1.0/user", client: &http.Client{Jar: jarWith(e, "session", stolen)}}), "4101", "")
	// The CSRF token survives logout: the page can log in again at once.
	if e.cookie(e.client, "csrf_token") != csrf {
		t.Fatal("logout changed the CSRF token")
	}
	want(t, e.login("13812345678", "correct horse"), "0", "")
	want(t, e.do(req{method: "GET", path: "/api/v1.0/user"}), "0", "")
}

func TestSessionDatabaseDown(t *testing.T) {
	e := newEnv(t)
	e.signUp("13812345678", "correct horse")
	e.db.Close()
	want(t, e.do(req{method: "GET", path: "/api/v1.0/session"}), "4001", "登录状态存取失败")
	want(t, e.do(req{method: "GET", path: "/api/v1.0/user"}), "4001", "登录状态存取失败")
	want(t, e.do(req{method: "DELETE", path: "/api/v1.0/session"}), "4001", "登录状态存取失败")
}

func jarWith(e *env, name, value string) http.CookieJar {
	c := e.newClient()
	c.Jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: name, Value: value, Path: "/"}})
	return c.Jar
}

// An attempt is counted before the hash and taken back when it succeeds, so
// right passwords from one client never fill its bucket.
func TestLoginSuccessesDoNotCountPerIP(t *testing.T) {
	e := newEnv(t, func(o *account.Options, _ *web.Options, _ *routes) { o.Login.IPFree = 2 })
	e.signUp("13812345678", "correct horse")
	for range 5 {
		want(t, e.login("13812345678", "correct horse"), "0", "")
	}
	want(t, e.login("13900000001", "wrong horse"), "4004", "")
	want(t, e.login("13900000002", "wrong horse"), "4004", "")
	want(t, e.login("13900000003", "wrong horse"), "4202", "")
}

func TestTrustedProxy(t *testing.T) {
	// The test client is the peer 127.0.0.1: untrusted, its X-Forwarded-For
	// is ignored, so rotating it does not escape the per-IP bucket.
	e := newEnv(t, func(o *account.Options, _ *web.Options, _ *routes) { o.Login.IPFree = 2 })
	e.openPage(e.client)
	for i := range 2 {
		a := e.do(req{method: "POST", path: "/api/v1.0/sessions", body: map[string]string{"mobile": "13900000001", "password": "wrong horse" + string(rune('0'+i))},
			header: map[string]string{"X-Forwarded-For": "203.0.113." + string(rune('1'+i))}})
		want(t, a, "4004", "")
	}
	a := e.do(req{method: "POST", path: "/api/v1.0/sessions", body: map[string]string{"mobile": "13900000002", "password": "wrong horse"},
		header: map[string]string{"X-Forwarded-For": "203.0.113.9"}})
	want(t, a, "4202", "")

	// Behind a trusted proxy, each forwarded client has its own bucket.
	e = newEnv(t, func(o *account.Options, w *web.Options, _ *routes) {
		o.Login.IPFree = 2
		w.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	e.openPage(e.client)
	for i := range 3 {
		a := e.do(req{method: "POST", path: "/api/v1.0/sessions", body: map[string]string{"mobile": "13900000001", "password": "wrong horse"},
			header: map[string]string{"X-Forwarded-For": "198.51.100.7, 203.0.113." + string(rune('1'+i))}})
		want(t, a, "4004", "")
	}
}

func TestLoginBusyWhenHashingSaturated(t *testing.T) {
	e := newEnv(t, func(o *account.Options, _ *web.Options, _ *routes) {
		o.HashConcurrency, o.HashMaxWait = 1, time.Millisecond
		o.Login.IPFree = 16
	})
	e.openPage(e.client)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		busy  int
		start = make(chan struct{})
	)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			a := e.login("1390000"+strconv.Itoa(1000+i), "whatever1")
			if a.Errno == "4500" && strings.Contains(a.Errmsg, "服务器繁忙") {
				mu.Lock()
				busy++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if busy == 0 {
		t.Fatal("16 concurrent logins on one hashing slot: none was shed as busy")
	}
	// A shed login was never checked, so it is not counted: the client's
	// bucket of 16 has exactly busy failures left.
	for i := range busy {
		want(t, e.login("1390000"+strconv.Itoa(2000+i), "whatever1"), "4004", "")
	}
	want(t, e.login("13900003000", "whatever1"), "4202", "")
}

func TestLoginThrottlePerIPv6Network(t *testing.T) {
	e := newEnv(t, trustLoopback, func(o *account.Options, _ *web.Options, _ *routes) { o.Login.IPFree = 3 })
	e.openPage(e.client)
	login := func(ip string) apiAnswer {
		return e.do(req{method: "POST", path: "/api/v1.0/sessions", header: map[string]string{"X-Forwarded-For": ip},
			body: map[string]string{"mobile": "13900000001", "password": "wrong horse"}})
	}
	// Rotating addresses inside one /64 does not escape the bucket.
	for i := range 3 {
		want(t, login(fmt.Sprintf("2001:db8:1:2::%x", i+1)), "4004", "")
	}
	want(t, login("2001:db8:1:2:ffff::9"), "4202", "")
	want(t, login("2001:db8:1:3::1"), "4004", "") // another /64
}
