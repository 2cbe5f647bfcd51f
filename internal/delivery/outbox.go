package delivery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	if len(o.router.Route(m.To)) == 0 {
		return fmt.Errorf("delivery: %w", account.ErrUndeliverable)
	}
	if m.ID == "" {
		m.ID = NewMessageID()
	}
	payload, err := o.sealer.seal(m)
	if err != nil {
		return err
	}
	now := o.clock()
	err = o.store.Enqueue(ctx, Record{
		ID: m.ID, Key: o.sealer.key(m.Purpose, m.To), Payload: payload,
		AcceptedAt: now, Deadline: now.Add(m.TTL), NextAt: now,
	})
	if err != nil {
		return fmt.Errorf("delivery: enqueue: %w", err)
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

// NewMessageID returns a random message id, 128 bits in hex.
func NewMessageID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
