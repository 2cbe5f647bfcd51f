package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/signupd/signupd/internal/account"
)

// PutCaptcha keeps answer for id until ttl passes (SET PX, on the server's
// clock), replacing any older one.
func (s *Store) PutCaptcha(ctx context.Context, id, answer string, ttl time.Duration) error {
	px, err := ms(ttl)
	if err != nil {
		return fmt.Errorf("redisstore: put captcha: %w", err)
	}
	err = s.client.Set(ctx, s.key("captcha", id), answer, time.Duration(px)*time.Millisecond).Err()
	if err != nil {
		return fmt.Errorf("redisstore: put captcha: %w", err)
	}
	return nil
}

// TakeCaptcha returns and deletes id's answer in one command (GETDEL), so of
// any number of concurrent takes, on any instance, one alone gets it.
func (s *Store) TakeCaptcha(ctx context.Context, id string) (string, error) {
	answer, err := s.client.GetDel(ctx, s.key("captcha", id)).Result()
	if errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("redisstore: take captcha: %w", account.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("redisstore: take captcha: %w", err)
	}
	return answer, nil
}
