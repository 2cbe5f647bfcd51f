package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/delivery"
)

// A code is one row of codes, changed by one statement per rule, so that
// instances on one database (or processes on one SQLite file) never see a
// half-made change: each statement is atomic on its own, SQLite runs one
// writer at a time, and PostgreSQL locks the row and re-checks the WHERE
// clause on its latest version before updating it.
//
// Every query reads the time from the view db_now, the database's clock, as
// redisstore reads the Redis server's: instances with skewed clocks then
// agree on when a code expires and when a new one may start.
const (
	// startCode stores a new code unless the key's resend window is still
	// open; it returns a row only when it stored one. $3, $4 and $5 are the
	// code's ttl, the resend interval and the larger of the two, in ms.
	startCode = `INSERT INTO codes (key, hash, code_expires, resend_at, expires, attempts, void)
VALUES ($1, $2, (SELECT ms FROM db_now) + $3, (SELECT ms FROM db_now) + $4,
    (SELECT ms FROM db_now) + $5, 0, FALSE)
ON CONFLICT (key) DO UPDATE SET hash = excluded.hash, code_expires = excluded.code_expires,
    resend_at = excluded.resend_at, expires = excluded.expires, attempts = 0, void = FALSE
WHERE codes.resend_at <= (SELECT ms FROM db_now) OR codes.expires <= (SELECT ms FROM db_now)
RETURNING key`
	// resendWait is the time left in the key's resend window, in ms; not
	// positive when the window is over.
	resendWait = `SELECT resend_at - (SELECT ms FROM db_now) FROM codes WHERE key = $1`
	// checkCode consumes the live code if $2 matches it, or counts a wrong
	// attempt and voids the code at the $3-th. Every SET expression reads
	// the row as it was before the update. It returns a row only for a live
	// code: true when it matched.
	checkCode = `UPDATE codes SET
    hash = CASE WHEN hash = $2 THEN NULL ELSE hash END,
    attempts = CASE WHEN hash = $2 THEN attempts ELSE attempts + 1 END,
    void = (hash <> $2 AND attempts + 1 >= $3)
WHERE key = $1 AND hash IS NOT NULL AND NOT void AND code_expires > (SELECT ms FROM db_now)
RETURNING hash IS NULL`
	// voidCode finds the key's code if it is unexpired but void.
	voidCode = `SELECT 1 FROM codes
WHERE key = $1 AND void AND hash IS NOT NULL AND code_expires > (SELECT ms FROM db_now)`
	deleteCode         = `DELETE FROM codes WHERE key = $1`
	deleteExpiredCodes = `DELETE FROM codes WHERE expires <= $1`
)

// startTries bounds the rounds of StartCode. A round is refused and then
// finds no open window only when the window ended, or the code was
// cancelled, between its two statements; that a start keeps losing such
// races means something else starts and cancels the key's codes in a loop.
const startTries = 5

// StartCode implements account.CodeStore. The resend window check and the
// write are one upsert, so of concurrent starts on any instances one alone
// succeeds within a window; only a refused start reads the time left.
func (db *DB) StartCode(ctx context.Context, key string, hash []byte, ttl, interval time.Duration) (time.Duration, error) {
	var wait time.Duration
	err := db.write(ctx, false, func(ctx context.Context, q querier) error {
		var err error
		wait, err = startCodeIn(ctx, q, key, hash, ttl, interval)
		return err
	})
	if err != nil {
		return 0, wrap("start code", err)
	}
	return wait, nil
}

// StartCodeAndEnqueue implements delivery.CodeStore: StartCode and Enqueue
// in one transaction, for the embedded default, where codes live here too.
func (db *DB) StartCodeAndEnqueue(ctx context.Context, key string, hash []byte, ttl, interval time.Duration, r delivery.Record) (time.Duration, error) {
	var wait time.Duration
	err := db.writeQueue(ctx, true, func(ctx context.Context, q querier) error {
		var err error
		if wait, err = startCodeIn(ctx, q, key, hash, ttl, interval); err != nil || wait > 0 {
			return err
		}
		return db.enqueueIn(ctx, q, r)
	})
	if err != nil {
		return 0, wrap("start code and enqueue", err)
	}
	return wait, nil
}

func startCodeIn(ctx context.Context, q querier, key string, hash []byte, ttl, interval time.Duration) (time.Duration, error) {
	if ttl <= 0 {
		return 0, fmt.Errorf("ttl %v is not positive", ttl)
	}
	interval = max(interval, 0)
	ttlMS, intervalMS, expiresMS := ceilMillis(ttl), ceilMillis(interval), ceilMillis(max(ttl, interval))
	for range startTries {
		err := q.QueryRowContext(ctx, startCode, key, hash, ttlMS, intervalMS, expiresMS).Scan(new(string))
		if err == nil {
			return 0, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
		var waitMS int64
		err = q.QueryRowContext(ctx, resendWait, key).Scan(&waitMS)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
		if err == nil && waitMS > 0 {
			return time.Duration(waitMS) * time.Millisecond, nil
		}
	}
	return 0, fmt.Errorf("the resend window changed under %d starts in a row", startTries)
}

// CheckCode implements account.CodeStore: compare, consume or count, and
// void are one statement, so one code matches once and never takes more than
// maxAttempts wrong guesses, however many instances check at once.
//
// The comparison is SQL equality, not constant time: what is stored and
// compared is an HMAC of the code under a server key, so timing reveals
// nothing about the code itself, and every guess costs an attempt.
func (db *DB) CheckCode(ctx context.Context, key string, hash []byte, maxAttempts int) (account.CodeCheck, error) {
	const op = "check code"
	var check account.CodeCheck
	err := db.write(ctx, false, func(ctx context.Context, q querier) error {
		var matched bool
		err := q.QueryRowContext(ctx, checkCode, key, hash, maxAttempts).Scan(&matched)
		switch {
		case err == nil && matched:
			check = account.CodeMatched
			return nil
		case err == nil:
			check = account.CodeMismatch
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		// No live code: a void one, or none at all.
		err = q.QueryRowContext(ctx, voidCode, key).Scan(new(int))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			check = account.CodeMissing
		case err != nil:
			return err
		default:
			check = account.CodeVoid
		}
		return nil
	})
	if err != nil {
		return 0, wrap(op, err)
	}
	return check, nil
}

// CancelCode implements account.CodeStore: it deletes the code and its
// resend window.
func (db *DB) CancelCode(ctx context.Context, key string) error {
	if _, err := db.exec(ctx, deleteCode, key); err != nil {
		return wrap("cancel code", err)
	}
	return nil
}

// DeleteExpiredCodes deletes the codes whose code and resend window were
// both over at or before now and returns how many there were; a periodic
// sweep calls it. now comes from the caller's clock while the other queries
// read the database's: a skew between the two moves the sweep by as much,
// which at worst ends a dying code that much early.
func (db *DB) DeleteExpiredCodes(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.exec(ctx, deleteExpiredCodes, millis(now))
	if err != nil {
		return 0, wrap("delete expired codes", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap("delete expired codes", err)
	}
	return n, nil
}

// ceilMillis is d in whole milliseconds, rounded up so that a short ttl
// does not become none.
func ceilMillis(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}
