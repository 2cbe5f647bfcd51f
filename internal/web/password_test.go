package web_test

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// changePassword sends a change from c (the env's client when nil).
func (e *env) changePassword(c *http.Client, old, pw string) apiAnswer {
	e.t.Helper()
	return e.do(req{method: "PUT", path: "/api/v1.0/user/password", client: c,
		body: map[string]string{"old_password": old, "new_password": pw}})
}

// loginFrom logs in from a client of its own, so the env's client keeps its session.
func (e *env) loginFrom(mobile, pw string) apiAnswer {
	e.t.Helper()
	c := e.newClient()
	e.openPage(c)
	return e.do(req{method: "POST", path: "/api/v1.0/sessions", client: c, body: map[string]string{"mobile": mobile, "password": pw}})
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	e.signUp("13812345678", "correct horse")
	want(t, e.changePassword(nil, "correct horse", "battery staple"), "0", "密码已修改")
	want(t, e.do(req{method: "GET", path: "/api/v1.0/session"}), "0", "")
	want(t, e.loginFrom("13812345678", "correct horse"), "4004", "手机号或密码错误")
	want(t, e.loginFrom("13812345678", "battery staple"), "0", "登录成功")
}

// The change ends every other session of the user; the client that made it
// goes on with a new session id.
func TestChangePasswordEndsOtherSessions(t *testing.T) {
	e := newEnv(t)
	e.signUp("13812345678", "correct horse")
	other := e.newClient()
	e.openPage(other)
	want(t, e.do(req{method: "POST", path: "/api/v1.0/sessions", client: other,
		body: map[string]string{"mobile": "13812345678", "password": "correct horse"}}), "0", "")
	want(t, e.do(req{method: "GET", path: "/api/v1.0/session", client: other}), "0", "")
	before := e.cookie(e.client, "session")

	want(t, e.changePassword(nil, "correct horse", "battery staple"), "0", "")
	if after := e.cookie(e.client, "session"); after == before || len(after) != 43 {
		t.Fatalf("session id %q after the change, was %q: want a new 43-character id", after, before)
	}
	want(t, e.do(req{method: "GET", path: "/api/v1.0/session"}), "0", "")
	want(t, e.do(req{method: "GET", path: "/api/v1.0/session", client: other}), "4101", "用户未登录")
	want(t, e.do(req{method: "GET", path: "/api/v1.0/user", client: &http.Client{Jar: jarWith(e, "session", before)}}), "4101", "")
	// The new id carries a new CSRF token, which the next write needs.
	want(t, e.do(req{method: "DELETE", path: "/api/v1.0/session"}), "0", "")
}

// Two sessions of one user change the password at once, from the same old
// one: exactly one change wins, and the other, checked against the hash the
// winner replaced, neither undoes it nor keeps its session (4101).
func TestChangePasswordConcurrent(t *testing.T) {
	e := newEnv(t)
	e.signUp("13812345678", "correct horse")
	other := e.newClient()
	e.openPage(other)
	want(t, e.do(req{method: "POST", path: "/api/v1.0/sessions", client: other,
		body: map[string]string{"mobile": "13812345678", "password": "correct horse"}}), "0", "")
	clients, pws := []*http.Client{e.client, other}, []string{"battery staple", "staple battery"}
	errnos := make([]string, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			body := `{"old_password":"correct horse","new_password":"` + pws[i] + `"}`
			errnos[i] = e.atkErrno(clients[i], "PUT", "/api/v1.0/user/password", body, nil)
		})
	}
	wg.Wait()
	winner := slices.Index(errnos, "0")
	if winner < 0 || errnos[1-winner] != "4101" {
		t.Fatalf("answers %q, want one 0 and one 4101", errnos)
	}
	want(t, e.do(req{method: "GET", path: "/api/v1.0/session", client: clients[winner]}), "0", "")
	want(t, e.do(req{method: "GET", path: "/api/v1.0/session", client: clients[1-winner]}), "4101", "")
	want(t, e.loginFrom("13812345678", pws[1-winner]), "4004", "")
	want(t, e.loginFrom("13812345678", pws[winner]), "0", "")
}

// Logins with the old password run while the password changes: whichever
// commits first, no client that logged in with it is logged in afterwards.
// Before logins opened their session only for the hash they checked, one
// in flight survived the change in each of three runs.
func TestChangePasswordEndsLoginsInFlight(t *testing.T) {
	e := newEnv(t)
	e.signUp("13812345678", "correct horse")
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		logins []*http.Client
		stop   = make(chan struct{})
	)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c := e.newClient()
				if resp, err := c.Get(e.srv.URL + "/login.html"); err == nil {
					resp.Body.Close()
				}
				if e.atkErrno(c, "POST", "/api/v1.0/sessions", `{"mobile":"13812345678","password":"correct horse"}`, nil) == "0" {
					mu.Lock()
					logins = append(logins, c)
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	want(t, e.changePassword(nil, "correct horse", "battery staple"), "0", "")
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if len(logins) == 0 {
		t.Fatal("no login with the old password succeeded before the change")
	}
	for i, c := range logins {
		if a := e.do(req{method: "GET", path: "/api/v1.0/session", client: c}); a.Errno != "4101" {
			t.Fatalf("login %d of %d with the old password is still logged in after the change: %+v", i+1, len(logins), a)
		}
	}
}

