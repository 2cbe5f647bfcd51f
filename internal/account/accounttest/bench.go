package accounttest

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
)

// The benchmarks share the contracts' rules for open, on a *testing.B: a
// store of its own, closed with b.Cleanup. Every iteration does the work the
// service asks of the store on its hot path, never a shortcut (a refused
// start, a missing key), and checks it got that answer. Whatever an
// iteration needs fresh (an id, a phone, a session) is made with the timer
// stopped, so ns/op and allocs/op are the store's alone. CI runs them once
// each (-benchtime=1x), so no setup may take long for one iteration.

// The settings the service runs with by default.
var (
	benchCodeTTL  = 5 * time.Minute
	benchResend   = time.Minute
	benchWindows  = []account.Window{{Limit: 5, Period: time.Hour}, {Limit: 10, Period: 24 * time.Hour}}
	benchBackoff  = account.Backoff{Free: 5, First: 30 * time.Second, Max: 15 * time.Minute}
	benchFraudWin = 15 * time.Minute
)

// BenchmarkKVStore runs the benchmarks of all six stores on KVStores.
func BenchmarkKVStore(b *testing.B, open func(b *testing.B) KVStore) {
	BenchmarkCaptchaStore(b, func(b *testing.B) account.CaptchaStore { return open(b) })
	BenchmarkCodeStore(b, func(b *testing.B) account.CodeStore { return open(b) })
	BenchmarkFailureStore(b, func(b *testing.B) account.FailureStore { return open(b) })
	BenchmarkQuotaStore(b, func(b *testing.B) account.QuotaStore { return open(b) })
	BenchmarkBudgetStore(b, func(b *testing.B) account.BudgetStore { return open(b) })
	BenchmarkEventCounter(b, func(b *testing.B) account.EventCounter { return open(b) })
}

// BenchmarkCaptchaStore measures a captcha's life, put then taken, and
// takes alone from many goroutines.
func BenchmarkCaptchaStore(b *testing.B, open func(b *testing.B) account.CaptchaStore) {
	b.Run("PutTakeCaptcha", func(b *testing.B) {
		s, ids := open(b), newFresh(b, benchName("captcha-"))
		b.ReportAllocs()
		for b.Loop() {
			id := ids.take()
			if err := s.PutCaptcha(b.Context(), id, "X7KM", 3*time.Minute); err != nil {
				b.Fatal(err)
			}
			if got, err := s.TakeCaptcha(b.Context(), id); err != nil || got != "X7KM" {
				b.Fatalf("take %s = %q, %v; want X7KM", id, got, err)
			}
		}
	})
	b.Run("TakeCaptchaParallel", func(b *testing.B) {
		s, ids := open(b), benchNames(b.N, benchName("captcha-"))
		benchFill(b, len(ids), func(i int) error { return s.PutCaptcha(b.Context(), ids[i], "X7KM", 3*time.Minute) })
		benchParallel(b, func(i int) error {
			if got, err := s.TakeCaptcha(b.Context(), ids[i]); err != nil || got != "X7KM" {
				return fmt.Errorf("take %s = %q, %v; want X7KM", ids[i], got, err)
			}
			return nil
		})
	})
}

