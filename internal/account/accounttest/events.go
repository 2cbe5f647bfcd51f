package accounttest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
)

// TestEventCounter runs the contract every EventCounter must pass.
func TestEventCounter(t *testing.T, open func(t *testing.T) account.EventCounter) {
	t.Run("counts in a sliding period", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		if n, err := s.Events(ctx, time.Minute, "k"); err != nil || !slices.Equal(n, []int{0}) {
			t.Fatalf("no events = %v, %v", n, err)
		}
		for i := 1; i <= 3; i++ {
			if n, err := s.CountEvent(ctx, "k", fmt.Sprint(i), 300*time.Millisecond); err != nil || n != i {
				t.Fatalf("event %d counted %d, %v", i, n, err)
			}
		}
		if n, err := s.Events(ctx, time.Minute, "k", "other", "k"); err != nil || !slices.Equal(n, []int{3, 0, 3}) {
			t.Fatalf("events of k, other and k = %v, %v; want 3, 0 and 3", n, err)
		}
		time.Sleep(400 * time.Millisecond)
		if n, _ := s.Events(ctx, 300*time.Millisecond, "k"); !slices.Equal(n, []int{0}) {
			t.Fatalf("%v events after the period, want 0", n)
		}
		if n, _ := s.CountEvent(ctx, "k", "4", 300*time.Millisecond); n != 1 {
			t.Fatalf("a new event after the period counted %d, want 1", n)
		}
	})
	t.Run("forgotten events do not count", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		for _, id := range []string{"a", "b", "b"} { // an id is one event
			if _, err := s.CountEvent(ctx, "f", id, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		if n, _ := s.Events(ctx, time.Minute, "f"); !slices.Equal(n, []int{2}) {
			t.Fatalf("%v events of ids a, b and b again, want 2", n)
		}
		for _, id := range []string{"a", "never counted"} {
			if err := s.ForgetEvent(ctx, "f", id); err != nil {
				t.Fatalf("forget %s: %v", id, err)
			}
		}
		if err := s.ForgetEvent(ctx, "none", "a"); err != nil {
			t.Fatalf("forget on a key with no events: %v", err)
		}
		if n, _ := s.Events(ctx, time.Minute, "f", "none"); !slices.Equal(n, []int{1, 0}) {
			t.Fatalf("events after forgetting a = %v, want 1 and 0", n)
		}
	})
	t.Run("concurrent events all count", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		parallel(40, func(i int) bool { _, err := s.CountEvent(ctx, "c", fmt.Sprint(i), time.Minute); return err == nil })
		if n, _ := s.Events(ctx, time.Minute, "c"); !slices.Equal(n, []int{40}) {
			t.Fatalf("%v events, want 40", n)
		}
	})
}
