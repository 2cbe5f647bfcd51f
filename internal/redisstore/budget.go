package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// budgetLua defines the budget functions of the scripts: budget_fits
// reports whether amount more keeps key's counter within limit;
// budget_spend adds it, setting the expiry when it creates the counter.
const budgetLua = `
local function budget_fits(key, amount, limit)
  return tonumber(redis.call('GET', key) or '0') + amount <= limit
end

local function budget_spend(key, amount, ttl)
  redis.call('INCRBY', key, amount)
  if redis.call('PTTL', key) < 0 then
    redis.call('PEXPIRE', key, ttl)
  end
end
`

// spend: KEYS[1] the counter; ARGV amount, limit, ttl ms. Returns 1 when
// spent, 0 when refused.
var spend = redis.NewScript(budgetLua + `
if not budget_fits(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])) then
  return 0
end
budget_spend(KEYS[1], ARGV[1], ARGV[3])
return 1
`)

// unspend: KEYS[1] the counter; ARGV amount. Never goes below zero and never
// creates a counter.
var unspend = redis.NewScript(`
local spent = tonumber(redis.call('GET', KEYS[1]) or '-1')
if spent < 0 then return 0 end
redis.call('DECRBY', KEYS[1], math.min(spent, tonumber(ARGV[1])))
return 1
`)

// Spend implements account.BudgetStore.
func (s *Store) Spend(ctx context.Context, key string, amount, limit int64, ttl time.Duration) (bool, error) {
	px, err := ms(ttl)
	if err != nil {
		return false, fmt.Errorf("redisstore: spend: %w", err)
	}
	n, err := spend.Run(ctx, s.client, []string{s.key("budget", key)}, amount, limit, px).Int()
	if err != nil {
		return false, fmt.Errorf("redisstore: spend: %w", err)
	}
	return n == 1, nil
}

// Unspend implements account.BudgetStore.
func (s *Store) Unspend(ctx context.Context, key string, amount int64) error {
	if err := unspend.Run(ctx, s.client, []string{s.key("budget", key)}, amount).Err(); err != nil {
		return fmt.Errorf("redisstore: unspend: %w", err)
	}
	return nil
}
