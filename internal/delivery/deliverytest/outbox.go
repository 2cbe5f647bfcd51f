// Package deliverytest holds the contract suite that every implementation of
// delivery.Store runs against itself, so that every backend of the outbox is
// held to the same rules.
package deliverytest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/delivery"
)

// TestStore runs the contract every delivery.Store must pass. fresh makes a
// new, empty queue isolated from every other call's (its own file, database
// or key prefix) and returns open, which opens one more handle on that same
// queue each time it is called, as another instance of the service would.
// Handles are closed by fresh's t.Cleanup; a store that lives in one process
// returns itself. Times must round-trip to the millisecond; their location
// may change. The store is only judged by what its methods return.
func TestStore(t *testing.T, fresh func(t *testing.T) (open func() delivery.Store)) {
	tests := []struct {
		name string
		run  func(*testing.T, delivery.Store)
	}{
		{"enqueue then claim", testEnqueueClaim},
		{"not due", testNotDue},
		{"leased", testLeased},
		{"lease expiry", testLeaseExpiry},
		{"enqueued leased", testEnqueueLeased},
		{"complete", testComplete},
		{"retry", testRetry},
		{"release", testRelease},
		{"supersede", testSupersede},
		{"supersede leased", testSupersedeLeased},
		{"duplicate id", testDuplicateID},
		{"claim order and limit", testClaimOrder},
		{"depth", testDepth},
		{"purge", testPurge},
		{"one claim per record under contention", func(t *testing.T, s delivery.Store) {
			testConcurrentClaims(t, s)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, fresh(t)())
		})
	}
	t.Run("one claim per record across handles", func(t *testing.T) {
		t.Parallel()
		open := fresh(t)
		testConcurrentClaims(t, open(), open(), open())
	})
}

// zone is not UTC, so that a store is seen to keep the instant, not the
// representation.
var zone = time.FixedZone("CST", 8*60*60)

// clock returns the time now, with sub-millisecond digits, in zone. The
// tests pass times to the store rather than sleep, but for lease expiry.
func clock() time.Time { return time.Now().In(zone) }

// message returns a record for key, due when it is accepted at at.
func message(id, key string, at time.Time) delivery.Record {
	return delivery.Record{
		ID:         id,
		Key:        key,
		Payload:    []byte("sealed " + id),
		AcceptedAt: at,
		Deadline:   at.Add(5 * time.Minute),
		NextAt:     at,
	}
}

func enqueue(t *testing.T, s delivery.Store, recs ...delivery.Record) {
	t.Helper()
	for _, r := range recs {
		if err := s.Enqueue(t.Context(), r); err != nil {
			t.Fatalf("enqueue %s: %v", r.ID, err)
		}
	}
}

