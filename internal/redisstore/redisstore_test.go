package redisstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/account/accounttest"
	"github.com/signupd/signupd/internal/redisstore"
	"github.com/signupd/signupd/internal/testserver"
	"github.com/signupd/signupd/internal/web"
	"github.com/signupd/signupd/internal/web/webtest"
)

func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }

// prefix returns a key prefix no other test uses, so tests sharing a server
// may run in parallel.
func prefix() string { return "test-" + rand.Text()[:16] + ":" }

// open opens a Store on url with a prefix of its own, closed at cleanup.
func open(tb testing.TB, url, prefix string) *redisstore.Store {
	tb.Helper()
	s, err := redisstore.Open(context.Background(), url, redisstore.Options{Prefix: prefix})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

func clusterURL(c *testserver.RedisCluster) string {
	return "redis-cluster://" + strings.Join(c.Addrs, ",")
}

func sentinelURL(s *testserver.RedisSentinel) string {
	return "redis-sentinel://" + strings.Join(s.Addrs, ",") + "/" + s.Master
}

func TestContract(t *testing.T) {
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		url := testserver.SharedRedis(t).URL()
		accounttest.TestKVStore(t, func(t *testing.T) accounttest.KVStore { return open(t, url, prefix()) })
		accounttest.TestSendStarter(t, func(t *testing.T) accounttest.SendStore { return open(t, url, prefix()) })
		webtest.TestReplays(t, func(t *testing.T) web.Replays { return open(t, url, prefix()) })
	})
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		url := clusterURL(testserver.SharedRedisCluster(t))
		accounttest.TestKVStore(t, func(t *testing.T) accounttest.KVStore { return open(t, url, prefix()) })
		accounttest.TestSendStarter(t, func(t *testing.T) accounttest.SendStore { return open(t, url, prefix()) })
		webtest.TestReplays(t, func(t *testing.T) web.Replays { return open(t, url, prefix()) })
	})
	t.Run("sentinel", func(t *testing.T) {
		t.Parallel()
		url := sentinelURL(testserver.SharedRedisSentinel(t))
		accounttest.TestKVStore(t, func(t *testing.T) accounttest.KVStore { return open(t, url, prefix()) })
		accounttest.TestSendStarter(t, func(t *testing.T) accounttest.SendStore { return open(t, url, prefix()) })
		webtest.TestReplays(t, func(t *testing.T) web.Replays { return open(t, url, prefix()) })
	})
}

// TestKeys pins the key layout and checks that expiries are set on the
// server, where every instance sees the same clock.
func TestKeys(t *testing.T) {
	t.Parallel()
	srv := testserver.SharedRedis(t)
	p := prefix()
	s := open(t, srv.URL(), p)
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { raw.Close() })
	ctx := t.Context()

	if err := s.PutCaptcha(ctx, "id-1", "ABCD", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartCode(ctx, "register:+8613812345678", []byte("h"), 2*time.Second, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeAttempt(ctx, "login:+8613812345678", account.Backoff{Free: 1}, 4*time.Second); err != nil {
		t.Fatal(err)
	}
	for key, ttl := range map[string]time.Duration{
		p + "signup:captcha:{id-1}":                 3 * time.Second,
		p + "signup:code:{register:+8613812345678}": 5 * time.Second, // the longer of ttl and interval
		p + "signup:fail:{login:+8613812345678}":    4 * time.Second,
	} {
		got, err := raw.PTTL(ctx, key).Result()
		if err != nil || got <= ttl-time.Second || got > ttl {
			t.Errorf("PTTL %s = %v, %v; want about %v", key, got, err, ttl)
		}
	}
	f, _ := raw.HGetAll(ctx, p+"signup:code:{register:+8613812345678}").Result()
	for _, field := range []string{"hash", "attempts", "void", "code_expires", "resend_at"} {
		if _, ok := f[field]; !ok {
			t.Errorf("code hash lacks field %q: %v", field, f)
		}
	}
}

func TestBadTTL(t *testing.T) {
	t.Parallel()
	s := open(t, testserver.SharedRedis(t).URL(), prefix())
	if err := s.PutCaptcha(t.Context(), "x", "ABCD", 0); err == nil {
		t.Error("PutCaptcha with ttl 0 succeeded")
	}
	if _, err := s.StartCode(t.Context(), "x", []byte("h"), -time.Second, 0); err == nil {
		t.Error("StartCode with a negative ttl succeeded")
	}
	if _, err := s.TakeAttempt(t.Context(), "x", account.Backoff{Free: 1}, 0); err == nil {
		t.Error("TakeAttempt with ttl 0 succeeded")
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	for _, url := range []string{
		"",
		"localhost:6379",
		"http://user:s3cret@localhost:6379",
		"redis://user:s3cret@localhost:6379/x",
		"redis://user:s3cret@h1:6379,h2:6379",
		"redis-cluster://user:s3cret@h1:6379/2",
		"redis-sentinel://user:s3cret@h1:26379",
		"redis://user:s3cret@localhost:6379?dial_timeout=3",
	} {
		_, err := redisstore.Open(ctx, url, redisstore.Options{})
		if err == nil {
			t.Errorf("Open(%q) succeeded", url)
			continue
		}
		if !strings.HasPrefix(err.Error(), "redisstore: open: ") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) error = %q; want a redisstore: open: prefix and no password", url, err)
		}
	}
	if _, err := redisstore.Open(ctx, testserver.SharedRedis(t).URL(), redisstore.Options{Prefix: "a{b}:"}); err == nil {
		t.Error("Open accepted a prefix with a hash tag")
	}
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	r := testserver.NewRedis(t)
	r.Stop(t) // its port is now closed
	url := strings.Replace(r.URL(), "redis://", "redis://user:s3cret@", 1)
	begin := time.Now()
	_, err := redisstore.Open(t.Context(), url, redisstore.Options{})
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), r.Addr) {
		t.Errorf("Open on a dead server: %v; want an error naming the address, not the password", err)
	}
	if d := time.Since(begin); d > 1500*time.Millisecond {
		t.Errorf("Open on a dead server took %v", d)
	}
}

