package main

// The attack suite's multi-instance group (issue 5): three signupd processes
// on one Redis and one PostgreSQL, attacked through all three at once. Each
// subtest is one attack with its pass criterion in the comment above it.
// Helpers are prefixed atk so they cannot clash with the package's other
// test files.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/testserver"
)

// atkStartCluster starts three signupd processes on a Redis of their own and
// a fresh PostgreSQL database, behind a trusted proxy on loopback (so
// X-Forwarded-For picks each request's client), with env added.
func atkStartCluster(t *testing.T, env map[string]string) *cluster {
	t.Helper()
	vars := map[string]string{
		// Three race-instrumented processes saturate two cores; these tests
		// are about atomicity, so they must not fail on a slow answer.
		"SIGNUP_REDIS_TIMEOUT":   "5s",
		"SIGNUP_REDIS_URL":       testserver.NewRedis(t).URL(),
		"SIGNUP_DATABASE_URL":    testserver.SharedPostgres(t).Database(t),
		"SIGNUP_TRUSTED_PROXIES": "127.0.0.0/8",
	}
	for k, v := range env {
		vars[k] = v
	}
	c := &cluster{t: t}
	for range 3 {
		c.instances = append(c.instances, startProcess(t, vars))
	}
	return c
}

func atkJar() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

// atkCall sends one request to base as the original front end does (JSON
// body, the csrf_token cookie echoed), as a client at xff ("" for the
// loopback peer itself), and returns the errno or "transport: ...". It is
// safe on any goroutine.
func atkCall(c *http.Client, base, method, path string, body any, xff string) string {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return "transport: " + err.Error()
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "csrf_token" {
			req.Header.Set("X-CSRFToken", ck.Value)
		}
	}
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := c.Do(req)
	if err != nil {
		return "transport: " + err.Error()
	}
	defer resp.Body.Close()
	var a struct{ Errno string }
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return fmt.Sprintf("transport: HTTP %d: %v", resp.StatusCode, err)
	}
	return a.Errno
}

// atkGet fetches a page or a captcha; it fails unless it got one. Safe on any goroutine.
func atkGet(c *http.Client, base, path string) error {
	resp, err := c.Get(base + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !(ct == "image/png" || strings.HasPrefix(ct, "text/html")) {
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, ct)
	}
	return nil
}

func atkSendPath(mobile, captchaID string) string {
	return "/api/v1.0/sms_codes/" + mobile + "?image_code=" + testAnswer + "&image_code_id=" + captchaID
}

// atkCaptchas draws one captcha per id, spread over the instances.
func atkCaptchas(t *testing.T, c *cluster, ids []string) {
	t.Helper()
	for i, id := range ids {
		if err := atkGet(atkJar(), c.instances[i%3].URL, "/api/v1.0/image_codes/"+id); err != nil {
			t.Fatal(err)
		}
	}
}

// atkSettle waits until want SMS went to e164, then a while longer to see
// that no more come, and fails unless exactly want went.
func atkSettle(t *testing.T, c *cluster, e164 string, want int) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); c.smsCount(e164) < want && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second) // workers poll the outbox; give a duplicate time to show
	if n := c.smsCount(e164); n != want {
		t.Fatalf("%d SMS to %s, want exactly %d", n, e164, want)
	}
}

// atkCode sends a code to mobile through instance i as a client at xff and
// returns it, from whichever instance's worker delivered it.
func atkCode(t *testing.T, c *cluster, i int, mobile, e164, xff string) string {
	t.Helper()
	id := "code-" + mobile + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	base := c.instances[i%3].URL
	if err := atkGet(atkJar(), base, "/api/v1.0/image_codes/"+id); err != nil {
		t.Fatal(err)
	}
	if errno := atkCall(atkJar(), base, "GET", atkSendPath(mobile, id), nil, xff); errno != "0" {
		t.Fatalf("send code: %s", errno)
	}
	re := regexp.MustCompile(`SMS to ` + regexp.QuoteMeta(e164) + `\b.*?(\d{6})`)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, in := range c.instances {
			if m := re.FindStringSubmatch(in.stdout.String()); m != nil {
				return m[1]
			}
		}
	}
	t.Fatalf("no SMS code for %s", e164)
	return ""
}

func atkRegisterBody(mobile, code string) map[string]string {
	return map[string]string{"mobile": mobile, "sms_code": code, "password": "correct horse", "password2": "correct horse"}
}

