package web_test

// The attack suite (issue 5): each test is one attack or fault on the
// service as it is today, with its pass criterion in the comment above it.
// Helpers here are prefixed atk so they cannot clash with the other test
// files of the package.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/web"
)

// atkResp is one raw answer: its bytes, for byte-for-byte comparisons, and
// its errno, for counting.
type atkResp struct {
	status int
	header http.Header
	body   []byte
	errno  string
	errmsg string
}

// atkRaw sends one request and checks nothing but the transport, so that
// goroutines other than the test's may call it. csrf echoes the client's
// csrf_token cookie in X-CSRFToken; a body gets Content-Type
// application/json unless header sets another.
func (e *env) atkRaw(c *http.Client, method, path, body string, csrf bool, header map[string]string) (atkResp, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	hr, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		return atkResp{}, err
	}
	if body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	if csrf {
		hr.Header.Set("X-CSRFToken", e.cookie(c, "csrf_token"))
	}
	for k, v := range header {
		hr.Header.Set(k, v)
	}
	resp, err := c.Do(hr)
	if err != nil {
		return atkResp{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return atkResp{}, err
	}
	r := atkResp{status: resp.StatusCode, header: resp.Header, body: b}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		return r, fmt.Errorf("%s %s: HTTP %d, Content-Type %q: %s", method, path, resp.StatusCode, ct, b)
	}
	var a struct{ Errno, Errmsg string }
	if err := json.Unmarshal(b, &a); err != nil {
		return r, fmt.Errorf("%s %s: %v: %s", method, path, err, b)
	}
	r.errno, r.errmsg = a.Errno, a.Errmsg
	return r, nil
}

// atkDo is atkRaw for the test's own goroutine: a transport failure, a
// non-JSON answer or an HTTP 5xx fails the test.
func (e *env) atkDo(c *http.Client, method, path, body string, csrf bool, header map[string]string) atkResp {
	e.t.Helper()
	r, err := e.atkRaw(c, method, path, body, csrf, header)
	if err != nil {
		e.t.Fatal(err)
	}
	if r.status >= 500 {
		e.t.Fatalf("%s %s: HTTP %d %s", method, path, r.status, r.body)
	}
	return r
}

// atkErrno is atkRaw's errno, or "transport: ..." when it failed; safe on any goroutine.
func (e *env) atkErrno(c *http.Client, method, path, body string, header map[string]string) string {
	r, err := e.atkRaw(c, method, path, body, true, header)
	if err != nil {
		return "transport: " + err.Error()
	}
	return r.errno
}

// atkSendPath is the send-code URL for mobile with captcha id and answer.
func atkSendPath(mobile, id, ans string) string {
	return "/api/v1.0/sms_codes/" + url.PathEscape(mobile) + "?image_code=" + url.QueryEscape(ans) +
		"&image_code_id=" + url.QueryEscape(id)
}

// atkSend fetches a fresh captcha and asks for a code for mobile, as a
// client whose X-Forwarded-For is xff ("" for none).
func (e *env) atkSend(mobile, xff string) atkResp {
	e.t.Helper()
	id := newID()
	e.captcha(id)
	return e.atkDo(e.client, "GET", atkSendPath(mobile, id, answer), "", true, atkXFF(xff))
}

func atkXFF(xff string) map[string]string {
	if xff == "" {
		return nil
	}
	return map[string]string{"X-Forwarded-For": xff}
}

func atkRegisterBody(mobile, code, pw string) string {
	b, _ := json.Marshal(map[string]string{"mobile": mobile, "sms_code": code, "password": pw, "password2": pw})
	return string(b)
}

func atkLoginBody(mobile, pw string) string {
	b, _ := json.Marshal(map[string]string{"mobile": mobile, "password": pw})
	return string(b)
}

// atkCount counts errnos.
func atkCount(errnos []string) map[string]int {
	m := map[string]int{}
	for _, e := range errnos {
		m[e]++
	}
	return m
}

// atkParallel runs fn(i) for i in [0, n) at once and returns the answers.
func atkParallel(n int, fn func(i int) string) []string {
	out := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() { <-start; out[i] = fn(i) })
	}
	close(start)
	wg.Wait()
	return out
}

// atkCode runs captcha and send-code for mobile and returns the code of the
// SMS this send produced. It waits for a new message, not the latest one: a
// newer code supersedes a queued older one, so the latest delivered message
// may still be an earlier code's.
func (e *env) atkCode(mobile string) string {
	e.t.Helper()
	phone := canonical(mobile)
	before := e.atkSMSCount(phone)
	atkWant(e.t, e.atkSend(mobile, ""), 200, "0", "")
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		ms := e.sms.messages()
		if e.atkSMSCount(phone) > before {
			for i := len(ms) - 1; i >= 0; i-- {
				if string(ms[i].To) == phone && ms[i].Code != "" {
					return ms[i].Code
				}
			}
		}
	}
	e.t.Fatalf("no new SMS code for %s", phone)
	return ""
}

// atkSMSCount counts the messages delivered to phone ("" for any number).
func (e *env) atkSMSCount(phone string) int {
	c := 0
	for _, m := range e.sms.messages() {
		if phone == "" || string(m.To) == phone {
			c++
		}
	}
	return c
}

// atkRace reports whether the test binary was built with -race, which makes
// argon2id many times slower.
func atkRace() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// atkSMS waits until exactly n messages went to phone ("" for any number),
// then a while longer to see that no more come, and fails otherwise.
func (e *env) atkSMS(phone string, n int) {
	e.t.Helper()
	count := func() int { return e.atkSMSCount(phone) }
	deadline := time.Now().Add(10 * time.Second)
	for count() < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the worker polls every 10 ms
	if got := count(); got != n {
		e.t.Fatalf("%d SMS delivered to %q, want exactly %d", got, phone, n)
	}
}

func atkWant(t *testing.T, r atkResp, status int, errno, msgPart string) {
	t.Helper()
	if r.status != status || r.errno != errno || !strings.Contains(r.errmsg, msgPart) {
		t.Fatalf("answer HTTP %d %s, want HTTP %d errno %s with errmsg containing %q", r.status, r.body, status, errno, msgPart)
	}
}

// atkFastHash makes password hashing cheap, for tests that log in many times
// and are not about hashing.
func atkFastHash(o *account.Options, _ *web.Options, _ *routes) {
	o.Argon2 = account.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}
	o.HashConcurrency, o.HashMaxWait = 8, 30*time.Second
}

func atkSendLimits(l account.SendLimits) envOption {
	return func(o *account.Options, _ *web.Options, _ *routes) { o.SendLimits = l }
}

// ---- Pumping: making the service send SMS for someone else's money ----

// 30 sends for 30 different numbers from one IP: exactly 10 answer 0 (per-IP hour limit 10), the other 20 answer 4202, and exactly 10 SMS leave.
func TestAttackPumpingPerIPHourLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	var errnos []string
	for i := range 30 {
		errnos = append(errnos, e.atkSend(fmt.Sprintf("138000000%02d", i), "").errno)
	}
	if c := atkCount(errnos); c["0"] != 10 || c["4202"] != 20 || !slices.Equal(errnos[:10], slices.Repeat([]string{"0"}, 10)) {
		t.Fatalf("answers %v, want the first 10 to succeed and 20 IPERR", errnos)
	}
	e.atkSMS("", 10)
}

// Rotating X-Forwarded-For from an untrusted peer does not move the per-IP quota (set to 3): of 10 sends with 10 different headers exactly 3 answer 0, 7 answer 4202.
func TestAttackPumpingRotatingForwardedForUntrusted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash, atkSendLimits(account.SendLimits{PerIP: []account.Window{{Limit: 3, Period: time.Hour}}}))
	e.openPage(e.client)
	var errnos []string
	for i := range 10 {
		errnos = append(errnos, e.atkSend(fmt.Sprintf("138000001%02d", i), fmt.Sprintf("198.51.%d.%d", i, i+1)).errno)
	}
	if c := atkCount(errnos); c["0"] != 3 || c["4202"] != 7 {
		t.Fatalf("answers %v, want 3 successes and 7 IPERR", errnos)
	}
}