// TestOpenHung opens a "Redis" that accepts connections and never answers,
// as a stopped (SIGSTOP) or overloaded server would: the read timeout, not
// the caller's patience, must end the wait.
func TestOpenHung(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	begin := time.Now()
	_, err = redisstore.Open(t.Context(), "redis://"+l.Addr().String(), redisstore.Options{})
	d := time.Since(begin)
	t.Logf("Open on a hung server: %v after %v", err, d.Round(time.Millisecond))
	if err == nil {
		t.Fatal("Open on a server that never answers succeeded")
	}
	if d > 1500*time.Millisecond {
		t.Errorf("Open on a hung server took %v; want under 1.5s", d)
	}
}

// methods calls every method of s once, each in its own fresh state.
func methods(s *redisstore.Store) map[string]func(ctx context.Context) error {
	return map[string]func(ctx context.Context) error{
		"Ping":       s.Ping,
		"PutCaptcha": func(ctx context.Context) error { return s.PutCaptcha(ctx, "c", "ABCD", time.Minute) },
		"TakeCaptcha": func(ctx context.Context) error {
			_, err := s.TakeCaptcha(ctx, "c")
			return err
		},
		"StartCode": func(ctx context.Context) error {
			_, err := s.StartCode(ctx, "k", []byte("h"), time.Minute, 0)
			return err
		},
		"CheckCode": func(ctx context.Context) error {
			_, err := s.CheckCode(ctx, "k", []byte("h"), 5)
			return err
		},
		"CancelCode": func(ctx context.Context) error { return s.CancelCode(ctx, "k") },
		"TakeAttempt": func(ctx context.Context) error {
			_, err := s.TakeAttempt(ctx, "f", account.Backoff{Free: 5}, time.Minute)
			return err
		},
		"ForgiveAttempt": func(ctx context.Context) error { return s.ForgiveAttempt(ctx, "f") },
		"Failures": func(ctx context.Context) error {
			_, err := s.Failures(ctx, "f")
			return err
		},
		"ClearFailures": func(ctx context.Context) error { return s.ClearFailures(ctx, "f") },
		"Take": func(ctx context.Context) error {
			_, err := s.Take(ctx, "q", "e", []account.Window{{Limit: 5, Period: time.Minute}})
			return err
		},
		"Refund": func(ctx context.Context) error { return s.Refund(ctx, "q", "e") },
	}
}

// order runs the methods so that each one's precondition holds when Redis is up.
var order = []string{"Ping", "PutCaptcha", "TakeCaptcha", "StartCode", "CheckCode",
	"CancelCode", "TakeAttempt", "Failures", "ForgiveAttempt", "ClearFailures", "Take", "Refund"}

