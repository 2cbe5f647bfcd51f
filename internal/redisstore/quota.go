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

// quotaLua defines the quota functions of the scripts. quota_check checks
// the count quotas from KEYS[first], whose windows start at ARGV[a] (for
// each key its number of windows, then their limits and periods in ms),
// in order, recording nothing. It returns the index (from 1) of the first
// that refuses and the ms, rounded up, until every window of it has room,
// or 0, 0; then the index in ARGV after the windows, and what
// quota_record needs to record id in every key that does not hold it yet
// (a key that already holds it is not counted again). A window is full
// while its limit-th newest event is inside it; one with limit 0 always
// is, and says to wait its period. Numbers reach redis.call as Lua
// numbers, not concatenated strings, which Lua would print with 14 digits
// only.
const quotaLua = `
local function quota_check(first, count, a, id)
  local longest, held = {}, {}
  for k = 1, count do
    local key, n = KEYS[first + k - 1], tonumber(ARGV[a])
    longest[k] = 0
    for w = 1, n do
      longest[k] = math.max(longest[k], tonumber(ARGV[a + 2 * w]))
    end
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now_us - longest[k] * 1000)
    held[k] = redis.call('ZSCORE', key, id)
    if not held[k] then
      local wait = 0
      for w = 1, n do
        local limit, period = tonumber(ARGV[a + 2 * w - 1]), tonumber(ARGV[a + 2 * w]) * 1000
        if limit == 0 then
          wait = math.max(wait, period)
        else
          local e = redis.call('ZRANGE', key, limit - 1, limit - 1, 'REV', 'WITHSCORES')
          if e[2] and tonumber(e[2]) + period > now_us then
            wait = math.max(wait, tonumber(e[2]) + period - now_us)
          end
        end
      end
      if wait > 0 then
        return k, math.ceil(wait / 1000), a, longest, held
      end
    end
    a = a + 1 + 2 * n
  end
  return 0, 0, a, longest, held
end

local function quota_record(first, count, id, longest, held)
  for k = 1, count do
    if not held[k] then
      redis.call('ZADD', KEYS[first + k - 1], now_us, id)
      redis.call('PEXPIRE', KEYS[first + k - 1], longest[k])
    end
  end
end
`

// takeQuotas takes from one quota or several, all or none: KEYS the
// quotas; ARGV the event id, then the windows as quota_check reads them.
// It checks every key before it records anything, and returns {i, ms} for
// the first key i that refuses, or {0, 0} once the id is in every key.
var takeQuotas = redis.NewScript(serverNow + quotaLua + `
local k, wait, _, longest, held = quota_check(1, #KEYS, 2, ARGV[1])
if k > 0 then
  return {k, wait}
end
quota_record(1, #KEYS, ARGV[1], longest, held)
return {0, 0}
`)

// Take implements account.QuotaStore: trimming, the check of every window
// and the record are one script on one key, so of concurrent takes on any
// instances no more than the limits allow succeed.
func (s *Store) Take(ctx context.Context, key, id string, windows []account.Window) (time.Duration, error) {
	_, wait, err := s.takeAtOnce(ctx, id, []account.QuotaTake{{Key: key, Windows: windows}})
	return wait, err
}

// TakeAll implements account.QuotaStore. On one Redis (or a Sentinel's
// master) it is one script over every key, so the check of all quotas and
// the record are one atomic step and one round trip, and a quota that
// refuses leaves the others untouched. A Cluster keeps the keys in
// different slots, which no script may span: there the quotas are taken in
// order, one round trip each, and those taken are refunded after a refusal.
func (s *Store) TakeAll(ctx context.Context, id string, takes []account.QuotaTake) (int, time.Duration, error) {
	if _, cluster := s.client.(*redis.ClusterClient); cluster {
		return account.TakeInOrder(ctx, s, id, takes)
	}
	return s.takeAtOnce(ctx, id, takes)
}

// takeAtOnce runs takeQuotas on the keys of takes: one round trip.
func (s *Store) takeAtOnce(ctx context.Context, id string, takes []account.QuotaTake) (int, time.Duration, error) {
	keys, args := make([]string, len(takes)), []any{id}
	for i, t := range takes {
		var err error
		if args, err = appendWindows(args, t.Windows); err != nil {
			return 0, 0, fmt.Errorf("redisstore: take: %w", err)
		}
		keys[i] = s.key("quota", t.Key)
	}
	res, err := takeQuotas.Run(ctx, s.client, keys, args...).Int64Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("redisstore: take: %w", err)
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("redisstore: take: unexpected reply %v", res)
	}
	return int(res[0]) - 1, time.Duration(res[1]) * time.Millisecond, nil
}

// Refund implements account.QuotaStore. Redis deletes the set with its last
// member.
func (s *Store) Refund(ctx context.Context, key, id string) error {
	if err := s.client.ZRem(ctx, s.key("quota", key), id).Err(); err != nil {
		return fmt.Errorf("redisstore: refund: %w", err)
	}
	return nil
}

// appendWindows checks windows and appends them to takeQuotas's ARGV:
// their number, then each one's limit and period. A quota with no windows
// or a nonsensical one is refused, not read as no limit.
func appendWindows(args []any, windows []account.Window) ([]any, error) {
	if len(windows) == 0 {
		return nil, errors.New("no windows")
	}
	args = append(args, len(windows))
	for _, w := range windows {
		period, err := ms(w.Period)
		if w.Limit < 0 || err != nil {
			return nil, fmt.Errorf("bad window %+v", w)
		}
		args = append(args, w.Limit, period)
	}
	return args, nil
}
