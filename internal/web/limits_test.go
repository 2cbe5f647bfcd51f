package web_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/web"
)

// limits gives a test server small send limits; a nil list means none.
func limits(l account.SendLimits) envOption {
	return func(o *account.Options, _ *web.Options, _ *routes) {
		o.SendLimits, o.ResendInterval = l, 0
	}
}

// sendFrom asks for a code for mobile, as a client at ip behind a proxy.
func (e *env) sendFrom(mobile, ip string) apiAnswer {
	e.t.Helper()
	id := newID()
	e.captcha(id)
	return e.do(req{method: "GET", path: "/api/v1.0/sms_codes/" + mobile + "?image_code=" + answer + "&image_code_id=" + id,
		header: map[string]string{"X-Forwarded-For": ip}})
}

func trustLoopback(_ *account.Options, w *web.Options, _ *routes) {
	w.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
}

func TestSendLimitPerNumber(t *testing.T) {
	e := newEnv(t, limits(account.SendLimits{PerNumber: []account.Window{{Limit: 2, Period: time.Hour}}}))
	e.openPage(e.client)
	for range 2 {
		want(t, e.sendFrom("13812345678", ""), "0", "")
	}
	a := e.sendFrom("13812345678", "")
	want(t, a, "4201", "该号码获取验证码次数过多")
	if !strings.Contains(a.Errmsg, "60分钟") {
		t.Fatalf("errmsg %q should say when to try again", a.Errmsg)
	}
	want(t, e.sendFrom("13812345679", ""), "0", "") // another number is not held back
}

func TestSendLimitRefusedSendsDoNotCount(t *testing.T) {
	e := newEnv(t, func(o *account.Options, _ *web.Options, _ *routes) {
		o.SendLimits = account.SendLimits{PerNumber: []account.Window{{Limit: 2, Period: time.Hour}}}
		o.ResendInterval = 300 * time.Millisecond
	})
	e.openPage(e.client)
	want(t, e.sendFrom("13812345678", ""), "0", "")
	want(t, e.sendFrom("13812345678", ""), "4201", "发送过于频繁") // refused by the resend window: refunded
	time.Sleep(350 * time.Millisecond)
	want(t, e.sendFrom("13812345678", ""), "0", "")
	time.Sleep(350 * time.Millisecond)
	want(t, e.sendFrom("13812345678", ""), "4201", "次数过多")
}

func TestSendLimitPerIP(t *testing.T) {
	e := newEnv(t, limits(account.SendLimits{PerIP: []account.Window{{Limit: 3, Period: time.Hour}}}))
	e.openPage(e.client)
	// The peer is untrusted: rotating X-Forwarded-For does not move the quota.
	for i := range 3 {
		want(t, e.sendFrom(fmt.Sprintf("1381234567%d", i), fmt.Sprintf("203.0.113.%d", i)), "0", "")
	}
	a := e.sendFrom("13812345679", "198.51.100.1")
	if a.Errno != "4202" || !strings.Contains(a.Errmsg, "您所在网络的请求过多") {
		t.Fatalf("answer %+v, want IPERR", a)
	}
}

func TestSendLimitPerNetwork(t *testing.T) {
	e := newEnv(t, limits(account.SendLimits{PerNetwork: []account.Window{{Limit: 3, Period: 24 * time.Hour}}}), trustLoopback)
	e.openPage(e.client)
	for i := range 3 {
		want(t, e.sendFrom(fmt.Sprintf("1381234567%d", i), fmt.Sprintf("203.0.113.%d", 10+i)), "0", "")
	}
	want(t, e.sendFrom("13812345675", "203.0.113.99"), "4202", "") // same /24
	want(t, e.sendFrom("13812345676", "198.51.100.7"), "0", "")    // another network
	for i := range 3 {
		want(t, e.sendFrom(fmt.Sprintf("1391234567%d", i), fmt.Sprintf("2001:db8:1:2::%x", i+1)), "0", "")
	}
	want(t, e.sendFrom("13912345679", "2001:db8:1:2:ffff::1"), "4202", "") // same /64
}

func TestSendsPauseAtTheCeiling(t *testing.T) {
	e := newEnv(t, limits(account.SendLimits{Global: []account.Window{{Limit: 2, Period: time.Minute}}}), trustLoopback)
	e.openPage(e.client)
	for i := range 2 {
		want(t, e.sendFrom(fmt.Sprintf("1381234567%d", i), fmt.Sprintf("198.51.100.%d", i)), "0", "")
	}
	want(t, e.sendFrom("13812345679", "203.0.113.1"), "4201", "短信发送暂时繁忙")
	// Nothing else degrades: login and pages still answer.
	want(t, e.login("13900000000", "whatever1"), "4004", "")
	_, body := get(t, e.newClient(), e.srv.URL+"/metrics")
	if !strings.Contains(body, `signup_limits_hit_total{kind="send_global"} 1`) {
		t.Fatal("the ceiling was not counted in the metrics")
	}
}

func TestVerificationPausesAfterTheFailureBudget(t *testing.T) {
	e := newEnv(t, noResendWait, func(o *account.Options, _ *web.Options, _ *routes) {
		o.VerifyFailures = []account.Window{{Limit: 3, Period: 24 * time.Hour}}
	})
	e.openPage(e.client)
	code := e.code("13812345678")
	for range 3 {
		want(t, e.register("13812345678", wrongCode(code), "correct horse"), "4004", "短信验证码错误")
	}
	want(t, e.register("13812345678", code, "correct horse"), "4201", "该号码验证码错误次数过多")
	// A new code does not reset the budget.
	code = e.code("13812345678")
	want(t, e.register("13812345678", code, "correct horse"), "4201", "该号码验证码错误次数过多")
	// Another number is not held back, and right codes do not spend the budget.
	other := e.code("13812345679")
	want(t, e.register("13812345679", wrongCode(other), "correct horse"), "4004", "")
	want(t, e.register("13812345679", other, "correct horse"), "0", "")
}

func wrongCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

func TestDailyBudgetPausesSends(t *testing.T) {
	e := newEnv(t, trustLoopback, func(o *account.Options, _ *web.Options, _ *routes) {
		o.Budget = account.Budget{Limit: 100_000, Prices: map[string]int64{"86": 45_000}, Default: 100_000, Location: time.UTC}
		o.ResendInterval = time.Hour
	})
	e.openPage(e.client)
	want(t, e.sendFrom("13812345670", "198.51.100.1"), "0", "")
	want(t, e.sendFrom("13812345670", "198.51.100.1"), "4201", "发送过于频繁") // refused later: not charged
	want(t, e.sendFrom("13812345671", "198.51.100.2"), "0", "")          // 0.090 of 0.100 spent
	a := e.sendFrom("13812345672", "198.51.100.3")
	want(t, a, "4201", "短信发送暂时繁忙")
	if !strings.Contains(a.Errmsg, "小时") && !strings.Contains(a.Errmsg, "分钟") && !strings.Contains(a.Errmsg, "秒") {
		t.Fatalf("errmsg %q should say when sends resume", a.Errmsg)
	}
	want(t, e.login("13900000000", "wrong horse"), "4004", "") // nothing else degrades
	_, body := get(t, e.newClient(), e.srv.URL+"/metrics")
	if !strings.Contains(body, `signup_limits_hit_total{kind="budget"} 1`) {
		t.Fatal("the budget refusal was not counted")
	}
}

func TestFraudSignalAlertsAndTightens(t *testing.T) {
	e := newEnv(t, trustLoopback, func(o *account.Options, _ *web.Options, _ *routes) {
		o.ResendInterval = 0
		o.SendLimits = account.SendLimits{PerIP: []account.Window{{Limit: 4, Period: time.Hour}}}
		o.Fraud = account.FraudSignal{Window: time.Minute, MinSends: 4, MinRatio: 0.5, Tighten: true}
	})
	e.openPage(e.client)
	metric := func() string { return fraudAlertMetric(t, e) }
	// Four codes nobody enters, from one address.
	codes := map[string]string{}
	for i := range 4 {
		mobile := fmt.Sprintf("1381234567%d", i)
		want(t, e.sendFrom(mobile, "198.51.100.1"), "0", "")
		codes[mobile] = e.sms.last(t, canonical(mobile)).Code
	}
	// The next send sees 4 sends and no verification: alert, and from a new
	// address the per-IP limit is halved to 2.
	want(t, e.sendFrom("13912345670", "203.0.113.1"), "0", "")
	if m := metric(); !strings.HasSuffix(m, " 1") {
		t.Fatalf("alert metric %q, want 1", m)
	}
	want(t, e.sendFrom("13912345671", "203.0.113.1"), "0", "")
	want(t, e.sendFrom("13912345672", "203.0.113.1"), "4202", "")
	// Verifications come in: the ratio recovers and the alert clears.
	for mobile, code := range codes {
		want(t, e.register(mobile, code, "correct horse"), "0", "")
	}
	want(t, e.sendFrom("13912345673", "192.0.2.1"), "0", "")
	if m := metric(); !strings.HasSuffix(m, " 0") {
		t.Fatalf("alert metric %q after verifications, want 0", m)
	}
}

func fraudAlertMetric(t *testing.T, e *env) string {
	_, body := get(t, e.newClient(), e.srv.URL+"/metrics")
	for line := range strings.Lines(body) {
		if strings.HasPrefix(line, `signup_fraud_alert{calling_code="86"}`) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// TestFraudSignalCountsOnlyQueuedSends: a send refused by the resend window
// is not counted as a send, whether the window is the code store's or, as
// in the embedded default, checked where the message is queued.
func TestFraudSignalCountsOnlyQueuedSends(t *testing.T) {
	for _, codeOutbox := range []bool{false, true} {
		t.Run(fmt.Sprint("code outbox ", codeOutbox), func(t *testing.T) {
			e := newEnv(t, trustLoopback, func(o *account.Options, _ *web.Options, rt *routes) {
				o.ResendInterval = time.Hour
				o.Fraud = account.FraudSignal{Window: time.Minute, MinSends: 2, MinRatio: 0.5}
				rt.codeOutbox = codeOutbox
			})
			e.openPage(e.client)
			want(t, e.sendFrom("13812345670", "198.51.100.1"), "0", "")
			want(t, e.sendFrom("13812345670", "198.51.100.1"), "4201", "发送过于频繁")
			// One send so far, below MinSends: no alert.
			want(t, e.sendFrom("13812345671", "198.51.100.2"), "0", "")
			if m := fraudAlertMetric(t, e); !strings.HasSuffix(m, " 0") {
				t.Fatalf("alert metric %q after one queued send, want 0", m)
			}
			// Two sends, none verified: alert.
			want(t, e.sendFrom("13812345672", "198.51.100.3"), "0", "")
			if m := fraudAlertMetric(t, e); !strings.HasSuffix(m, " 1") {
				t.Fatalf("alert metric %q after two queued sends, want 1", m)
			}
		})
	}
}
