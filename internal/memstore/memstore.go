// Package memstore keeps captchas, verification codes, failure counters and
// quotas in process memory with expiry: the embedded default's store. Every
// check-and-change happens under one shard lock, so each is atomic.
package memstore

import (
	"context"
	"crypto/subtle"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/signupd/signupd/internal/account"
)

const shardCount = 64

// Store is safe for concurrent use. Expired entries are invisible at once and
// freed by Sweep.
type Store struct {
	clock  func() time.Time
	seed   maphash.Seed
	seed2  maphash.Seed // a captcha key's second hash
	shards [shardCount]shard
}

type shard struct {
	mu       sync.Mutex
	entries  map[string]*entry
	captchas map[captchaKey]captcha
}

// entry is a code, a failure counter, a budget, a replay, a quota or a
// count; keys are namespaced by kind, so one entry holds one of them.
type entry struct {
	expires time.Time

	codeHash    []byte // code; nil once consumed
	codeExpires time.Time
	resendAt    time.Time // no new code for the key before this
	attempts    int
	void        bool

	failures account.Failures

	spent int64 // budget

	replay []byte // a settled answer; nil while its request runs

	quota quotaLog // a quota's or counted events' log
}

// captchaKey is a captcha id's hash under two seeds, and a captcha holds
// its answer in an array: the captcha table has no pointers, so the garbage
// collector never scans it, however many captchas a flood leaves unsolved
// (a table of 300,000 of them made each collection scan 47 MB, and the
// captcha p99 rise from 4.4 to 6 ms). Two ids share a key only if both
// 64-bit hashes collide.
type captchaKey [2]uint64

// captcha is an answer and when it expires, in Unix nanoseconds.
type captcha struct {
	expires int64
	len     uint8
	answer  [maxAnswer]byte
}

// maxAnswer is the longest captcha answer the store keeps, in bytes.
const maxAnswer = 16

// New returns an empty store reading time from clock (time.Now when nil).
func New(clock func() time.Time) *Store {
	if clock == nil {
		clock = time.Now
	}
	s := &Store{clock: clock, seed: maphash.MakeSeed(), seed2: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].entries = make(map[string]*entry)
		s.shards[i].captchas = make(map[captchaKey]captcha)
	}
	return s
}

// with runs fn on key's live entry (nil if absent or expired) under the
// shard lock and stores what fn returns (nil deletes).
func (s *Store) with(key string, fn func(e *entry, now time.Time) *entry) {
	sh := &s.shards[maphash.String(s.seed, key)%shardCount]
	now := s.clock()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.entries[key]
	if e != nil && !now.Before(e.expires) {
		e = nil
	}
	if e = fn(e, now); e == nil {
		delete(sh.entries, key)
	} else {
		sh.entries[key] = e
	}
}

// Sweep frees expired entries and returns how many it freed.
func (s *Store) Sweep() int {
	now, n := s.clock(), 0
	nowNano := now.UnixNano()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for k, e := range sh.entries {
			if !now.Before(e.expires) {
				delete(sh.entries, k)
				n++
			}
		}
		for k, c := range sh.captchas {
			if nowNano >= c.expires {
				delete(sh.captchas, k)
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n
}

// Ping reports the store's health; memory is always there.
func (s *Store) Ping(context.Context) error { return nil }

// PutCaptcha keeps answer for id until ttl passes, replacing any older one.
func (s *Store) PutCaptcha(_ context.Context, id, answer string, ttl time.Duration) error {
	if len(answer) > maxAnswer {
		return fmt.Errorf("memstore: put captcha: an answer of %d bytes, more than %d", len(answer), maxAnswer)
	}
	c := captcha{expires: s.clock().Add(ttl).UnixNano(), len: uint8(len(answer))}
	copy(c.answer[:], answer)
	k, sh := s.captchaShard(id)
	sh.mu.Lock()
	sh.captchas[k] = c
	sh.mu.Unlock()
	return nil
}

// TakeCaptcha returns and deletes id's answer.
func (s *Store) TakeCaptcha(_ context.Context, id string) (string, error) {
	k, sh := s.captchaShard(id)
	now := s.clock().UnixNano()
	sh.mu.Lock()
	c, ok := sh.captchas[k]
	delete(sh.captchas, k)
	sh.mu.Unlock()
	if !ok || now >= c.expires {
		return "", account.ErrNotFound
	}
	return string(c.answer[:c.len]), nil
}

func (s *Store) captchaShard(id string) (captchaKey, *shard) {
	k := captchaKey{maphash.String(s.seed, id), maphash.String(s.seed2, id)}
	return k, &s.shards[k[0]%shardCount]
}

// StartCode implements account.CodeStore.
func (s *Store) StartCode(_ context.Context, key string, hash []byte, ttl, interval time.Duration) (time.Duration, error) {
	var wait time.Duration
	s.with("code:"+key, func(e *entry, now time.Time) *entry {
		if e != nil && now.Before(e.resendAt) {
			wait = e.resendAt.Sub(now)
			return e
		}
		return &entry{
			expires:  now.Add(max(ttl, interval)),
			codeHash: hash, codeExpires: now.Add(ttl), resendAt: now.Add(interval),
		}
	})
	return wait, nil
}

// CheckCode implements account.CodeStore.
func (s *Store) CheckCode(_ context.Context, key string, hash []byte, maxAttempts int) (account.CodeCheck, error) {
	res := account.CodeMissing
	s.with("code:"+key, func(e *entry, now time.Time) *entry {
		switch {
		case e == nil || e.codeHash == nil || !now.Before(e.codeExpires):
			res = account.CodeMissing
		case e.void:
			res = account.CodeVoid
		case subtle.ConstantTimeCompare(e.codeHash, hash) == 1:
			res, e.codeHash = account.CodeMatched, nil
		default:
			res = account.CodeMismatch
			e.attempts++
			e.void = e.attempts >= maxAttempts
		}
		return e
	})
	return res, nil
}

// CancelCode implements account.CodeStore.
func (s *Store) CancelCode(_ context.Context, key string) error {
	s.with("code:"+key, func(*entry, time.Time) *entry { return nil })
	return nil
}

// Failures implements account.FailureStore.
func (s *Store) Failures(_ context.Context, key string) (account.Failures, error) {
	var f account.Failures
	err := account.ErrNotFound
	s.with("fail:"+key, func(e *entry, _ time.Time) *entry {
		if e != nil {
			f, err = e.failures, nil
		}
		return e
	})
	return f, err
}

// TakeAttempt implements account.FailureStore.
func (s *Store) TakeAttempt(_ context.Context, key string, b account.Backoff, ttl time.Duration) (time.Duration, error) {
	var wait time.Duration
	s.with("fail:"+key, func(e *entry, now time.Time) *entry {
		if e == nil {
			e = &entry{}
		}
		if wait = e.failures.Last.Add(b.Delay(e.failures.Count)).Sub(now); wait > 0 {
			return e
		}
		wait = 0
		e.failures.Count++
		e.failures.Last = now
		e.expires = now.Add(ttl)
		return e
	})
	return wait, nil
}

// ForgiveAttempt implements account.FailureStore.
func (s *Store) ForgiveAttempt(_ context.Context, key string) error {
	s.with("fail:"+key, func(e *entry, _ time.Time) *entry {
		if e == nil || e.failures.Count <= 1 {
			return nil
		}
		e.failures.Count--
		return e
	})
	return nil
}

// ClearFailures implements account.FailureStore.
func (s *Store) ClearFailures(_ context.Context, key string) error {
	s.with("fail:"+key, func(*entry, time.Time) *entry { return nil })
	return nil
}
