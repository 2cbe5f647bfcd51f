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

// quotaLog is a quota's events, oldest first. A long log, such as the global
// ceiling's, also indexes their ids, so that a take need not scan them; a
// short one, as a number's or an address's is, is scanned instead: its index
// would take more memory than its events.
type quotaLog struct {
	events []event
	ids    map[string]struct{} // the ids in events; nil while the log is short
}

// indexedLen is the length from which a log indexes its ids.
const indexedLen = 32

func (l *quotaLog) has(id string) bool {
	if l.ids != nil {
		_, ok := l.ids[id]
		return ok
	}
	return slices.ContainsFunc(l.events, func(ev event) bool { return ev.id == id })
}

// dropThrough forgets the events at or before cut.
func (l *quotaLog) dropThrough(cut time.Time) {
	old := youngest(l.events, cut)
	for _, ev := range l.events[:old] {
		delete(l.ids, ev.id)
	}
	l.events = slices.Delete(l.events, 0, old)
}

// add records ev in time order. It is almost always last, but with reads of
// the clock happening before the shard lock, a take may come in a little late.
func (l *quotaLog) add(ev event) {
	i := len(l.events)
	for i > 0 && l.events[i-1].at.After(ev.at) {
		i--
	}
	l.events = slices.Insert(l.events, i, ev)
	switch {
	case l.ids != nil:
		l.ids[ev.id] = struct{}{}
	case len(l.events) >= indexedLen:
		l.ids = make(map[string]struct{}, len(l.events))
		for _, ev := range l.events {
			l.ids[ev.id] = struct{}{}
		}
	}
}

// remove forgets the event of id, if the log holds it.
func (l *quotaLog) remove(id string) {
	if !l.has(id) {
		return
	}
	delete(l.ids, id)
	l.events = slices.DeleteFunc(l.events, func(ev event) bool { return ev.id == id })
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
			e = &entry{}
		}
		q := &e.quota
		q.dropThrough(now.Add(-longest))
		// An id the key still holds is that event again, not a new one.
		if !q.has(id) {
			if wait = quotaWait(q.events, windows, now); wait == 0 {
				q.add(event{at: now, id: id})
			}
		}
		if len(q.events) == 0 {
			return nil
		}
		e.expires = q.events[len(q.events)-1].at.Add(longest)
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
		if e.quota.remove(id); len(e.quota.events) == 0 {
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