// Behind a trusted proxy, addresses the client prepends to X-Forwarded-For are ignored: 8 sends with 8 forged left parts and one real client address get exactly 3 successes (per-IP limit 3) and 5 answers 4202.
func TestAttackPumpingForgedForwardedForBehindProxy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash, trustLoopback, atkSendLimits(account.SendLimits{PerIP: []account.Window{{Limit: 3, Period: time.Hour}}}))
	e.openPage(e.client)
	var errnos []string
	for i := range 8 {
		xff := fmt.Sprintf("10.%d.0.1, 192.0.2.%d, 203.0.113.7", i, i) // the proxy appends the real peer last
		errnos = append(errnos, e.atkSend(fmt.Sprintf("138000002%02d", i), xff).errno)
	}
	if c := atkCount(errnos); c["0"] != 3 || c["4202"] != 5 {
		t.Fatalf("answers %v, want 3 successes and 5 IPERR", errnos)
	}
}

// From a trusted proxy, 51 clients of one IPv4 /24 send once each: exactly the first 50 answer 0 (network limit 50/day), the 51st answers 4202, and a client of another /24 still answers 0.
func TestAttackPumpingNetworkLimitIPv4(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash, trustLoopback)
	e.openPage(e.client)
	var errnos []string
	for i := range 51 {
		errnos = append(errnos, e.atkSend(fmt.Sprintf("138000003%02d", i), fmt.Sprintf("203.0.113.%d", i+1)).errno)
	}
	if c := atkCount(errnos); c["0"] != 50 || errnos[50] != "4202" {
		t.Fatalf("answers %v, want 50 successes, then IPERR", errnos)
	}
	atkWant(t, e.atkSend("13800000399", "198.51.100.1"), 200, "0", "")
}

// From a trusted proxy, 5 clients of one IPv6 /64 (network limit set to 3) get exactly 3 sends and 2 answers 4202; a client of another /64 answers 0.
func TestAttackPumpingNetworkLimitIPv6(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash, trustLoopback, atkSendLimits(account.SendLimits{PerNetwork: []account.Window{{Limit: 3, Period: 24 * time.Hour}}}))
	e.openPage(e.client)
	var errnos []string
	for i := range 5 {
		errnos = append(errnos, e.atkSend(fmt.Sprintf("138000004%02d", i), fmt.Sprintf("2001:db8:aa:bb:%x::1", i+1)).errno)
	}
	if c := atkCount(errnos); c["0"] != 3 || c["4202"] != 2 {
		t.Fatalf("answers %v, want 3 successes and 2 IPERR", errnos)
	}
	atkWant(t, e.atkSend("13800000499", "2001:db8:aa:bc::1"), 200, "0", "")
}

// A +44 mobile number is refused 4103 before its captcha is used (the same captcha then passes for a +86 number), no SMS goes to +44, and /metrics counts kind="destination".
func TestAttackPumpingForeignNumberBeforeCaptcha(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	id := newID()
	e.captcha(id)
	atkWant(t, e.atkDo(e.client, "GET", atkSendPath("+447400123456", id, answer), "", true, nil), 200, "4103", "暂不支持向该国家或地区")
	atkWant(t, e.atkDo(e.client, "GET", atkSendPath("13800000500", id, answer), "", true, nil), 200, "0", "")
	e.atkSMS("+447400123456", 0)
	if _, body := get(t, e.newClient(), e.srv.URL+"/metrics"); !strings.Contains(body, `signup_limits_hit_total{kind="destination"} 1`) {
		t.Fatal("the refused destination was not counted in /metrics")
	}
}

// Premium-rate, shared-cost, VoIP, pager, toll-free and fixed-line numbers (typed so by libphonenumber) are refused 4103 "not a mobile number" even with +44 allowed, before the captcha is used, and get no SMS.
func TestAttackPumpingNonMobileNumbers(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ kind, number string }{
		{"premium-rate CN", "+8616812345"},
		{"premium-rate GB", "+449012345678"},
		{"shared-cost CN", "+864001234567"},
		{"VoIP GB", "+445612345678"},
		{"pager GB", "+447640123456"},
		{"toll-free CN", "+868001234567"},
		{"fixed-line CN", "+861012345678"},
	} {
		t.Run(c.kind, func(t *testing.T) {
			e := newEnv(t, atkFastHash, func(o *account.Options, _ *web.Options, _ *routes) { o.CallingCodes = []string{"86", "44"} })
			e.openPage(e.client)
			id := newID()
			e.captcha(id)
			atkWant(t, e.atkDo(e.client, "GET", atkSendPath(c.number, id, answer), "", true, nil), 200, "4103", "该号码不是手机号")
			atkWant(t, e.atkDo(e.client, "GET", atkSendPath("13800000600", id, answer), "", true, nil), 200, "0", "")
			e.atkSMS(c.number, 0)
		})
	}
}

// The service ceiling (set to 3 per minute) pauses the 4th, 5th and 6th sends with 4201 whatever the client network, /metrics counts send_global 3, exactly 3 SMS leave, and login and captchas still answer.
func TestAttackPumpingGlobalCeiling(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash, trustLoopback, atkSendLimits(account.SendLimits{Global: []account.Window{{Limit: 3, Period: time.Minute}}}))
	e.openPage(e.client)
	for i := range 3 {
		atkWant(t, e.atkSend(fmt.Sprintf("138000007%02d", i), fmt.Sprintf("198.51.%d.1", i)), 200, "0", "")
	}
	for i := range 3 {
		atkWant(t, e.atkSend(fmt.Sprintf("138000007%02d", 10+i), fmt.Sprintf("203.0.%d.1", i)), 200, "4201", "短信发送暂时繁忙")
	}
	if _, body := get(t, e.newClient(), e.srv.URL+"/metrics"); !strings.Contains(body, `signup_limits_hit_total{kind="send_global"} 3`) {
		t.Fatal("the ceiling was not counted as send_global 3 in /metrics")
	}
	atkWant(t, e.atkDo(e.client, "POST", "/api/v1.0/sessions", atkLoginBody("13900000000", "whatever1"), true, nil), 200, "4004", "")
	e.captcha(newID())
	e.atkSMS("", 3)
}

// One number asked for from 8 networks with no resend wait: exactly 5 sends answer 0 (5 per hour), 3 answer 4201 "too many codes", and exactly 5 SMS reach it.
func TestAttackPumpingPerNumberLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash, trustLoopback, noResendWait)
	e.openPage(e.client)
	var errnos []string
	for i := range 8 {
		r := e.atkSend("13800000800", fmt.Sprintf("198.51.%d.1", i))
		if r.errno == "4201" && !strings.Contains(r.errmsg, "该号码获取验证码次数过多") {
			t.Fatalf("refusal %s, want the per-number quota", r.body)
		}
		errnos = append(errnos, r.errno)
		if r.errno == "0" { // let it be delivered: a newer code would supersede it in the queue
			e.atkSMS("+8613800000800", atkCount(errnos)["0"])
		}
	}
	if c := atkCount(errnos); c["0"] != 5 || c["4201"] != 3 {
		t.Fatalf("answers %v, want 5 successes and 3 REQERR", errnos)
	}
	e.atkSMS("+8613800000800", 5)
}

// 10 sends for one number, each with its own solved captcha, within the 60 s resend interval: exactly 1 answers 0, 9 answer 4201 "sent recently", one SMS.
func TestAttackPumpingResendInterval(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	atkWant(t, e.atkSend("13800000900", ""), 200, "0", "")
	for range 9 {
		atkWant(t, e.atkSend("13800000900", ""), 200, "4201", "发送过于频繁")
	}
	e.atkSMS("+8613800000900", 1)
}

// 50 concurrent sends for one number, each with its own captcha and client network: exactly 1 answers 0, 49 answer 4201, and exactly 1 SMS leaves.
func TestAttackPumpingConcurrentOneNumber(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash, trustLoopback)
	e.openPage(e.client)
	ids := make([]string, 50)
	for i := range ids {
		ids[i] = newID()
		e.captcha(ids[i])
	}
	errnos := atkParallel(50, func(i int) string {
		return e.atkErrno(e.client, "GET", atkSendPath("13800001000", ids[i], answer), "", atkXFF(fmt.Sprintf("198.51.%d.1", i)))
	})
	if c := atkCount(errnos); c["0"] != 1 || c["4201"] != 49 {
		t.Fatalf("answers %v, want 1 success and 49 REQERR", c)
	}
	e.atkSMS("+8613800001000", 1)
}

