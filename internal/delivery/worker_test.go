package delivery_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/delivery"
	"github.com/signupd/signupd/internal/sqlstore"
)

var key = []byte("outbox key for tests, 32 bytes!!")

// permanentErr marks a refusal that must not be retried.
type permanentErr struct{}

func (permanentErr) Error() string { return "permanent refusal" }

func isPermanent(err error) bool { return errors.As(err, new(permanentErr)) }

// fake is a provider whose answers a test scripts: fail(n) makes the next
// calls fail with what it returns; nil means accepted.
type fake struct {
	mu        sync.Mutex
	calls     int
	delivered map[string]int // message id -> acceptances
	fail      func(call int) error
	hang      time.Duration
}

func (f *fake) Send(ctx context.Context, m account.Message) error {
	f.mu.Lock()
	f.calls++
	call, fail, hang := f.calls, f.fail, f.hang
	f.mu.Unlock()
	if hang > 0 {
		select {
		case <-time.After(hang):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail != nil {
		if err := fail(call); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.delivered == nil {
		f.delivered = map[string]int{}
	}
	f.delivered[m.ID]++
	return nil
}

func (f *fake) count(id string) int { f.mu.Lock(); defer f.mu.Unlock(); return f.delivered[id] }
func (f *fake) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.delivered {
		n += c
	}
	return n
}
func (f *fake) callCount() int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls }

// observer records finished messages.
type observer struct {
	mu       sync.Mutex
	finished map[delivery.State][]int // state -> attempts of each message
}

func (o *observer) Attempted(string, string, time.Duration) {}
func (o *observer) Queue(int, time.Duration)                {}
func (o *observer) Finished(s delivery.State, attempts int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.finished == nil {
		o.finished = map[delivery.State][]int{}
	}
	o.finished[s] = append(o.finished[s], attempts)
}
func (o *observer) states(s delivery.State) []int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]int(nil), o.finished[s]...)
}

