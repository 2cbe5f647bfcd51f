package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// querier runs statements: *sql.DB, *sql.Tx, or a cached view of either.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// stmts prepares each query once for the pool and keeps it: SQLite parses
// an unprepared statement on every call, and under load the parsing cost
// more than running it. database/sql prepares a kept statement again on
// each connection it meets, so it survives connections coming and going.
// (PostgreSQL needs none of this: pgx keeps prepared statements per
// connection itself.)
type stmts struct {
	db *sql.DB
	m  sync.Map // query -> *sql.Stmt
}

func (s *stmts) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if old, loaded := s.m.LoadOrStore(query, st); loaded {
		st.Close()
		return old.(*sql.Stmt), nil
	}
	return st, nil
}

func (s *stmts) close() {
	s.m.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
}

// cached runs queries as kept statements, in tx when it is not nil.
type cached struct {
	stmts *stmts
	tx    *sql.Tx
}

func (c cached) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	st, err := c.stmts.get(ctx, query)
	if err != nil || c.tx == nil {
		return st, err
	}
	return c.tx.StmtContext(ctx, st), nil
}

func (c cached) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// QueryRowContext runs query as a kept statement. When it cannot be
// prepared, the query runs unprepared, only so that the Row reports the
// error.
func (c cached) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := c.stmt(ctx, query)
	if err != nil {
		if c.tx != nil {
			return c.tx.QueryRowContext(ctx, query, args...)
		}
		return c.stmts.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (c cached) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}
