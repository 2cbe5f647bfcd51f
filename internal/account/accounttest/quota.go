package accounttest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
)

// The quota contract adds to the interface's own words:
//   - an id names one event: callers pass a fresh random id per event, and a
//     Take with an id the key still holds is that same event again, so it
//     records nothing new and reports 0 (a retry after a lost reply is safe);
//   - a window with Limit 0 refuses everything and reports its Period;
//   - no windows, a Period that is not positive or a negative Limit is an
//     error and records nothing: a quota that cannot be read fails closed.

// TestQuotaStore runs the contract every QuotaStore must pass.
func TestQuotaStore(t *testing.T, open func(t *testing.T) account.QuotaStore) {
	t.Run("quota window", func(t *testing.T) { t.Parallel(); testQuotaWindow(t, open(t)) })
	t.Run("quota window slides", func(t *testing.T) { t.Parallel(); testQuotaSlide(t, open(t)) })
	t.Run("quota stricter window binds", func(t *testing.T) { t.Parallel(); testQuotaStricter(t, open(t)) })
	t.Run("quota longest wait of full windows", func(t *testing.T) { t.Parallel(); testQuotaLongestWait(t, open(t)) })
	t.Run("quota refund", func(t *testing.T) { t.Parallel(); testQuotaRefund(t, open(t)) })
	t.Run("quota ids name events", func(t *testing.T) { t.Parallel(); testQuotaIDs(t, open(t)) })
	t.Run("quota ids name events in a long log", func(t *testing.T) { t.Parallel(); testQuotaIDsLongLog(t, open(t)) })
	t.Run("quota keys independent", func(t *testing.T) { t.Parallel(); testQuotaKeys(t, open(t)) })
	t.Run("quota limit zero", func(t *testing.T) { t.Parallel(); testQuotaZero(t, open(t)) })
	t.Run("quota bad windows", func(t *testing.T) { t.Parallel(); testQuotaBadWindows(t, open(t)) })
	t.Run("quota expiry", func(t *testing.T) { t.Parallel(); testQuotaExpiry(t, open(t)) })
	t.Run("quota slots taken once under contention", func(t *testing.T) { t.Parallel(); testQuotaRace(t, open(t)) })
	t.Run("quotas taken all or none", func(t *testing.T) { t.Parallel(); testTakeAll(t, open(t)) })
	t.Run("quotas taken all or none under contention", func(t *testing.T) { t.Parallel(); testTakeAllRace(t, open(t)) })
	t.Run("quotas after a refusing one untouched", func(t *testing.T) { t.Parallel(); testTakeAllOrder(t, open(t)) })
}

// taken is one Take's answer and the wall-clock span the call ran in.
type taken struct {
	wait          time.Duration
	before, after time.Time
}

func take(t *testing.T, s account.QuotaStore, key, id string, w []account.Window) taken {
	t.Helper()
	before := time.Now()
	wait, err := s.Take(ctx, key, id, w)
	if err != nil {
		t.Fatalf("take %s %s: %v", key, id, err)
	}
	return taken{wait: wait, before: before, after: time.Now()}
}

func mustTake(t *testing.T, s account.QuotaStore, key, id string, w []account.Window) taken {
	t.Helper()
	r := take(t, s, key, id, w)
	if r.wait != 0 {
		t.Fatalf("take %s %s refused (wait %v), want it recorded", key, id, r.wait)
	}
	return r
}

func mustRefuse(t *testing.T, s account.QuotaStore, key, id string, w []account.Window) taken {
	t.Helper()
	r := take(t, s, key, id, w)
	if r.wait <= 0 {
		t.Fatalf("take %s %s = wait %v, want it refused", key, id, r.wait)
	}
	return r
}

func refund(t *testing.T, s account.QuotaStore, key, id string) {
	t.Helper()
	if err := s.Refund(ctx, key, id); err != nil {
		t.Fatalf("refund %s %s: %v", key, id, err)
	}
}

