package delivery

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Observer is told of deliveries, for metrics.
type Observer interface {
	// Attempted: one provider call and its result: "sent", "transient" or "permanent".
	Attempted(provider, result string, d time.Duration)
	// Finished: a message reached a final state after attempts, since accepted.
	Finished(s State, attempts int, sinceAccepted time.Duration)
	// Queue: pending messages and the age of the oldest.
	Queue(depth int, oldest time.Duration)
}

// WorkerOptions tune a Worker; zero fields take the defaults.
type WorkerOptions struct {
	Concurrency    int           // sends in flight in this instance (8)
	AttemptTimeout time.Duration // one provider call (5 s)
	PollInterval   time.Duration // how often to look for due messages (250 ms)
	BackoffBase    time.Duration // first retry delay (1 s), doubled per attempt
	BackoffMax     time.Duration // longest retry delay (30 s)
	KeepFinished   time.Duration // finished records are purged after this (7 days)
	// Permanent tells a refusal that must not be retried; RetryAfter the
	// wait a provider asked for.
	Permanent  func(error) bool
	RetryAfter func(error) time.Duration
	Observer   Observer
	Logger     *slog.Logger
}

func (o *WorkerOptions) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	set(&o.AttemptTimeout, 5*time.Second)
	set(&o.PollInterval, 250*time.Millisecond)
	set(&o.BackoffBase, time.Second)
	set(&o.BackoffMax, 30*time.Second)
	set(&o.KeepFinished, 7*24*time.Hour)
	if o.Permanent == nil {
		o.Permanent = func(error) bool { return false }
	}
	if o.RetryAfter == nil {
		o.RetryAfter = func(error) time.Duration { return 0 }
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Worker delivers the outbox's messages. Every instance runs one; they share
// the queue through the store's leases, so none sends a message another holds.
type Worker struct {
	outbox *Outbox
	opts   WorkerOptions
	freed  chan struct{}
}

// NewWorker returns the worker for outbox; it must be made before the
// outbox's first Enqueue, and an outbox has one.
func NewWorker(outbox *Outbox, opts WorkerOptions) *Worker {
	opts.defaults()
	w := &Worker{outbox: outbox, opts: opts, freed: make(chan struct{}, opts.Concurrency)}
	outbox.slots = make(chan struct{}, opts.Concurrency)
	outbox.handoff = make(chan Record, opts.Concurrency)
	outbox.lease = w.lease()
	return w
}

// lease outlasts an attempt, so a live worker never loses a record it is
// sending; a worker that dies frees its records when the lease ends.
func (w *Worker) lease() time.Duration { return w.opts.AttemptTimeout + 10*time.Second }

// Run delivers until ctx ends, then stops claiming and waits for the sends
// in flight, each bounded by the attempt timeout, so none is cut off between
// a provider's acceptance and its record.
func (w *Worker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() { defer wg.Done(); w.housekeeping(ctx) }()
	slots := w.outbox.slots
	start := func(r Record) { // r holds a slot
		wg.Add(1)
		go func() {
			defer wg.Done()
			var once sync.Once
			free := func() { once.Do(func() { <-slots; w.freed <- struct{}{} }) }
			defer free()
			w.process(ctx, r, free)
		}()
	}
	poll := time.NewTicker(w.opts.PollInterval)
	defer poll.Stop()
	// Messages of this instance mostly come handed over; the queue is
	// claimed from at start, every poll, when this instance queued a
	// message it could not hand over, and after a claim that filled every
	// free slot, until one comes back short.
	claim := true
	for {
		if claim && ctx.Err() == nil {
			n := 0
		reserve:
			for n < cap(slots) {
				select {
				case slots <- struct{}{}:
					n++
				default:
					break reserve
				}
			}
			var recs []Record
			if n > 0 {
				var err error
				recs, err = w.outbox.store.Claim(ctx, w.outbox.clock(), w.lease(), n)
				if err != nil && ctx.Err() == nil {
					w.opts.Logger.ErrorContext(ctx, "claim messages", "err", err)
				}
			}
			for range n - len(recs) {
				<-slots
			}
			for _, r := range recs {
				start(r)
			}
			claim = n == 0 || len(recs) == n // no room yet, or there may be more due
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			w.releaseHandedOver()
			return
		case <-w.freed:
		case r := <-w.outbox.handoff:
			start(r)
		case <-w.outbox.wake:
			claim = true
		case <-poll.C:
			claim = true
		}
	}
}

// releaseHandedOver gives back, at shutdown, the messages handed over but
// not started, so that the next worker claims them at once rather than when
// their lease ends.
func (w *Worker) releaseHandedOver() {
	for {
		select {
		case r := <-w.outbox.handoff:
			if err := w.outbox.store.Release(context.Background(), r); err != nil {
				w.recordError(context.Background(), r, err)
			}
			<-w.outbox.slots
		default:
			return
		}
	}
}

// process makes one attempt at r and records the outcome. It calls
// attempted once the provider has answered, before the outcome is written:
// a slot bounds the provider calls in flight, and a write that waits for
// its commit need not keep the next message from being handed over.
func (w *Worker) process(ctx context.Context, r Record, attempted func()) {
	// The outcome is recorded even when shutdown has begun.
	store, log, now := w.outbox.store, w.opts.Logger, w.outbox.clock()
	bg := context.WithoutCancel(ctx)
	finish := func(s State, provider, detail string) {
		if err := store.Complete(bg, r, s, provider, detail, w.outbox.clock()); err != nil {
			w.recordError(bg, r, err)
			return
		}
		w.observer().Finished(s, r.Attempts, w.outbox.clock().Sub(r.AcceptedAt))
		log.InfoContext(bg, "message "+string(s), "message_id", r.ID, "provider", provider, "attempts", r.Attempts, "detail", detail)
	}
	if ctx.Err() != nil {
		if err := store.Release(bg, r); err != nil {
			w.recordError(bg, r, err)
		}
		return
	}
	m, err := w.outbox.sealer.open(r.ID, r.Payload)
	if err != nil {
		finish(StateFailed, "", "payload cannot be opened: "+err.Error())
		return
	}
	if !now.Before(r.Deadline) {
		finish(StateExpired, "", "the code expired before delivery")
		return
	}
	route := w.outbox.router.Route(m.To)
	if len(route) == 0 {
		finish(StateFailed, "", "no provider serves the number")
		return
	}
	p := route[r.Route%len(route)]
	actx, cancel := context.WithTimeout(bg, w.opts.AttemptTimeout)
	start := time.Now()
	err = p.Send(actx, m)
	cancel()
	attempted()
	switch {
	case err == nil:
		w.observer().Attempted(p.Name, "sent", time.Since(start))
		finish(StateSent, p.Name, "")
	case w.opts.Permanent(err):
		w.observer().Attempted(p.Name, "permanent", time.Since(start))
		finish(StateFailed, p.Name, err.Error())
	default:
		w.observer().Attempted(p.Name, "transient", time.Since(start))
		next := w.outbox.clock().Add(max(w.backoff(r.Attempts), w.opts.RetryAfter(err)))
		if !next.Before(r.Deadline) {
			finish(StateExpired, p.Name, "gave up: "+err.Error())
			return
		}
		log.WarnContext(bg, "message attempt failed", "message_id", r.ID, "provider", p.Name, "attempt", r.Attempts, "retry_at", next, "err", err)
		if err := store.Retry(bg, r, next, (r.Route+1)%len(route), err.Error()); err != nil {
			w.recordError(bg, r, err)
		}
	}
}

func (w *Worker) recordError(ctx context.Context, r Record, err error) {
	if errors.Is(err, ErrLeaseLost) {
		w.opts.Logger.InfoContext(ctx, "message superseded or taken over while sending", "message_id", r.ID)
		return
	}
	w.opts.Logger.ErrorContext(ctx, "record message outcome", "message_id", r.ID, "err", err)
}

// backoff is capped exponential back-off with "equal jitter": half the delay
// fixed, half random, so retries from many instances spread out but never
// come back at once.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.opts.BackoffBase
	for i := 1; i < attempts && d < w.opts.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, w.opts.BackoffMax)
	return d/2 + rand.N(d/2+1)
}

type noObserver struct{}

func (noObserver) Attempted(string, string, time.Duration) {}
func (noObserver) Finished(State, int, time.Duration)      {}
func (noObserver) Queue(int, time.Duration)                {}

func (w *Worker) observer() Observer {
	if w.opts.Observer == nil {
		return noObserver{}
	}
	return w.opts.Observer
}

// housekeeping reports the queue depth every few seconds and purges old
// finished records every hour.
func (w *Worker) housekeeping(ctx context.Context) {
	depth := time.NewTicker(5 * time.Second)
	defer depth.Stop()
	purge := time.NewTicker(time.Hour)
	defer purge.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-depth.C:
			n, oldest, err := w.outbox.store.Depth(ctx)
			if err != nil {
				continue
			}
			age := time.Duration(0)
			if n > 0 {
				age = w.outbox.clock().Sub(oldest)
			}
			w.observer().Queue(n, age)
		case now := <-purge.C:
			if _, err := w.outbox.store.Purge(ctx, now.Add(-w.opts.KeepFinished)); err != nil && ctx.Err() == nil {
				w.opts.Logger.ErrorContext(ctx, "purge finished messages", "err", err)
			}
		}
	}
}
