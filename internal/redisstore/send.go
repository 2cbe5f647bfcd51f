package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/signupd/signupd/internal/account"
)

// The replies of startSend, in the order its checks run.
const (
	sendAllowed = iota
	sendQuotaFull
	sendOverBudget
	sendTooSoon
)

// startSend does an account.SendStart at once: KEYS the quotas, then the
// budget's counter, the code and the count's events, each of the last
// three only when present; ARGV the event id, the number of quotas, their
// windows as quota_check reads them, then 1 and the budget's amount, limit
// and ttl ms (or 0 and three zeros), 1 and the code's hash, ttl ms and
// interval ms (or 0 and three zeros), 1 and the count's period ms (or 0, 0).
// It checks the quotas, the budget and the resend window in that order and
// returns {refusal, quota from 1, wait ms} for the first that refuses,
// having recorded nothing; else it records all of them and returns
// {0, 0, 0}. An id the first quota already holds is this send again, run
// by a retry after its reply was lost: it went ahead then, so it does now.
var startSend = redis.NewScript(serverNow + quotaLua + budgetLua + codeLua + eventLua + `
local id, quotas = ARGV[1], tonumber(ARGV[2])
local k, wait, a, longest, held = quota_check(1, quotas, 3, id)
if held[1] then
  return {0, 0, 0}
end
if k > 0 then
  return {1, k, wait}
end
local key, budget, code, events = quotas
if ARGV[a] == '1' then
  key = key + 1
  budget = KEYS[key]
  if not budget_fits(budget, tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])) then
    return {2, 0, 0}
  end
end
if ARGV[a + 4] == '1' then
  key = key + 1
  code = KEYS[key]
  wait = code_wait(code)
  if wait > 0 then
    return {3, 0, wait}
  end
end
if ARGV[a + 8] == '1' then
  events = KEYS[key + 1]
end
quota_record(1, quotas, id, longest, held)
if budget then
  budget_spend(budget, ARGV[a + 1], ARGV[a + 3])
end
if code then
  code_start(code, ARGV[a + 5], tonumber(ARGV[a + 6]), tonumber(ARGV[a + 7]))
end
if events then
  event_count(events, id, tonumber(ARGV[a + 9]))
end
return {0, 0, 0}
`)

// StartSend implements account.SendStarter. On one Redis (or a Sentinel's
// master) it is one script over every key, so a send's quotas, budget, code
// and count are one atomic step and one round trip. A Cluster keeps the
// keys in different slots, which no script may span: there it is
// account.SendSteps, one round trip for each part.
func (s *Store) StartSend(ctx context.Context, st account.SendStart) (account.SendOutcome, error) {
	if _, cluster := s.client.(*redis.ClusterClient); cluster {
		return s.steps().StartSend(ctx, st)
	}
	keys, args, err := s.sendArgs(st)
	if err != nil {
		return account.SendOutcome{}, fmt.Errorf("redisstore: start send: %w", err)
	}
	res, err := startSend.Run(ctx, s.client, keys, args...).Int64Slice()
	if err != nil {
		return account.SendOutcome{}, fmt.Errorf("redisstore: start send: %w", err)
	}
	if len(res) != 3 {
		return account.SendOutcome{}, fmt.Errorf("redisstore: start send: unexpected reply %v", res)
	}
	wait := time.Duration(res[2]) * time.Millisecond
	switch res[0] {
	case sendAllowed:
		return account.SendOutcome{}, nil
	case sendQuotaFull:
		return account.SendOutcome{Refusal: account.SendQuotaFull, Quota: int(res[1]) - 1, Wait: wait}, nil
	case sendOverBudget:
		return account.SendOutcome{Refusal: account.SendOverBudget}, nil
	case sendTooSoon:
		return account.SendOutcome{Refusal: account.SendTooSoon, Wait: wait}, nil
	}
	return account.SendOutcome{}, fmt.Errorf("redisstore: start send: unexpected reply %v", res)
}

// UndoSend implements account.SendStarter, one round trip for each part:
// it runs only for a message that could not be queued.
func (s *Store) UndoSend(ctx context.Context, st account.SendStart) error {
	return s.steps().UndoSend(ctx, st)
}

func (s *Store) steps() account.SendSteps {
	return account.SendSteps{Quotas: s, Budgets: s, Codes: s, Events: s}
}

// sendArgs lays out st as startSend reads it.
func (s *Store) sendArgs(st account.SendStart) (keys []string, args []any, err error) {
	args = []any{st.ID, len(st.Quotas)}
	for _, q := range st.Quotas {
		if args, err = appendWindows(args, q.Windows); err != nil {
			return nil, nil, err
		}
		keys = append(keys, s.key("quota", q.Key))
	}
	b, c, e := st.Budget, st.Code, st.Count
	if b.Key != "" && b.TTL <= 0 || c.Key != "" && c.TTL <= 0 || e.Key != "" && e.Period <= 0 {
		return nil, nil, errors.New("a budget ttl, code ttl or count period that is not positive")
	}
	// part lays out one optional part: its key, then 1 and its values; or,
	// absent, 0 and as many zeros.
	part := func(kind, key string, values ...any) {
		if key == "" {
			for range 1 + len(values) {
				args = append(args, 0)
			}
			return
		}
		keys, args = append(keys, s.key(kind, key)), append(append(args, 1), values...)
	}
	orZero := func(d time.Duration) int64 { n, _ := ms(d); return n } // an interval may be 0
	part("budget", b.Key, b.Amount, b.Limit, orZero(b.TTL))
	part("code", c.Key, c.Hash, orZero(c.TTL), orZero(c.Interval))
	part("events", e.Key, orZero(e.Period))
	return keys, args, nil
}