func openDB(t *testing.T, path string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type rig struct {
	t      *testing.T
	db     *sqlstore.DB
	outbox *delivery.Outbox
	obs    *observer
}

// newRig makes an outbox on a fresh SQLite queue routing every number to
// providers in order, and runs a worker on it until the test ends.
func newRig(t *testing.T, opts delivery.WorkerOptions, providers ...delivery.Named) *rig {
	r := &rig{t: t, db: openDB(t, filepath.Join(t.TempDir(), "queue.db")), obs: &observer{}}
	r.outbox = r.newOutbox(r.db, providers...)
	r.run(r.outbox, opts)
	return r
}

func (r *rig) newOutbox(store delivery.Store, providers ...delivery.Named) *delivery.Outbox {
	ob, err := delivery.NewOutbox(store, key, delivery.NewRouter(providers, nil), nil)
	if err != nil {
		r.t.Fatal(err)
	}
	return ob
}

// run starts a worker on ob; the returned func stops it and waits.
func (r *rig) run(ob *delivery.Outbox, opts delivery.WorkerOptions) (stop func()) {
	if opts.PollInterval == 0 {
		opts.PollInterval = 10 * time.Millisecond
	}
	if opts.BackoffBase == 0 {
		opts.BackoffBase, opts.BackoffMax = 20*time.Millisecond, 100*time.Millisecond
	}
	opts.Permanent, opts.Observer = isPermanent, r.obs
	w := delivery.NewWorker(ob, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	r.t.Cleanup(stop)
	return stop
}

func (r *rig) enqueue(id string, ttl time.Duration) { r.enqueueTo(id, "+8613812345678", ttl) }

func (r *rig) enqueueTo(id string, to account.Phone, ttl time.Duration) {
	r.t.Helper()
	err := r.outbox.Enqueue(context.Background(), account.Message{
		ID: id, To: to, Purpose: account.PurposeRegister, Code: "987654", TTL: ttl, Locale: "zh-CN", Text: "code 987654",
	})
	if err != nil {
		r.t.Fatal(err)
	}
}

// eventually fails unless cond holds within d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("not within %v: %s", d, what)
}

func TestDeliversOnce(t *testing.T) {
	t.Parallel()
	p := &fake{}
	r := newRig(t, delivery.WorkerOptions{}, delivery.Named{Name: "p", Provider: p})
	r.enqueue("m1", time.Minute)
	eventually(t, 5*time.Second, "delivered", func() bool { return p.count("m1") == 1 })
	time.Sleep(100 * time.Millisecond)
	if p.callCount() != 1 || len(r.obs.states(delivery.StateSent)) != 1 {
		t.Fatalf("%d calls, %v sent, want one of each", p.callCount(), r.obs.states(delivery.StateSent))
	}
}

func TestTwoFailuresThenSuccess(t *testing.T) {
	t.Parallel()
	p := &fake{fail: func(call int) error {
		if call <= 2 {
			return errors.New("HTTP 503")
		}
		return nil
	}}
	r := newRig(t, delivery.WorkerOptions{}, delivery.Named{Name: "p", Provider: p})
	r.enqueue("m1", time.Minute)
	eventually(t, 5*time.Second, "delivered", func() bool { return len(r.obs.states(delivery.StateSent)) == 1 })
	if got := r.obs.states(delivery.StateSent); p.count("m1") != 1 || got[0] != 3 {
		t.Fatalf("delivered %d times after %v attempts, want once after 3", p.count("m1"), got)
	}
}

func TestPermanentFailureIsNotRetried(t *testing.T) {
	t.Parallel()
	p := &fake{fail: func(int) error { return permanentErr{} }}
	r := newRig(t, delivery.WorkerOptions{}, delivery.Named{Name: "p", Provider: p})
	r.enqueue("m1", time.Minute)
	eventually(t, 5*time.Second, "failed", func() bool { return len(r.obs.states(delivery.StateFailed)) == 1 })
	time.Sleep(200 * time.Millisecond)
	if p.callCount() != 1 {
		t.Fatalf("%d calls for a permanent refusal, want 1", p.callCount())
	}
}

func TestFailoverToNextProvider(t *testing.T) {
	t.Parallel()
	down := &fake{fail: func(int) error { return errors.New("HTTP 502") }}
	up := &fake{}
	r := newRig(t, delivery.WorkerOptions{}, delivery.Named{Name: "first", Provider: down}, delivery.Named{Name: "second", Provider: up})
	r.enqueue("m1", time.Minute)
	eventually(t, 5*time.Second, "delivered by the second", func() bool { return up.count("m1") == 1 })
	if down.callCount() != 1 {
		t.Fatalf("first provider called %d times, want 1 before failing over", down.callCount())
	}
}

func TestExpiredCodeIsNotSent(t *testing.T) {
	t.Parallel()
	p := &fake{fail: func(int) error { return errors.New("HTTP 503") }}
	r := newRig(t, delivery.WorkerOptions{}, delivery.Named{Name: "p", Provider: p})
	r.enqueue("m1", 300*time.Millisecond)
	eventually(t, 5*time.Second, "expired", func() bool { return len(r.obs.states(delivery.StateExpired)) == 1 })
	calls := p.callCount()
	time.Sleep(300 * time.Millisecond)
	if p.callCount() != calls || p.total() != 0 {
		t.Fatal("tried again after the code expired")
	}
}

func TestHangingProviderTimesOut(t *testing.T) {
	t.Parallel()
	p := &fake{hang: time.Hour}
	r := newRig(t, delivery.WorkerOptions{AttemptTimeout: 200 * time.Millisecond}, delivery.Named{Name: "p", Provider: p})
	start := time.Now()
	r.enqueue("m1", time.Minute)
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("enqueue took %v: the request path waits for the provider", d)
	}
	eventually(t, 5*time.Second, "a second attempt after the first timed out", func() bool { return p.callCount() >= 2 })
}

func TestNewerCodeSupersedes(t *testing.T) {
	t.Parallel()
	p := &fake{}
	p.fail = func(int) error { return errors.New("down") }
	r := newRig(t, delivery.WorkerOptions{}, delivery.Named{Name: "p", Provider: p})
	r.enqueue("old", time.Minute)
	// Once its first attempt has failed, the old message waits to retry;
	// an attempt already under way could not be called back.
	eventually(t, 5*time.Second, "the old message tried", func() bool { return p.callCount() >= 1 })
	r.enqueue("new", time.Minute)
	p.mu.Lock()
	p.fail = nil
	p.mu.Unlock()
	eventually(t, 5*time.Second, "the newer message delivered", func() bool { return p.count("new") == 1 })
	time.Sleep(200 * time.Millisecond)
	if p.count("old") != 0 {
		t.Fatal("the superseded message was delivered")
	}
}

func TestShutdownFinishesInFlightSend(t *testing.T) {
	t.Parallel()
	p := &fake{hang: 300 * time.Millisecond}
	r := &rig{t: t, db: openDB(t, filepath.Join(t.TempDir(), "queue.db")), obs: &observer{}}
	r.outbox = r.newOutbox(r.db, delivery.Named{Name: "p", Provider: p})
	stop := r.run(r.outbox, delivery.WorkerOptions{AttemptTimeout: 2 * time.Second})
	r.enqueue("m1", time.Minute)
	eventually(t, 5*time.Second, "the send started", func() bool { return p.callCount() == 1 })
	stop()
	if p.count("m1") != 1 || len(r.obs.states(delivery.StateSent)) != 1 {
		t.Fatal("shutdown cut off the send in flight, or did not record it")
	}
}

