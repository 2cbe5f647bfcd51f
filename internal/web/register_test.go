package web_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
)

func TestRegister(t *testing.T) {
	e := newEnv(t, noResendWait)
	e.openPage(e.client)
	body := func(mobile, code, pw, pw2 string) map[string]string {
		return map[string]string{"mobile": mobile, "sms_code": code, "password": pw, "password2": pw2}
	}
	post := func(b any) apiAnswer { return e.do(req{method: "POST", path: "/api/v1.0/users", body: b}) }

	t.Run("parameters", func(t *testing.T) {
		want(t, post(body("13812345678", "", "correct horse", "correct horse")), "4103", "参数不完整")
		want(t, post(body("1381234567x", "123456", "correct horse", "correct horse")), "4103", "手机号格式错误")
		want(t, post(body("13812345678", "123456", "correct horse", "correct horse 2")), "4103", "两次密码不一致")
		want(t, post(body("13812345678", "123456", "short", "short")), "4103", "8到128")
		long := strings.Repeat("长", 129)
		want(t, post(body("13812345678", "123456", long, long)), "4103", "8到128")
		want(t, post(body("13812345678", "123456", "Password1", "Password1")), "4103", "该密码过于常见")
		want(t, post(body("13812345678", "12345a", "correct horse", "correct horse")), "4103", "6位数字")
	})
	t.Run("body", func(t *testing.T) {
		want(t, post(`{"mobile": "13812345678",`), "4103", "请求数据格式错误")
		want(t, post(`{"mobile": 13812345678}`), "4103", "请求数据格式错误")
		want(t, post(`{"mobile":"1","sms_code":"1","password":"1","password2":"1","admin":true}`), "4103", "请求数据格式错误")
		want(t, post(`{"mobile":"1"} {"mobile":"2"}`), "4103", "请求数据格式错误")
		want(t, post(`{"mobile":"13812345678","mobile":"13812345679"}`), "4103", "请求数据格式错误")
		want(t, post(`{"mobile":"13812345678","Mobile":"13812345679"}`), "4103", "请求数据格式错误")
		want(t, post(`{"mobile":"`+strings.Repeat("1", 17<<10)+`"}`), "4103", "请求数据过大")
		a := e.do(req{method: "POST", path: "/api/v1.0/users", body: `{}`, header: map[string]string{"Content-Type": "text/plain"}})
		want(t, a, "4103", "application/json")
	})
	t.Run("no code", func(t *testing.T) {
		want(t, post(body("13812340000", "123456", "correct horse", "correct horse")), "4002", "短信验证码已失效")
	})
	t.Run("wrong code, then void after 5", func(t *testing.T) {
		code := e.code("13812340001")
		wrong := "000000"
		if code == wrong {
			wrong = "000001"
		}
		for range 5 {
			want(t, e.register("13812340001", wrong, "correct horse"), "4004", "短信验证码错误")
		}
		want(t, e.register("13812340001", code, "correct horse"), "4201", "错误次数过多")
	})
	t.Run("code consumed by registration", func(t *testing.T) {
		code := e.code("13812340002")
		want(t, e.register("13812340002", code, "correct horse"), "0", "注册成功")
		want(t, e.register("13812340002", code, "correct horse"), "4002", "已失效")
	})
	t.Run("number taken meanwhile", func(t *testing.T) {
		code := e.code("13812340003")
		_, err := e.db.CreateUser(t.Context(), account.User{Phone: "+8613812340003", Name: "x", PasswordHash: "x", CreatedAt: time.Now()},
			account.Session{IDHash: account.SessionIDHash(account.NewSessionToken()), ExpiresAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		want(t, e.register("13812340003", code, "correct horse"), "4003", "已注册")
	})
}

func TestRegisterLogsIn(t *testing.T) {
	e := newEnv(t)
	e.openPage(e.client)
	before := e.cookie(e.client, "session")
	a := e.register("+86 138 1234 5678", e.code("13812345678"), "correct horse")
	want(t, a, "0", "注册成功")
	after := e.cookie(e.client, "session")
	if after == "" || after == before {
		t.Fatal("registration must rotate the session id")
	}
	u := e.do(req{method: "GET", path: "/api/v1.0/user"})
	want(t, u, "0", "")
	if u.Data["mobile"] != "+8613812345678" || u.Data["name"] == "" || u.Data["avatar_url"] != "" {
		t.Fatalf("user data %+v", u.Data)
	}
	// The number is stored canonically, so any spelling logs in.
	want(t, e.login("13812345678", "correct horse"), "0", "登录成功")
}

func TestRegisterConcurrentlyWithOneCode(t *testing.T) {
	e := newEnv(t)
	e.openPage(e.client)
	code := e.code("13812345678")
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		oks int
	)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := e.newClient()
			e.openPage(c)
			a := e.do(req{method: "POST", path: "/api/v1.0/users", client: c, body: map[string]string{
				"mobile": "13812345678", "sms_code": code, "password": "correct horse", "password2": "correct horse"}})
			if a.Errno == "0" {
				mu.Lock()
				oks++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if oks != 1 {
		t.Fatalf("%d registrations succeeded with one code, want exactly 1", oks)
	}
	if _, err := e.db.UserByPhone(t.Context(), "+8613812345678"); err != nil {
		t.Fatal(err)
	}
}

func TestRegisterDatabaseDown(t *testing.T) {
	e := newEnv(t)
	e.openPage(e.client)
	code := e.code("13812345678")
	e.db.Close()
	want(t, e.register("13812345678", code, "correct horse"), "4001", "用户数据存取失败")
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	body := map[string]string{"mobile": "13812345678", "password": "correct horse"}
	// No page loaded: no session id, no token.
	a := e.do(req{method: "POST", path: "/api/v1.0/sessions", body: body, noCSRF: true})
	if a.Status != http.StatusBadRequest || a.Errno != "4201" {
		t.Fatalf("no token: %+v, want HTTP 400", a)
	}
	e.openPage(e.client)
	for name, h := range map[string]map[string]string{
		"missing": nil,
		"wrong":   {"X-CSRFToken": "wrong"},
		"another client's": {"X-CSRFToken": func() string {
			c := e.newClient()
			e.openPage(c)
			return e.cookie(c, "csrf_token")
		}()},
	} {
		a := e.do(req{method: "POST", path: "/api/v1.0/sessions", body: body, noCSRF: true, header: h})
		if a.Status != http.StatusBadRequest || a.Errno != "4201" {
			t.Fatalf("%s token: %+v, want HTTP 400", name, a)
		}
	}
	a = e.do(req{method: "DELETE", path: "/api/v1.0/session", noCSRF: true, header: map[string]string{"X-CSRF-Token": e.cookie(e.client, "csrf_token")}})
	want(t, a, "0", "")
	a = e.do(req{method: "POST", path: "/api/v1.0/sessions", body: body, header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
	if a.Status != http.StatusForbidden || a.Errno != "4201" {
		t.Fatalf("cross-site: %+v, want HTTP 403", a)
	}
}