// 30 concurrent sends for 30 numbers from one client IP: exactly 10 answer 0 and 20 answer 4202 (the per-IP quota is taken atomically), and exactly 10 SMS leave.
func TestAttackPumpingConcurrentOneIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	ids := make([]string, 30)
	for i := range ids {
		ids[i] = newID()
		e.captcha(ids[i])
	}
	errnos := atkParallel(30, func(i int) string {
		return e.atkErrno(e.client, "GET", atkSendPath(fmt.Sprintf("138000011%02d", i), ids[i], answer), "", nil)
	})
	if c := atkCount(errnos); c["0"] != 10 || c["4202"] != 20 {
		t.Fatalf("answers %v, want 10 successes and 20 IPERR", c)
	}
	e.atkSMS("", 10)
}

// 20 sends with a wrong captcha answer (4004 each) spend none of the IP's quota: 10 right sends afterwards all answer 0 and the 11th answers 4202.
func TestAttackPumpingWrongCaptchaCostsNoQuota(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	for i := range 20 {
		id := newID()
		e.captcha(id)
		atkWant(t, e.atkDo(e.client, "GET", atkSendPath(fmt.Sprintf("138000012%02d", i), id, "WRNG"), "", true, nil), 200, "4004", "图片验证码错误")
	}
	for i := range 10 {
		atkWant(t, e.atkSend(fmt.Sprintf("138000012%02d", 20+i), ""), 200, "0", "")
	}
	atkWant(t, e.atkSend("13800001299", ""), 200, "4202", "")
	e.atkSMS("", 10)
}

// Respelling one number ("+86 138-...", "0086...", "(+86)...", Arabic-Indic digits) does not escape its resend interval: the first send answers 0, the 5 respelled ones 4201, and one SMS leaves.
func TestAttackPumpingRespelledNumber(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	atkWant(t, e.atkSend("13800001300", ""), 200, "0", "")
	for _, m := range []string{"+86 138 0000 1300", "+86-138-0000-1300", "008613800001300", "(+86)13800001300", "١٣٨٠٠٠٠١٣٠٠"} {
		atkWant(t, e.atkSend(m, ""), 200, "4201", "发送过于频繁")
	}
	e.atkSMS("+8613800001300", 1)
}

// ---- Brute force: guessing codes and passwords ----

// After 5 wrong codes (4004 each) the right code is refused 4201 "too many wrong codes", and no account was made (login answers 4004).
func TestAttackBruteForceCodeVoidAfterFive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	code := e.atkCode("13800002000")
	for range 5 {
		want(t, e.register("13800002000", wrongCode(code), "correct horse"), "4004", "短信验证码错误")
	}
	want(t, e.register("13800002000", code, "correct horse"), "4201", "短信验证码错误次数过多")
	want(t, e.login("13800002000", "correct horse"), "4004", "")
}

// 20 wrong codes across 4 codes (5 each; resends do not reset the default budget of 20 per day) pause verification: the right 5th code answers 4201 "too many wrong codes for this number"; another number still registers.
func TestAttackBruteForceAcrossResends(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash, noResendWait, atkFastHash)
	e.openPage(e.client)
	for range 4 {
		code := e.atkCode("13800002100")
		for range 5 {
			want(t, e.register("13800002100", wrongCode(code), "correct horse"), "4004", "短信验证码错误")
		}
	}
	code := e.atkCode("13800002100")
	want(t, e.register("13800002100", code, "correct horse"), "4201", "该号码验证码错误次数过多")
	want(t, e.register("13800002101", e.atkCode("13800002101"), "correct horse"), "0", "")
}

// 40 concurrent wrong guesses at one code: exactly 5 answer 4004 and 35 answer 4201; the right code afterwards answers 4201.
func TestAttackBruteForceConcurrentGuesses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	code := e.atkCode("13800002200")
	errnos := atkParallel(40, func(i int) string {
		guess := fmt.Sprintf("%06d", 100000+i)
		if guess == code {
			guess = "999999"
		}
		return e.atkErrno(e.client, "POST", "/api/v1.0/users", atkRegisterBody("13800002200", guess, "correct horse"), nil)
	})
	if c := atkCount(errnos); c["4004"] != 5 || c["4201"] != 35 {
		t.Fatalf("answers %v, want 5 wrong and 35 REQERR", c)
	}
	want(t, e.register("13800002200", code, "correct horse"), "4201", "")
}

// After 5 wrong passwords for one account, the 6th attempt waits (4201, "30秒", or "29秒" when over a second passed since the 5th began) even with the right password.
func TestAttackBruteForceLoginPerAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.signUp("13800002300", "correct horse")
	for range 5 {
		want(t, e.login("13800002300", "wrong horse"), "4004", "手机号或密码错误")
	}
	a := e.login("13800002300", "correct horse")
	want(t, a, "4201", "秒后再试")
	if !regexp.MustCompile(`^[^0-9]*(29|30)秒后再试`).MatchString(a.Errmsg) {
		t.Fatalf("errmsg %q should say 30 seconds", a.Errmsg)
	}
}

// 100 failed logins on 100 unknown numbers from one IP (default IPFree 100) make a real account's right password from that IP wait (IPERR 4202), while from another IP it answers 0.
func TestAttackBruteForceLoginPerIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash, trustLoopback)
	e.signUp("13800002400", "correct horse")
	attacker := map[string]string{"X-Forwarded-For": "192.0.2.1"}
	for i := range 100 {
		r := e.atkDo(e.client, "POST", "/api/v1.0/sessions", atkLoginBody(fmt.Sprintf("139000024%02d", i), "whatever1"), true, attacker)
		atkWant(t, r, 200, "4004", "")
	}
	r := e.atkDo(e.client, "POST", "/api/v1.0/sessions", atkLoginBody("13800002400", "correct horse"), true, attacker)
	atkWant(t, r, 200, "4202", "您所在网络的登录失败次数过多")
	r = e.atkDo(e.client, "POST", "/api/v1.0/sessions", atkLoginBody("13800002400", "correct horse"), true, map[string]string{"X-Forwarded-For": "192.0.2.2"})
	atkWant(t, r, 200, "0", "")
}

// The per-account delay doubles (first delay set to 400 ms): after 5 failures the right password waits (4201); 450 ms later a 6th failure is allowed (4004); the wait is then 800 ms: the right password answers 4201 at once and 450 ms later, and 0 after 850 ms.
func TestAttackBruteForceLoginDelayDoubles(t *testing.T) {
	e := newEnv(t, atkFastHash, func(o *account.Options, _ *web.Options, _ *routes) { o.Login.AccountDelay = 400 * time.Millisecond })
	e.signUp("13800002500", "correct horse")
	for range 5 {
		want(t, e.login("13800002500", "wrong horse"), "4004", "")
	}
	want(t, e.login("13800002500", "correct horse"), "4201", "")
	time.Sleep(450 * time.Millisecond)
	want(t, e.login("13800002500", "wrong horse"), "4004", "")
	want(t, e.login("13800002500", "correct horse"), "4201", "")
	time.Sleep(450 * time.Millisecond)
	want(t, e.login("13800002500", "correct horse"), "4201", "")
	time.Sleep(400 * time.Millisecond)
	want(t, e.login("13800002500", "correct horse"), "0", "")
}

// Respelling the number ("+86 138...", "0086...", "(+86)...") does not escape the per-account login throttle: after 5 failures under 5 spellings the right password answers 4201.
func TestAttackBruteForceLoginRespelledNumber(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.signUp("13800002800", "correct horse")
	for _, m := range []string{"13800002800", "+86 138 0000 2800", "+86-138-0000-2800", "008613800002800", "(+86)13800002800"} {
		want(t, e.login(m, "wrong horse"), "4004", "")
	}
	want(t, e.login("13800002800", "correct horse"), "4201", "")
}

