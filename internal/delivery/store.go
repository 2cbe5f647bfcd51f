// Package delivery sends SMS reliably: messages accepted by the API are queued
// durably (the outbox), and workers in every instance claim, send, retry with
// back-off and fail over between providers until each message is delivered,
// refused for good, or no longer worth sending.
package delivery

import (
	"context"
	"errors"
	"time"
)

// Record is one queued message as the store keeps it. The message itself,
// which carries a live code, is only in Payload, sealed by the outbox.
type Record struct {
	ID         string    // the message id, also its idempotency key at providers
	Key        string    // purpose and number: a newer message for the key supersedes older pending ones
	Payload    []byte    // the sealed account.Message
	AcceptedAt time.Time // when the API accepted it
	Deadline   time.Time // not worth sending after this (the code's expiry)
	NextAt     time.Time // not to be tried before this
	Attempts   int       // attempts started so far, counting the current claim
	Route      int       // index, in the message's provider route, of the provider to try next
	Lease      string    // set by Claim: the token that Complete, Retry and Release must show
	// LeaseUntil, with Lease and Attempts 1, makes Enqueue store the record
	// already claimed, for a worker it is handed to at once.
	LeaseUntil time.Time
}

// State is where a record ends.
type State string

// The final states of a record.
const (
	StateSent       State = "sent"       // a provider accepted it
	StateFailed     State = "failed"     // refused for good (invalid number, rejected template, ...)
	StateExpired    State = "expired"    // its deadline passed before a provider accepted it
	StateSuperseded State = "superseded" // a newer message for the same key was queued
)

// ErrLeaseLost is returned when a claimed record's lease has ended and
// another worker may hold it: the caller must not touch it any more.
var ErrLeaseLost = errors.New("delivery: lease lost")

// Store is the durable queue.
type Store interface {
	// Enqueue stores r as pending and, in the same transaction, marks every
	// older pending record with the same Key superseded. Once it returns nil
	// the record survives any crash of this process. A record with a Lease
	// is stored leased until LeaseUntil, as if claimed.
	Enqueue(ctx context.Context, r Record) error
	// Claim leases up to n pending records due at now (NextAt <= now), oldest
	// NextAt first, until now+lease, adding one to their Attempts. A record
	// whose lease has ended without Complete, Retry or Release is pending
	// again. Concurrent Claims, in this process or others, never return the
	// same record while its lease runs.
	Claim(ctx context.Context, now time.Time, lease time.Duration, n int) ([]Record, error)
	// Complete ends a claimed record in state s at at, recording the provider
	// (may be empty) and a short detail, and drops its payload.
	Complete(ctx context.Context, r Record, s State, provider, detail string, at time.Time) error
	// Retry makes a claimed record pending again, due at nextAt, to be tried
	// next with the provider at index route.
	Retry(ctx context.Context, r Record, nextAt time.Time, route int, detail string) error
	// Release gives a claimed record back at once, unchanged but for its
	// Attempts (the interrupted attempt is not counted): used at shutdown.
	Release(ctx context.Context, r Record) error
	// Depth returns the number of pending records (leased or not) and the
	// AcceptedAt of the oldest, zero when there is none.
	Depth(ctx context.Context) (int, time.Time, error)
	// Purge deletes finished records completed before t.
	Purge(ctx context.Context, before time.Time) (int64, error)
}