// timed runs a scenario that depends on wall-clock timing up to three times,
// each on a key of its own. A run whose sleeps overshot (a stalled scheduler
// under -race, a busy CI machine) returns why instead of failing, since what
// it saw proves nothing either way; three such runs in a row fail the test.
func timed(t *testing.T, scenario func(key string) (overshot string)) {
	t.Helper()
	for try := range 3 {
		why := scenario(fmt.Sprint("timed-", try))
		if why == "" {
			return
		}
		t.Logf("run %d inconclusive: %s", try, why)
	}
	t.Fatal("three runs in a row overshot their timing")
}

// sleepUntil sleeps until t (at once if it has passed).
func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

func testQuotaWindow(t *testing.T, s account.QuotaStore) {
	const period = 300 * time.Millisecond
	w := []account.Window{{Limit: 3, Period: period}}
	timed(t, func(key string) string {
		first := mustTake(t, s, key, "e1", w)
		mustTake(t, s, key, "e2", w)
		mustTake(t, s, key, "e3", w)
		fourth := take(t, s, key, "e4", w)
		if fourth.after.Sub(first.before) >= period {
			return "e1 may have left the window before the 4th take"
		}
		// Until e1 leaves: at most 300ms less the time since e1, plus 1ms
		// for a store that counts whole milliseconds.
		most := first.after.Add(period).Sub(fourth.before) + time.Millisecond
		if fourth.wait <= 0 || fourth.wait > most {
			t.Fatalf("4th take = wait %v, want it refused with a wait in (0, %v]", fourth.wait, most)
		}
		time.Sleep(fourth.wait)
		mustTake(t, s, key, "e5", w) // the wait was long enough
		return ""
	})

	// A refused take records nothing: with one of three refunded, exactly
	// one more fits, which would not be so had the refused one counted.
	w = []account.Window{{Limit: 3, Period: time.Minute}}
	for _, id := range []string{"a", "b", "c"} {
		mustTake(t, s, "nothing", id, w)
	}
	mustRefuse(t, s, "nothing", "d", w)
	refund(t, s, "nothing", "a")
	mustTake(t, s, "nothing", "e", w)
	mustRefuse(t, s, "nothing", "f", w)
}

func testQuotaSlide(t *testing.T, s account.QuotaStore) {
	const period = 300 * time.Millisecond
	w := []account.Window{{Limit: 3, Period: period}}
	timed(t, func(key string) string {
		e1 := mustTake(t, s, key, "e1", w)
		sleepUntil(e1.before.Add(100 * time.Millisecond))
		e2 := mustTake(t, s, key, "e2", w)
		sleepUntil(e1.before.Add(200 * time.Millisecond))
		mustTake(t, s, key, "e3", w)
		r := take(t, s, key, "r1", w)
		if r.after.Sub(e1.before) >= period {
			return "e1 may have left the window before the refused take"
		}
		if r.wait <= 0 {
			t.Fatalf("take with 3 in the window = wait %v, want refused", r.wait)
		}
		sleepUntil(e1.after.Add(period + 10*time.Millisecond))
		mustTake(t, s, key, "e4", w) // e1 has left the window
		r = take(t, s, key, "r2", w)
		if r.after.Sub(e2.before) >= period {
			return "e2 may have left the window before the last take"
		}
		// e2, e3 and e4 are in the window; room comes when e2 leaves.
		most := e2.after.Add(period).Sub(r.before) + time.Millisecond
		if r.wait <= 0 || r.wait > most {
			t.Fatalf("take after the slide = wait %v, want refused with a wait in (0, %v]", r.wait, most)
		}
		return ""
	})
}

// The windows of testQuotaStricter and testQuotaLongestWait: a burst limit
// and a longer one, as the per-number hourly and daily limits are.
var twoWindows = []account.Window{{Limit: 2, Period: 200 * time.Millisecond}, {Limit: 3, Period: time.Second}}