// 30 concurrent wrong passwords for one account with the real argon2id parameters: at most 5 are checked (4004), the rest wait (4201) or are shed (4500). The attempt is counted before the hash, so a burst cannot pass the check together.
func TestAttackBruteForceLoginConcurrentBurst(t *testing.T) {
	e := newEnv(t)
	e.signUp("13800002900", "correct horse")
	errnos := atkParallel(30, func(i int) string {
		return e.atkErrno(e.client, "POST", "/api/v1.0/sessions", atkLoginBody("13800002900", fmt.Sprintf("wrong horse %d", i)), nil)
	})
	if c := atkCount(errnos); c["4004"] > 5 || c["4004"]+c["4201"]+c["4500"] != 30 {
		t.Fatalf("answers %v: more than 5 concurrent guesses were checked", c)
	}
}

// A code sent to one number does not register another (4002), and that attempt does not spend the first number's code, which then registers (0).
func TestAttackBruteForceCodeBoundToNumber(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	code := e.atkCode("13800002600")
	want(t, e.register("13800002601", code, "correct horse"), "4002", "短信验证码已失效")
	want(t, e.register("13800002600", code, "correct horse"), "0", "注册成功")
}

// A right code used after its lifetime (set to 200 ms) answers 4002 and makes no account.
func TestAttackBruteForceCodeExpires(t *testing.T) {
	e := newEnv(t, atkFastHash, func(o *account.Options, _ *web.Options, _ *routes) { o.CodeTTL = 200 * time.Millisecond })
	e.openPage(e.client)
	code := e.atkCode("13800002700")
	time.Sleep(400 * time.Millisecond)
	want(t, e.register("13800002700", code, "correct horse"), "4002", "短信验证码已失效")
	want(t, e.login("13800002700", "correct horse"), "4004", "")
}

// ---- Enumeration: learning which numbers have accounts ----

// Send-code answers byte-identical JSON (errno and errmsg, Chinese and English) for a registered and an unregistered number.
func TestAttackEnumerationSendCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash, noResendWait)
	e.signUp("13800003000", "correct horse")
	for _, lang := range []string{"zh-CN", "en"} {
		var bodies [][]byte
		for _, m := range []string{"13800003000", "13800003001"} {
			id := newID()
			e.captcha(id)
			r := e.atkDo(e.client, "GET", atkSendPath(m, id, answer), "", true, map[string]string{"Accept-Language": lang})
			if r.errno != "0" || r.header.Get("Set-Cookie") != "" {
				t.Fatalf("%s: %s, Set-Cookie %q", m, r.body, r.header.Get("Set-Cookie"))
			}
			bodies = append(bodies, r.body)
		}
		if !bytes.Equal(bodies[0], bodies[1]) {
			t.Fatalf("%s: registered %s, new %s", lang, bodies[0], bodies[1])
		}
	}
}

// Registration with a guessed code answers byte-identically for a registered and an unregistered number, both after a send (4004) and with no code sent (4002).
func TestAttackEnumerationRegisterGuess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash, noResendWait)
	e.signUp("13800003100", "correct horse")
	guess := func(m string) []byte {
		r := e.atkDo(e.client, "POST", "/api/v1.0/users", atkRegisterBody(m, "123456", "another horse"), true, nil)
		return r.body
	}
	noCode := [][]byte{guess("13800003100"), guess("13800003101")}
	if !bytes.Equal(noCode[0], noCode[1]) || !bytes.Contains(noCode[0], []byte(`"4002"`)) {
		t.Fatalf("no code sent: registered %s, new %s", noCode[0], noCode[1])
	}
	e.atkSend("13800003100", "")
	e.atkCode("13800003101")
	sent := [][]byte{guess("13800003100"), guess("13800003101")}
	if !bytes.Equal(sent[0], sent[1]) || !bytes.Contains(sent[0], []byte(`"4004"`)) {
		t.Fatalf("after a send: registered %s, new %s", sent[0], sent[1])
	}
}

// Six guesses after a send answer the same sequence (4004 x5, then 4201 void) for a registered and an unregistered number.
func TestAttackEnumerationGuessSequence(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash, noResendWait)
	e.signUp("13800003200", "correct horse")
	seq := func(m string) []string {
		e.atkSend(m, "")
		var out []string
		for i := range 6 {
			r := e.atkDo(e.client, "POST", "/api/v1.0/users", atkRegisterBody(m, fmt.Sprintf("%06d", 900000+i), "another horse"), true, nil)
			out = append(out, r.errno+" "+r.errmsg)
		}
		return out
	}
	reg, fresh := seq("13800003200"), seq("13800003201")
	if !slices.Equal(reg, fresh) || !strings.HasPrefix(reg[4], "4004") || !strings.HasPrefix(reg[5], "4201") {
		t.Fatalf("registered %q, new %q", reg, fresh)
	}
}

// The per-number limit (set to 2 per hour) refuses the 3rd send with byte-identical JSON for a registered and an unregistered number.
func TestAttackEnumerationSendLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash, noResendWait, atkSendLimits(account.SendLimits{PerNumber: []account.Window{{Limit: 2, Period: time.Hour}}}))
	e.signUp("13800003300", "correct horse")
	var bodies [][]byte
	for _, m := range []string{"13800003300", "13800003301"} {
		sends := 2
		if m == "13800003300" {
			sends = 1 // sign-up used one
		}
		for range sends {
			atkWant(t, e.atkSend(m, ""), 200, "0", "")
		}
		bodies = append(bodies, e.atkSend(m, "").body)
	}
	if !bytes.Equal(bodies[0], bodies[1]) || !bytes.Contains(bodies[0], []byte(`"4201"`)) {
		t.Fatalf("registered %s, new %s", bodies[0], bodies[1])
	}
}

// Login for an unknown number and with a wrong password answer byte-identical JSON, in Chinese and English, with no cookie set.
func TestAttackEnumerationLoginAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.signUp("13800003400", "correct horse")
	for _, lang := range []string{"zh-CN", "en"} {
		h := map[string]string{"Accept-Language": lang}
		unknown := e.atkDo(e.client, "POST", "/api/v1.0/sessions", atkLoginBody("13800003401", "wrong horse"), true, h)
		wrong := e.atkDo(e.client, "POST", "/api/v1.0/sessions", atkLoginBody("13800003400", "wrong horse"), true, h)
		if !bytes.Equal(unknown.body, wrong.body) || unknown.errno != "4004" || unknown.status != wrong.status ||
			unknown.header.Get("Set-Cookie") != "" || wrong.header.Get("Set-Cookie") != "" {
			t.Fatalf("%s: unknown %d %s, wrong %d %s", lang, unknown.status, unknown.body, wrong.status, wrong.body)
		}
	}
}