// TestRedisDownAndBack stops a Redis under a live Store: every method must
// fail fast rather than hang a request, and once Redis is back the same
// Store must work again without being reopened.
func TestRedisDownAndBack(t *testing.T) {
	t.Parallel()
	r := testserver.NewRedis(t)
	s := open(t, r.URL(), prefix())
	calls := methods(s)
	for _, name := range order {
		if err := calls[name](t.Context()); err != nil {
			t.Fatalf("%s before the stop: %v", name, err)
		}
	}

	r.Stop(t)
	for _, name := range order {
		begin := time.Now()
		err := calls[name](t.Context())
		d := time.Since(begin)
		t.Logf("%s with Redis down: %v after %v", name, err, d.Round(time.Millisecond))
		if err == nil || !strings.HasPrefix(err.Error(), "redisstore: ") {
			t.Errorf("%s with Redis down = %v; want a redisstore error", name, err)
		}
		if d > 1500*time.Millisecond {
			t.Errorf("%s with Redis down took %v; want under 1.5s", name, d)
		}
	}

	// Production traffic keeps failing while Redis is down, which puts the
	// pool into its fail-fast state; coming back must still work from there.
	for range 50 {
		if s.Ping(t.Context()) == nil {
			t.Fatal("Ping succeeded with Redis down")
		}
	}

	r.Start(t)
	back := time.Now()
	for s.Ping(t.Context()) != nil {
		if time.Since(back) > 10*time.Second {
			t.Fatal("the Store did not reconnect within 10s of Redis starting again")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("reconnected %v after Redis started again", time.Since(back).Round(time.Millisecond))
	for _, name := range order {
		if err := calls[name](t.Context()); err != nil {
			t.Errorf("%s after Redis came back: %v", name, err)
		}
	}
}

// TestSentinelFailover fails a Sentinel deployment over under a live Store:
// within a few seconds the same Store, not reopened, starts and checks codes
// on the new master, where a code started before the failover still is.
func TestSentinelFailover(t *testing.T) {
	t.Parallel()
	d := testserver.NewRedisSentinel(t)
	p := prefix()
	s := open(t, sentinelURL(d), p)
	ctx := t.Context()
	const before = "register:+8613812345678"
	if wait, err := s.StartCode(ctx, before, []byte("before"), time.Minute, 0); err != nil || wait != 0 {
		t.Fatalf("StartCode before the failover = %v, %v", wait, err)
	}
	sentinel := redis.NewSentinelClient(&redis.Options{Addr: d.Addrs[0]})
	t.Cleanup(func() { sentinel.Close() })
	masterAddr := func() string {
		a, err := sentinel.GetMasterAddrByName(ctx, d.Master).Result()
		if err != nil || len(a) != 2 {
			t.Fatalf("GET-MASTER-ADDR-BY-NAME = %v, %v", a, err)
		}
		return net.JoinHostPort(a[0], a[1])
	}
	old := masterAddr()

	d.Failover(t)
	master := masterAddr()
	if master == old {
		t.Fatalf("master still %s after the failover", old)
	}
	raw := redis.NewClient(&redis.Options{Addr: master})
	t.Cleanup(func() { raw.Close() })

	// Until the Store hears of the switch, a pooled connection may still
	// reach the old master, which takes writes until the sentinels make it
	// a replica: a round counts only once its key is on the new master.
	begin := time.Now()
	for round := 0; ; round++ {
		err := startAndCheck(ctx, s, fmt.Sprint("register:+86139", round))
		if err == nil {
			n, rawErr := raw.Exists(ctx, p+"signup:code:{"+fmt.Sprint("register:+86139", round)+"}").Result()
			if rawErr != nil || n != 1 {
				err = fmt.Errorf("the code is not on the new master %s: %d, %v", master, n, rawErr)
			}
		}
		if err == nil {
			break
		}
		t.Logf("round %d, %v after the failover: %v", round, time.Since(begin).Round(time.Millisecond), err)
		if time.Since(begin) > 5*time.Second {
			t.Fatal("the Store did not work on the new master within 5s of the failover")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the Store worked on the new master %v after the failover", time.Since(begin).Round(time.Millisecond))
	if got, err := s.CheckCode(ctx, before, []byte("before"), 5); err != nil || got != account.CodeMatched {
		t.Errorf("CheckCode on the code started before the failover = %v, %v; want a match", got, err)
	}
}

// startAndCheck starts a code on key and checks it.
func startAndCheck(ctx context.Context, s *redisstore.Store, key string) error {
	if wait, err := s.StartCode(ctx, key, []byte("right"), time.Minute, 0); err != nil || wait != 0 {
		return fmt.Errorf("StartCode = %v, %v", wait, err)
	}
	if got, err := s.CheckCode(ctx, key, []byte("right"), 5); err != nil || got != account.CodeMatched {
		return fmt.Errorf("CheckCode = %v, %v; want a match", got, err)
	}
	return nil
}

// TestStartAcrossInstances has three Stores, three clients like three
// signupd instances, start one key's code at once: exactly one start wins.
func TestStartAcrossInstances(t *testing.T) {
	t.Parallel()
	url, p := testserver.SharedRedis(t).URL(), prefix()
	stores := []*redisstore.Store{open(t, url, p), open(t, url, p), open(t, url, p)}
	var (
		wg      sync.WaitGroup
		starts  atomic.Int32
		errs    = make(chan error, 90)
		release = make(chan struct{})
	)
	for i := range 90 {
		wg.Go(func() {
			<-release
			wait, err := stores[i%3].StartCode(t.Context(), "register:+8613812345678",
				[]byte(fmt.Sprint(i)), time.Minute, time.Minute)
			if err != nil {
				errs <- err
			} else if wait == 0 {
				starts.Add(1)
			}
		})
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := starts.Load(); n != 1 {
		t.Fatalf("%d starts succeeded across 3 instances, want exactly 1", n)
	}
	// Every instance sees the same window.
	for i, s := range stores {
		wait, err := s.StartCode(t.Context(), "register:+8613812345678", []byte("x"), time.Minute, time.Minute)
		if err != nil || wait <= 0 || wait > time.Minute {
			t.Errorf("instance %d: start = %v, %v; want a wait within a minute", i, wait, err)
		}
	}
}

func TestNotFoundIsWrapped(t *testing.T) {
	t.Parallel()
	s := open(t, testserver.SharedRedis(t).URL(), prefix())
	_, err := s.TakeCaptcha(t.Context(), "none")
	if !errors.Is(err, account.ErrNotFound) || !strings.HasPrefix(err.Error(), "redisstore: take captcha: ") {
		t.Errorf("TakeCaptcha on nothing = %v", err)
	}
	_, err = s.Failures(t.Context(), "none")
	if !errors.Is(err, account.ErrNotFound) || !strings.HasPrefix(err.Error(), "redisstore: failures: ") {
		t.Errorf("Failures on nothing = %v", err)
	}
}

func BenchmarkKVStore(b *testing.B) {
	url := testserver.SharedRedis(b).URL()
	accounttest.BenchmarkKVStore(b, func(b *testing.B) accounttest.KVStore { return open(b, url, prefix()) })
}

// BenchmarkSendStarter compares a send's store work in one script with the
// same work in steps, one round trip each.
func BenchmarkSendStarter(b *testing.B) {
	url := testserver.SharedRedis(b).URL()
	b.Run("script", func(b *testing.B) {
		accounttest.BenchmarkSendStarter(b, func(b *testing.B) account.SendStarter { return open(b, url, prefix()) })
	})
	b.Run("steps", func(b *testing.B) {
		accounttest.BenchmarkSendStarter(b, func(b *testing.B) account.SendStarter {
			s := open(b, url, prefix())
			return account.SendSteps{Quotas: s, Budgets: s, Codes: s, Events: s}
		})
	})
}

// TestOpenDialsAhead checks that a Store keeps connections open before
// any request needs them, so that a new instance's first requests do not
// wait for dials.
func TestOpenDialsAhead(t *testing.T) {
	t.Parallel()
	srv := testserver.NewRedis(t)
	open(t, srv.URL(), prefix())
	observer := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { observer.Close() })

	// go-redis dials them in the background once the client exists.
	want := 8 + 1 // and the observer
	var clients int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		list, err := observer.ClientList(t.Context()).Result()
		if err != nil {
			t.Fatal(err)
		}
		if clients = strings.Count(list, "\n"); clients >= want {
			return
		}
	}
	t.Errorf("the server has %d clients, want at least %d", clients, want)
}
