package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/signupd/signupd/internal/account"
)

// A code is one hash per key, so each script below touches one key and runs
// on Redis Cluster as it is:
//
//	hash          the code's HMAC; removed when the code is consumed
//	attempts      wrong guesses so far
//	void          1 once attempts reached maxAttempts
//	code_expires  server time in ms after which the code is dead
//	resend_at     server time in ms before which no new code may start
//
// The key itself expires (PEXPIRE) when both the code and the resend window
// are over.

// codeLua defines the code functions of the scripts: code_wait returns
// the ms left in key's resend window, 0 when a code may start; code_start
// stores hash as key's live code, replacing any older one and its attempts.
const codeLua = `
local function code_wait(key)
  local resend_at = tonumber(redis.call('HGET', key, 'resend_at'))
  if resend_at and now < resend_at then
    return resend_at - now
  end
  return 0
end

local function code_start(key, hash, ttl, interval)
  redis.call('DEL', key)
  redis.call('HSET', key, 'hash', hash, 'attempts', 0, 'void', 0,
    'code_expires', now + ttl, 'resend_at', now + interval)
  redis.call('PEXPIRE', key, math.max(ttl, interval))
end
`

// startCode: KEYS[1] the code; ARGV hash, ttl ms, interval ms. Returns the
// ms left in the resend window, 0 when the new code was stored.
var startCode = redis.NewScript(serverNow + codeLua + `
local wait = code_wait(KEYS[1])
if wait > 0 then
  return wait
end
code_start(KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
return 0
`)

// The replies of checkCode.
const (
	checkMatched  = 1
	checkMismatch = 2
	checkMissing  = 3
	checkVoid     = 4
)

// checkCode: KEYS[1] the code; ARGV hash, maxAttempts. Returns one of the
// check* values. The comparison is Lua's plain string equality, not constant
// time: what is stored and compared is an HMAC of the code under a server
// key, so timing reveals nothing about the code itself, and the comparison
// runs inside Redis, out of reach of a client's clock.
var checkCode = redis.NewScript(serverNow + `
local c = redis.call('HMGET', KEYS[1], 'hash', 'code_expires', 'void')
if not c[1] or now >= tonumber(c[2]) then
  return 3
end
if c[3] == '1' then
  return 4
end
if c[1] == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'hash')
  return 1
end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempts >= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'void', 1)
end
return 2
`)

// StartCode implements account.CodeStore: the resend window check and the
// write are one script, so of concurrent starts on any instances one alone
// succeeds within a window.
func (s *Store) StartCode(ctx context.Context, key string, hash []byte, ttl, interval time.Duration) (time.Duration, error) {
	ttlMS, err := ms(ttl)
	if err != nil {
		return 0, fmt.Errorf("redisstore: start code: %w", err)
	}
	intervalMS := int64(0)
	if interval > 0 {
		intervalMS, _ = ms(interval)
	}
	wait, err := startCode.Run(ctx, s.client, []string{s.key("code", key)}, hash, ttlMS, intervalMS).Int64()
	if err != nil {
		return 0, fmt.Errorf("redisstore: start code: %w", err)
	}
	return time.Duration(wait) * time.Millisecond, nil
}

// CheckCode implements account.CodeStore: compare, consume or count, and
// void are one script, so one code matches once and never takes more than
// maxAttempts wrong guesses, however many instances check at once.
func (s *Store) CheckCode(ctx context.Context, key string, hash []byte, maxAttempts int) (account.CodeCheck, error) {
	res, err := checkCode.Run(ctx, s.client, []string{s.key("code", key)}, hash, maxAttempts).Int64()
	if err != nil {
		return 0, fmt.Errorf("redisstore: check code: %w", err)
	}
	switch res {
	case checkMatched:
		return account.CodeMatched, nil
	case checkMismatch:
		return account.CodeMismatch, nil
	case checkMissing:
		return account.CodeMissing, nil
	case checkVoid:
		return account.CodeVoid, nil
	}
	return 0, fmt.Errorf("redisstore: check code: unexpected reply %d", res)
}

// CancelCode implements account.CodeStore: it deletes the code and its
// resend window.
func (s *Store) CancelCode(ctx context.Context, key string) error {
	if err := s.client.Del(ctx, s.key("code", key)).Err(); err != nil {
		return fmt.Errorf("redisstore: cancel code: %w", err)
	}
	return nil
}