// With the real argon2id parameters, login for an unknown number and with a wrong password take the same time: over 200 pairs of back-to-back tries (one of each, in alternating order), the median gap within a pair is at most 10 % of the median login. Under -race argon2id is about 8 times slower, so there it is 60 pairs.
func TestAttackEnumerationLoginTiming(t *testing.T) {
	tries := 200
	if atkRace() {
		tries = 60
	}
	e := newEnv(t, func(o *account.Options, _ *web.Options, _ *routes) {
		o.HashConcurrency, o.HashMaxWait = 4, time.Minute
		o.Login.AccountFree, o.Login.IPFree = 1<<30, 1<<30
	})
	if e.web.Accounts.(*account.Service).Options().Argon2 != account.DefaultArgon2 {
		t.Fatal("the timing must be measured with the real argon2id parameters")
	}
	e.signUp("13800003500", "correct horse")
	bodies := [2]string{atkLoginBody("13800003501", "wrong horse"), atkLoginBody("13800003500", "wrong horse")}
	var times [2][]time.Duration
	var gaps []time.Duration // per pair: wrong password minus unknown number
	for i := range tries {
		var pair [2]time.Duration
		for k := range 2 {
			kind := (i + k) % 2 // alternate which kind goes first
			start := time.Now()
			r, err := e.atkRaw(e.client, "POST", "/api/v1.0/sessions", bodies[kind], true, nil)
			pair[kind] = time.Since(start)
			if err == nil && r.errno != "4004" {
				err = fmt.Errorf("answer %s", r.body)
			}
			if err != nil {
				t.Fatal(err)
			}
			times[kind] = append(times[kind], pair[kind])
		}
		gaps = append(gaps, pair[1]-pair[0])
	}
	median := func(ds []time.Duration) time.Duration {
		ds = slices.Clone(ds)
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	// The tries run one at a time, so that a login's time is its own work,
	// and the two of a pair share whatever else the machine is doing; the
	// median of their gaps is the difference an attacker could average out.
	// Four workers comparing the two kinds' medians measured 1.9-12 % on a
	// busy machine (a CI failure at 11.9 %); this measured 0.1-2.1 % beside
	// the same load.
	unknown, wrong, gap := median(times[0]), median(times[1]), median(gaps)
	all := median(append(slices.Clone(times[0]), times[1]...))
	share := math.Abs(float64(gap)) / float64(all)
	t.Logf("median login: unknown number %v, wrong password %v; median gap within a pair %v (%.1f %% of %v)", unknown, wrong, gap, 100*share, all)
	if share > 0.10 {
		t.Fatalf("logins for a wrong password and an unknown number differ by %v at the median of pairs, %.1f %% of the median login %v: want at most 10 %%", gap, 100*share, all)
	}
}

// The 6th login attempt answers byte-identical JSON (4201 with the same wait) for a registered number and an unknown one, each after 5 wrong passwords.
func TestAttackEnumerationLoginThrottle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.signUp("13800003700", "correct horse")
	var bodies [][]byte
	for _, m := range []string{"13800003700", "13800003701"} {
		for range 5 {
			atkWant(t, e.atkDo(e.client, "POST", "/api/v1.0/sessions", atkLoginBody(m, "wrong horse"), true, nil), 200, "4004", "")
		}
		bodies = append(bodies, e.atkDo(e.client, "POST", "/api/v1.0/sessions", atkLoginBody(m, "wrong horse"), true, nil).body)
	}
	if !bytes.Equal(bodies[0], bodies[1]) || !bytes.Contains(bodies[0], []byte(`"4201"`)) {
		t.Fatalf("registered %s, unknown %s", bodies[0], bodies[1])
	}
}

// The owner of a registered number gets a notice that carries no code (empty Code, no 6 digits in the text), so the send gives nothing to guess from.
func TestAttackEnumerationNoticeCarriesNoCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash, noResendWait)
	e.signUp("13800003600", "correct horse")
	atkWant(t, e.atkSend("13800003600", ""), 200, "0", "发送成功")
	m := e.sms.await(t, "+8613800003600", func(m account.Message) bool { return m.Purpose != account.PurposeRegister })
	if m.Purpose != account.PurposeAlreadyRegistered || m.Code != "" || codeInText.MatchString(m.Text) {
		t.Fatalf("registered number got %+v, want a notice without a code", m)
	}
}

// ---- Captcha: reusing, outliving or escaping a captcha ----

// A captcha answered wrongly (4004) is gone: the right answer then answers 4002.
func TestAttackCaptchaSingleUseAfterWrong(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	id := newID()
	e.captcha(id)
	atkWant(t, e.atkDo(e.client, "GET", atkSendPath("13800004000", id, "WRNG"), "", true, nil), 200, "4004", "图片验证码错误")
	atkWant(t, e.atkDo(e.client, "GET", atkSendPath("13800004000", id, answer), "", true, nil), 200, "4002", "图片验证码已过期")
	e.atkSMS("+8613800004000", 0)
}

// A captcha answered rightly (0) is gone: reusing it for another number answers 4002 and sends nothing there.
func TestAttackCaptchaSingleUseAfterRight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	id := newID()
	e.captcha(id)
	atkWant(t, e.atkDo(e.client, "GET", atkSendPath("13800004100", id, answer), "", true, nil), 200, "0", "")
	atkWant(t, e.atkDo(e.client, "GET", atkSendPath("13800004101", id, answer), "", true, nil), 200, "4002", "图片验证码已过期")
	e.atkSMS("+8613800004101", 0)
}

// A captcha used after its lifetime (set to 1 s) answers 4002, while one used within it answers 0.
func TestAttackCaptchaExpires(t *testing.T) {
	e := newEnv(t, atkFastHash, func(o *account.Options, _ *web.Options, _ *routes) { o.CaptchaTTL = time.Second })
	e.openPage(e.client)
	old := newID()
	e.captcha(old)
	time.Sleep(1200 * time.Millisecond)
	atkWant(t, e.atkDo(e.client, "GET", atkSendPath("13800004200", old, answer), "", true, nil), 200, "4002", "已过期")
	atkWant(t, e.atkSend("13800004201", ""), 200, "0", "")
}

// Captcha ids with a colon, slash, dot-dot, Redis hash tag or glob, unicode, NUL or 65 characters are refused 4103 both when drawn and when used; 64 characters of [A-Za-z0-9-] are accepted.
func TestAttackCaptchaBadIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	for _, id := range []string{"a:b", "signup:captcha:x", "a/b", "../x", "{x}", "x*", "验证码", "a\x00b", "a b", strings.Repeat("a", 65)} {
		atkWant(t, e.atkDo(e.client, "GET", "/api/v1.0/image_codes/"+url.PathEscape(id), "", true, nil), 200, "4103", "图片验证码编号无效")
		atkWant(t, e.atkDo(e.client, "GET", atkSendPath("13800004300", id, answer), "", true, nil), 200, "4103", "图片验证码编号无效")
	}
	ok := strings.Repeat("a-Z9", 16)
	e.captcha(ok)
	atkWant(t, e.atkDo(e.client, "GET", atkSendPath("13800004300", ok, answer), "", true, nil), 200, "0", "")
}

// The answer is compared case-insensitively: "ac34" and "aC34" pass (0) for a captcha whose answer is "AC34".
func TestAttackCaptchaCaseInsensitive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	for i, a := range []string{"ac34", "aC34"} {
		id := newID()
		e.captcha(id)
		atkWant(t, e.atkDo(e.client, "GET", atkSendPath(fmt.Sprintf("1380000440%d", i), id, a), "", true, nil), 200, "0", "")
	}
}

// 100 concurrent uses of one captcha for 100 numbers: exactly 1 answers 0 and 99 answer 4002; exactly 1 SMS leaves.
func TestAttackCaptchaConcurrentUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	id := newID()
	e.captcha(id)
	errnos := atkParallel(100, func(i int) string {
		return e.atkErrno(e.client, "GET", atkSendPath(fmt.Sprintf("138000045%02d", i), id, answer), "", nil)
	})
	if c := atkCount(errnos); c["0"] != 1 || c["4002"] != 99 {
		t.Fatalf("answers %v, want 1 success and 99 expired", c)
	}
	e.atkSMS("", 1)
}

// Captcha ids that were never drawn cannot be used: 20 guessed ids answer 4002 with any answer, and no SMS leaves.
func TestAttackCaptchaGuessedIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	e.captcha("guess-0") // a live captcha next door does not help
	for i := range 20 {
		id := fmt.Sprintf("guess-%d", i+1)
		atkWant(t, e.atkDo(e.client, "GET", atkSendPath("13800004600", id, answer), "", true, nil), 200, "4002", "已过期")
	}
	e.atkSMS("", 0)
}

// Near-miss answers (3 or 5 characters, a NUL or inner space added, a look-alike "AC3A") are wrong (4004), each consuming its captcha, and send nothing.
func TestAttackCaptchaNearMissAnswers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	for _, a := range []string{"AC3", "AC345", "AC34\x00", "AC 34", "AC3A", "%"} {
		id := newID()
		e.captcha(id)
		atkWant(t, e.atkDo(e.client, "GET", atkSendPath("13800004700", id, a), "", true, nil), 200, "4004", "图片验证码错误")
		atkWant(t, e.atkDo(e.client, "GET", atkSendPath("13800004700", id, answer), "", true, nil), 200, "4002", "")
	}
	e.atkSMS("", 0)
}

// ---- Session: fixing, stealing and outliving session ids ----

