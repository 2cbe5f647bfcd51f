package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/signupd/signupd/internal/delivery"
)

// The outbox queries. A record's lease is a token written by the Claim that
// leases it; Complete, Retry and Release change a record only while it is
// pending and still holds the token they show, so a worker whose lease has
// been taken over, or whose record was superseded, changes nothing.
const (
	supersedeOutbox = `UPDATE outbox SET state = 'superseded', payload = NULL, lease = NULL,
lease_until = NULL, completed_at = $1, detail = $2 WHERE key = $3 AND state = 'pending'`
	insertOutbox = `INSERT INTO outbox (id, key, payload, state, accepted_at, deadline, next_at, attempts, route, lease, lease_until)
VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $10)`
	// supersedeAndInsertOutbox is supersedeOutbox and insertOutbox in one
	// statement, for PostgreSQL, where a data-modifying WITH makes them one
	// round trip instead of four with BEGIN and COMMIT. The UPDATE and the
	// INSERT see one snapshot, so the new record supersedes only older ones.
	supersedeAndInsertOutbox = `WITH superseded AS (UPDATE outbox SET state = 'superseded', payload = NULL,
lease = NULL, lease_until = NULL, completed_at = $4, detail = $11 WHERE key = $2 AND state = 'pending')
` + insertOutbox
	// claimOutbox is completed by the dialect's skipLocked and claimOutboxEnd.
	claimOutbox = `UPDATE outbox SET lease = $1, lease_until = $2, attempts = attempts + 1
WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_at <= $3
AND (lease IS NULL OR lease_until <= $3) ORDER BY next_at LIMIT $4`
	claimOutboxEnd = `)
RETURNING id, key, payload, accepted_at, deadline, next_at, attempts, route`
	completeOutbox = `UPDATE outbox SET state = $1, provider = $2, detail = $3, completed_at = $4,
payload = NULL, lease = NULL, lease_until = NULL WHERE id = $5 AND lease = $6 AND state = 'pending'`
	retryOutbox = `UPDATE outbox SET next_at = $1, route = $2, detail = $3, lease = NULL, lease_until = NULL
WHERE id = $4 AND lease = $5 AND state = 'pending'`
	releaseOutbox = `UPDATE outbox SET attempts = attempts - 1, lease = NULL, lease_until = NULL
WHERE id = $1 AND lease = $2 AND state = 'pending'`
	outboxDepth = `SELECT count(*), min(accepted_at) FROM outbox WHERE state = 'pending'`
	purgeOutbox = `DELETE FROM outbox WHERE state <> 'pending' AND completed_at < $1`
)

var _ delivery.CodeStore = (*DB)(nil)

// Enqueue stores r as pending, leased if r.Lease is set, and in the same transaction
// marks every other pending record with r.Key superseded, completed at
// r.AcceptedAt, leased or not. A record with r.ID already stored, pending
// or finished and not yet purged, is an error.
func (db *DB) Enqueue(ctx context.Context, r delivery.Record) error {
	const op = "outbox enqueue"
	// SQLite's writer makes the two statements one transaction; PostgreSQL
	// runs them as one statement.
	err := db.writeQueue(ctx, false, func(ctx context.Context, q querier) error { return db.enqueueIn(ctx, q, r) })
	if err != nil {
		return wrap(op, err)
	}
	return nil
}

func (db *DB) enqueueIn(ctx context.Context, q querier, r delivery.Record) error {
	var lease, leaseUntil any // NULL unless handed to a worker at once
	if r.Lease != "" {
		lease, leaseUntil = r.Lease, millis(r.LeaseUntil)
	}
	args := []any{r.ID, r.Key, r.Payload, millis(r.AcceptedAt), millis(r.Deadline), millis(r.NextAt),
		r.Attempts, r.Route, lease, leaseUntil}
	var err error
	if db.writer == nil {
		_, err = q.ExecContext(ctx, supersedeAndInsertOutbox, append(args, "superseded by "+r.ID)...)
	} else {
		_, err = q.ExecContext(ctx, supersedeOutbox, millis(r.AcceptedAt), "superseded by "+r.ID, r.Key)
		if err == nil {
			_, err = q.ExecContext(ctx, insertOutbox, args...)
		}
	}
	if db.dialect.isUniqueViolation(err) {
		return fmt.Errorf("message id %q is taken", r.ID)
	}
	return err
}