func TestTwoInstancesShareTheQueue(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "queue.db")
	p := &fake{hang: 2 * time.Millisecond}
	named := delivery.Named{Name: "p", Provider: p}
	r := &rig{t: t, db: openDB(t, path), obs: &observer{}}
	r.outbox = r.newOutbox(r.db, named)
	r.run(r.outbox, delivery.WorkerOptions{})
	r.run(r.newOutbox(openDB(t, path), named), delivery.WorkerOptions{}) // a second instance's handle
	for i := range 100 {
		r.enqueueTo(fmt.Sprintf("m%03d", i), account.Phone(fmt.Sprintf("+86138000%05d", i)), time.Minute)
	}
	eventually(t, 20*time.Second, "all 100 delivered", func() bool { return p.total() >= 100 })
	time.Sleep(300 * time.Millisecond)
	assertEachOnce(t, p, 100)
}

// assertEachOnce fails unless p accepted exactly n messages, each once.
func assertEachOnce(t *testing.T, p *fake, n int) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.delivered) != n {
		t.Fatalf("%d distinct messages delivered, want %d", len(p.delivered), n)
	}
	for id, c := range p.delivered {
		if c != 1 {
			t.Fatalf("message %s delivered %d times", id, c)
		}
	}
}

func TestProviderDownForThirtySeconds(t *testing.T) {
	t.Parallel()
	back := time.Now().Add(30 * time.Second)
	p := &fake{fail: func(int) error {
		if time.Now().Before(back) {
			return errors.New("HTTP 503")
		}
		return nil
	}}
	r := newRig(t, delivery.WorkerOptions{BackoffBase: 500 * time.Millisecond, BackoffMax: 4 * time.Second},
		delivery.Named{Name: "p", Provider: p})
	for i := range 20 {
		r.enqueueTo(fmt.Sprintf("m%02d", i), account.Phone(fmt.Sprintf("+86139000%05d", i)), 5*time.Minute)
	}
	eventually(t, 45*time.Second, "all 20 delivered after the outage", func() bool { return p.total() >= 20 })
	time.Sleep(300 * time.Millisecond)
	assertEachOnce(t, p, 20)
	if p.callCount() <= 20 {
		t.Fatal("no attempt failed: the outage was not exercised")
	}
}

func TestPayloadIsSealedAtRest(t *testing.T) {
	t.Parallel()
	p := &fake{fail: func(int) error { return errors.New("down") }}
	dir := t.TempDir()
	r := &rig{t: t, db: openDB(t, filepath.Join(dir, "queue.db")), obs: &observer{}}
	r.outbox = r.newOutbox(r.db, delivery.Named{Name: "p", Provider: p})
	r.enqueue("m1", time.Minute)
	files, _ := filepath.Glob(filepath.Join(dir, "queue.db*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte("987654")) || bytes.Contains(b, []byte("13812345678")) {
			t.Fatalf("%s holds the code or the number in clear", f)
		}
	}
}

// slowComplete is a store whose outcome writes wait until release closes.
type slowComplete struct {
	delivery.Store
	release chan struct{}
}

func (s slowComplete) Complete(ctx context.Context, r delivery.Record, st delivery.State, provider, detail string, now time.Time) error {
	<-s.release
	return s.Store.Complete(ctx, r, st, provider, detail, now)
}

// TestSlotFreeWhileOutcomeIsWritten: with one slot, a second message goes
// to the provider while the first one's outcome is still being written.
func TestSlotFreeWhileOutcomeIsWritten(t *testing.T) {
	r := &rig{t: t, db: openDB(t, filepath.Join(t.TempDir(), "queue.db")), obs: &observer{}}
	p := &fake{}
	store := slowComplete{Store: r.db, release: make(chan struct{})}
	r.outbox = r.newOutbox(store, delivery.Named{Name: "fake", Provider: p})
	stop := r.run(r.outbox, delivery.WorkerOptions{Concurrency: 1, PollInterval: time.Hour})
	var released sync.Once
	release := func() { released.Do(func() { close(store.release) }) }
	t.Cleanup(release) // before the worker's stop, which waits for the writes
	r.enqueue("first", time.Minute)
	eventually(t, 2*time.Second, "the first message sent", func() bool { return p.count("first") == 1 })
	r.enqueueTo("second", "+8613912345678", time.Minute) // another number, so as not to supersede the first
	eventually(t, 2*time.Second, "the second message sent while the first's outcome waits", func() bool { return p.count("second") == 1 })
	release()
	stop()
	if sent := r.obs.states(delivery.StateSent); len(sent) != 2 {
		t.Fatalf("%d messages recorded as sent, want 2", len(sent))
	}
}