func testQuotaStricter(t *testing.T, s account.QuotaStore) {
	timed(t, func(key string) string {
		a := mustTake(t, s, key, "a", twoWindows)
		mustTake(t, s, key, "b", twoWindows)
		c := take(t, s, key, "c", twoWindows)
		if c.after.Sub(a.before) >= twoWindows[0].Period {
			return "a may have left the 200ms window before the 3rd take"
		}
		// Only the 200ms window is full: the wait is for it alone.
		most := a.after.Add(twoWindows[0].Period).Sub(c.before) + time.Millisecond
		if c.wait <= 0 || c.wait > most {
			t.Fatalf("3rd take = wait %v, want refused by the 200ms window, a wait in (0, %v]", c.wait, most)
		}
		return ""
	})
}

func testQuotaLongestWait(t *testing.T, s account.QuotaStore) {
	timed(t, func(key string) string {
		a := mustTake(t, s, key, "a", twoWindows)
		sleepUntil(a.after.Add(twoWindows[0].Period + 10*time.Millisecond))
		b := mustTake(t, s, key, "b", twoWindows)
		mustTake(t, s, key, "c", twoWindows)
		d := take(t, s, key, "d", twoWindows)
		if d.after.Sub(b.before) >= twoWindows[0].Period {
			return "b may have left the 200ms window before the 4th take"
		}
		if d.after.Sub(a.before) >= twoWindows[1].Period {
			return "a may have left the 1s window before the 4th take"
		}
		// Both windows are full: the 200ms one until b leaves it, the 1s
		// one until a leaves it, which is the longer wait.
		least := a.before.Add(twoWindows[1].Period).Sub(d.after) - time.Millisecond
		most := a.after.Add(twoWindows[1].Period).Sub(d.before) + time.Millisecond
		if d.wait < least || d.wait > most {
			t.Fatalf("4th take = wait %v, want the 1s window's, in [%v, %v]", d.wait, least, most)
		}
		return ""
	})
}

func testQuotaRefund(t *testing.T, s account.QuotaStore) {
	w := []account.Window{{Limit: 2, Period: time.Minute}}
	mustTake(t, s, "r", "a", w)
	mustTake(t, s, "r", "b", w)
	if r := mustRefuse(t, s, "r", "c", w); r.wait > time.Minute {
		t.Fatalf("wait %v is longer than the window", r.wait)
	}
	refund(t, s, "r", "c") // c was refused, so never recorded: this frees nothing
	mustRefuse(t, s, "r", "d", w)
	refund(t, s, "r", "a")
	mustTake(t, s, "r", "c", w)
	mustRefuse(t, s, "r", "d", w)
	refund(t, s, "r", "a") // twice: a is long gone
	mustRefuse(t, s, "r", "d", w)

	refund(t, s, "r", "unknown")
	refund(t, s, "never-used", "a")
	mustRefuse(t, s, "r", "d", w)
}

func testQuotaIDs(t *testing.T, s account.QuotaStore) {
	w := []account.Window{{Limit: 2, Period: time.Minute}}
	mustTake(t, s, "i", "same", w)
	mustTake(t, s, "i", "same", w) // the same event: still one
	mustTake(t, s, "i", "other", w)
	mustTake(t, s, "i", "same", w) // it holds its slot even with the window full
	mustRefuse(t, s, "i", "third", w)
	refund(t, s, "i", "same") // one refund frees the one event
	mustTake(t, s, "i", "third", w)
	mustRefuse(t, s, "i", "fourth", w)
}

// testQuotaIDsLongLog is testQuotaIDs with a hundred events in the window,
// as the global ceiling holds: a store may keep long logs another way.
func testQuotaIDsLongLog(t *testing.T, s account.QuotaStore) {
	w := []account.Window{{Limit: 100, Period: time.Minute}}
	for i := range 99 {
		mustTake(t, s, "l", fmt.Sprintf("e%d", i), w)
	}
	mustTake(t, s, "l", "e5", w) // the same event: still 99
	mustTake(t, s, "l", "e99", w)
	mustTake(t, s, "l", "e7", w) // it holds its slot even with the window full
	mustRefuse(t, s, "l", "x", w)
	refund(t, s, "l", "e5") // one refund frees the one event
	refund(t, s, "l", "e5")
	mustTake(t, s, "l", "x", w)
	mustRefuse(t, s, "l", "y", w)
}

