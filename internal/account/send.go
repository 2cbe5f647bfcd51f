package account

import (
	"context"
	"errors"
	"time"
)

// SendStart is the store work that lets one code send go ahead: take an
// event from every quota, charge the message to the day's budget, start the
// code and count the send for the fraud signal.
type SendStart struct {
	ID     string      // the event id the quotas and the count record; fresh per send
	Quotas []QuotaTake // checked in order
	Budget BudgetSpend // Key "" means no budget
	Code   CodeStart   // Key "" means the code starts with its message, in a CodeOutbox
	Count  EventCount  // Key "" means nothing is counted
}

// BudgetSpend is a BudgetStore.Spend.
type BudgetSpend struct {
	Key           string
	Amount, Limit int64
	TTL           time.Duration
}

// CodeStart is a CodeStore.StartCode.
type CodeStart struct {
	Key           string
	Hash          []byte
	TTL, Interval time.Duration
}

// EventCount is an EventCounter.CountEvent of the SendStart's ID.
type EventCount struct {
	Key    string
	Period time.Duration
}

// SendRefusal is the part of a SendStart that refused, if any.
type SendRefusal int

// The refusals of a SendStart, in the order they are checked.
const (
	SendAllowed    SendRefusal = iota
	SendQuotaFull              // SendOutcome.Quota names the quota
	SendOverBudget             // the message would pass the day's budget
	SendTooSoon                // the code's resend window is still open
)

// SendOutcome is what a StartSend did.
type SendOutcome struct {
	Refusal SendRefusal
	Quota   int           // with SendQuotaFull, the index in Quotas of the first that refused
	Wait    time.Duration // with SendQuotaFull and SendTooSoon, until a send may go ahead
}

// SendStarter does a SendStart all or nothing: when it refuses or fails, it
// has recorded none of it. A store that keeps quotas, budgets, codes and
// event counts together does it in one atomic step and one round trip.
type SendStarter interface {
	StartSend(ctx context.Context, s SendStart) (SendOutcome, error)
	// UndoSend takes back what a StartSend that went ahead recorded, for a
	// send whose message could not be queued: the quotas and the budget
	// are refunded, the code and its resend window removed, the count
	// forgotten.
	UndoSend(ctx context.Context, s SendStart) error
}

// SendSteps is a SendStarter over separate stores, one call for each part
// of a SendStart, which undoes the parts it did when a later one refuses or
// fails. Between its steps, other sends see the parts already done.
type SendSteps struct {
	Quotas  QuotaStore
	Budgets BudgetStore
	Codes   CodeStore
	Events  EventCounter
}

// StartSend implements SendStarter.
func (st SendSteps) StartSend(ctx context.Context, s SendStart) (SendOutcome, error) {
	undo := context.WithoutCancel(ctx)
	refused, wait, err := st.Quotas.TakeAll(ctx, s.ID, s.Quotas)
	if err != nil {
		return SendOutcome{}, storeError(KindQuotaStore, "take send quota", err)
	}
	if refused >= 0 {
		return SendOutcome{Refusal: SendQuotaFull, Quota: refused, Wait: wait}, nil
	}
	done := SendStart{ID: s.ID, Quotas: s.Quotas} // what has been recorded, for undoing it
	fail := func(out SendOutcome, err error) (SendOutcome, error) {
		return out, errors.Join(err, st.UndoSend(undo, done))
	}
	if s.Budget.Key != "" {
		b := s.Budget
		ok, err := st.Budgets.Spend(ctx, b.Key, b.Amount, b.Limit, b.TTL)
		if err != nil {
			return fail(SendOutcome{}, storeError(KindQuotaStore, "spend budget", err))
		}
		if !ok {
			return fail(SendOutcome{Refusal: SendOverBudget}, nil)
		}
		done.Budget = b
	}
	if s.Code.Key != "" {
		c := s.Code
		wait, err := st.Codes.StartCode(ctx, c.Key, c.Hash, c.TTL, c.Interval)
		if err != nil {
			return fail(SendOutcome{}, storeError(KindCodeStore, "start code", err))
		}
		if wait > 0 {
			return fail(SendOutcome{Refusal: SendTooSoon, Wait: wait}, nil)
		}
		done.Code = c
	}
	if s.Count.Key != "" {
		if _, err := st.Events.CountEvent(ctx, s.Count.Key, s.ID, s.Count.Period); err != nil {
			return fail(SendOutcome{}, storeError(KindQuotaStore, "count send", err))
		}
	}
	return SendOutcome{}, nil
}

// UndoSend implements SendStarter. It tries every part, and returns the
// errors of those that failed.
func (st SendSteps) UndoSend(ctx context.Context, s SendStart) error {
	var errs []error
	if s.Count.Key != "" {
		errs = append(errs, st.Events.ForgetEvent(ctx, s.Count.Key, s.ID))
	}
	if s.Code.Key != "" {
		errs = append(errs, st.Codes.CancelCode(ctx, s.Code.Key))
	}
	if s.Budget.Key != "" {
		errs = append(errs, st.Budgets.Unspend(ctx, s.Budget.Key, s.Budget.Amount))
	}
	for _, q := range s.Quotas {
		errs = append(errs, st.Quotas.Refund(ctx, q.Key, s.ID))
	}
	return errors.Join(errs...)
}
