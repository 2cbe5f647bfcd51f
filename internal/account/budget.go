package account

import "time"

// Budget caps what sending codes costs in a day: SMS cost money, and SMS
// pumping turns a sign-up form into someone else's revenue (OWASP API4).
type Budget struct {
	Limit    int64            // per day, in millionths of the currency; 0 means no budget
	Prices   map[string]int64 // calling code -> price of one SMS, in millionths
	Default  int64            // the price for calling codes not in Prices
	Location *time.Location   // where the budget's day begins and ends
}

// budgetSpend charges one SMS to phone's price against today's budget;
// no budget is a BudgetSpend without a key.
func (s *Service) budgetSpend(phone Phone) BudgetSpend {
	b := s.opts.Budget
	if b.Limit <= 0 {
		return BudgetSpend{}
	}
	price, ok := b.Prices[phone.CallingCode()]
	if !ok {
		price = b.Default
	}
	key := "sms:" + s.Clock().In(s.budgetLocation()).Format(time.DateOnly)
	return BudgetSpend{Key: key, Amount: price, Limit: b.Limit, TTL: 25 * time.Hour}
}

// budgetLocation is where the budget's day begins and ends.
func (s *Service) budgetLocation() *time.Location {
	if s.opts.Budget.Location == nil {
		return time.UTC
	}
	return s.opts.Budget.Location
}

func untilTomorrow(now time.Time) time.Duration {
	y, m, d := now.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, now.Location()).Sub(now)
}
