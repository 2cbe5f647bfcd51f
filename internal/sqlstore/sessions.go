package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/signupd/signupd/internal/account"
)

const (
	insertSession = `INSERT INTO sessions (id_hash, user_id, created_at, last_seen, expires_at)
VALUES ($1, $2, $3, $4, $5)`
	liveSession = `SELECT user_id, created_at, last_seen, expires_at FROM sessions
WHERE id_hash = $1 AND expires_at > $2`
	touchSession          = `UPDATE sessions SET last_seen = $1 WHERE id_hash = $2`
	deleteSession         = `DELETE FROM sessions WHERE id_hash = $1`
	deleteUserSessions    = `DELETE FROM sessions WHERE user_id = $1`
	deleteExpiredSessions = `DELETE FROM sessions WHERE expires_at <= $1`
)

func sessionArgs(s account.Session) []any {
	return []any{s.IDHash, s.UserID, millis(s.CreatedAt), millis(s.LastSeen), millis(s.ExpiresAt)}
}

// CreateSession stores s. It returns account.ErrDuplicate when a session with
// s.IDHash exists, and an error when s.UserID names no user.
func (db *DB) CreateSession(ctx context.Context, s account.Session) error {
	_, err := db.exec(ctx, insertSession, sessionArgs(s)...)
	if db.dialect.isUniqueViolation(err) {
		return wrap("create session", account.ErrDuplicate)
	}
	if err != nil {
		return wrap("create session", err)
	}
	return nil
}

// Session returns the session with idHash, or account.ErrNotFound when there
// is none or it expired at or before now.
func (db *DB) Session(ctx context.Context, idHash []byte, now time.Time) (account.Session, error) {
	var created, lastSeen, expires int64
	s := account.Session{IDHash: bytes.Clone(idHash)}
	err := db.queryRow(ctx, liveSession, idHash, millis(now)).
		Scan(&s.UserID, &created, &lastSeen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		err = account.ErrNotFound
	}
	if err != nil {
		return account.Session{}, wrap("session", err)
	}
	s.CreatedAt, s.LastSeen, s.ExpiresAt = fromMillis(created), fromMillis(lastSeen), fromMillis(expires)
	return s, nil
}

// TouchSession sets the last-seen time of the session with idHash, or
// returns account.ErrNotFound when there is none.
func (db *DB) TouchSession(ctx context.Context, idHash []byte, lastSeen time.Time) error {
	return db.execOne(ctx, "touch session", account.ErrNotFound, touchSession, millis(lastSeen), idHash)
}

// DeleteSession deletes the session with idHash, or returns
// account.ErrNotFound when there is none.
func (db *DB) DeleteSession(ctx context.Context, idHash []byte) error {
	return db.execOne(ctx, "delete session", account.ErrNotFound, deleteSession, idHash)
}

// DeleteExpiredSessions deletes the sessions expired at or before now and
// returns how many there were; a periodic sweep calls it.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.exec(ctx, deleteExpiredSessions, millis(now))
	if err != nil {
		return 0, wrap("delete expired sessions", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap("delete expired sessions", err)
	}
	return n, nil
}

// execOne runs a statement meant to change one row, and returns none
// (account.ErrNotFound, delivery.ErrLeaseLost) when it changed none.
func (db *DB) execOne(ctx context.Context, op string, none error, query string, args ...any) error {
	return db.one(ctx, db.db, op, none, query, args...)
}

// queueOne is execOne for the outbox's statements.
func (db *DB) queueOne(ctx context.Context, op string, none error, query string, args ...any) error {
	return db.one(ctx, db.queue, op, none, query, args...)
}

func (db *DB) one(ctx context.Context, pool *sql.DB, op string, none error, query string, args ...any) error {
	err := db.writeOn(ctx, pool, false, func(ctx context.Context, q querier) error {
		return changedOne(q.ExecContext(ctx, query, args...))
	})
	if errors.Is(err, account.ErrNotFound) {
		err = none
	}
	if err != nil {
		return wrap(op, err)
	}
	return nil
}
