package memstore

import (
	"context"
	"time"
)

// Spend implements account.BudgetStore.
func (s *Store) Spend(_ context.Context, key string, amount, limit int64, ttl time.Duration) (bool, error) {
	ok := false
	s.with("budget:"+key, func(e *entry, now time.Time) *entry {
		if e == nil {
			e = &entry{expires: now.Add(ttl)}
		}
		if e.spent+amount <= limit {
			e.spent += amount
			ok = true
		}
		return e
	})
	return ok, nil
}

// Unspend implements account.BudgetStore.
func (s *Store) Unspend(_ context.Context, key string, amount int64) error {
	s.with("budget:"+key, func(e *entry, _ time.Time) *entry {
		if e != nil {
			e.spent = max(0, e.spent-amount)
		}
		return e
	})
	return nil
}