// Session fixation at login: an id an attacker planted in the victim's browser is not logged in after the victim logs in (4101), while the victim's new id is (0).
func TestAttackSessionFixationAtLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.signUp("13800005000", "correct horse")
	attacker := e.newClient()
	e.openPage(attacker)
	planted := e.cookie(attacker, "session")
	victim := &http.Client{Jar: jarWith(e, "session", planted)}
	e.openPage(victim)
	atkWant(t, e.atkDo(victim, "POST", "/api/v1.0/sessions", atkLoginBody("13800005000", "correct horse"), true, nil), 200, "0", "")
	if got := e.cookie(victim, "session"); got == planted || len(got) != 43 {
		t.Fatalf("login kept the planted id")
	}
	atkWant(t, e.atkDo(victim, "GET", "/api/v1.0/session", "", true, nil), 200, "0", "")
	atkWant(t, e.atkDo(attacker, "GET", "/api/v1.0/user", "", true, nil), 200, "4101", "用户未登录")
}

// Session fixation at registration: the planted id is not logged in after the victim registers (4101), while the victim's new id is (0).
func TestAttackSessionFixationAtRegistration(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	attacker := e.newClient()
	e.openPage(attacker)
	planted := e.cookie(attacker, "session")
	victim := &http.Client{Jar: jarWith(e, "session", planted)}
	e.client = victim
	e.openPage(victim)
	want(t, e.register("13800005100", e.atkCode("13800005100"), "correct horse"), "0", "注册成功")
	if e.cookie(victim, "session") == planted {
		t.Fatal("registration kept the planted id")
	}
	atkWant(t, e.atkDo(victim, "GET", "/api/v1.0/user", "", true, nil), 200, "0", "")
	atkWant(t, e.atkDo(attacker, "GET", "/api/v1.0/user", "", true, nil), 200, "4101", "用户未登录")
}

// A copied session cookie is dead after logout: the copy answers 4101 at /session and /user.
func TestAttackSessionCopiedCookieAfterLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.signUp("13800005200", "correct horse")
	thief := &http.Client{Jar: jarWith(e, "session", e.cookie(e.client, "session"))}
	atkWant(t, e.atkDo(thief, "GET", "/api/v1.0/user", "", false, nil), 200, "0", "") // the copy works while logged in
	atkWant(t, e.atkDo(e.client, "DELETE", "/api/v1.0/session", "", true, nil), 200, "0", "")
	atkWant(t, e.atkDo(thief, "GET", "/api/v1.0/session", "", false, nil), 200, "4101", "")
	atkWant(t, e.atkDo(thief, "GET", "/api/v1.0/user", "", false, nil), 200, "4101", "")
}

// Cookies over plain HTTP: the session cookie is HttpOnly, SameSite=Lax, Path=/, not Secure, on a page and on login; csrf_token is SameSite=Lax and readable by scripts.
func TestAttackSessionCookieAttributes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.signUp("13800005300", "correct horse")
	resp, _ := get(t, e.newClient(), e.srv.URL+"/login.html")
	login := e.atkDo(e.client, "POST", "/api/v1.0/sessions", atkLoginBody("13800005300", "correct horse"), true, nil)
	for what, h := range map[string]http.Header{"page": resp.Header, "login": login.header} {
		r := &http.Response{Header: h}
		sess, csrf := cookieNamed(r, "session"), cookieNamed(r, "csrf_token")
		if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" || sess.Secure || sess.Domain != "" {
			t.Fatalf("%s: session cookie %+v", what, sess)
		}
		if csrf == nil || csrf.HttpOnly || csrf.SameSite != http.SameSiteLaxMode || csrf.Path != "/" {
			t.Fatalf("%s: csrf_token cookie %+v", what, csrf)
		}
	}
}

// Over TLS the session cookie is named __Host-session and is Secure, HttpOnly, SameSite=Lax, Path=/, with no Domain, on a page and on login, and csrf_token is Secure.
func TestAttackSessionCookiesOverTLS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.signUp("13800005400", "correct horse")
	srv := httptest.NewTLSServer(e.web)
	t.Cleanup(srv.Close)
	c := srv.Client()
	c.Jar = e.newClient().Jar
	resp, _ := get(t, c, srv.URL+"/login.html")
	u := mustURL(srv.URL)
	var token string
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "csrf_token" {
			token = ck.Value
		}
	}
	hr, _ := http.NewRequest("POST", srv.URL+"/api/v1.0/sessions", strings.NewReader(atkLoginBody("13800005400", "correct horse")))
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("X-CSRFToken", token)
	login, err := c.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(login.Body)
	login.Body.Close()
	if !bytes.Contains(b, []byte(`"errno":"0"`)) {
		t.Fatalf("login over TLS: %s", b)
	}
	for what, r := range map[string]*http.Response{"page": resp, "login": login} {
		sess, csrf := cookieNamed(r, "__Host-session"), cookieNamed(r, "csrf_token")
		if sess == nil || !sess.Secure || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" || sess.Domain != "" {
			t.Fatalf("%s over TLS: __Host-session %+v", what, sess)
		}
		if csrf == nil || !csrf.Secure || cookieNamed(r, "session") != nil {
			t.Fatalf("%s over TLS: cookies %v", what, r.Cookies())
		}
	}
}

// X-Forwarded-Proto: https from an untrusted peer does not make cookies Secure or __Host- (plain "session"); from a trusted proxy it does.
func TestAttackSessionForwardedProtoSpoof(t *testing.T) {
	t.Parallel()
	for _, trusted := range []bool{false, true} {
		opts := []envOption{atkFastHash}
		if trusted {
			opts = append(opts, trustLoopback)
		}
		e := newEnv(t, opts...)
		hr, _ := http.NewRequest("GET", e.srv.URL+"/register.html", nil)
		hr.Header.Set("X-Forwarded-Proto", "https")
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		host, plain := cookieNamed(resp, "__Host-session"), cookieNamed(resp, "session")
		if trusted && (host == nil || !host.Secure || plain != nil) {
			t.Fatalf("trusted proxy said https: cookies %v, want a Secure __Host-session", resp.Cookies())
		}
		if !trusted && (plain == nil || plain.Secure || host != nil) {
			t.Fatalf("untrusted peer said https: cookies %v, want a plain session cookie", resp.Cookies())
		}
	}
}

// Session ids are 43 base64url characters (256 bits): 100 page views give 100 distinct ids that each decode to 32 bytes.
func TestAttackSessionIDEntropy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	seen := map[string]bool{}
	for range 100 {
		resp, _ := get(t, e.newClient(), e.srv.URL+"/register.html")
		c := cookieNamed(resp, "session")
		if c == nil || len(c.Value) != 43 {
			t.Fatalf("session cookie %+v, want 43 characters", c)
		}
		b, err := base64.RawURLEncoding.DecodeString(c.Value)
		if err != nil || len(b) != 32 {
			t.Fatalf("session id %q is not 32 bytes of base64url: %v", c.Value, err)
		}
		seen[c.Value] = true
	}
	if len(seen) != 100 {
		t.Fatalf("%d distinct ids in 100 page views", len(seen))
	}
}

// Forged session ids are not logged in: a well-formed 43-character id never issued, a 42- and a 44-character one all answer 4101 at /user; the store keys sessions by SHA-256, not by the id itself.
func TestAttackSessionForgedID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.signUp("13800005500", "correct horse")
	own := e.cookie(e.client, "session")
	for _, id := range []string{account.NewSessionToken(), own[:42], own + "A", strings.ToUpper(own)} {
		if id == own {
			continue
		}
		c := &http.Client{Jar: jarWith(e, "session", id)}
		atkWant(t, e.atkDo(c, "GET", "/api/v1.0/user", "", false, nil), 200, "4101", "")
	}
	now := time.Now()
	if _, err := e.db.Session(t.Context(), []byte(own), now); !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("the raw session id finds a session: %v", err)
	}
	if _, err := e.db.Session(t.Context(), account.SessionIDHash(own), now); err != nil {
		t.Fatalf("the hashed id finds no session: %v", err)
	}
}