func TestChangePasswordWrongOld(t *testing.T) {
	e := newEnv(t)
	e.signUp("13812345678", "correct horse")
	before := e.cookie(e.client, "session")
	want(t, e.changePassword(nil, "wrong horse", "battery staple"), "4004", "手机号或密码错误")
	if e.cookie(e.client, "session") != before {
		t.Fatal("a refused change replaced the session id")
	}
	want(t, e.do(req{method: "GET", path: "/api/v1.0/session"}), "0", "")
	want(t, e.loginFrom("13812345678", "battery staple"), "4004", "")
	want(t, e.loginFrom("13812345678", "correct horse"), "0", "")
}

// A wrong old password is a password guess: it counts against the account's
// login throttle, which then holds back changes and logins alike.
func TestChangePasswordThrottled(t *testing.T) {
	e := newEnv(t)
	e.signUp("13812345678", "correct horse")
	for range 5 {
		want(t, e.changePassword(nil, "wrong horse", "battery staple"), "4004", "")
	}
	want(t, e.changePassword(nil, "correct horse", "battery staple"), "4201", "秒后再试")
	want(t, e.loginFrom("13812345678", "correct horse"), "4201", "秒后再试")
}

func TestChangePasswordRefused(t *testing.T) {
	e := newEnv(t)
	e.signUp("13812345678", "correct horse")
	put := func(body any) apiAnswer {
		return e.do(req{method: "PUT", path: "/api/v1.0/user/password", body: body})
	}
	want(t, e.changePassword(nil, "correct horse", "password123"), "4103", "该密码过于常见")
	want(t, e.changePassword(nil, "correct horse", "PASSWORD123"), "4103", "该密码过于常见")
	want(t, e.changePassword(nil, "correct horse", "short"), "4103", "8到128")
	want(t, e.changePassword(nil, "correct horse", strings.Repeat("长", 129)), "4103", "8到128")
	want(t, e.changePassword(nil, "", "battery staple"), "4103", "参数不完整")
	want(t, put(map[string]string{"old_password": "correct horse"}), "4103", "参数不完整")
	want(t, put(`{"old_password":"correct horse","new_password":"battery staple","mobile":"13900000000"}`), "4103", "请求数据格式错误")
	want(t, put(`{"old_password":"correct horse","new_password":"battery staple","new_password":"x"}`), "4103", "请求数据格式错误")
	a := e.do(req{method: "PUT", path: "/api/v1.0/user/password", body: `{}`, header: map[string]string{"Content-Type": "text/plain"}})
	want(t, a, "4103", "application/json")
	want(t, e.do(req{method: "GET", path: "/api/v1.0/session"}), "0", "")
	want(t, e.loginFrom("13812345678", "correct horse"), "0", "")
}

func TestChangePasswordNotLoggedIn(t *testing.T) {
	e := newEnv(t)
	e.openPage(e.client)
	want(t, e.changePassword(nil, "correct horse", "battery staple"), "4101", "用户未登录")
	e.signUp("13812345678", "correct horse")
	want(t, e.do(req{method: "DELETE", path: "/api/v1.0/session"}), "0", "")
	want(t, e.changePassword(nil, "correct horse", "battery staple"), "4101", "用户未登录")
	want(t, e.loginFrom("13812345678", "correct horse"), "0", "")
}

func TestChangePasswordNeedsCSRFToken(t *testing.T) {
	e := newEnv(t)
	e.signUp("13812345678", "correct horse")
	a := e.do(req{method: "PUT", path: "/api/v1.0/user/password", noCSRF: true,
		body: map[string]string{"old_password": "correct horse", "new_password": "battery staple"}})
	if a.Status != http.StatusBadRequest || a.Errno != "4201" || !strings.Contains(a.Errmsg, "CSRF") {
		t.Fatalf("answer %+v, want HTTP 400 errno 4201 about CSRF", a)
	}
	want(t, e.do(req{method: "GET", path: "/api/v1.0/session"}), "0", "")
	want(t, e.loginFrom("13812345678", "correct horse"), "0", "")
}

func TestChangePasswordDatabaseDown(t *testing.T) {
	e := newEnv(t)
	e.signUp("13812345678", "correct horse")
	e.db.Close()
	want(t, e.changePassword(nil, "correct horse", "battery staple"), "4001", "登录状态存取失败")
}
