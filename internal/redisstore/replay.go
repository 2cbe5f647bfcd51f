package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// A replay key holds "" while its first request runs, then that request's
// answer, prefixed with "=" so an empty answer differs from "running".

// ClaimReplay implements web.Replays with one SET NX, and a GET when taken.
func (s *Store) ClaimReplay(ctx context.Context, key string, ttl time.Duration) ([]byte, bool, error) {
	k := s.key("replay", key)
	ok, err := s.client.SetNX(ctx, k, "", ttl).Result()
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: claim replay: %w", err)
	}
	if ok {
		return nil, true, nil
	}
	v, err := s.client.Get(ctx, k).Bytes()
	if errors.Is(err, redis.Nil) { // released or expired meanwhile: the caller may retry
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redisstore: claim replay: %w", err)
	}
	if len(v) == 0 {
		return nil, false, nil
	}
	return v[1:], false, nil
}

// SettleReplay implements web.Replays.
func (s *Store) SettleReplay(ctx context.Context, key string, answer []byte, ttl time.Duration) error {
	if err := s.client.Set(ctx, s.key("replay", key), append([]byte("="), answer...), ttl).Err(); err != nil {
		return fmt.Errorf("redisstore: settle replay: %w", err)
	}
	return nil
}

// ReleaseReplay implements web.Replays.
func (s *Store) ReleaseReplay(ctx context.Context, key string) error {
	if err := s.client.Del(ctx, s.key("replay", key)).Err(); err != nil {
		return fmt.Errorf("redisstore: release replay: %w", err)
	}
	return nil
}
