package delivery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/signupd/signupd/internal/account"
)

// Outbox accepts messages: Enqueue is the one durable step between the API
// answering "sent" and a worker delivering the message.
type Outbox struct {
	store  Store
	sealer *sealer
	router *Router
	clock  func() time.Time
	wake   chan struct{} // tells this instance's worker there is work now

	// Set by NewWorker: a message Enqueue stores while the worker has a
	// free slot is stored leased to it and handed over at once, so the
	// worker sends it without a Claim first. slots holds a token for each
	// provider call in flight or message handed over; lease is the
	// worker's lease.
	slots   chan struct{}
	handoff chan Record
	lease   time.Duration
}

// NewOutbox returns an outbox on store that seals payloads with key (32
// bytes) and accepts only numbers that router serves.
func NewOutbox(store Store, key []byte, router *Router, clock func() time.Time) (*Outbox, error) {
	s, err := newSealer(key)
	if err != nil {
		return nil, err
	}
	if clock == nil {
		clock = time.Now
	}
	return &Outbox{store: store, sealer: s, router: router, clock: clock, wake: make(chan struct{}, 1)}, nil
}

// Enqueue queues m durably; m.ID is set when empty. A message no provider
// serves is refused with account.ErrUndeliverable before anything is stored.
// A queued message supersedes older undelivered ones with the same purpose
// and number: only the newest code is worth sending.
func (o *Outbox) Enqueue(ctx context.Context, m account.Message) error {
	_, err := o.enqueue(m, func(r Record) (time.Duration, error) { return 0, o.store.Enqueue(ctx, r) })
	return err
}

// CodeStore is a Store that keeps verification codes too, and can start a
// code in the transaction that queues its message.
type CodeStore interface {
	Store
	// StartCodeAndEnqueue is account.CodeStore's StartCode and Store's
	// Enqueue in one transaction: a start refused by the resend window
	// (wait > 0) queues nothing, and a queueing that fails starts nothing.
	StartCodeAndEnqueue(ctx context.Context, key string, hash []byte, ttl, interval time.Duration, r Record) (wait time.Duration, err error)
}

// StartCodeAndEnqueue implements account.CodeOutbox on a store that keeps
// the codes too (SQLite in the embedded default): one transaction instead
// of two for each code sent.
func (o *Outbox) StartCodeAndEnqueue(ctx context.Context, key string, hash []byte, ttl, interval time.Duration, m account.Message) (time.Duration, error) {
	cs, ok := o.store.(CodeStore)
	if !ok {
		return 0, errors.New("delivery: the outbox's store keeps no codes")
	}
	return o.enqueue(m, func(r Record) (time.Duration, error) {
		return cs.StartCodeAndEnqueue(ctx, key, hash, ttl, interval, r)
	})
}

// enqueue seals m into a record and gives it to store, leased to this
// instance's worker when it has a free slot, then hands it over or wakes
// the worker. A store that answers a wait has stored nothing.
func (o *Outbox) enqueue(m account.Message, store func(Record) (time.Duration, error)) (time.Duration, error) {
	if len(o.router.Route(m.To)) == 0 {
		return 0, fmt.Errorf("delivery: %w", account.ErrUndeliverable)
	}
	if m.ID == "" {
		m.ID = NewMessageID()
	}
	payload, err := o.sealer.seal(m)
	if err != nil {
		return 0, err
	}
	now := o.clock()
	r := Record{
		ID: m.ID, Key: o.sealer.key(m.Purpose, m.To), Payload: payload,
		AcceptedAt: now, Deadline: now.Add(m.TTL), NextAt: now,
	}
	handed := o.takeSlot()
	if handed {
		r.Lease, r.LeaseUntil, r.Attempts = rand.Text(), now.Add(o.lease), 1
	}
	wait, err := store(r)
	if err != nil || wait > 0 {
		if handed {
			<-o.slots
		}
		if err != nil {
			return 0, fmt.Errorf("delivery: enqueue: %w", err)
		}
		return wait, nil
	}
	if handed {
		o.handoff <- r // never blocks: it has room for every slot
		return 0, nil
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return 0, nil
}

// takeSlot reserves a slot of the worker, if there is a worker and it has
// one free.
func (o *Outbox) takeSlot() bool {
	if o.slots == nil {
		return false
	}
	select {
	case o.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// NewMessageID returns a random message id, 128 bits in hex.
func NewMessageID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
