package accounttest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
)

// KVStore is what the short-lived side of the flow needs: captchas, codes,
// failure counters and quotas.
type KVStore interface {
	account.CaptchaStore
	account.CodeStore
	account.FailureStore
	account.QuotaStore
	account.BudgetStore
	account.EventCounter
}

// TestKVStore runs the contracts of all four stores on KVStores: those of
// TestCaptchaStore, TestCodeStore, TestFailureStore and TestQuotaStore.
func TestKVStore(t *testing.T, open func(t *testing.T) KVStore) {
	TestCaptchaStore(t, func(t *testing.T) account.CaptchaStore { return open(t) })
	TestCodeStore(t, func(t *testing.T) account.CodeStore { return open(t) })
	TestFailureStore(t, func(t *testing.T) account.FailureStore { return open(t) })
	TestQuotaStore(t, func(t *testing.T) account.QuotaStore { return open(t) })
	TestBudgetStore(t, func(t *testing.T) account.BudgetStore { return open(t) })
	TestEventCounter(t, func(t *testing.T) account.EventCounter { return open(t) })
}

// The contracts below share these rules: open returns a store isolated from
// every other call's (its own key prefix, file or database) and arranges any
// cleanup with t.Cleanup. Expiry is checked in wall time with short TTLs, so
// a backend that keeps time on a server is held to the same rules.

// TestCaptchaStore runs the contract every CaptchaStore must pass.
func TestCaptchaStore(t *testing.T, open func(t *testing.T) account.CaptchaStore) {
	t.Run("captcha", func(t *testing.T) { t.Parallel(); testCaptcha(t, open(t)) })
	t.Run("captcha taken once under contention", func(t *testing.T) { t.Parallel(); testCaptchaRace(t, open(t)) })
}

// TestCodeStore runs the contract every CodeStore must pass.
func TestCodeStore(t *testing.T, open func(t *testing.T) account.CodeStore) {
	t.Run("code lifecycle", func(t *testing.T) { t.Parallel(); testCodeLifecycle(t, open(t)) })
	t.Run("code attempts", func(t *testing.T) { t.Parallel(); testCodeAttempts(t, open(t)) })
	t.Run("code resend window", func(t *testing.T) { t.Parallel(); testResendWindow(t, open(t)) })
	t.Run("code matched once under contention", func(t *testing.T) { t.Parallel(); testCodeRace(t, open(t)) })
	t.Run("wrong guesses under contention", func(t *testing.T) { t.Parallel(); testGuessRace(t, open(t)) })
	t.Run("one start per window under contention", func(t *testing.T) { t.Parallel(); testStartRace(t, open(t)) })
}

// TestFailureStore runs the contract every FailureStore must pass.
func TestFailureStore(t *testing.T, open func(t *testing.T) account.FailureStore) {
	t.Run("failures", func(t *testing.T) { t.Parallel(); testFailures(t, open(t)) })
}

var ctx = context.Background()