// Claim leases up to n pending records due at now, oldest NextAt first, in
// one statement. The records of one Claim share a lease token, a fresh
// random one, which is enough: Complete, Retry and Release match the record
// id too. A lease that ended is taken over by the next Claim, but until then
// its holder may still finish the record: nobody else is sending it.
func (db *DB) Claim(ctx context.Context, now time.Time, lease time.Duration, n int) ([]delivery.Record, error) {
	const op = "outbox claim"
	if n <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, wrap(op, fmt.Errorf("lease %v is not positive", lease))
	}
	token := rand.Text()
	var recs []delivery.Record
	err := db.writeQueue(ctx, false, func(ctx context.Context, q querier) error {
		recs = recs[:0]
		rows, err := q.QueryContext(ctx, claimOutbox+db.dialect.skipLocked+claimOutboxEnd,
			token, millis(now.Add(lease)), millis(now), n)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRecord(rows)
			if err != nil {
				return err
			}
			r.Lease = token
			recs = append(recs, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, wrap(op, err)
	}
	// RETURNING gives the rows in no particular order.
	slices.SortStableFunc(recs, func(a, b delivery.Record) int { return a.NextAt.Compare(b.NextAt) })
	return recs, nil
}

func scanRecord(rows *sql.Rows) (delivery.Record, error) {
	var (
		r                          delivery.Record
		accepted, deadline, nextAt int64
	)
	err := rows.Scan(&r.ID, &r.Key, &r.Payload, &accepted, &deadline, &nextAt, &r.Attempts, &r.Route)
	if err != nil {
		return delivery.Record{}, err
	}
	r.AcceptedAt, r.Deadline, r.NextAt = fromMillis(accepted), fromMillis(deadline), fromMillis(nextAt)
	return r, nil
}

// Complete ends the claimed record r in the final state s at at, dropping
// its payload. It returns delivery.ErrLeaseLost when r no longer holds its
// lease: another Claim took it over, or it was superseded.
func (db *DB) Complete(ctx context.Context, r delivery.Record, s delivery.State, provider, detail string, at time.Time) error {
	const op = "outbox complete"
	switch s {
	case delivery.StateSent, delivery.StateFailed, delivery.StateExpired, delivery.StateSuperseded:
	default:
		return wrap(op, fmt.Errorf("%q is not a final state", s))
	}
	return db.queueOne(ctx, op, delivery.ErrLeaseLost, completeOutbox, string(s), provider, detail, millis(at), r.ID, r.Lease)
}

// Retry makes the claimed record r pending again, due at nextAt, to be
// tried next with the provider at index route. It returns
// delivery.ErrLeaseLost when r no longer holds its lease.
func (db *DB) Retry(ctx context.Context, r delivery.Record, nextAt time.Time, route int, detail string) error {
	return db.queueOne(ctx, "outbox retry", delivery.ErrLeaseLost, retryOutbox, millis(nextAt), route, detail, r.ID, r.Lease)
}

// Release gives the claimed record r back, due as it was, without counting
// the attempt its claim began. It returns delivery.ErrLeaseLost when r no
// longer holds its lease.
func (db *DB) Release(ctx context.Context, r delivery.Record) error {
	return db.queueOne(ctx, "outbox release", delivery.ErrLeaseLost, releaseOutbox, r.ID, r.Lease)
}

// Depth returns the number of pending records, leased or not, and the
// AcceptedAt of the oldest, the zero time when there is none.
func (db *DB) Depth(ctx context.Context) (int, time.Time, error) {
	var (
		n      int
		oldest sql.NullInt64
	)
	if err := db.queryRow(ctx, outboxDepth).Scan(&n, &oldest); err != nil {
		return 0, time.Time{}, wrap("outbox depth", err)
	}
	if !oldest.Valid {
		return n, time.Time{}, nil
	}
	return n, fromMillis(oldest.Int64), nil
}

// Purge deletes the records that ended before the time before, and returns
// how many there were; a periodic sweep calls it. Pending records stay,
// leased or not.
func (db *DB) Purge(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.exec(ctx, purgeOutbox, millis(before))
	if err != nil {
		return 0, wrap("outbox purge", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap("outbox purge", err)
	}
	return n, nil
}
