package accounttest

import (
	"fmt"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
)

// TestEventCounter runs the contract every EventCounter must pass.
func TestEventCounter(t *testing.T, open func(t *testing.T) account.EventCounter) {
	t.Run("counts in a sliding period", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		if n, err := s.Events(ctx, "k", time.Minute); err != nil || n != 0 {
			t.Fatalf("no events = %d, %v", n, err)
		}
		for i := 1; i <= 3; i++ {
			if n, err := s.CountEvent(ctx, "k", fmt.Sprint(i), 300*time.Millisecond); err != nil || n != i {
				t.Fatalf("event %d counted %d, %v", i, n, err)
			}
		}
		if n, _ := s.Events(ctx, "other", time.Minute); n != 0 {
			t.Fatal("keys are not independent")
		}
		time.Sleep(400 * time.Millisecond)
		if n, _ := s.Events(ctx, "k", 300*time.Millisecond); n != 0 {
			t.Fatalf("%d events after the period, want 0", n)
		}
		if n, _ := s.CountEvent(ctx, "k", "4", 300*time.Millisecond); n != 1 {
			t.Fatalf("a new event after the period counted %d, want 1", n)
		}
	})
	t.Run("concurrent events all count", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		parallel(40, func(i int) bool { _, err := s.CountEvent(ctx, "c", fmt.Sprint(i), time.Minute); return err == nil })
		if n, _ := s.Events(ctx, "c", time.Minute); n != 40 {
			t.Fatalf("%d events, want 40", n)
		}
	})
}
