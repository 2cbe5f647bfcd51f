package sqlstore_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/account/accounttest"
	"github.com/signupd/signupd/internal/delivery"
	"github.com/signupd/signupd/internal/sqlstore"
)

func TestCodeStore(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			accounttest.TestCodeStore(t, func(t *testing.T) account.CodeStore { return open(t, b.fresh(t)) })
		})
	}
}

func codeHash(s string) []byte { return []byte(fmt.Sprintf("%-32s", s)) }

// atOnce calls fn(0) to fn(n-1) all at once and returns their results; an
// error from any fails t.
func atOnce[T any](t *testing.T, n int, fn func(i int) (T, error)) []T {
	t.Helper()
	res := make([]T, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			res[i], errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	return res
}

func count[T comparable](xs []T, x T) int {
	n := 0
	for _, y := range xs {
		if y == x {
			n++
		}
	}
	return n
}

// TestCodesAcrossHandles has three DBs on one database, like three instances
// (or three processes on one SQLite file), race on one key: the rules hold
// across connections and handles, not only inside one.
func TestCodesAcrossHandles(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, url string) {
		dbs := []*sqlstore.DB{open(t, url), open(t, url), open(t, url)}
		ctx := t.Context()
		startOn := func(db *sqlstore.DB, key, code string) {
			t.Helper()
			if wait, err := db.StartCode(ctx, key, codeHash(code), time.Minute, 0); err != nil || wait != 0 {
				t.Fatalf("start %s = %v, %v", key, wait, err)
			}
		}

		startOn(dbs[0], "match", "123456")
		got := atOnce(t, 60, func(i int) (account.CodeCheck, error) {
			return dbs[i%3].CheckCode(ctx, "match", codeHash("123456"), 5)
		})
		if n, missing := count(got, account.CodeMatched), count(got, account.CodeMissing); n != 1 || missing != 59 {
			t.Errorf("60 right checks: %d matched, %d missing; want 1 and 59", n, missing)
		}

		startOn(dbs[1], "guess", "123456")
		got = atOnce(t, 30, func(i int) (account.CodeCheck, error) {
			return dbs[i%3].CheckCode(ctx, "guess", codeHash(fmt.Sprintf("%06d", i)), 5)
		})
		if n, void := count(got, account.CodeMismatch), count(got, account.CodeVoid); n != 5 || void != 25 {
			t.Errorf("30 wrong guesses: %d mismatches, %d void; want 5 and 25", n, void)
		}
		for _, db := range dbs {
			if res, err := db.CheckCode(ctx, "guess", codeHash("123456"), 5); err != nil || res != account.CodeVoid {
				t.Errorf("right code after the guesses = %v, %v; want void", res, err)
			}
		}

		waits := atOnce(t, 60, func(i int) (time.Duration, error) {
			return dbs[i%3].StartCode(ctx, "start", codeHash(fmt.Sprint(i)), time.Minute, time.Minute)
		})
		if n := count(waits, 0); n != 1 {
			t.Fatalf("60 starts: %d stored a code, want 1", n)
		}
		for i, wait := range waits {
			if wait < 0 || wait > time.Minute {
				t.Errorf("start %d: wait %v, want one in (0, 1m]", i, wait)
			}
		}
		winner := fmt.Sprint(slices.Index(waits, 0))
		if res, err := dbs[2].CheckCode(ctx, "start", codeHash(winner), 5); err != nil || res != account.CodeMatched {
			t.Errorf("the stored start's code = %v, %v; want a match", res, err)
		}
	})
}

// TestCodesSurviveReopen is why codes live in the database: a code sent
// before a restart, perhaps by an SMS queued then, still checks after it,
// and its resend window still holds.
func TestCodesSurviveReopen(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, url string) {
		ctx := t.Context()
		db, err := sqlstore.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		if wait, err := db.StartCode(ctx, "k", codeHash("123456"), time.Minute, time.Minute); err != nil || wait != 0 {
			t.Fatalf("start = %v, %v", wait, err)
		}
		if res, err := db.CheckCode(ctx, "k", codeHash("000000"), 5); err != nil || res != account.CodeMismatch {
			t.Fatalf("wrong guess = %v, %v", res, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}

		db = open(t, url)
		if wait, err := db.StartCode(ctx, "k", codeHash("654321"), time.Minute, time.Minute); err != nil || wait <= 0 {
			t.Fatalf("start after reopen = %v, %v; want a wait", wait, err)
		}
		for range 3 {
			if res, err := db.CheckCode(ctx, "k", codeHash("000000"), 5); err != nil || res != account.CodeMismatch {
				t.Fatalf("wrong guess after reopen = %v, %v", res, err)
			}
		}
		// The guess before the restart counted: this is the fifth.
		if res, err := db.CheckCode(ctx, "k", codeHash("000000"), 5); err != nil || res != account.CodeMismatch {
			t.Fatalf("fifth wrong guess = %v, %v", res, err)
		}
		if res, err := db.CheckCode(ctx, "k", codeHash("123456"), 5); err != nil || res != account.CodeVoid {
			t.Fatalf("right code after five wrong guesses = %v, %v; want void", res, err)
		}
	})
}

