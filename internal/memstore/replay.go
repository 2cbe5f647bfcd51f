package memstore

import (
	"context"
	"time"
)

// ClaimReplay implements web.Replays: the first caller for key claims it;
// later callers get what was settled for it, or nil while the first is still
// working.
func (s *Store) ClaimReplay(_ context.Context, key string, ttl time.Duration) (settled []byte, claimed bool, err error) {
	s.with("replay:"+key, func(e *entry, now time.Time) *entry {
		if e == nil {
			claimed = true
			return &entry{expires: now.Add(ttl)}
		}
		settled = e.replay
		return e
	})
	return settled, claimed, nil
}

// SettleReplay implements web.Replays.
func (s *Store) SettleReplay(_ context.Context, key string, answer []byte, ttl time.Duration) error {
	s.with("replay:"+key, func(_ *entry, now time.Time) *entry {
		return &entry{expires: now.Add(ttl), replay: answer}
	})
	return nil
}

// ReleaseReplay implements web.Replays.
func (s *Store) ReleaseReplay(_ context.Context, key string) error {
	s.with("replay:"+key, func(*entry, time.Time) *entry { return nil })
	return nil
}
