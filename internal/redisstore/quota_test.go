package redisstore_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/redisstore"
	"github.com/signupd/signupd/internal/testserver"
)

// TestQuotaKey pins a quota's layout: one sorted set of event ids scored in
// server microseconds, never more members than the largest limit, expiring
// a longest period after its newest event.
func TestQuotaKey(t *testing.T) {
	t.Parallel()
	srv := testserver.SharedRedis(t)
	p := prefix()
	s := open(t, srv.URL(), p)
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { raw.Close() })
	ctx := t.Context()
	const key = "send:+8613812345678"
	w := []account.Window{{Limit: 3, Period: 4 * time.Second}, {Limit: 2, Period: 2 * time.Second}}

	before := time.Now()
	for i := range 10 {
		if _, err := s.Take(ctx, key, fmt.Sprint("event-", i), w); err != nil {
			t.Fatal(err)
		}
	}
	after := time.Now()
	rk := p + "signup:quota:{" + key + "}"
	got, err := raw.ZRangeWithScores(ctx, rk, 0, -1).Result()
	if err != nil || len(got) != 2 {
		t.Fatalf("ZRANGE %s = %v, %v; want the 2 events the 2s window let in", rk, got, err)
	}
	for i, z := range got {
		at := time.UnixMicro(int64(z.Score))
		if z.Member != fmt.Sprint("event-", i) || at.Before(before.Add(-time.Second)) || at.After(after.Add(time.Second)) {
			t.Errorf("member %d = %v at %v; want event-%d at about now, in microseconds", i, z.Member, at, i)
		}
	}
	if ttl, err := raw.PTTL(ctx, rk).Result(); err != nil || ttl <= 3*time.Second || ttl > 4*time.Second {
		t.Errorf("PTTL %s = %v, %v; want about the longest period, 4s", rk, ttl, err)
	}
	for _, id := range []string{"event-0", "event-1"} {
		if err := s.Refund(ctx, key, id); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := raw.Exists(ctx, rk).Result(); err != nil || n != 0 {
		t.Errorf("EXISTS %s after refunding every event = %d, %v; want it gone", rk, n, err)
	}
}

// TestTakeAcrossInstances has three Stores, like three signupd instances,
// take from one quota at once: the limit holds across them.
func TestTakeAcrossInstances(t *testing.T) {
	t.Parallel()
	url, p := testserver.SharedRedis(t).URL(), prefix()
	stores := []*redisstore.Store{open(t, url, p), open(t, url, p), open(t, url, p)}
	w := []account.Window{{Limit: 10, Period: time.Minute}}
	var (
		wg      sync.WaitGroup
		wins    atomic.Int32
		errs    = make(chan error, 90)
		release = make(chan struct{})
	)
	for i := range 90 {
		wg.Go(func() {
			<-release
			wait, err := stores[i%3].Take(t.Context(), "ip:192.0.2.1", fmt.Sprint("event-", i), w)
			if err != nil {
				errs <- err
			} else if wait == 0 {
				wins.Add(1)
			}
		})
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := wins.Load(); n != 10 {
		t.Fatalf("%d takes succeeded across 3 instances, want exactly 10", n)
	}
}

// TestScriptsAfterFlush: a Redis that lost its scripts (a restart, a
// SCRIPT FLUSH) still takes all quotas, once per event, and counts events
// in a pipeline.
func TestScriptsAfterFlush(t *testing.T) {
	t.Parallel()
	srv := testserver.SharedRedis(t)
	s := open(t, srv.URL(), prefix())
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { raw.Close() })
	w := []account.Window{{Limit: 1, Period: time.Hour}}
	takes := []account.QuotaTake{{Key: "flush-a", Windows: w}, {Key: "flush-b", Windows: w}}
	for _, id := range []string{"first", "second"} {
		if err := raw.ScriptFlush(t.Context()).Err(); err != nil {
			t.Fatal(err)
		}
		refused, _, err := s.TakeAll(t.Context(), id, takes)
		if err != nil {
			t.Fatalf("take all %s after SCRIPT FLUSH: %v", id, err)
		}
		if want := map[string]int{"first": -1, "second": 0}[id]; refused != want {
			t.Fatalf("take all %s after SCRIPT FLUSH: refused %d, want %d", id, refused, want)
		}
	}
	if err := raw.ScriptFlush(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CountEvent(t.Context(), "flush-events", "one", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := raw.ScriptFlush(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Events(t.Context(), time.Minute, "flush-events", "flush-none"); err != nil || n[0] != 1 || n[1] != 0 {
		t.Fatalf("events after SCRIPT FLUSH = %v, %v; want 1 and 0", n, err)
	}
}
