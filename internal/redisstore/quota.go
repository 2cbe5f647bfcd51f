package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/signupd/signupd/internal/account"
)

// A quota is one sorted set per key: each member an event id, scored by the
// server's time in microseconds when it was taken, so that events within
// one millisecond keep their order. Each take first drops the events older
// than the longest period; the windows' own check then holds the set to at
// most the largest limit, and the key expires a longest period after its
// newest event.
//
// A take that go-redis retries after a lost reply finds its id already in
// the set and reports 0 without counting it again: an id names one event.

// takeQuota: KEYS[1] the quota; ARGV the event id, then a limit and a period
// in ms for each window. Returns 0 when the id is recorded (now or already),
// else the ms, rounded up, until every window has room. A window is full
// while its limit-th newest event is inside it; one with limit 0 always is,
// and says to wait its period. Numbers reach redis.call as Lua numbers, not
// concatenated strings, which Lua would print with 14 digits only.
var takeQuota = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local longest = 0
for i = 3, #ARGV, 2 do
  longest = math.max(longest, tonumber(ARGV[i]))
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest * 1000)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
local wait = 0
for i = 2, #ARGV, 2 do
  local limit, period = tonumber(ARGV[i]), tonumber(ARGV[i + 1]) * 1000
  if limit == 0 then
    wait = math.max(wait, period)
  else
    local e = redis.call('ZRANGE', KEYS[1], limit - 1, limit - 1, 'REV', 'WITHSCORES')
    if e[2] and tonumber(e[2]) + period > now then
      wait = math.max(wait, tonumber(e[2]) + period - now)
    end
  end
end
if wait > 0 then
  return math.ceil(wait / 1000)
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], longest)
return 0
`)

// Take implements account.QuotaStore: trimming, the check of every window
// and the record are one script on one key, so of concurrent takes on any
// instances no more than the limits allow succeed.
func (s *Store) Take(ctx context.Context, key, id string, windows []account.Window) (time.Duration, error) {
	args, err := quotaArgs(id, windows)
	if err != nil {
		return 0, fmt.Errorf("redisstore: take: %w", err)
	}
	wait, err := takeQuota.Run(ctx, s.client, []string{s.key("quota", key)}, args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("redisstore: take: %w", err)
	}
	return time.Duration(wait) * time.Millisecond, nil
}

// TakeAll implements account.QuotaStore: the takes go out in one pipeline,
// one round trip (in a Cluster, one per node, at once), each the atomic
// script of Take; those that took are refunded, in another, when one refused.
func (s *Store) TakeAll(ctx context.Context, id string, takes []account.QuotaTake) (int, time.Duration, error) {
	keys, args := make([]string, len(takes)), make([][]any, len(takes))
	for i, t := range takes {
		a, err := quotaArgs(id, t.Windows)
		if err != nil {
			return 0, 0, fmt.Errorf("redisstore: take: %w", err)
		}
		keys[i], args[i] = s.key("quota", t.Key), a
	}
	run := func(script func(context.Context, redis.Scripter, []string, ...any) *redis.Cmd) ([]*redis.Cmd, error) {
		cmds := make([]*redis.Cmd, len(keys))
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, key := range keys {
				cmds[i] = script(ctx, p, []string{key}, args[i]...)
			}
			return nil
		})
		return cmds, err
	}
	cmds, err := run(takeQuota.EvalSha)
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		// A Redis that lost its scripts: send their text. Takes that ran
		// find their id recorded and are not counted twice.
		cmds, err = run(takeQuota.Eval)
	}
	refused, wait := -1, int64(0)
	var took []string
	for i, cmd := range cmds {
		w, cmdErr := cmd.Int64()
		switch {
		case cmdErr != nil:
			err = cmdErr
		case w == 0:
			took = append(took, keys[i])
		case refused < 0:
			refused, wait = i, w
		}
	}
	if err == nil && refused < 0 {
		return -1, 0, nil
	}
	if len(took) > 0 {
		rctx := context.WithoutCancel(ctx)
		_, rerr := s.client.Pipelined(rctx, func(p redis.Pipeliner) error {
			for _, key := range took {
				p.ZRem(rctx, key, id)
			}
			return nil
		})
		if err == nil {
			err = rerr
		}
	}
	if err != nil {
		return 0, 0, fmt.Errorf("redisstore: take: %w", err)
	}
	return refused, time.Duration(wait) * time.Millisecond, nil
}

// Refund implements account.QuotaStore. Redis deletes the set with its last
// member.
func (s *Store) Refund(ctx context.Context, key, id string) error {
	if err := s.client.ZRem(ctx, s.key("quota", key), id).Err(); err != nil {
		return fmt.Errorf("redisstore: refund: %w", err)
	}
	return nil
}

// quotaArgs checks windows and lays them out as takeQuota's ARGV. A quota
// with no windows or a nonsensical one is refused, not read as no limit.
func quotaArgs(id string, windows []account.Window) ([]any, error) {
	if len(windows) == 0 {
		return nil, errors.New("no windows")
	}
	args := make([]any, 0, 1+2*len(windows))
	args = append(args, id)
	for _, w := range windows {
		period, err := ms(w.Period)
		if w.Limit < 0 || err != nil {
			return nil, fmt.Errorf("bad window %+v", w)
		}
		args = append(args, w.Limit, period)
	}
	return args, nil
}
