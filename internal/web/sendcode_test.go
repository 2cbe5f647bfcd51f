package web_test

import (
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/web"
)

func TestCaptchaImage(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.srv.URL + "/api/v1.0/image_codes/6f1c1d2e-1b7a-4c5e-9a51-0a4b2c3d4e5f")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	img, err := png.Decode(resp.Body)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("captcha: status %d, decode err %v, Cache-Control %q", resp.StatusCode, err, resp.Header.Get("Cache-Control"))
	}
	if b := img.Bounds(); b.Dx() != 120 || b.Dy() != 44 {
		t.Fatalf("captcha is %v, want 120x44", b)
	}
	for _, id := range []string{strings.Repeat("a", 65), "a_b", "a%2Fb", "a.b", "%E4%B8%AD"} {
		want(t, e.do(req{method: "GET", path: "/api/v1.0/image_codes/" + id}), "4103", "图片验证码编号无效")
	}
}

func TestSendCode(t *testing.T) {
	e := newEnv(t)
	e.openPage(e.client)

	t.Run("incomplete", func(t *testing.T) {
		want(t, e.sendCode("13812345678", "", answer), "4103", "参数不完整")
		want(t, e.sendCode("13812345678", newID(), ""), "4103", "参数不完整")
	})
	t.Run("malformed number is PARAMERR, not 404", func(t *testing.T) {
		for _, m := range []string{"12x", "1381234567", "138123456789", "+1", "abc"} {
			want(t, e.sendCode(m, newID(), answer), "4103", "手机号格式错误")
		}
	})
	t.Run("landline refused", func(t *testing.T) {
		want(t, e.sendCode("01012345678", newID(), answer), "4103", "不是手机号")
	})
	t.Run("bad captcha id", func(t *testing.T) {
		want(t, e.sendCode("13812345678", "x_y", answer), "4103", "编号无效")
	})
	t.Run("unknown or expired captcha", func(t *testing.T) {
		want(t, e.sendCode("13812345678", newID(), answer), "4002", "图片验证码已过期")
	})
	t.Run("captcha single use, right or wrong", func(t *testing.T) {
		id := newID()
		e.captcha(id)
		want(t, e.sendCode("13812345670", id, "WRNG"), "4004", "图片验证码错误")
		want(t, e.sendCode("13812345670", id, answer), "4002", "已过期")
		id = newID()
		e.captcha(id)
		want(t, e.sendCode("13812345670", id, strings.ToLower(answer)), "0", "发送成功")
		want(t, e.sendCode("13812345670", id, answer), "4002", "已过期")
	})
	t.Run("resend interval", func(t *testing.T) {
		e.code("13812345671")
		id := newID()
		e.captcha(id)
		a := e.sendCode("13812345671", id, answer)
		want(t, a, "4201", "秒后再试")
		if !strings.Contains(a.Errmsg, "60") && !strings.Contains(a.Errmsg, "59") {
			t.Fatalf("errmsg %q should give the seconds left", a.Errmsg)
		}
	})
	t.Run("English", func(t *testing.T) {
		a := e.do(req{method: "GET", path: "/api/v1.0/sms_codes/12x?image_code=A&image_code_id=b", header: map[string]string{"Accept-Language": "en-US,en;q=0.9,zh;q=0.5"}})
		want(t, a, "4103", "The mobile number is not valid")
	})
}

func TestSendCodeKeepsRegisteredNumbersSecret(t *testing.T) {
	e := newEnv(t, noResendWait)
	e.signUp("13812345678", "correct horse")
	e.openPage(e.client)
	id := newID()
	e.captcha(id)
	// The same answer as for a new number...
	want(t, e.sendCode("13812345678", id, answer), "0", "发送成功")
	// ...but the owner is told by SMS, and gets no code.
	m := e.sms.await(t, "+8613812345678", func(m account.Message) bool { return m.Purpose != account.PurposeRegister })
	if m.Purpose != account.PurposeAlreadyRegistered || m.Code != "" || codeInText.MatchString(m.Text) {
		t.Fatalf("registered number got %+v, want a notice without a code", m)
	}
	// Guessing at registration answers as it would for a new number.
	want(t, e.register("13812345678", "123456", "another password"), "4004", "短信验证码错误")
}