// TestAttackInstances attacks three processes at once, each subtest with
// its own numbers and client networks. The network limit is set to 12.
func TestAttackInstances(t *testing.T) {
	c := atkStartCluster(t, map[string]string{"SIGNUP_LIMIT_NETWORK_PER_DAY": "12"})

	// 100 concurrent sends for one number from 20 IPs (each its own /24) over 3 instances: exactly 1 answers 0, 99 answer 4201, and exactly 1 SMS leaves.
	t.Run("one number from 20 IPs", func(t *testing.T) {
		ids := make([]string, 100)
		for i := range ids {
			ids[i] = fmt.Sprintf("pump-%d", i)
		}
		atkCaptchas(t, c, ids)
		counts := concurrently(100, func(i int) string {
			return atkCall(atkJar(), c.instances[i%3].URL, "GET", atkSendPath("13800010000", ids[i]), nil, fmt.Sprintf("10.1.%d.1", i%20))
		})
		if counts["0"] != 1 || counts["4201"] != 99 {
			t.Fatalf("answers %v, want 1 success and 99 REQERR\n%s", counts, c.failures())
		}
		atkSettle(t, c, "+8613800010000", 1)
	})

	// One captcha used 30 times at once, 10 times on each instance, for 30 numbers: exactly 1 answers 0 and 29 answer 4002.
	t.Run("one captcha on all instances", func(t *testing.T) {
		atkCaptchas(t, c, []string{"shared-attack"})
		counts := concurrently(30, func(i int) string {
			return atkCall(atkJar(), c.instances[i%3].URL, "GET", atkSendPath(fmt.Sprintf("138000101%02d", i), "shared-attack"), nil, "10.2.0.1")
		})
		if counts["0"] != 1 || counts["4002"] != 29 {
			t.Fatalf("answers %v, want 1 success and 29 expired", counts)
		}
	})

	// 15 concurrent sends for 15 numbers from one client IP, 5 through each instance: exactly 10 answer 0 (per-IP hour limit 10) and 5 answer 4202.
	t.Run("per-IP limit across instances", func(t *testing.T) {
		ids := make([]string, 15)
		for i := range ids {
			ids[i] = fmt.Sprintf("ip-%d", i)
		}
		atkCaptchas(t, c, ids)
		counts := concurrently(15, func(i int) string {
			return atkCall(atkJar(), c.instances[i%3].URL, "GET", atkSendPath(fmt.Sprintf("138000102%02d", i), ids[i]), nil, "10.3.0.1")
		})
		if counts["0"] != 10 || counts["4202"] != 5 {
			t.Fatalf("answers %v, want 10 successes and 5 IPERR\n%s", counts, c.failures())
		}
	})

	// 15 clients of one /24 send concurrently, one each, over 3 instances: exactly 12 answer 0 (network limit set to 12) and 3 answer 4202.
	t.Run("per-network limit across instances", func(t *testing.T) {
		ids := make([]string, 15)
		for i := range ids {
			ids[i] = fmt.Sprintf("net-%d", i)
		}
		atkCaptchas(t, c, ids)
		counts := concurrently(15, func(i int) string {
			return atkCall(atkJar(), c.instances[i%3].URL, "GET", atkSendPath(fmt.Sprintf("138000103%02d", i), ids[i]), nil, fmt.Sprintf("10.4.0.%d", i+1))
		})
		if counts["0"] != 12 || counts["4202"] != 3 {
			t.Fatalf("answers %v, want 12 successes and 3 IPERR\n%s", counts, c.failures())
		}
	})

	// 5 wrong codes, one after another on instances 0, 1, 2, 0, 1, answer 4004 and void the code: the right code on instance 2 answers 4201.
	t.Run("wrong codes spread over instances void the code", func(t *testing.T) {
		code := atkCode(t, c, 0, "13800010400", "+8613800010400", "10.5.0.1")
		wrong := "000000"
		if code == wrong {
			wrong = "000001"
		}
		client := atkJar()
		for i := range 3 {
			if err := atkGet(client, c.instances[i].URL, "/register.html"); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 5 {
			if errno := atkCall(client, c.instances[i%3].URL, "POST", "/api/v1.0/users", atkRegisterBody("13800010400", wrong), "10.5.0.2"); errno != "4004" {
				t.Fatalf("wrong guess %d on instance %d: %s, want 4004", i+1, i%3, errno)
			}
		}
		if errno := atkCall(client, c.instances[2].URL, "POST", "/api/v1.0/users", atkRegisterBody("13800010400", code), "10.5.0.2"); errno != "4201" {
			t.Fatalf("the right code after 5 wrong: %s, want 4201", errno)
		}
	})

	// 5 wrong passwords for one account, spread over 3 instances, make the right password wait (4201) on every instance.
	t.Run("login throttle across instances", func(t *testing.T) {
		owner := atkJar()
		if err := atkGet(owner, c.instances[0].URL, "/register.html"); err != nil {
			t.Fatal(err)
		}
		code := atkCode(t, c, 0, "13800010500", "+8613800010500", "10.6.0.1")
		if errno := atkCall(owner, c.instances[0].URL, "POST", "/api/v1.0/users", atkRegisterBody("13800010500", code), "10.6.0.1"); errno != "0" {
			t.Fatalf("register: %s", errno)
		}
		attacker := atkJar()
		if err := atkGet(attacker, c.instances[0].URL, "/login.html"); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			body := map[string]string{"mobile": "13800010500", "password": "wrong horse"}
			if errno := atkCall(attacker, c.instances[i%3].URL, "POST", "/api/v1.0/sessions", body, fmt.Sprintf("10.6.%d.2", i)); errno != "4004" {
				t.Fatalf("wrong password %d: %s, want 4004", i+1, errno)
			}
		}
		for i := range 3 {
			body := map[string]string{"mobile": "13800010500", "password": "correct horse"}
			if errno := atkCall(attacker, c.instances[i].URL, "POST", "/api/v1.0/sessions", body, "10.6.9.9"); errno != "4201" {
				t.Fatalf("right password on instance %d after 5 failures: %s, want 4201", i, errno)
			}
		}
	})

	// A session cookie copied from a client works on every instance, and after the client logs out on instance 1 the copy answers 4101 on all three.
	t.Run("logout on one instance ends the session on all", func(t *testing.T) {
		victim := atkJar()
		if err := atkGet(victim, c.instances[0].URL, "/register.html"); err != nil {
			t.Fatal(err)
		}
		code := atkCode(t, c, 0, "13800010600", "+8613800010600", "10.7.0.1")
		if errno := atkCall(victim, c.instances[0].URL, "POST", "/api/v1.0/users", atkRegisterBody("13800010600", code), "10.7.0.1"); errno != "0" {
			t.Fatalf("register: %s", errno)
		}
		thief := atkJar()
		u, _ := url.Parse(c.instances[0].URL)
		for _, ck := range victim.Jar.Cookies(u) {
			if ck.Name == "session" {
				thief.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: ck.Value, Path: "/"}})
			}
		}
		for i := range 3 {
			if errno := atkCall(thief, c.instances[i].URL, "GET", "/api/v1.0/user", nil, ""); errno != "0" {
				t.Fatalf("copied cookie on instance %d before logout: %s, want 0", i, errno)
			}
		}
		if errno := atkCall(victim, c.instances[1].URL, "DELETE", "/api/v1.0/session", nil, ""); errno != "0" {
			t.Fatalf("logout: %s", errno)
		}
		for i := range 3 {
			if errno := atkCall(thief, c.instances[i].URL, "GET", "/api/v1.0/user", nil, ""); errno != "4101" {
				t.Fatalf("copied cookie on instance %d after logout: %s, want 4101", i, errno)
			}
		}
	})
}