// A session outlives neither its absolute lifetime (set to 1 s) nor its idle limit (set to 1 s): 1.2 s after login both answer 4101, where right after login they answered 0.
func TestAttackSessionTimeouts(t *testing.T) {
	for name, set := range map[string]func(*account.Options){
		"absolute": func(o *account.Options) { o.SessionMaxAge = time.Second },
		"idle":     func(o *account.Options) { o.SessionIdleTimeout = time.Second },
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, atkFastHash, func(o *account.Options, _ *web.Options, _ *routes) { set(o) })
			e.signUp("13800005600", "correct horse")
			atkWant(t, e.atkDo(e.client, "GET", "/api/v1.0/user", "", false, nil), 200, "0", "")
			time.Sleep(1200 * time.Millisecond)
			atkWant(t, e.atkDo(e.client, "GET", "/api/v1.0/user", "", false, nil), 200, "4101", "")
		})
	}
}

// A client already logged in that logs in again gets a new id, and the id it sent with that login is dead (4101).
func TestAttackSessionOldIDDeadAfterReLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.signUp("13800005700", "correct horse")
	old := e.cookie(e.client, "session")
	want(t, e.login("13800005700", "correct horse"), "0", "")
	if e.cookie(e.client, "session") == old {
		t.Fatal("login kept the session id")
	}
	c := &http.Client{Jar: jarWith(e, "session", old)}
	atkWant(t, e.atkDo(c, "GET", "/api/v1.0/user", "", false, nil), 200, "4101", "")
}

// A password change ends the sessions of whoever else holds the account: after the victim changes a phished password, the attacker's own login and a copy of the victim's old cookie both answer 4101 at /user, the attacker's change back with the old password answers 4101 and its login with it 4004, while the victim's new id answers 0.
func TestAttackSessionEndedOnPasswordChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.signUp("13800005800", "correct horse")
	attacker := e.newClient()
	e.openPage(attacker)
	atkWant(t, e.atkDo(attacker, "POST", "/api/v1.0/sessions", atkLoginBody("13800005800", "correct horse"), true, nil), 200, "0", "")
	copied := &http.Client{Jar: jarWith(e, "session", e.cookie(e.client, "session"))}
	atkWant(t, e.atkDo(copied, "GET", "/api/v1.0/user", "", false, nil), 200, "0", "") // the copy works before the change

	change := func(old, pw string) string { return `{"old_password":"` + old + `","new_password":"` + pw + `"}` }
	atkWant(t, e.atkDo(e.client, "PUT", "/api/v1.0/user/password", change("correct horse", "battery staple"), true, nil), 200, "0", "")
	atkWant(t, e.atkDo(attacker, "GET", "/api/v1.0/user", "", false, nil), 200, "4101", "用户未登录")
	atkWant(t, e.atkDo(copied, "GET", "/api/v1.0/user", "", false, nil), 200, "4101", "用户未登录")
	atkWant(t, e.atkDo(attacker, "PUT", "/api/v1.0/user/password", change("correct horse", "attacker horse"), true, nil), 200, "4101", "")
	atkWant(t, e.atkDo(attacker, "POST", "/api/v1.0/sessions", atkLoginBody("13800005800", "correct horse"), true, nil), 200, "4004", "")
	atkWant(t, e.atkDo(e.client, "GET", "/api/v1.0/user", "", false, nil), 200, "0", "")
}

// ---- CSRF: making a victim's browser change state ----

// POSTs and the DELETE without X-CSRFToken (login, registration, logout) answer HTTP 400 errno 4201 and change nothing: the logged-in session survives the forged logout.
func TestAttackCSRFMissingToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.signUp("13800006000", "correct horse")
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/api/v1.0/sessions", atkLoginBody("13800006000", "correct horse")},
		{"POST", "/api/v1.0/users", atkRegisterBody("13800006001", "123456", "correct horse")},
		{"DELETE", "/api/v1.0/session", ""},
	} {
		atkWant(t, e.atkDo(e.client, r.method, r.path, r.body, false, nil), 400, "4201", "CSRF")
	}
	atkWant(t, e.atkDo(e.client, "GET", "/api/v1.0/user", "", false, nil), 200, "0", "")
}

// Another client's valid token is refused with HTTP 400 4201 (tokens are bound to the session id).
func TestAttackCSRFOtherClientsToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.signUp("13800006100", "correct horse")
	attacker := e.newClient()
	e.openPage(attacker)
	h := map[string]string{"X-CSRFToken": e.cookie(attacker, "csrf_token")}
	atkWant(t, e.atkDo(e.client, "DELETE", "/api/v1.0/session", "", false, h), 400, "4201", "")
	atkWant(t, e.atkDo(e.client, "GET", "/api/v1.0/user", "", false, nil), 200, "0", "")
}

// A token sent without the session cookie it belongs to (only csrf_token copied) answers HTTP 400 4201.
func TestAttackCSRFTokenWithoutSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	c := &http.Client{Jar: jarWith(e, "csrf_token", e.cookie(e.client, "csrf_token"))}
	atkWant(t, e.atkDo(c, "POST", "/api/v1.0/sessions", atkLoginBody("13800006200", "correct horse"), true, nil), 400, "4201", "")
}

// A request that browsers mark Sec-Fetch-Site: cross-site or same-site is refused with HTTP 403 4201 even with a valid token.
func TestAttackCSRFCrossSiteFetchMetadata(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	for _, site := range []string{"cross-site", "same-site"} {
		r := e.atkDo(e.client, "POST", "/api/v1.0/sessions", atkLoginBody("13800006300", "correct horse"), true, map[string]string{"Sec-Fetch-Site": site})
		atkWant(t, r, 403, "4201", "拒绝跨站请求")
	}
}

// A request with a foreign Origin (no Fetch metadata, as older browsers send) is refused with HTTP 403 4201 even with a valid token.
func TestAttackCSRFForeignOrigin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	r := e.atkDo(e.client, "POST", "/api/v1.0/sessions", atkLoginBody("13800006400", "correct horse"), true, map[string]string{"Origin": "https://evil.example"})
	atkWant(t, r, 403, "4201", "拒绝跨站请求")
}

// The token from before login is dead after login rotates the session id (HTTP 400), and the new token works (logout 0).
func TestAttackCSRFTokenRotatesAtLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.signUp("13800006500", "correct horse")
	want(t, e.do(req{method: "DELETE", path: "/api/v1.0/session"}), "0", "")
	old := e.cookie(e.client, "csrf_token")
	want(t, e.login("13800006500", "correct horse"), "0", "")
	if e.cookie(e.client, "csrf_token") == old {
		t.Fatal("login kept the CSRF token")
	}
	atkWant(t, e.atkDo(e.client, "DELETE", "/api/v1.0/session", "", false, map[string]string{"X-CSRFToken": old}), 400, "4201", "")
	atkWant(t, e.atkDo(e.client, "DELETE", "/api/v1.0/session", "", true, nil), 200, "0", "")
}

// A method-override header does not turn a POST without a token into a GET: HTTP 400 4201.
func TestAttackCSRFMethodOverride(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	h := map[string]string{"X-HTTP-Method-Override": "GET", "X-Method-Override": "GET"}
	atkWant(t, e.atkDo(e.client, "POST", "/api/v1.0/sessions", atkLoginBody("13800006600", "correct horse"), false, h), 400, "4201", "")
}

// ---- Input: malformed, oversized and hostile requests ----

// A body of 16 KiB + 1 byte is refused 4103 "too large" at registration and login, while one of exactly 16 KiB is read (4103 "missing parameters", not "too large").
func TestAttackInputBodyTooLarge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	body := func(n int) string { return `{"mobile":"` + strings.Repeat("1", n-13) + `"}` }
	for _, p := range []string{"/api/v1.0/users", "/api/v1.0/sessions"} {
		atkWant(t, e.atkDo(e.client, "POST", p, body(16<<10+1), true, nil), 200, "4103", "请求数据过大")
		atkWant(t, e.atkDo(e.client, "POST", p, body(16<<10), true, nil), 200, "4103", "参数不完整")
	}
}