// claim claims up to n records at now for a lease of a minute and checks
// that they are the records with ids want, in that order.
func claim(t *testing.T, s delivery.Store, now time.Time, n int, want ...string) []delivery.Record {
	t.Helper()
	recs, err := s.Claim(t.Context(), now, time.Minute, n)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	got := make([]string, len(recs))
	for i, r := range recs {
		got[i] = r.ID
		if r.Lease == "" {
			t.Errorf("claimed %s without a lease", r.ID)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("claimed %q, want %q", got, want)
	}
	return recs
}

func complete(t *testing.T, s delivery.Store, r delivery.Record, st delivery.State, at time.Time) {
	t.Helper()
	if err := s.Complete(t.Context(), r, st, "provider", "detail", at); err != nil {
		t.Fatalf("complete %s: %v", r.ID, err)
	}
}

// leaseLost checks that every call a worker may make with r, whose lease
// ended, returns delivery.ErrLeaseLost.
func leaseLost(t *testing.T, s delivery.Store, r delivery.Record) {
	t.Helper()
	ctx := t.Context()
	for name, err := range map[string]error{
		"complete": s.Complete(ctx, r, delivery.StateSent, "provider", "ok", clock()),
		"retry":    s.Retry(ctx, r, clock(), 1, "timeout"),
		"release":  s.Release(ctx, r),
	} {
		if !errors.Is(err, delivery.ErrLeaseLost) {
			t.Errorf("%s %s with a lost lease: err = %v, want ErrLeaseLost", name, r.ID, err)
		}
	}
}

func depth(t *testing.T, s delivery.Store, want int, oldest time.Time) {
	t.Helper()
	n, got, err := s.Depth(t.Context())
	if err != nil || n != want || !sameTime(got, oldest) || got.IsZero() != oldest.IsZero() {
		t.Fatalf("depth = %d, %v, %v; want %d, %v", n, got, err, want, oldest)
	}
}

func sameTime(a, b time.Time) bool {
	d := a.Sub(b)
	return d > -time.Millisecond && d < time.Millisecond
}

func testEnqueueClaim(t *testing.T, s delivery.Store) {
	now := clock()
	payload := []byte{0, 1, 2, 0xfe, 0xff, 'x'}
	r := delivery.Record{
		ID:         "m-1",
		Key:        "register:+8613812345678",
		Payload:    bytes.Clone(payload),
		AcceptedAt: now.Add(-time.Second),
		Deadline:   now.Add(5 * time.Minute),
		NextAt:     now,
		Route:      1,
	}
	enqueue(t, s, r)
	r.Payload[0] = 'X' // the store keeps its own copy
	got := claim(t, s, now, 10, "m-1")[0]
	if got.Key != r.Key || !bytes.Equal(got.Payload, payload) || got.Attempts != 1 || got.Route != 1 ||
		!sameTime(got.AcceptedAt, r.AcceptedAt) || !sameTime(got.Deadline, r.Deadline) || !sameTime(got.NextAt, r.NextAt) {
		t.Fatalf("claimed %+v, want %+v with payload %x, Attempts 1", got, r, payload)
	}
}

func testNotDue(t *testing.T, s delivery.Store) {
	now := clock()
	r := message("m-1", "k", now)
	r.NextAt = now.Add(time.Hour)
	enqueue(t, s, r)
	claim(t, s, now, 10)
	claim(t, s, r.NextAt.Add(-time.Millisecond), 10)
	claim(t, s, r.NextAt, 10, "m-1")
}

func testLeased(t *testing.T, s delivery.Store) {
	now := clock()
	enqueue(t, s, message("m-1", "k", now))
	claim(t, s, now, 10, "m-1")
	claim(t, s, now, 10)
	claim(t, s, now.Add(59*time.Second), 10)
	depth(t, s, 1, now)
}

// A record enqueued with a lease is held like a claimed one: nobody claims
// it while the lease runs, its holder completes it with that lease, and when
// the lease ends it is claimed with its second attempt.
func testEnqueueLeased(t *testing.T, s delivery.Store) {
	now := clock()
	held := message("m-1", "k1", now)
	held.Lease, held.LeaseUntil, held.Attempts = "handed", now.Add(time.Minute), 1
	lapsing := message("m-2", "k2", now)
	lapsing.Lease, lapsing.LeaseUntil, lapsing.Attempts = "handed too", now.Add(100*time.Millisecond), 1
	enqueue(t, s, held, lapsing)
	claim(t, s, now, 10)
	depth(t, s, 2, now)
	if err := s.Complete(t.Context(), held, delivery.StateSent, "p", "", now); err != nil {
		t.Fatalf("complete with the lease it was enqueued with: %v", err)
	}
	again := claim(t, s, now.Add(200*time.Millisecond), 10, "m-2")[0]
	if again.Attempts != 2 || again.Lease == lapsing.Lease {
		t.Fatalf("claimed after the enqueued lease ended: %+v; want Attempts 2 and a new lease", again)
	}
	if err := s.Complete(t.Context(), lapsing, delivery.StateSent, "p", "", now); !errors.Is(err, delivery.ErrLeaseLost) {
		t.Fatalf("complete with the ended lease: %v, want ErrLeaseLost", err)
	}
}

func testLeaseExpiry(t *testing.T, s delivery.Store) {
	ctx := t.Context()
	enqueue(t, s, message("m-1", "k", clock()))
	first, err := s.Claim(ctx, clock(), 100*time.Millisecond, 10)
	if err != nil || len(first) != 1 {
		t.Fatalf("claim = %+v, %v; want m-1", first, err)
	}
	if again, err := s.Claim(ctx, clock(), 100*time.Millisecond, 10); err != nil || len(again) != 0 {
		t.Fatalf("claim while leased = %+v, %v; want none", again, err)
	}
	time.Sleep(250 * time.Millisecond)
	second := claim(t, s, clock(), 10, "m-1")[0]
	if second.Attempts != 2 || second.Lease == first[0].Lease {
		t.Fatalf("claimed after the lease ended: %+v; want Attempts 2 and a new lease (first %q)", second, first[0].Lease)
	}
	leaseLost(t, s, first[0])
	complete(t, s, second, delivery.StateSent, clock())
}

func testComplete(t *testing.T, s delivery.Store) {
	now := clock()
	for i := range 4 {
		enqueue(t, s, message(fmt.Sprintf("m-%d", i+1), fmt.Sprintf("k%d", i+1), now.Add(time.Duration(i)*time.Millisecond)))
	}
	recs := claim(t, s, now.Add(time.Second), 10, "m-1", "m-2", "m-3", "m-4")
	if err := s.Complete(t.Context(), recs[3], "pending", "", "", now); err == nil {
		t.Error("complete in state pending succeeded")
	}
	for i, st := range []delivery.State{delivery.StateSent, delivery.StateFailed, delivery.StateExpired} {
		complete(t, s, recs[i], st, now)
		depth(t, s, 3-i, recs[i+1].AcceptedAt)
		leaseLost(t, s, recs[i])
	}
	claim(t, s, now.Add(time.Hour), 10, "m-4") // the only one left once leases end
}

func testRetry(t *testing.T, s delivery.Store) {
	now := clock()
	r := message("m-1", "k", now)
	enqueue(t, s, r)
	first := claim(t, s, now, 10, "m-1")[0]
	next := now.Add(30 * time.Second)
	if err := s.Retry(t.Context(), first, next, 2, "timeout"); err != nil {
		t.Fatal(err)
	}
	leaseLost(t, s, first)
	depth(t, s, 1, now)
	claim(t, s, now, 10)
	claim(t, s, next.Add(-time.Millisecond), 10)
	got := claim(t, s, next, 10, "m-1")[0]
	if got.Route != 2 || got.Attempts != 2 || !sameTime(got.NextAt, next) || !bytes.Equal(got.Payload, r.Payload) {
		t.Fatalf("claimed after retry: %+v; want Route 2, Attempts 2, NextAt %v, the payload", got, next)
	}
}

func testRelease(t *testing.T, s delivery.Store) {
	now := clock()
	r := message("m-1", "k", now)
	enqueue(t, s, r)
	first := claim(t, s, now, 10, "m-1")[0]
	if err := s.Retry(t.Context(), first, now, 1, "timeout"); err != nil {
		t.Fatal(err)
	}
	second := claim(t, s, now, 10, "m-1")[0] // Attempts 2
	if err := s.Release(t.Context(), second); err != nil {
		t.Fatal(err)
	}
	leaseLost(t, s, second)
	got := claim(t, s, now, 10, "m-1")[0]
	if got.Attempts != 2 || got.Route != 1 || !sameTime(got.NextAt, now) || !bytes.Equal(got.Payload, r.Payload) {
		t.Fatalf("claimed after release: %+v; want it as claimed before: Attempts 2, Route 1, NextAt %v", got, now)
	}
}

func testSupersede(t *testing.T, s delivery.Store) {
	now := clock()
	a, b, c := message("a", "k", now.Add(-3*time.Second)), message("b", "k", now.Add(-time.Second)), message("c", "other", now.Add(-2*time.Second))
	enqueue(t, s, a, c, b)
	depth(t, s, 2, c.AcceptedAt)
	claim(t, s, now, 10, "c", "b")
	claim(t, s, now.Add(time.Hour), 10, "c", "b") // once their leases end
}

func testSupersedeLeased(t *testing.T, s delivery.Store) {
	now := clock()
	enqueue(t, s, message("a", "k", now))
	a := claim(t, s, now, 10, "a")[0]
	enqueue(t, s, message("b", "k", now.Add(time.Second)))
	leaseLost(t, s, a)
	claim(t, s, now.Add(time.Second), 10, "b")
}

func testDuplicateID(t *testing.T, s delivery.Store) {
	now := clock()
	a := message("m-1", "k", now)
	enqueue(t, s, a)
	for _, key := range []string{"k", "other"} {
		dup := message("m-1", key, now)
		dup.Payload = []byte("another")
		if err := s.Enqueue(t.Context(), dup); err == nil {
			t.Fatalf("second enqueue of m-1 with key %s succeeded", key)
		}
	}
	// The failed enqueue superseded nothing.
	got := claim(t, s, now, 10, "m-1")[0]
	if !bytes.Equal(got.Payload, a.Payload) {
		t.Fatalf("payload %q, want %q", got.Payload, a.Payload)
	}
}

func testClaimOrder(t *testing.T, s delivery.Store) {
	now := clock()
	for _, i := range []int{3, 1, 6, 5, 2, 4} {
		r := message(fmt.Sprintf("m-%d", i), fmt.Sprintf("k%d", i), now)
		r.NextAt = now.Add(time.Duration(i-6) * time.Second) // m-1 is due first, m-6 now
		if i == 6 {
			r.NextAt = now.Add(time.Minute)
		}
		enqueue(t, s, r)
	}
	claim(t, s, now, 2, "m-1", "m-2")
	claim(t, s, now, 0)
	claim(t, s, now, 10, "m-3", "m-4", "m-5")
	claim(t, s, now, 10)
}

func testDepth(t *testing.T, s delivery.Store) {
	now := clock()
	depth(t, s, 0, time.Time{})
	a, b, c, d := message("a", "ka", now.Add(-3*time.Minute)), message("b", "kb", now.Add(-time.Minute)),
		message("c", "kc", now.Add(-2*time.Minute)), message("d", "kd", now.Add(-4*time.Minute))
	enqueue(t, s, a, b, c, d)
	depth(t, s, 4, d.AcceptedAt)
	recs := claim(t, s, now, 10, "d", "a", "c", "b")
	depth(t, s, 4, d.AcceptedAt) // leased records are still pending
	complete(t, s, recs[0], delivery.StateSent, now)
	depth(t, s, 3, a.AcceptedAt)
	enqueue(t, s, message("e", "ka", now)) // supersedes a
	depth(t, s, 3, c.AcceptedAt)
	for _, r := range recs[1:] {
		if r.ID != "a" {
			complete(t, s, r, delivery.StateFailed, now)
		}
	}
	depth(t, s, 1, now)
}

func testPurge(t *testing.T, s delivery.Store) {
	now := clock()
	then := now.Add(-3 * time.Hour)
	var recs []delivery.Record
	for i, id := range []string{"sent", "failed", "expired", "pending", "leased", "superseded"} {
		recs = append(recs, message(id, "k-"+id, then.Add(time.Duration(i)*time.Second)))
	}
	successor := message("successor", "k-superseded", now.Add(time.Hour)) // due later, too
	enqueue(t, s, recs...)
	enqueue(t, s, successor)
	leased := claim(t, s, now, 10, "sent", "failed", "expired", "pending", "leased")
	complete(t, s, leased[0], delivery.StateSent, now.Add(-2*time.Hour))
	complete(t, s, leased[1], delivery.StateFailed, now.Add(-time.Hour))
	complete(t, s, leased[2], delivery.StateExpired, now)
	if err := s.Release(t.Context(), leased[3]); err != nil {
		t.Fatal(err)
	}

	purge := func(before time.Time, want int64) {
		t.Helper()
		if n, err := s.Purge(t.Context(), before); err != nil || n != want {
			t.Fatalf("purge before %v = %d, %v; want %d", before, n, err, want)
		}
	}
	purge(now, 2) // sent and failed; expired ended at now, not before
	purge(now, 0)
	// A purged id is free again; a finished one not yet purged is not.
	enqueue(t, s, message("sent", "k-again", now))
	if err := s.Enqueue(t.Context(), message("expired", "k-again2", now)); err == nil {
		t.Fatal("enqueue of the id of an unpurged record succeeded")
	}
	purge(now.Add(2*time.Hour), 2) // expired, and superseded when its successor came
	purge(now.Add(24*time.Hour), 0)
	depth(t, s, 4, recs[3].AcceptedAt)
	claim(t, s, now.Add(time.Hour), 10, "pending", "leased", "sent", "successor")
}

// testConcurrentClaims has 8 workers, spread over the handles on one queue,
// claim batches of 10 of 200 records and complete them until none is left:
// each record must be claimed exactly once.
func testConcurrentClaims(t *testing.T, handles ...delivery.Store) {
	const records, workers, batch = 200, 8, 10
	now := clock()
	for i := range records {
		r := message(fmt.Sprintf("m-%03d", i), fmt.Sprintf("k%d", i), now.Add(time.Duration(i%17)*time.Millisecond))
		enqueue(t, handles[i%len(handles)], r)
	}
	var (
		mu     sync.Mutex
		claims = make(map[string]int)
		wg     sync.WaitGroup
	)
	claimAt := now.Add(time.Second)
	for w := range workers {
		s := handles[w%len(handles)]
		wg.Go(func() {
			for {
				recs, err := s.Claim(t.Context(), claimAt, time.Minute, batch)
				if err != nil || len(recs) == 0 {
					if err != nil {
						t.Errorf("worker %d: claim: %v", w, err)
					}
					return
				}
				for _, r := range recs {
					mu.Lock()
					claims[r.ID]++
					mu.Unlock()
					if err := s.Complete(t.Context(), r, delivery.StateSent, "", "", claimAt); err != nil {
						t.Errorf("worker %d: complete %s: %v", w, r.ID, err)
					}
				}
			}
		})
	}
	wg.Wait()
	for i := range records {
		if id := fmt.Sprintf("m-%03d", i); claims[id] != 1 {
			t.Errorf("%s claimed %d times, want once", id, claims[id])
		}
	}
	if len(claims) != records {
		t.Errorf("%d distinct records claimed, want %d", len(claims), records)
	}
	depth(t, handles[0], 0, time.Time{})
}
