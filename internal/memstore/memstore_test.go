package memstore_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/account/accounttest"
	"github.com/signupd/signupd/internal/memstore"
	"github.com/signupd/signupd/internal/web"
	"github.com/signupd/signupd/internal/web/webtest"
)

func TestContract(t *testing.T) {
	accounttest.TestKVStore(t, func(*testing.T) accounttest.KVStore { return memstore.New(nil) })
	webtest.TestReplays(t, func(*testing.T) web.Replays { return memstore.New(nil) })
	// In memory a send's parts are taken in steps, as account.SendSteps.
	accounttest.TestSendStarter(t, func(*testing.T) accounttest.SendStore {
		m := memstore.New(nil)
		return sendSteps{m, account.SendSteps{Quotas: m, Budgets: m, Codes: m, Events: m}}
	})
}

// sendSteps is a memstore whose sends go in steps.
type sendSteps struct {
	*memstore.Store
	steps account.SendSteps
}

func (s sendSteps) StartSend(ctx context.Context, st account.SendStart) (account.SendOutcome, error) {
	return s.steps.StartSend(ctx, st)
}

func (s sendSteps) UndoSend(ctx context.Context, st account.SendStart) error {
	return s.steps.UndoSend(ctx, st)
}

func BenchmarkKVStore(b *testing.B) {
	accounttest.BenchmarkKVStore(b, func(*testing.B) accounttest.KVStore { return memstore.New(nil) })
}

func BenchmarkSendSteps(b *testing.B) {
	accounttest.BenchmarkSendStarter(b, func(*testing.B) account.SendStarter {
		m := memstore.New(nil)
		return account.SendSteps{Quotas: m, Budgets: m, Codes: m, Events: m}
	})
}

func TestSweepFreesExpired(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := memstore.New(func() time.Time { return now })
	s.PutCaptcha(t.Context(), "short", "AAAA", time.Second)
	s.PutCaptcha(t.Context(), "long", "BBBB", time.Hour)
	s.TakeAttempt(t.Context(), "f", account.Backoff{Free: 1}, time.Minute)
	now = now.Add(2 * time.Minute)
	if n := s.Sweep(); n != 2 {
		t.Fatalf("swept %d, want 2", n)
	}
	if got, err := s.TakeCaptcha(t.Context(), "long"); err != nil || got != "BBBB" {
		t.Fatalf("live entry lost by sweep: %q, %v", got, err)
	}
}

func TestSweepFreesExpiredQuota(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := memstore.New(func() time.Time { return now })
	w := []account.Window{{Limit: 2, Period: time.Minute}, {Limit: 5, Period: time.Hour}}
	for _, key := range []string{"a", "b"} {
		if wait, err := s.Take(t.Context(), key, "e1", w); err != nil || wait != 0 {
			t.Fatalf("take %s = %v, %v", key, wait, err)
		}
	}
	now = now.Add(30 * time.Minute)
	s.Take(t.Context(), "b", "e2", w) // b now lives until 90 minutes
	now = now.Add(31 * time.Minute)   // past a's longest period, not b's
	if n := s.Sweep(); n != 1 {
		t.Fatalf("swept %d, want 1 (a)", n)
	}
	now = now.Add(30 * time.Minute)
	if n := s.Sweep(); n != 1 {
		t.Fatalf("swept %d, want 1 (b)", n)
	}
	// A refund that empties a quota frees it at once.
	s.Take(t.Context(), "c", "e1", w)
	s.Refund(t.Context(), "c", "e1")
	now = now.Add(2 * time.Hour)
	if n := s.Sweep(); n != 0 {
		t.Fatalf("swept %d, want 0: the emptied quota should be gone already", n)
	}
}

// TestCaptchasNotScanned holds the captcha table to no pointers: unsolved
// captchas, however many a flood leaves, add nothing for the garbage
// collector to scan. As entries with pointers, each added 83 bytes.
func TestCaptchasNotScanned(t *testing.T) {
	scannable := func() uint64 {
		runtime.GC()
		m := []metrics.Sample{{Name: "/gc/scan/heap:bytes"}}
		metrics.Read(m)
		return m[0].Value.Uint64()
	}
	s := memstore.New(nil)
	const n = 200_000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)
	}
	before := scannable()
	for _, id := range ids {
		if err := s.PutCaptcha(t.Context(), id, "X7KM", time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	after := scannable()
	if grown := int64(after) - int64(before); grown > n*4 {
		t.Errorf("%d captchas made %d more bytes to scan, %.1f each; want under 4", n, grown, float64(grown)/n)
	}
	if got, err := s.TakeCaptcha(t.Context(), ids[n-1]); err != nil || got != "X7KM" {
		t.Fatalf("take = %q, %v", got, err)
	}
}