// BenchmarkCodeStore measures starting a code for a number that has none,
// from one goroutine and from many, and a wrong guess at a live code.
func BenchmarkCodeStore(b *testing.B, open func(b *testing.B) account.CodeStore) {
	code := hash("123456")
	b.Run("StartCode", func(b *testing.B) {
		s, keys := open(b), newFresh(b, benchCodeKey)
		b.ReportAllocs()
		for b.Loop() {
			if err := benchStart(b, s, keys.take(), code); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("StartCodeParallel", func(b *testing.B) {
		s, keys := open(b), benchNames(b.N, benchCodeKey)
		benchParallel(b, func(i int) error { return benchStart(b, s, keys[i], code) })
	})
	b.Run("CheckCode", func(b *testing.B) {
		s, key, wrong := open(b), benchCodeKey(0), hash("654321")
		if err := benchStart(b, s, key, code); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() { // a mismatch, counted, never voiding: the write path
			if got, err := s.CheckCode(b.Context(), key, wrong, math.MaxInt32); err != nil || got != account.CodeMismatch {
				b.Fatalf("check = %v, %v; want mismatch", got, err)
			}
		}
	})
}

// BenchmarkFailureStore measures a login's throttle: an attempt counted
// before the password is checked and forgiven when it was right.
func BenchmarkFailureStore(b *testing.B, open func(b *testing.B) account.FailureStore) {
	b.Run("TakeForgiveAttempt", func(b *testing.B) {
		s, key := open(b), "login:account:"+string(benchPhone(0))
		b.ReportAllocs()
		for b.Loop() {
			if wait, err := s.TakeAttempt(b.Context(), key, benchBackoff, 24*time.Hour); err != nil || wait != 0 {
				b.Fatalf("take attempt = %v, %v; want 0, nil", wait, err)
			}
			if err := s.ForgiveAttempt(b.Context(), key); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkQuotaStore measures a take from a number's two default windows
// and its refund, which leaves the windows as they were.
func BenchmarkQuotaStore(b *testing.B, open func(b *testing.B) account.QuotaStore) {
	b.Run("TakeRefundQuota", func(b *testing.B) {
		s, ids, key := open(b), newFresh(b, benchName("event-")), "number:"+string(benchPhone(0))
		b.ReportAllocs()
		for b.Loop() {
			id := ids.take()
			if wait, err := s.Take(b.Context(), key, id, benchWindows); err != nil || wait != 0 {
				b.Fatalf("take = %v, %v; want 0, nil", wait, err)
			}
			if err := s.Refund(b.Context(), key, id); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBudgetStore measures spending from a day's SMS budget.
func BenchmarkBudgetStore(b *testing.B, open func(b *testing.B) account.BudgetStore) {
	b.Run("Spend", func(b *testing.B) {
		s := open(b)
		b.ReportAllocs()
		for b.Loop() {
			if ok, err := s.Spend(b.Context(), "sms:2026-11-03", 5, 1<<40, 25*time.Hour); err != nil || !ok {
				b.Fatalf("spend = %v, %v; want true, nil", ok, err)
			}
		}
	})
}

// BenchmarkEventCounter measures the fraud signal: counting a send, and
// reading a count of 100 events.
func BenchmarkEventCounter(b *testing.B, open func(b *testing.B) account.EventCounter) {
	const key = "fraud:sends:86"
	b.Run("CountEvent", func(b *testing.B) {
		s, ids := open(b), newFresh(b, benchName("event-"))
		b.ReportAllocs()
		for b.Loop() {
			if n, err := s.CountEvent(b.Context(), key, ids.take(), benchFraudWin); err != nil || n < 1 {
				b.Fatalf("count event = %d, %v", n, err)
			}
		}
	})
	b.Run("Events", func(b *testing.B) {
		s := open(b)
		for i := range 100 {
			if _, err := s.CountEvent(b.Context(), key, strconv.Itoa(i), benchFraudWin); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		for b.Loop() {
			if n, err := s.Events(b.Context(), benchFraudWin, key, "fraud:verified:86"); err != nil || n[0] != 100 || n[1] != 0 {
				b.Fatalf("events = %v, %v; want 100 and 0", n, err)
			}
		}
	})
}

// BenchmarkUserStore measures registering, finding a user by number, and
// the session calls every signed-in request makes.
func BenchmarkUserStore(b *testing.B, open func(b *testing.B) UserSessionStore) {
	b.Run("CreateUser", func(b *testing.B) {
		s := open(b)
		users := newFresh(b, func(i int) account.User { return usersNewUser(benchPhone(i)) })
		sessions := newFresh(b, func(i int) account.Session { return usersNewSession(benchName("new-")(i), 0) })
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.CreateUser(b.Context(), users.take(), sessions.take()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("UserByPhone", func(b *testing.B) {
		s := open(b)
		u, _ := benchUser(b, s)
		b.ReportAllocs()
		for b.Loop() {
			if got, err := s.UserByPhone(b.Context(), u.Phone); err != nil || got.ID != u.ID {
				b.Fatalf("user by phone = %d, %v; want %d", got.ID, err, u.ID)
			}
		}
	})
	b.Run("CreateSession", func(b *testing.B) {
		s := open(b)
		u, _ := benchUser(b, s)
		sessions := newFresh(b, func(i int) account.Session { return usersNewSession(benchName("login-")(i), u.ID) })
		b.ReportAllocs()
		for b.Loop() {
			if err := s.CreateSession(b.Context(), sessions.take()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Session", func(b *testing.B) {
		s := open(b)
		u, sess := benchUser(b, s)
		b.ReportAllocs()
		for b.Loop() {
			if got, err := s.Session(b.Context(), sess.IDHash, usersBase); err != nil || got.UserID != u.ID {
				b.Fatalf("session = user %d, %v; want %d", got.UserID, err, u.ID)
			}
		}
	})
	b.Run("TouchSession", func(b *testing.B) {
		s := open(b)
		_, sess := benchUser(b, s)
		seen := usersBase
		b.ReportAllocs()
		for b.Loop() {
			seen = seen.Add(time.Millisecond)
			if err := s.TouchSession(b.Context(), sess.IDHash, seen); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchUser creates a user with one session, both returned as stored.
func benchUser(b *testing.B, s UserSessionStore) (account.User, account.Session) {
	b.Helper()
	u, err := s.CreateUser(b.Context(), usersNewUser(benchPhone(0)), usersNewSession("bench", 0))
	if err != nil {
		b.Fatal(err)
	}
	sess := usersNewSession("bench", u.ID)
	return u, sess
}

// benchPhone returns a valid mobile number of its own for each i.
func benchPhone(i int) account.Phone { return account.Phone(fmt.Sprintf("+86139%08d", i)) }

func benchCodeKey(i int) string { return "register:" + string(benchPhone(i)) }

func benchName(prefix string) func(i int) string {
	return func(i int) string { return prefix + strconv.Itoa(i) }
}

// benchStart starts code for key, which has none, with the default TTL and
// resend window, and fails unless it was stored.
func benchStart(b *testing.B, s account.CodeStore, key string, code []byte) error {
	wait, err := s.StartCode(b.Context(), key, code, benchCodeTTL, benchResend)
	if err == nil && wait != 0 {
		err = fmt.Errorf("start %s waits %v, want 0", key, wait)
	}
	return err
}

// fresh hands out values no iteration has had, made by gen with the timer
// stopped, in batches that double up to 1024 so that a run of one iteration
// makes one.
type fresh[T any] struct {
	b     *testing.B
	gen   func(i int) T
	batch []T
	next  int
	made  int
}

func newFresh[T any](b *testing.B, gen func(i int) T) *fresh[T] {
	return &fresh[T]{b: b, gen: gen}
}

func (f *fresh[T]) take() T {
	if f.next == len(f.batch) {
		f.b.StopTimer()
		n := min(max(2*len(f.batch), 1), 1024)
		f.batch = f.batch[:0]
		for i := range n {
			f.batch = append(f.batch, f.gen(f.made+i))
		}
		f.made, f.next = f.made+n, 0
		f.b.StartTimer()
	}
	f.next++
	return f.batch[f.next-1]
}

// benchNames makes n values for a parallel benchmark, whose b.N is known
// before it starts.
func benchNames[T any](n int, gen func(i int) T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = gen(i)
	}
	return out
}

// benchFill calls put(0) to put(n-1) from eight goroutines: setup for a
// parallel benchmark, which would otherwise take longer than the benchmark.
func benchFill(b *testing.B, n int, put func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := put(i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
}

// benchParallel calls op(0) to op(b.N-1) from b.RunParallel's goroutines,
// four per CPU: a call to a server spends most of its time waiting.
func benchParallel(b *testing.B, op func(i int) error) {
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(int(next.Add(1) - 1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSendStarter measures the store work of a send as the service
// does it by default, for a new number each time: four quotas, a budget, a
// code with its resend window and the fraud count.
func BenchmarkSendStarter(b *testing.B, open func(b *testing.B) account.SendStarter) {
	b.Run("StartSend", func(b *testing.B) {
		s, sends := open(b), newFresh(b, benchSend)
		b.ReportAllocs()
		for b.Loop() {
			st := sends.take()
			if out, err := s.StartSend(b.Context(), st); err != nil || out.Refusal != account.SendAllowed {
				b.Fatalf("start send %s = %+v, %v; want it gone ahead", st.ID, out, err)
			}
		}
	})
}

// benchSend is send i, from an address of its own to a number of its own;
// the global ceiling and the budget are shared, and roomy.
func benchSend(i int) account.SendStart {
	p, ip := benchPhone(i), fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
	windows := func(ws ...account.Window) []account.Window { return ws }
	return account.SendStart{
		ID: fmt.Sprint("send-", i),
		Quotas: []account.QuotaTake{
			{Key: "send:number:" + string(p), Windows: benchWindows},
			{Key: "send:ip:" + ip, Windows: windows(account.Window{Limit: 10, Period: time.Hour}, account.Window{Limit: 30, Period: 24 * time.Hour})},
			{Key: "send:network:" + ip + "/24", Windows: windows(account.Window{Limit: 50, Period: 24 * time.Hour})},
			{Key: "send:global", Windows: windows(account.Window{Limit: math.MaxInt32, Period: time.Minute})},
		},
		Budget: account.BudgetSpend{Key: "sms:bench", Amount: 1, Limit: math.MaxInt64, TTL: 25 * time.Hour},
		Code:   account.CodeStart{Key: benchCodeKey(i), Hash: hash("123456"), TTL: benchCodeTTL, Interval: benchResend},
		Count:  account.EventCount{Key: "fraud:sends:86", Period: benchFraudWin},
	}
}