func TestDeleteExpiredCodes(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, url string) {
		ctx := t.Context()
		db := open(t, url)
		// The sweep is given the test's clock and the codes read the
		// database's: the same machine's here, so a second covers them.
		for key, ttl := range map[string]time.Duration{"short": time.Millisecond, "long": time.Minute} {
			if wait, err := db.StartCode(ctx, key, codeHash(key), ttl, 0); err != nil || wait != 0 {
				t.Fatalf("start %s = %v, %v", key, wait, err)
			}
		}
		if n, err := db.DeleteExpiredCodes(ctx, time.Now().Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("swept %d, %v; want 1", n, err)
		}
		if res, err := db.CheckCode(ctx, "long", codeHash("long"), 5); err != nil || res != account.CodeMatched {
			t.Fatalf("live code after the sweep = %v, %v; want a match", res, err)
		}
		if n, err := db.DeleteExpiredCodes(ctx, time.Now().Add(time.Second)); err != nil || n != 0 {
			t.Fatalf("second sweep %d, %v; want 0", n, err)
		}
		if n, err := db.DeleteExpiredCodes(ctx, time.Now().Add(2*time.Minute)); err != nil || n != 1 {
			t.Fatalf("sweep after the ttl %d, %v; want 1", n, err)
		}
	})
}

func TestCodesClosedDB(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, url string) {
		ctx := t.Context()
		db, err := sqlstore.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		calls := map[string]func() error{
			"StartCode": func() error {
				_, err := db.StartCode(ctx, "k", codeHash("1"), time.Minute, time.Minute)
				return err
			},
			"CheckCode":          func() error { _, err := db.CheckCode(ctx, "k", codeHash("1"), 5); return err },
			"CancelCode":         func() error { return db.CancelCode(ctx, "k") },
			"DeleteExpiredCodes": func() error { _, err := db.DeleteExpiredCodes(ctx, time.Now()); return err },
		}
		for name, call := range calls {
			if err := call(); err == nil || !strings.HasPrefix(err.Error(), "sqlstore: ") {
				t.Errorf("%s on a closed DB: err = %v, want a sqlstore: error", name, err)
			}
		}
	})
}

// StartCodeAndEnqueue is one transaction: a start inside the resend window
// queues nothing, a queueing that fails starts nothing, and a start that
// succeeds leaves the code and a claimable message.
func TestStartCodeAndEnqueue(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, url string) {
		db, ctx := open(t, url), t.Context()
		now := time.Now()
		record := func(id string) delivery.Record {
			return delivery.Record{ID: id, Key: "k", Payload: []byte("sealed"), AcceptedAt: now, Deadline: now.Add(time.Minute), NextAt: now}
		}
		if wait, err := db.StartCodeAndEnqueue(ctx, "register:a", codeHash("1"), time.Minute, time.Minute, record("m-1")); err != nil || wait != 0 {
			t.Fatalf("first start = %v, %v", wait, err)
		}
		if got, err := db.CheckCode(ctx, "register:a", codeHash("1"), 5); err != nil || got != account.CodeMatched {
			t.Fatalf("the code started with its message: %v, %v", got, err)
		}
		wait, err := db.StartCodeAndEnqueue(ctx, "register:a", codeHash("2"), time.Minute, time.Minute, record("m-2"))
		if err != nil || wait <= 0 {
			t.Fatalf("start inside the window = %v, %v; want a wait", wait, err)
		}
		recs, err := db.Claim(ctx, now, time.Minute, 10)
		if err != nil || len(recs) != 1 || recs[0].ID != "m-1" {
			t.Fatalf("claim = %+v, %v; want m-1 alone: a refused start queues nothing", recs, err)
		}
		if _, err := db.StartCodeAndEnqueue(ctx, "register:b", codeHash("3"), time.Minute, time.Minute, record("m-1")); err == nil {
			t.Fatal("queueing a taken message id succeeded")
		}
		if wait, err := db.StartCode(ctx, "register:b", codeHash("4"), time.Minute, time.Minute); err != nil || wait != 0 {
			t.Fatalf("after a failed queueing the code was started anyway: wait %v, %v", wait, err)
		}
	})
}
