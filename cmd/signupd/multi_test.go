package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/testserver"
)

// cluster is three signupd processes on one Redis and one PostgreSQL, as
// behind a load balancer.
type cluster struct {
	t         *testing.T
	instances []*instance
}

func startCluster(t *testing.T, redisURL string) *cluster {
	env := map[string]string{
		// Three race-instrumented processes saturate two cores; this test is
		// about atomicity, so it must not fail on a slow answer.
		"SIGNUP_REDIS_TIMEOUT": "5s",
		"SIGNUP_REDIS_URL":     redisURL,
		"SIGNUP_DATABASE_URL":  testserver.SharedPostgres(t).Database(t),
	}
	c := &cluster{t: t}
	for range 3 {
		c.instances = append(c.instances, startProcess(t, env))
	}
	return c
}

// peer is one browser talking to one instance; its methods are safe to call
// from any goroutine and report failures as errno "transport: ...".
type peer struct {
	base string
	http *http.Client
}

func newPeer(base string) *peer {
	jar, _ := cookiejar.New(nil)
	return &peer{base: base, http: &http.Client{Jar: jar}}
}

func (c *cluster) peer(i int) *peer { return newPeer(c.instances[i%len(c.instances)].URL) }

// get fetches a page or a captcha and fails unless it got one.
func (p *peer) get(path string) error {
	resp, err := p.http.Get(p.base + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	ct := resp.Header.Get("Content-Type")
	if resp.StatusCode != 200 || !(ct == "image/png" || strings.HasPrefix(ct, "text/html")) {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %d %s %s", path, resp.StatusCode, ct, b)
	}
	return nil
}

func (p *peer) call(method, path string, body any) string {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, p.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	u, _ := url.Parse(p.base)
	for _, ck := range p.http.Jar.Cookies(u) {
		if ck.Name == "csrf_token" {
			req.Header.Set("X-CSRFToken", ck.Value)
		}
	}
	resp, err := p.http.Do(req)
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

func (p *peer) sendCode(mobile, captchaID string) string {
	return p.call("GET", "/api/v1.0/sms_codes/"+mobile+"?image_code="+testAnswer+"&image_code_id="+captchaID, nil)
}

func (p *peer) register(mobile, code string) string {
	return p.call("POST", "/api/v1.0/users", map[string]string{
		"mobile": mobile, "sms_code": code, "password": "correct horse", "password2": "correct horse"})
}

// concurrently runs fn(i) for i in [0, n) at once and counts the errnos.
func concurrently(n int, fn func(i int) string) map[string]int {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[string]int{}
		start  = make(chan struct{})
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errno := fn(i)
			mu.Lock()
			counts[errno]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return counts
}

// code sends a code to mobile through instance 0 and returns it.
func (c *cluster) code(mobile, e164 string) string {
	p := c.peer(0)
	id := "code-" + mobile
	if err := p.get("/api/v1.0/image_codes/" + id); err != nil {
		c.t.Fatal(err)
	}
	if errno := p.sendCode(mobile, id); errno != "0" {
		c.t.Fatalf("send code: %s", errno)
	}
	// Any instance's worker may deliver it.
	re := regexp.MustCompile(`SMS to ` + regexp.QuoteMeta(e164) + `\b.*?(\d{6})`)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, in := range c.instances {
			if m := re.FindStringSubmatch(in.stdout.String()); m != nil {
				return m[1]
			}
		}
	}
	c.t.Fatalf("no instance delivered a code to %s", e164)
	return ""
}

func (c *cluster) smsCount(e164 string) int {
	n := 0
	for _, in := range c.instances {
		n += strings.Count(in.stdout.String(), "SMS to "+e164+" ")
	}
	return n
}

func TestAcrossInstances(t *testing.T) {
	t.Run("Redis", func(t *testing.T) { testAcrossInstances(t, testserver.NewRedis(t).URL()) })
	t.Run("Redis Cluster", func(t *testing.T) {
		testAcrossInstances(t, "redis-cluster://"+strings.Join(testserver.SharedRedisCluster(t).Addrs, ","))
	})
}

func testAcrossInstances(t *testing.T, redisURL string) {
	c := startCluster(t, redisURL)

	t.Run("200 registrations with one code make one user", func(t *testing.T) {
		code := c.code("13800000001", "+8613800000001")
		peers := make([]*peer, 200)
		for i := range peers {
			peers[i] = c.peer(i)
			if err := peers[i].get("/register.html"); err != nil {
				t.Fatal(err)
			}
		}
		counts := concurrently(200, func(i int) string { return peers[i].register("13800000001", code) })
		if counts["0"] != 1 {
			t.Fatalf("answers %v, want exactly one success", counts)
		}
	})

	t.Run("100 sends for one number make one SMS", func(t *testing.T) {
		peers := make([]*peer, 100)
		for i := range peers {
			peers[i] = c.peer(i)
			if err := peers[i].get(fmt.Sprintf("/api/v1.0/image_codes/send-%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		counts := concurrently(100, func(i int) string { return peers[i].sendCode("13800000002", fmt.Sprintf("send-%d", i)) })
		if counts["0"] != 1 || counts["4201"] != 99 {
			t.Fatalf("answers %v, want one success and 99 waits\n%s", counts, c.failures())
		}
		if n := c.smsCount("+8613800000002"); n != 1 {
			t.Fatalf("%d SMS sent, want 1", n)
		}
	})

	t.Run("one captcha is accepted once", func(t *testing.T) {
		if err := c.peer(0).get("/api/v1.0/image_codes/shared-captcha"); err != nil {
			t.Fatal(err)
		}
		counts := concurrently(30, func(i int) string {
			return c.peer(i).sendCode(fmt.Sprintf("139000001%02d", i), "shared-captcha")
		})
		if counts["0"] != 1 || counts["4002"] != 29 {
			t.Fatalf("answers %v, want one success and 29 expired", counts)
		}
	})

	t.Run("wrong guesses void the code after the fifth", func(t *testing.T) {
		code := c.code("13800000003", "+8613800000003")
		peers := make([]*peer, 21)
		for i := range peers {
			peers[i] = c.peer(i)
			peers[i].get("/register.html")
		}
		counts := concurrently(20, func(i int) string {
			guess := fmt.Sprintf("%06d", i)
			if guess == code {
				guess = "999999"
			}
			return peers[i].register("13800000003", guess)
		})
		if counts["4004"] != 5 || counts["4201"] != 15 {
			t.Fatalf("answers %v, want 5 wrong and 15 void", counts)
		}
		if errno := peers[20].register("13800000003", code); errno != "4201" {
			t.Fatalf("the right code after 5 wrong: %s, want 4201 (void)", errno)
		}
	})
}

// failures returns the instances' logged request failures, for a report.
func (c *cluster) failures() string {
	var b strings.Builder
	for i, in := range c.instances {
		for _, line := range strings.Split(in.stderr.String(), "\n") {
			if strings.Contains(line, "request failed") {
				fmt.Fprintf(&b, "instance %d: %s\n", i, line)
			}
		}
	}
	return b.String()
}