// A key named twice (exactly, or differing only in case) is refused 4103 at registration and login.
func TestAttackInputDuplicateKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	for _, b := range []string{
		`{"mobile":"13800007000","mobile":"13800007001","password":"correct horse"}`,
		`{"mobile":"13800007000","MOBILE":"13800007001","password":"correct horse"}`,
		`{"mobile":"13800007000","password":"a","password":"correct horse"}`,
	} {
		atkWant(t, e.atkDo(e.client, "POST", "/api/v1.0/sessions", b, true, nil), 200, "4103", "请求数据格式错误")
	}
	atkWant(t, e.atkDo(e.client, "POST", "/api/v1.0/users",
		`{"mobile":"13800007000","sms_code":"123456","sms_code":"654321","password":"correct horse","password2":"correct horse"}`, true, nil),
		200, "4103", "请求数据格式错误")
}

// An unknown key (admin, user_id, __proto__) is refused 4103.
func TestAttackInputUnknownKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	for _, extra := range []string{`"admin":true`, `"user_id":1`, `"__proto__":{"admin":true}`} {
		b := `{"mobile":"13800007100","password":"correct horse",` + extra + `}`
		atkWant(t, e.atkDo(e.client, "POST", "/api/v1.0/sessions", b, true, nil), 200, "4103", "请求数据格式错误")
	}
}

// A JSON body with a content type other than application/json (empty, text/plain, form, multipart, application/jsonx) is refused 4103; "application/json; charset=utf-8" is accepted (4004 for a wrong password).
func TestAttackInputContentType(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	b := atkLoginBody("13800007200", "correct horse")
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx"} {
		atkWant(t, e.atkDo(e.client, "POST", "/api/v1.0/sessions", b, true, map[string]string{"Content-Type": ct}), 200, "4103", "")
	}
	atkWant(t, e.atkDo(e.client, "POST", "/api/v1.0/sessions", b, true, map[string]string{"Content-Type": "application/json; charset=utf-8"}), 200, "4004", "")
}

// Bodies that are not one JSON object (array, number, string, true, null, empty, two objects, truncated) are refused 4103 at registration and login.
func TestAttackInputNotAnObject(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	for _, b := range []string{`[]`, `[{"mobile":"13800007300","password":"correct horse"}]`, `1`, `"x"`, `true`, `null`, ` `,
		`{"mobile":"13800007300","password":"correct horse"}{}`, `{"mobile":"13800007300"`} {
		for _, p := range []string{"/api/v1.0/users", "/api/v1.0/sessions"} {
			atkWant(t, e.atkDo(e.client, "POST", p, b, true, nil), 200, "4103", "")
		}
	}
}

// Values of the wrong JSON type (a number, an array, a NoSQL-style operator object) are refused 4103.
func TestAttackInputWrongTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	for _, b := range []string{
		`{"mobile":13800007400,"password":"correct horse"}`,
		`{"mobile":"13800007400","password":["correct horse"]}`,
		`{"mobile":{"$ne":null},"password":{"$ne":null}}`,
	} {
		atkWant(t, e.atkDo(e.client, "POST", "/api/v1.0/sessions", b, true, nil), 200, "4103", "请求数据格式错误")
	}
}

// A 5,000-deep nested array inside 16 KiB is refused 4103, not a 500 or a crash.
func TestAttackInputDeepNesting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	b := `{"mobile":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`
	atkWant(t, e.atkDo(e.client, "POST", "/api/v1.0/sessions", b, true, nil), 200, "4103", "请求数据格式错误")
}

// A mobile of 1000 characters is refused 4103 "bad number" (not 500) at send-code, registration and login.
func TestAttackInputLongMobile(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	long := strings.Repeat("1", 1000)
	id := newID()
	e.captcha(id)
	atkWant(t, e.atkDo(e.client, "GET", atkSendPath(long, id, answer), "", true, nil), 200, "4103", "手机号格式错误")
	atkWant(t, e.atkDo(e.client, "POST", "/api/v1.0/users", atkRegisterBody(long, "123456", "correct horse"), true, nil), 200, "4103", "手机号格式错误")
	atkWant(t, e.atkDo(e.client, "POST", "/api/v1.0/sessions", atkLoginBody(long, "correct horse"), true, nil), 200, "4103", "手机号格式错误")
}

// SQL-looking, NUL, CR-LF and script strings in every field get an exact JSON answer, never a 5xx: mobile 4103, sms_code 4103, password 4002 (no code), login password 4004, captcha id 4103, captcha answer 4004; no SMS leaves and the next honest registration is user 1.
func TestAttackInputHostileStrings(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash, func(o *account.Options, _ *web.Options, _ *routes) { o.Login.AccountFree = 1000 })
	e.openPage(e.client)
	const mobile, code, pw = "13800007500", "123456", "correct horse"
	for _, evil := range []string{
		`' OR '1'='1' --`, `1'; DROP TABLE users; --`, `13800007500' --`, "138\x0000007500", "abc\x00defghij",
		"x\r\nSet-Cookie: session=pwned", `<script>alert(1)</script>`, `${jndi:ldap://x}`, `{{.Code}}`,
	} {
		post := func(path, body string) atkResp { return e.atkDo(e.client, "POST", path, body, true, nil) }
		atkWant(t, post("/api/v1.0/users", atkRegisterBody(evil, code, pw)), 200, "4103", "")
		atkWant(t, post("/api/v1.0/users", atkRegisterBody(mobile, evil, pw)), 200, "4103", "")
		atkWant(t, post("/api/v1.0/users", atkRegisterBody(mobile, code, evil+" padding")), 200, "4002", "")
		atkWant(t, post("/api/v1.0/sessions", atkLoginBody(evil, pw)), 200, "4103", "")
		atkWant(t, post("/api/v1.0/sessions", atkLoginBody(mobile, evil)), 200, "4004", "")
		id := newID()
		e.captcha(id)
		r := e.atkDo(e.client, "GET", atkSendPath(evil, id, answer), "", true, nil)
		atkWant(t, r, 200, "4103", "")
		if r.header.Get("Set-Cookie") != "" {
			t.Fatalf("%q set a cookie: %v", evil, r.header)
		}
		atkWant(t, e.atkDo(e.client, "GET", atkSendPath(mobile, evil, answer), "", true, nil), 200, "4103", "")
		atkWant(t, e.atkDo(e.client, "GET", atkSendPath(mobile, id, evil), "", true, nil), 200, "4004", "")
	}
	e.atkSMS("", 0)
	a := e.register(mobile, e.atkCode(mobile), pw)
	want(t, a, "0", "")
	if a.Data["user_id"] != float64(1) {
		t.Fatalf("the first honest user has id %v, want 1: something was stored before", a.Data["user_id"])
	}
}

// Path-traversal captcha ids ("../../etc/passwd" in the query, "..%2F" and "%2e%2e" in the path) are refused 4103.
func TestAttackInputPathTraversalCaptchaID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	atkWant(t, e.atkDo(e.client, "GET", atkSendPath("13800007600", "../../etc/passwd", answer), "", true, nil), 200, "4103", "编号无效")
	for _, p := range []string{"..%2F..%2Fetc%2Fpasswd", "%2e%2e", "..%5Cx"} {
		atkWant(t, e.atkDo(e.client, "GET", "/api/v1.0/image_codes/"+p, "", true, nil), 200, "4103", "编号无效")
	}
}

// A password of 129 characters, or of 7, is refused 4103 "8 to 128"; one of exactly 128 registers (0).
func TestAttackInputPasswordLength(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash, noResendWait)
	e.openPage(e.client)
	code := e.atkCode("13800007700")
	for _, pw := range []string{strings.Repeat("x", 129), strings.Repeat("密", 129), "abcdefg"} {
		want(t, e.register("13800007700", code, pw), "4103", "8到128")
	}
	want(t, e.register("13800007700", code, strings.Repeat("x", 127)+"y"), "0", "注册成功")
}

// Common passwords ("password1", "iloveyou", "qwertyuiop", "12345678", and "PaSsWoRd1" in any case) are refused 4103 "too common", before the code is spent: the code then registers.
func TestAttackInputCommonPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t, atkFastHash)
	e.openPage(e.client)
	code := e.atkCode("13800007800")
	for _, pw := range []string{"password1", "iloveyou", "qwertyuiop", "12345678", "PaSsWoRd1"} {
		want(t, e.register("13800007800", code, pw), "4103", "该密码过于常见")
	}
	want(t, e.register("13800007800", code, "correct horse"), "0", "")
}
