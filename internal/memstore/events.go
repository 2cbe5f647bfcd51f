package memstore

import (
	"context"
	"time"
)

// CountEvent implements account.EventCounter. The events are a quota's log:
// an id the key holds is counted once.
func (s *Store) CountEvent(_ context.Context, key, id string, period time.Duration) (int, error) {
	n := 0
	s.with("events:"+key, func(e *entry, now time.Time) *entry {
		if e == nil {
			e = &entry{}
		}
		e.quota.dropThrough(now.Add(-period))
		if !e.quota.has(id) {
			e.quota.add(event{at: now, id: id})
		}
		e.expires, n = now.Add(period), len(e.quota.events)
		return e
	})
	return n, nil
}

// Events implements account.EventCounter.
func (s *Store) Events(_ context.Context, period time.Duration, keys ...string) ([]int, error) {
	counts := make([]int, len(keys))
	for i, key := range keys {
		s.with("events:"+key, func(e *entry, now time.Time) *entry {
			if e != nil {
				e.quota.dropThrough(now.Add(-period))
				counts[i] = len(e.quota.events)
			}
			return e
		})
	}
	return counts, nil
}

// ForgetEvent implements account.EventCounter.
func (s *Store) ForgetEvent(_ context.Context, key, id string) error {
	s.with("events:"+key, func(e *entry, _ time.Time) *entry {
		if e != nil {
			e.quota.remove(id)
		}
		return e
	})
	return nil
}
