package sqlstore_test

import (
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/delivery"
	"github.com/signupd/signupd/internal/delivery/deliverytest"
	"github.com/signupd/signupd/internal/sqlstore"
)

// TestOutbox runs the contract on every backend; the handles on one queue
// are separate DBs opened on one database, as separate instances would.
func TestOutbox(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			deliverytest.TestStore(t, func(t *testing.T) func() delivery.Store {
				url := b.fresh(t)
				return func() delivery.Store { return open(t, url) }
			})
		})
	}
}

// TestOutboxDropsPayload checks in the table itself what the contract cannot
// see: a record that ends, superseded or completed, keeps no payload, which
// carries a live code, and no lease.
func TestOutboxDropsPayload(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, url string) {
		ctx := t.Context()
		db := open(t, url)
		msg := func(id string) delivery.Record {
			return delivery.Record{ID: id, Key: "k", Payload: []byte("code 123456"), AcceptedAt: now, Deadline: now, NextAt: now}
		}
		if err := db.Enqueue(ctx, msg("a")); err != nil {
			t.Fatal(err)
		}
		recs, err := db.Claim(ctx, now, time.Minute, 1)
		if err != nil || len(recs) != 1 {
			t.Fatalf("claim = %+v, %v", recs, err)
		}
		if err := db.Enqueue(ctx, msg("b")); err != nil {
			t.Fatal(err)
		}
		if recs, err = db.Claim(ctx, now, time.Minute, 1); err != nil || len(recs) != 1 {
			t.Fatalf("claim = %+v, %v", recs, err)
		}
		if err := db.Complete(ctx, recs[0], delivery.StateSent, "aliyun", "OK", now); err != nil {
			t.Fatal(err)
		}

		raw := rawDB(t, url)
		for id, want := range map[string]string{"a": "superseded", "b": "sent"} {
			var (
				state       string
				payload     []byte
				lease       sql.NullString
				leaseUntil  sql.NullInt64
				completedAt sql.NullInt64
			)
			err := raw.QueryRowContext(ctx, `SELECT state, payload, lease, lease_until, completed_at FROM outbox WHERE id = $1`, id).
				Scan(&state, &payload, &lease, &leaseUntil, &completedAt)
			if err != nil {
				t.Fatal(err)
			}
			if state != want || payload != nil || lease.Valid || leaseUntil.Valid || completedAt.Int64 != now.UnixMilli() {
				t.Errorf("%s: state %s, payload %q, lease %v until %v, completed at %v; want %s, no payload or lease, completed at now",
					id, state, payload, lease, leaseUntil, completedAt, want)
			}
		}
	})
}

// rawDB opens the database at url with the driver alone, to look at rows.
func rawDB(t *testing.T, url string) *sql.DB {
	t.Helper()
	driver, dsn := "pgx", url
	if path, ok := strings.CutPrefix(url, "sqlite:"); ok {
		driver, dsn = "sqlite", path
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOutboxClosedDB(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, url string) {
		ctx := t.Context()
		db, err := sqlstore.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		r := delivery.Record{ID: "a", Key: "k", Lease: "lease"}
		calls := map[string]func() error{
			"Enqueue":  func() error { return db.Enqueue(ctx, r) },
			"Claim":    func() error { _, err := db.Claim(ctx, now, time.Minute, 1); return err },
			"Complete": func() error { return db.Complete(ctx, r, delivery.StateSent, "", "", now) },
			"Retry":    func() error { return db.Retry(ctx, r, now, 0, "") },
			"Release":  func() error { return db.Release(ctx, r) },
			"Depth":    func() error { _, _, err := db.Depth(ctx); return err },
			"Purge":    func() error { _, err := db.Purge(ctx, now); return err },
		}
		for name, call := range calls {
			err := call()
			if err == nil || errors.Is(err, delivery.ErrLeaseLost) {
				t.Errorf("%s on a closed DB: err = %v, want an internal error", name, err)
			} else if !strings.HasPrefix(err.Error(), "sqlstore: ") {
				t.Errorf("%s on a closed DB: err = %q, want the sqlstore: prefix", name, err)
			}
		}
	})
}
