package account

import (
	"context"
	"time"
)

// Budget caps what sending codes costs in a day: SMS cost money, and SMS
// pumping turns a sign-up form into someone else's revenue (OWASP API4).
type Budget struct {
	Limit    int64            // per day, in millionths of the currency; 0 means no budget
	Prices   map[string]int64 // calling code -> price of one SMS, in millionths
	Default  int64            // the price for calling codes not in Prices
	Location *time.Location   // where the budget's day begins and ends
}

// spend charges one SMS to phone's price against today's budget, and
// returns a func that gives it back for a send that fails later.
func (s *Service) spend(ctx context.Context, phone Phone) (unspend func(), err error) {
	b := s.opts.Budget
	if b.Limit <= 0 {
		return func() {}, nil
	}
	price, ok := b.Prices[phone.CallingCode()]
	if !ok {
		price = b.Default
	}
	loc := b.Location
	if loc == nil {
		loc = time.UTC
	}
	key := "sms:" + s.Clock().In(loc).Format(time.DateOnly)
	ok, err = s.Budgets.Spend(ctx, key, price, b.Limit, 25*time.Hour)
	if err != nil {
		return nil, storeError(KindQuotaStore, "spend budget", err)
	}
	if !ok {
		s.Observer.LimitHit("budget")
		s.Logger.ErrorContext(ctx, "ALERT: the daily SMS budget is spent; sends are paused until the day ends", "day", key)
		return nil, &Error{Kind: KindSendsPaused, Wait: untilTomorrow(s.Clock().In(loc))}
	}
	return func() {
		if err := s.Budgets.Unspend(context.WithoutCancel(ctx), key, price); err != nil {
			s.Logger.ErrorContext(ctx, "unspend budget", "err", err)
		}
	}, nil
}

func untilTomorrow(now time.Time) time.Duration {
	y, m, d := now.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, now.Location()).Sub(now)
}