// 12 concurrent sends for 12 numbers from 12 networks, 4 through each instance, with the service ceiling set to 4 per minute: exactly 4 answer 0 and 8 answer 4201, and the instances' send_global counters add up to 8.
func TestAttackInstancesGlobalCeiling(t *testing.T) {
	c := atkStartCluster(t, map[string]string{"SIGNUP_SMS_MAX_PER_MINUTE": "4"})
	ids := make([]string, 12)
	for i := range ids {
		ids[i] = fmt.Sprintf("ceiling-%d", i)
	}
	atkCaptchas(t, c, ids)
	counts := concurrently(12, func(i int) string {
		return atkCall(atkJar(), c.instances[i%3].URL, "GET", atkSendPath(fmt.Sprintf("138000110%02d", i), ids[i]), nil, fmt.Sprintf("10.%d.0.1", 20+i))
	})
	if counts["0"] != 4 || counts["4201"] != 8 {
		t.Fatalf("answers %v, want 4 successes and 8 REQERR\n%s", counts, c.failures())
	}
	hits := 0
	for _, in := range c.instances {
		hits += metric(t, in.URL, "signup_limits_hit_total", `kind="send_global"`)
	}
	if hits != 8 {
		t.Fatalf("send_global counted %d times over the instances, want 8", hits)
	}
}
