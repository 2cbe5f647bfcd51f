package memstore

import (
	"context"
	"time"
)

// CountEvent implements account.EventCounter.
func (s *Store) CountEvent(_ context.Context, key, _ string, period time.Duration) (int, error) {
	n := 0
	s.with("events:"+key, func(e *entry, now time.Time) *entry {
		if e == nil {
			e = &entry{more: &more{}}
		}
		e.times = append(trimBefore(e.times, now.Add(-period)), now)
		e.expires, n = now.Add(period), len(e.times)
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
				e.times = trimBefore(e.times, now.Add(-period))
				counts[i] = len(e.times)
			}
			return e
		})
	}
	return counts, nil
}

// trimBefore drops the times before t from a slice in time order.
func trimBefore(times []time.Time, t time.Time) []time.Time {
	i := 0
	for i < len(times) && times[i].Before(t) {
		i++
	}
	return times[i:]
}
