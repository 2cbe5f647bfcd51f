package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/signupd/signupd/internal/account"
)

const (
	insertUser = `INSERT INTO users (mobile, name, password_hash, avatar_url, created_at)
VALUES ($1, $2, $3, $4, $5) RETURNING id`
	selectUser  = `SELECT id, mobile, name, password_hash, avatar_url, created_at FROM users`
	userByPhone = selectUser + ` WHERE mobile = $1`
	userByID    = selectUser + ` WHERE id = $1`
	setPassword = `UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3`
	// holdPassword, completed by the dialect's forShare, finds the user
	// with the hash and holds the row until the transaction ends: a
	// ChangePassword either committed first, and the hash no longer
	// matches, or waits for the session to be in, then deletes it. A share
	// lock writes no new row version, as an UPDATE would on every login.
	holdPassword = `SELECT 1 FROM users WHERE id = $1 AND password_hash = $2`
)

// CreateUser inserts u, ignoring u.ID, and s with the new user's id, in one
// transaction. It returns account.ErrDuplicate when u.Phone is taken, and the
// user as a read will return it: with its id and CreatedAt in UTC milliseconds.
func (db *DB) CreateUser(ctx context.Context, u account.User, s account.Session) (account.User, error) {
	const op = "create user"
	u.CreatedAt = stored(u.CreatedAt)
	err := db.write(ctx, true, func(ctx context.Context, q querier) error {
		err := q.QueryRowContext(ctx, insertUser,
			string(u.Phone), u.Name, u.PasswordHash, u.AvatarURL, millis(u.CreatedAt)).Scan(&u.ID)
		if db.dialect.isUniqueViolation(err) {
			return account.ErrDuplicate
		}
		if err != nil {
			return err
		}
		s.UserID = u.ID
		// A clash on the session's id is not a duplicate user: it is
		// reported as the internal error it is.
		if _, err := q.ExecContext(ctx, insertSession, sessionArgs(s)...); err != nil {
			return fmt.Errorf("session: %w", err)
		}
		return nil
	})
	if err != nil {
		return account.User{}, wrap(op, err)
	}
	return u, nil
}

// ChangePassword replaces the password hash of user id, if it is oldHash,
// with newHash, deletes every session of that user and inserts s with
// UserID id, in one transaction. It returns account.ErrNotFound, changing
// nothing, when there is no user id with oldHash.
func (db *DB) ChangePassword(ctx context.Context, id int64, oldHash, newHash string, s account.Session) error {
	err := db.write(ctx, true, func(ctx context.Context, q querier) error {
		if err := changedOne(q.ExecContext(ctx, setPassword, newHash, id, oldHash)); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, deleteUserSessions, id); err != nil {
			return fmt.Errorf("delete sessions: %w", err)
		}
		s.UserID = id
		if _, err := q.ExecContext(ctx, insertSession, sessionArgs(s)...); err != nil {
			return fmt.Errorf("session: %w", err)
		}
		return nil
	})
	if err != nil {
		return wrap("change password", err)
	}
	return nil
}

// OpenSession inserts s if user s.UserID's password hash is passwordHash, in
// one transaction that holds the user's row. It returns account.ErrNotFound,
// inserting nothing, when there is no such user with that hash, and
// account.ErrDuplicate when a session with s.IDHash exists.
func (db *DB) OpenSession(ctx context.Context, s account.Session, passwordHash string) error {
	err := db.write(ctx, true, func(ctx context.Context, q querier) error {
		err := q.QueryRowContext(ctx, holdPassword+db.dialect.forShare, s.UserID, passwordHash).Scan(new(int))
		if errors.Is(err, sql.ErrNoRows) {
			return account.ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, insertSession, sessionArgs(s)...)
		if db.dialect.isUniqueViolation(err) {
			return account.ErrDuplicate
		}
		return err
	})
	if err != nil {
		return wrap("open session", err)
	}
	return nil
}

// changedOne is nil when a statement changed a row, account.ErrNotFound
// when it changed none.
func changedOne(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return account.ErrNotFound
	}
	return nil
}

// UserByPhone returns the user registered with p, or account.ErrNotFound.
func (db *DB) UserByPhone(ctx context.Context, p account.Phone) (account.User, error) {
	u, err := scanUser(db.queryRow(ctx, userByPhone, string(p)))
	if err != nil {
		return account.User{}, wrap("user by phone", err)
	}
	return u, nil
}

// UserByID returns the user with id, or account.ErrNotFound.
func (db *DB) UserByID(ctx context.Context, id int64) (account.User, error) {
	u, err := scanUser(db.queryRow(ctx, userByID, id))
	if err != nil {
		return account.User{}, wrap("user by id", err)
	}
	return u, nil
}

func scanUser(row *sql.Row) (account.User, error) {
	var (
		u         account.User
		phone     string
		createdAt int64
	)
	err := row.Scan(&u.ID, &phone, &u.Name, &u.PasswordHash, &u.AvatarURL, &createdAt)
	if errors.Is(err, sql.ErrNoRows) {
		return account.User{}, account.ErrNotFound
	}
	if err != nil {
		return account.User{}, err
	}
	u.Phone = account.Phone(phone)
	u.CreatedAt = fromMillis(createdAt)
	return u, nil
}