func testQuotaKeys(t *testing.T, s account.QuotaStore) {
	w := []account.Window{{Limit: 1, Period: time.Minute}}
	mustTake(t, s, "send:+8613812345678", "a", w)
	mustRefuse(t, s, "send:+8613812345678", "b", w)
	mustTake(t, s, "send:+8613812345679", "a", w)
	mustTake(t, s, "ip:192.0.2.1", "a", w)
	refund(t, s, "ip:192.0.2.1", "a") // frees a on its own key only
	mustRefuse(t, s, "send:+8613812345678", "b", w)
}

func testQuotaZero(t *testing.T, s account.QuotaStore) {
	zero := account.Window{Limit: 0, Period: 300 * time.Millisecond}
	for _, w := range [][]account.Window{{zero}, {{Limit: 5, Period: time.Minute}, zero}} {
		if r := take(t, s, "z", "a", w); r.wait != zero.Period {
			t.Fatalf("take with %v = wait %v, want refused with %v", w, r.wait, zero.Period)
		}
	}
	w := []account.Window{{Limit: 1, Period: time.Minute}}
	mustTake(t, s, "z", "b", w) // the refused takes recorded nothing
	mustRefuse(t, s, "z", "c", w)
}

func testQuotaBadWindows(t *testing.T, s account.QuotaStore) {
	for _, w := range [][]account.Window{
		nil,
		{},
		{{Limit: 1, Period: 0}},
		{{Limit: 1, Period: -time.Second}},
		{{Limit: -1, Period: time.Minute}},
		{{Limit: 5, Period: time.Minute}, {Limit: 1, Period: 0}},
	} {
		if wait, err := s.Take(ctx, "bad", "a", w); err == nil {
			t.Errorf("take with windows %v = wait %v, nil; want an error", w, wait)
		}
	}
	w := []account.Window{{Limit: 1, Period: time.Minute}}
	mustTake(t, s, "bad", "b", w) // the failed takes recorded nothing
	mustRefuse(t, s, "bad", "c", w)
}

func testQuotaExpiry(t *testing.T, s account.QuotaStore) {
	w := []account.Window{{Limit: 2, Period: 100 * time.Millisecond}, {Limit: 3, Period: 150 * time.Millisecond}}
	timed(t, func(key string) string {
		a := mustTake(t, s, key, "a", w)
		mustTake(t, s, key, "b", w)
		c := take(t, s, key, "c", w)
		if c.after.Sub(a.before) >= w[0].Period {
			return "a may have left the 100ms window before the 3rd take"
		}
		if c.wait <= 0 {
			t.Fatalf("3rd take = wait %v, want refused", c.wait)
		}
		time.Sleep(300 * time.Millisecond) // past the longest period: all gone
		mustTake(t, s, key, "c", w)
		mustTake(t, s, key, "d", w)
		time.Sleep(300 * time.Millisecond)
		refund(t, s, key, "c")      // on an expired key: not an error
		mustTake(t, s, key, "a", w) // an id from before the expiry is a new event now
		mustTake(t, s, key, "b", w)
		return ""
	})
}

func testQuotaRace(t *testing.T, s account.QuotaStore) {
	w := []account.Window{{Limit: 10, Period: time.Minute}, {Limit: 20, Period: time.Hour}}
	var (
		mu   sync.Mutex
		errs []error
	)
	wins := parallel(50, func(i int) bool {
		wait, err := s.Take(ctx, "race", fmt.Sprint("event-", i), w)
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		return err == nil && wait == 0
	})
	if len(errs) > 0 {
		t.Fatalf("%d takes failed, the first with %v", len(errs), errs[0])
	}
	if wins != 10 {
		t.Fatalf("%d takes succeeded, want exactly 10", wins)
	}
	mustRefuse(t, s, "race", "late", w)
}

