package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// eventLua defines event_count: key is a sorted set of event ids scored by
// server time in ms (13 digits: Lua's number-to-string keeps 14 exactly).
// It records id, drops the events older than period, and counts.
const eventLua = `
local function event_count(key, id, period)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
  redis.call('ZADD', key, now, id)
  redis.call('PEXPIRE', key, period)
  return redis.call('ZCARD', key)
end
`

// countEvent: KEYS[1] the events; ARGV id, period in ms.
var countEvent = redis.NewScript(serverNow + eventLua + `
return event_count(KEYS[1], ARGV[1], tonumber(ARGV[2]))
`)

// events: KEYS[1] as above; ARGV period in ms.
var events = redis.NewScript(serverNow + `
return redis.call('ZCOUNT', KEYS[1], now - tonumber(ARGV[1]), '+inf')
`)

// CountEvent implements account.EventCounter.
func (s *Store) CountEvent(ctx context.Context, key, id string, period time.Duration) (int, error) {
	px, err := ms(period)
	if err != nil {
		return 0, fmt.Errorf("redisstore: count event: %w", err)
	}
	n, err := countEvent.Run(ctx, s.client, []string{s.key("events", key)}, id, px).Int()
	if err != nil {
		return 0, fmt.Errorf("redisstore: count event: %w", err)
	}
	return n, nil
}

// Events implements account.EventCounter, reading every key in one
// pipeline (in a Cluster, one per node, at once).
func (s *Store) Events(ctx context.Context, period time.Duration, keys ...string) ([]int, error) {
	px, err := ms(period)
	if err != nil {
		return nil, fmt.Errorf("redisstore: events: %w", err)
	}
	run := func(script func(context.Context, redis.Scripter, []string, ...any) *redis.Cmd) ([]*redis.Cmd, error) {
		cmds := make([]*redis.Cmd, len(keys))
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, key := range keys {
				cmds[i] = script(ctx, p, []string{s.key("events", key)}, px)
			}
			return nil
		})
		return cmds, err
	}
	cmds, err := run(events.EvalSha)
	if redis.HasErrorPrefix(err, "NOSCRIPT") { // a Redis that lost its scripts
		cmds, err = run(events.Eval)
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: events: %w", err)
	}
	counts := make([]int, len(keys))
	for i, cmd := range cmds {
		if counts[i], err = cmd.Int(); err != nil {
			return nil, fmt.Errorf("redisstore: events: %w", err)
		}
	}
	return counts, nil
}

// ForgetEvent implements account.EventCounter.
func (s *Store) ForgetEvent(ctx context.Context, key, id string) error {
	if err := s.client.ZRem(ctx, s.key("events", key), id).Err(); err != nil {
		return fmt.Errorf("redisstore: forget event: %w", err)
	}
	return nil
}
