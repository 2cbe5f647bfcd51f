package account

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Message purposes.
const (
	PurposeRegister          = "register"
	PurposeAlreadyRegistered = "already_registered"
)

// Message is one SMS to send. Text is complete and contains nothing the user
// typed but the number it goes to.
type Message struct {
	// ID names the message for its whole life: every retry reuses it, and
	// providers that accept an idempotency key get it, so a retry after a
	// lost answer does not send twice.
	ID      string
	To      Phone
	Purpose string
	Code    string // empty for notices
	TTL     time.Duration
	Locale  string // "zh-CN" or "en"
	Text    string
}

// LogValue keeps the code and the full number out of logs.
func (m Message) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", m.ID), slog.Any("to", m.To), slog.String("purpose", m.Purpose), slog.String("locale", m.Locale))
}

// Outbox accepts messages for delivery. Once Enqueue returns nil the message
// is queued durably: it will be delivered, or given up on only when it can
// never be (a permanent refusal, or its code expired first).
type Outbox interface {
	Enqueue(ctx context.Context, m Message) error
}

// CodeOutbox starts a code and queues its message in one transaction, where
// one store keeps both (SQLite in the embedded default): a start refused by
// the resend window (wait > 0) queues nothing, and a queueing that fails
// starts nothing.
type CodeOutbox interface {
	StartCodeAndEnqueue(ctx context.Context, key string, hash []byte, ttl, interval time.Duration, m Message) (wait time.Duration, err error)
}

// ErrUndeliverable is wrapped by an Outbox that has no provider for a number.
var ErrUndeliverable = errors.New("account: no SMS provider serves this number")

// Locales for messages and answers.
const (
	LocaleZH = "zh-CN"
	LocaleEN = "en"
)