func takeAll(t *testing.T, s account.QuotaStore, id string, takes ...account.QuotaTake) (int, time.Duration) {
	t.Helper()
	refused, wait, err := s.TakeAll(ctx, id, takes)
	if err != nil {
		t.Fatalf("take all %s: %v", id, err)
	}
	return refused, wait
}

func testTakeAll(t *testing.T, s account.QuotaStore) {
	one := []account.Window{{Limit: 1, Period: time.Hour}}
	a, b, c := account.QuotaTake{Key: "all-a", Windows: one}, account.QuotaTake{Key: "all-b", Windows: one}, account.QuotaTake{Key: "all-c", Windows: one}
	if refused, wait := takeAll(t, s, "e1", a, b); refused != -1 || wait != 0 {
		t.Fatalf("take all from free quotas: refused %d, wait %v", refused, wait)
	}
	// b is full: the first refusal is reported and c, which took, gives it back.
	refused, wait := takeAll(t, s, "e2", c, b, a)
	if refused != 1 || wait <= 0 || wait > time.Hour {
		t.Fatalf("take all with b and a full: refused %d, wait %v; want 1 and up to an hour", refused, wait)
	}
	mustTake(t, s, "all-c", "e3", one)
	// Taken together, refunded one by one.
	refund(t, s, "all-a", "e1")
	refund(t, s, "all-b", "e1")
	if refused, _ := takeAll(t, s, "e4", a, b); refused != -1 {
		t.Fatalf("take all after refunds: refused %d", refused)
	}
	// A bad window anywhere is an error, and nothing stays taken.
	d := account.QuotaTake{Key: "all-d", Windows: one}
	bad := account.QuotaTake{Key: "all-bad", Windows: []account.Window{{Limit: 1, Period: 0}}}
	if _, _, err := s.TakeAll(ctx, "e5", []account.QuotaTake{d, bad}); err == nil {
		t.Fatal("take all with a bad window: no error")
	}
	mustTake(t, s, "all-d", "e6", one)
}

func testTakeAllRace(t *testing.T, s account.QuotaStore) {
	const n, limit = 30, 5
	shared := account.QuotaTake{Key: "all-shared", Windows: []account.Window{{Limit: limit, Period: time.Hour}}}
	refusedAt := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			own := account.QuotaTake{Key: fmt.Sprintf("all-own-%d", i), Windows: []account.Window{{Limit: 1, Period: time.Hour}}}
			refusedAt[i], _ = takeAll(t, s, fmt.Sprintf("r%d", i), own, shared)
		})
	}
	wg.Wait()
	took := 0
	for i, refused := range refusedAt {
		switch refused {
		case -1:
			took++
		case 1: // the shared quota refused: the event left the caller's own quota
			mustTake(t, s, fmt.Sprintf("all-own-%d", i), "again", []account.Window{{Limit: 1, Period: time.Hour}})
		default:
			t.Fatalf("take all %d: refused at %d", i, refused)
		}
	}
	if took != limit {
		t.Fatalf("%d of %d concurrent takes passed a limit of %d", took, n, limit)
	}
}

// testTakeAllOrder: of many concurrent takes for one number, all but one are
// refused by the number's quota, and none of them may reach the shared
// quota after it: the one that passed the number's quota must find room
// there.
func testTakeAllOrder(t *testing.T, s account.QuotaStore) {
	const n = 30
	one := []account.Window{{Limit: 1, Period: time.Hour}}
	number, shared := account.QuotaTake{Key: "order-number", Windows: one}, account.QuotaTake{Key: "order-shared", Windows: one}
	refusedAt := make([]int, n)
	parallel(n, func(i int) bool {
		refusedAt[i], _ = takeAll(t, s, fmt.Sprintf("o%d", i), number, shared)
		return true
	})
	counts := map[int]int{}
	for _, r := range refusedAt {
		counts[r]++
	}
	if counts[-1] != 1 || counts[0] != n-1 {
		t.Fatalf("%d concurrent takes for one number: %d took, %d refused by the number's quota, %d by the shared one; want 1, %d, 0",
			n, counts[-1], counts[0], counts[1], n-1)
	}
}
