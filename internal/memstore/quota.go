package memstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/signupd/signupd/internal/account"
)

// event is one take a quota recorded.
type event struct {
	at time.Time
	id string
}

// Take implements account.QuotaStore. A quota entry keeps, oldest first, the
// events younger than the longest period, which the windows' own check holds
// to at most the largest limit, and expires a longest period after its
// newest event.
func (s *Store) Take(_ context.Context, key, id string, windows []account.Window) (time.Duration, error) {
	longest, err := longestPeriod(windows)
	if err != nil {
		return 0, fmt.Errorf("memstore: take: %w", err)
	}
	var wait time.Duration
	s.with("quota:"+key, func(e *entry, now time.Time) *entry {
		if e == nil {
			e = &entry{more: &more{eventIDs: map[string]struct{}{}}}
		}
		old := youngest(e.events, now.Add(-longest))
		for _, ev := range e.events[:old] {
			delete(e.eventIDs, ev.id)
		}
		e.events = slices.Delete(e.events, 0, old)
		// An id the key still holds is that event again, not a new one.
		if _, again := e.eventIDs[id]; !again {
			if wait = quotaWait(e.events, windows, now); wait == 0 {
				e.events = insert(e.events, event{at: now, id: id})
				e.eventIDs[id] = struct{}{}
			}
		}
		if len(e.events) == 0 {
			return nil
		}
		e.expires = e.events[len(e.events)-1].at.Add(longest)
		return e
	})
	return wait, nil
}

// TakeAll implements account.QuotaStore, taking in order and refunding
// what it took when a quota refuses.
func (s *Store) TakeAll(ctx context.Context, id string, takes []account.QuotaTake) (int, time.Duration, error) {
	return account.TakeInOrder(ctx, s, id, takes)
}

// Refund implements account.QuotaStore.
func (s *Store) Refund(_ context.Context, key, id string) error {
	s.with("quota:"+key, func(e *entry, _ time.Time) *entry {
		if e == nil {
			return nil
		}
		if _, ok := e.eventIDs[id]; !ok {
			return e
		}
		delete(e.eventIDs, id)
		e.events = slices.DeleteFunc(e.events, func(ev event) bool { return ev.id == id })
		if len(e.events) == 0 {
			return nil
		}
		return e
	})
	return nil
}

// longestPeriod checks windows and returns their longest period. A quota
// with no windows or a nonsensical one is refused, not read as no limit.
func longestPeriod(windows []account.Window) (time.Duration, error) {
	if len(windows) == 0 {
		return 0, errors.New("no windows")
	}
	var longest time.Duration
	for _, w := range windows {
		if w.Limit < 0 || w.Period <= 0 {
			return 0, fmt.Errorf("bad window %+v", w)
		}
		longest = max(longest, w.Period)
	}
	return longest, nil
}

// youngest returns the index of the first event after cut.
func youngest(events []event, cut time.Time) int {
	i := 0
	for i < len(events) && !events[i].at.After(cut) {
		i++
	}
	return i
}

// insert adds ev in time order. It is almost always last, but with reads of
// the clock happening before the shard lock, a take may come in a little late.
func insert(events []event, ev event) []event {
	i := len(events)
	for i > 0 && events[i-1].at.After(ev.at) {
		i--
	}
	return slices.Insert(events, i, ev)
}

// quotaWait returns how long until every window has room for one more
// event: 0 when all have now, else the longest wait of those that are full.
// A window is full while its Limit-th newest event is inside it; a window
// with Limit 0 always is, and says to wait its Period.
func quotaWait(events []event, windows []account.Window, now time.Time) time.Duration {
	var wait time.Duration
	for _, w := range windows {
		if w.Limit == 0 {
			wait = max(wait, w.Period)
			continue
		}
		if len(events) < w.Limit {
			continue
		}
		if left := events[len(events)-w.Limit].at.Add(w.Period).Sub(now); left > 0 {
			wait = max(wait, left)
		}
	}
	return wait
}