func TestSendCodeRevealRegistered(t *testing.T) {
	e := newEnv(t, func(o *account.Options, _ *web.Options, _ *routes) { o.RevealRegistered = true })
	e.signUp("13812345678", "correct horse")
	id := newID()
	e.captcha(id)
	want(t, e.sendCode("13812345678", id, answer), "4003", "手机号已存在")
}

func TestSendCodeProviderDown(t *testing.T) {
	e := newEnv(t)
	e.openPage(e.client)
	e.sms.setDown(true)
	id := newID()
	e.captcha(id)
	// The message is queued: the answer does not wait for the provider.
	want(t, e.sendCode("13812345678", id, answer), "0", "发送成功")
	time.Sleep(300 * time.Millisecond)
	if n := len(e.sms.messages()); n != 0 {
		t.Fatalf("%d messages delivered while the provider was down", n)
	}
	e.sms.setDown(false)
	m := e.sms.last(t, "+8613812345678")
	want(t, e.register("13812345678", m.Code, "correct horse"), "0", "注册成功")
}

func TestSendCodeUndeliverable(t *testing.T) {
	e := newEnv(t, func(o *account.Options, _ *web.Options, rt *routes) {
		o.CallingCodes = []string{"86", "1"}
		rt.fallback, rt.byCode = false, []string{"86"}
	})
	e.openPage(e.client)
	id := newID()
	e.captcha(id)
	want(t, e.sendCode("+12015550123", id, answer), "4301", "暂不支持")
	// No code was kept for a message that could not be queued.
	want(t, e.register("+12015550123", "123456", "correct horse"), "4002", "已失效")
	e.code("13812345678") // +86 is served
}

func TestSendCodeQueueDown(t *testing.T) {
	e := newEnv(t)
	e.openPage(e.client)
	e.queue.Close()
	id := newID()
	e.captcha(id)
	want(t, e.sendCode("13812345678", id, answer), "4001", "短信排队失败")
	want(t, e.register("13812345678", "123456", "correct horse"), "4002", "已失效")
}

func TestSendCodeDatabaseDown(t *testing.T) {
	e := newEnv(t)
	e.openPage(e.client)
	e.db.Close()
	id := newID()
	e.captcha(id)
	want(t, e.sendCode("13812345678", id, answer), "4001", "用户数据存取失败")
	if n := len(e.sms.messages()); n != 0 {
		t.Fatalf("%d SMS sent while the database was down, want none", n)
	}
}

func TestCaptchaExpires(t *testing.T) {
	e := newEnv(t, func(o *account.Options, _ *web.Options, _ *routes) { o.CaptchaTTL = 100 * time.Millisecond })
	e.openPage(e.client)
	id := newID()
	e.captcha(id)
	time.Sleep(200 * time.Millisecond)
	want(t, e.sendCode("13812345678", id, answer), "4002", "已过期")
}

func noResendWait(o *account.Options, _ *web.Options, _ *routes) { o.ResendInterval = 0 }

func TestSendCodeCountryAllowList(t *testing.T) {
	e := newEnv(t)
	e.openPage(e.client)
	for i, mobile := range []string{"+447400123456", "+12015550123", "+85251234567"} {
		id := newID()
		e.captcha(id)
		want(t, e.sendCode(mobile, id, answer), "4103", "暂不支持向该国家或地区")
		// The refusal comes before the captcha is used.
		local := "1381234567" + strconv.Itoa(i)
		want(t, e.sendCode(local, id, answer), "0", "发送成功")
		e.sms.last(t, canonical(local))
	}
	if len(e.sms.messages()) != 3 {
		t.Fatalf("%d messages, want only the three to +86", len(e.sms.messages()))
	}
}
