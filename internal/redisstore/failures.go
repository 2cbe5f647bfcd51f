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

// addFailure: KEYS[1] the counter; ARGV ttl ms. Returns {count, last}.
var addFailure = redis.NewScript(serverNow + `
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('HSET', KEYS[1], 'last', now)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return {count, now}
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

// AddFailure implements account.FailureStore: the count, the time and the
// extended expiry are one script.
func (s *Store) AddFailure(ctx context.Context, key string, ttl time.Duration) (account.Failures, error) {
	px, err := ms(ttl)
	if err != nil {
		return account.Failures{}, fmt.Errorf("redisstore: add failure: %w", err)
	}
	v, err := addFailure.Run(ctx, s.client, []string{s.key("fail", key)}, px).Int64Slice()
	if err != nil {
		return account.Failures{}, fmt.Errorf("redisstore: add failure: %w", err)
	}
	if len(v) != 2 {
		return account.Failures{}, errors.New("redisstore: add failure: unexpected reply")
	}
	return account.Failures{Count: int(v[0]), Last: time.UnixMilli(v[1])}, nil
}

// ClearFailures implements account.FailureStore.
func (s *Store) ClearFailures(ctx context.Context, key string) error {
	if err := s.client.Del(ctx, s.key("fail", key)).Err(); err != nil {
		return fmt.Errorf("redisstore: clear failures: %w", err)
	}
	return nil
}
