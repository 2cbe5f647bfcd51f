package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/signupd/signupd/internal/account"
)

// A failure counter is one hash per key: count and last (server time in ms).

// takeAttempt: KEYS[1] the counter; ARGV free, first delay ms, max delay
// ms, ttl ms. Returns the wait in ms, 0 when the attempt was counted. The
// delay is account.Backoff.Delay.
var takeAttempt = redis.NewScript(serverNow + `
local count = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
local free, delay, ceiling = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if count >= free then
  for i = free, count - 1 do
    if delay >= ceiling then break end
    delay = delay * 2
  end
  local wait = tonumber(redis.call('HGET', KEYS[1], 'last') or '0') + math.min(delay, ceiling) - now
  if wait > 0 then return wait end
end
redis.call('HSET', KEYS[1], 'count', count + 1, 'last', now)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 0
`)

// forgiveAttempt: KEYS[1] the counter.
var forgiveAttempt = redis.NewScript(`
if redis.call('HINCRBY', KEYS[1], 'count', -1) <= 0 then redis.call('DEL', KEYS[1]) end
return 0
`)

// Failures implements account.FailureStore; ErrNotFound when there is no
// live counter for key.
func (s *Store) Failures(ctx context.Context, key string) (account.Failures, error) {
	v, err := s.client.HMGet(ctx, s.key("fail", key), "count", "last").Result()
	if err != nil {
		return account.Failures{}, fmt.Errorf("redisstore: failures: %w", err)
	}
	count, ok1 := v[0].(string)
	last, ok2 := v[1].(string)
	if !ok1 || !ok2 {
		return account.Failures{}, fmt.Errorf("redisstore: failures: %w", account.ErrNotFound)
	}
	n, err1 := strconv.Atoi(count)
	t, err2 := strconv.ParseInt(last, 10, 64)
	if err1 != nil || err2 != nil {
		return account.Failures{}, errors.New("redisstore: failures: malformed counter")
	}
	return account.Failures{Count: n, Last: time.UnixMilli(t)}, nil
}

// TakeAttempt implements account.FailureStore: the check, the count, the
// time and the extended expiry are one script.
func (s *Store) TakeAttempt(ctx context.Context, key string, b account.Backoff, ttl time.Duration) (time.Duration, error) {
	px, err := ms(ttl)
	if err != nil {
		return 0, fmt.Errorf("redisstore: take attempt: %w", err)
	}
	wait, err := takeAttempt.Run(ctx, s.client, []string{s.key("fail", key)},
		b.Free, b.First.Milliseconds(), b.Max.Milliseconds(), px).Int64()
	if err != nil {
		return 0, fmt.Errorf("redisstore: take attempt: %w", err)
	}
	return time.Duration(wait) * time.Millisecond, nil
}

// ForgiveAttempt implements account.FailureStore.
func (s *Store) ForgiveAttempt(ctx context.Context, key string) error {
	if err := forgiveAttempt.Run(ctx, s.client, []string{s.key("fail", key)}).Err(); err != nil {
		return fmt.Errorf("redisstore: forgive attempt: %w", err)
	}
	return nil
}

// ClearFailures implements account.FailureStore.
func (s *Store) ClearFailures(ctx context.Context, key string) error {
	if err := s.client.Del(ctx, s.key("fail", key)).Err(); err != nil {
		return fmt.Errorf("redisstore: clear failures: %w", err)
	}
	return nil
}
