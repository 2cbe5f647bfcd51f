package accounttest

import (
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
)

// TestBudgetStore runs the contract every BudgetStore must pass.
func TestBudgetStore(t *testing.T, open func(t *testing.T) account.BudgetStore) {
	t.Run("spend within the limit", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		for i, want := range []bool{true, true, true, false} {
			if ok, err := s.Spend(ctx, "day", 30, 100, time.Minute); err != nil || ok != want {
				t.Fatalf("spend %d: %v, %v; want %v", i, ok, err, want)
			}
		}
		if ok, _ := s.Spend(ctx, "day", 10, 100, time.Minute); !ok {
			t.Fatal("a smaller amount that fits was refused")
		}
		if ok, _ := s.Spend(ctx, "other day", 100, 100, time.Minute); !ok {
			t.Fatal("keys are not independent")
		}
	})
	t.Run("unspend", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		s.Spend(ctx, "day", 100, 100, time.Minute)
		if err := s.Unspend(ctx, "day", 40); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.Spend(ctx, "day", 40, 100, time.Minute); !ok {
			t.Fatal("unspent money was not available again")
		}
		if err := s.Unspend(ctx, "never", 5); err != nil {
			t.Fatalf("unspend on no counter: %v", err)
		}
		if ok, _ := s.Spend(ctx, "never", 100, 100, time.Minute); !ok {
			t.Fatal("unspend on no counter made a negative balance or a debt")
		}
	})
	t.Run("expiry", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		s.Spend(ctx, "day", 100, 100, 200*time.Millisecond)
		time.Sleep(350 * time.Millisecond)
		if ok, _ := s.Spend(ctx, "day", 100, 100, time.Minute); !ok {
			t.Fatal("the counter did not expire")
		}
	})
	t.Run("concurrent spends never pass the limit", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		n := parallel(100, func(i int) bool {
			ok, err := s.Spend(ctx, "race", 7, 100, time.Minute)
			return err == nil && ok
		})
		if n != 14 {
			t.Fatalf("%d spends of 7 fit in 100, want 14", n)
		}
	})
}