func mustNotFound(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, account.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func testCaptcha(t *testing.T, s account.CaptchaStore) {
	if err := s.PutCaptcha(ctx, "a-1", "X7KM", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCaptcha(ctx, "b-2", "PQRS", time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := s.TakeCaptcha(ctx, "a-1")
	if err != nil || got != "X7KM" {
		t.Fatalf("take = %q, %v; want X7KM", got, err)
	}
	_, err = s.TakeCaptcha(ctx, "a-1")
	mustNotFound(t, err)
	if got, _ := s.TakeCaptcha(ctx, "b-2"); got != "PQRS" {
		t.Fatalf("other id = %q, want PQRS", got)
	}
	_, err = s.TakeCaptcha(ctx, "never")
	mustNotFound(t, err)

	s.PutCaptcha(ctx, "c-3", "OLD1", time.Minute)
	s.PutCaptcha(ctx, "c-3", "NEW2", time.Minute)
	if got, _ := s.TakeCaptcha(ctx, "c-3"); got != "NEW2" {
		t.Fatalf("replaced = %q, want NEW2", got)
	}

	s.PutCaptcha(ctx, "d-4", "EXPI", 150*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	_, err = s.TakeCaptcha(ctx, "d-4")
	mustNotFound(t, err)
}

func testCaptchaRace(t *testing.T, s account.CaptchaStore) {
	s.PutCaptcha(ctx, "race", "RACE", time.Minute)
	wins := parallel(100, func(int) bool {
		_, err := s.TakeCaptcha(ctx, "race")
		return err == nil
	})
	if wins != 1 {
		t.Fatalf("%d takes succeeded, want exactly 1", wins)
	}
}

// parallel runs fn n times at once and counts the true results.
func parallel(n int, fn func(i int) bool) int {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		count int
		start = make(chan struct{})
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if fn(i) {
				mu.Lock()
				count++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	return count
}

func hash(s string) []byte { return []byte(fmt.Sprintf("%-32s", s)) }

func start(t *testing.T, s account.CodeStore, key, code string, ttl, interval time.Duration) {
	t.Helper()
	wait, err := s.StartCode(ctx, key, hash(code), ttl, interval)
	if err != nil || wait != 0 {
		t.Fatalf("start %s = %v, %v; want 0, nil", key, wait, err)
	}
}

func check(t *testing.T, s account.CodeStore, key, code string, want account.CodeCheck) {
	t.Helper()
	got, err := s.CheckCode(ctx, key, hash(code), 5)
	if err != nil || got != want {
		t.Fatalf("check %s %s = %v, %v; want %v", key, code, got, err, want)
	}
}

func testCodeLifecycle(t *testing.T, s account.CodeStore) {
	check(t, s, "k1", "123456", account.CodeMissing)
	start(t, s, "k1", "123456", time.Minute, 0)
	check(t, s, "k2", "123456", account.CodeMissing)
	check(t, s, "k1", "123456", account.CodeMatched)
	check(t, s, "k1", "123456", account.CodeMissing)

	start(t, s, "k3", "111111", time.Minute, time.Minute)
	if err := s.CancelCode(ctx, "k3"); err != nil {
		t.Fatal(err)
	}
	check(t, s, "k3", "111111", account.CodeMissing)
	start(t, s, "k3", "222222", time.Minute, time.Minute) // cancel ends the window too

	start(t, s, "k4", "333333", 150*time.Millisecond, 0)
	time.Sleep(300 * time.Millisecond)
	check(t, s, "k4", "333333", account.CodeMissing)
}

func testCodeAttempts(t *testing.T, s account.CodeStore) {
	start(t, s, "a", "123456", time.Minute, 0)
	for range 4 {
		check(t, s, "a", "000000", account.CodeMismatch)
	}
	check(t, s, "a", "123456", account.CodeMatched)

	start(t, s, "b", "123456", time.Minute, 0)
	for range 5 {
		check(t, s, "b", "000000", account.CodeMismatch)
	}
	check(t, s, "b", "123456", account.CodeVoid)
	check(t, s, "b", "000000", account.CodeVoid)

	start(t, s, "b", "654321", time.Minute, 0) // a new code starts afresh
	check(t, s, "b", "000000", account.CodeMismatch)
	check(t, s, "b", "654321", account.CodeMatched)
}

func testResendWindow(t *testing.T, s account.CodeStore) {
	start(t, s, "w", "123456", time.Minute, 300*time.Millisecond)
	wait, err := s.StartCode(ctx, "w", hash("999999"), time.Minute, 300*time.Millisecond)
	if err != nil || wait <= 0 || wait > 300*time.Millisecond {
		t.Fatalf("second start = %v, %v; want a wait in (0, 300ms]", wait, err)
	}
	check(t, s, "w", "999999", account.CodeMismatch) // the refused start stored nothing
	check(t, s, "w", "123456", account.CodeMatched)
	if wait, _ := s.StartCode(ctx, "w", hash("999999"), time.Minute, 300*time.Millisecond); wait <= 0 {
		t.Fatal("a consumed code must not end the resend window")
	}
	time.Sleep(400 * time.Millisecond)
	start(t, s, "w", "777777", time.Minute, 300*time.Millisecond)
	check(t, s, "w", "777777", account.CodeMatched)
}

func testCodeRace(t *testing.T, s account.CodeStore) {
	start(t, s, "r", "123456", time.Minute, 0)
	wins := parallel(50, func(int) bool {
		res, err := s.CheckCode(ctx, "r", hash("123456"), 5)
		return err == nil && res == account.CodeMatched
	})
	if wins != 1 {
		t.Fatalf("%d checks matched, want exactly 1", wins)
	}
}

func testGuessRace(t *testing.T, s account.CodeStore) {
	start(t, s, "g", "123456", time.Minute, 0)
	mismatches := parallel(20, func(i int) bool {
		res, err := s.CheckCode(ctx, "g", hash(fmt.Sprintf("%06d", i)), 5)
		return err == nil && res == account.CodeMismatch
	})
	if mismatches != 5 {
		t.Fatalf("%d guesses counted as mismatches, want exactly 5 (then void)", mismatches)
	}
	check(t, s, "g", "123456", account.CodeVoid)
}

func testStartRace(t *testing.T, s account.CodeStore) {
	starts := parallel(100, func(i int) bool {
		wait, err := s.StartCode(ctx, "s", hash(fmt.Sprint(i)), time.Minute, time.Minute)
		return err == nil && wait == 0
	})
	if starts != 1 {
		t.Fatalf("%d starts succeeded, want exactly 1", starts)
	}
}

func testFailures(t *testing.T, s account.FailureStore) {
	_, err := s.Failures(ctx, "f")
	mustNotFound(t, err)
	b := account.Backoff{Free: 3, First: 300 * time.Millisecond, Max: 500 * time.Millisecond}
	take := func(key string) time.Duration {
		t.Helper()
		wait, err := s.TakeAttempt(ctx, key, b, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return wait
	}
	before := time.Now().Add(-time.Second)
	for i := 1; i <= 3; i++ {
		if wait := take("f"); wait != 0 {
			t.Fatalf("attempt %d waits %v within the free attempts", i, wait)
		}
	}
	f, err := s.Failures(ctx, "f")
	if err != nil || f.Count != 3 || f.Last.Before(before) || f.Last.After(time.Now().Add(time.Second)) {
		t.Fatalf("failures = %+v, %v; want 3 with Last about now", f, err)
	}
	if wait := take("f"); wait <= 200*time.Millisecond || wait > 300*time.Millisecond {
		t.Fatalf("4th attempt waits %v, want about 300ms", wait)
	}
	if f, _ := s.Failures(ctx, "f"); f.Count != 3 {
		t.Fatalf("a refused attempt was counted: %d", f.Count)
	}
	time.Sleep(350 * time.Millisecond)
	if wait := take("f"); wait != 0 {
		t.Fatalf("attempt after the delay waits %v", wait)
	}
	if wait := take("f"); wait <= 400*time.Millisecond || wait > 500*time.Millisecond {
		t.Fatalf("5th attempt waits %v, want the doubled delay capped at 500ms", wait)
	}

	if err := s.ForgiveAttempt(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.Failures(ctx, "f"); f.Count != 3 {
		t.Fatalf("after forgiving one of 4: %d", f.Count)
	}
	if err := s.ClearFailures(ctx, "f"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Failures(ctx, "f")
	mustNotFound(t, err)
	take("g")
	if err := s.ForgiveAttempt(ctx, "g"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Failures(ctx, "g")
	mustNotFound(t, err)
	if err := s.ForgiveAttempt(ctx, "none"); err != nil {
		t.Fatalf("forgiving nothing: %v", err)
	}
	_, err = s.Failures(ctx, "none")
	mustNotFound(t, err)

	long := account.Backoff{Free: 5, First: time.Minute, Max: time.Hour}
	taken := parallel(50, func(int) bool {
		wait, err := s.TakeAttempt(ctx, "p", long, time.Minute)
		return err == nil && wait == 0
	})
	if f, _ := s.Failures(ctx, "p"); taken != 5 || f.Count != 5 {
		t.Fatalf("50 concurrent attempts: %d taken, %d counted; want 5 and 5", taken, f.Count)
	}

	s.TakeAttempt(ctx, "e", b, 150*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	_, err = s.Failures(ctx, "e")
	mustNotFound(t, err)
}
