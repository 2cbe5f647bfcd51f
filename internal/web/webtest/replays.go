// Package webtest holds the contract suite of the stores the web layer uses.
package webtest

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/web"
)

// TestReplays runs the contract every web.Replays must pass; open returns a
// store isolated from every other call's.
func TestReplays(t *testing.T, open func(t *testing.T) web.Replays) {
	ctx := context.Background()
	t.Run("claim, settle, replay, release", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		if settled, claimed, err := s.ClaimReplay(ctx, "k", time.Minute); err != nil || !claimed || settled != nil {
			t.Fatalf("first claim = %q, %v, %v; want claimed", settled, claimed, err)
		}
		if settled, claimed, _ := s.ClaimReplay(ctx, "k", time.Minute); claimed || settled != nil {
			t.Fatalf("claim while running = %q, %v; want neither", settled, claimed)
		}
		if err := s.SettleReplay(ctx, "k", []byte(`{"errno":"0"}`), time.Minute); err != nil {
			t.Fatal(err)
		}
		if settled, claimed, _ := s.ClaimReplay(ctx, "k", time.Minute); claimed || !bytes.Equal(settled, []byte(`{"errno":"0"}`)) {
			t.Fatalf("claim after settle = %q, %v; want the answer", settled, claimed)
		}
		if _, claimed, _ := s.ClaimReplay(ctx, "other", time.Minute); !claimed {
			t.Fatal("keys are not independent")
		}
		if err := s.ReleaseReplay(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if _, claimed, _ := s.ClaimReplay(ctx, "k", time.Minute); !claimed {
			t.Fatal("a released key could not be claimed again")
		}
	})
	t.Run("expiry", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		s.ClaimReplay(ctx, "k", 150*time.Millisecond)
		time.Sleep(300 * time.Millisecond)
		if _, claimed, _ := s.ClaimReplay(ctx, "k", time.Minute); !claimed {
			t.Fatal("an expired claim still held the key")
		}
	})
	t.Run("one claim under contention", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			claims int
		)
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, claimed, err := s.ClaimReplay(ctx, "race", time.Minute); err == nil && claimed {
					mu.Lock()
					claims++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if claims != 1 {
			t.Fatalf("%d claims, want exactly 1", claims)
		}
	})
}
