package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// stmts prepares each query once for the pool and keeps it: SQLite parses
// an unprepared statement on every call, and under load the parsing cost
// more than running it. database/sql prepares a kept statement again on
// each connection it meets, so it survives connections coming and going.
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

// exec runs query as a kept statement.
func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := db.stmts.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// queryRow runs query as a kept statement. When it cannot be prepared, the
// query runs unprepared, only so that the Row reports the error.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := db.stmts.get(ctx, query)
	if err != nil {
		return db.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// query runs query as a kept statement.
func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := db.stmts.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// tx is a transaction whose statements were prepared before it began.
// Preparing one inside it could need a second connection while this one
// holds SQLite's write lock, and with the pool capped that connection may be
// held by transactions waiting for the lock.
type tx struct {
	*sql.Tx
	stmts map[string]*sql.Stmt
}

// begin prepares queries and then begins a transaction that runs them.
func (db *DB) begin(ctx context.Context, queries ...string) (*tx, error) {
	t := &tx{stmts: make(map[string]*sql.Stmt, len(queries))}
	for _, q := range queries {
		st, err := db.stmts.get(ctx, q)
		if err != nil {
			return nil, err
		}
		t.stmts[q] = st
	}
	var err error
	if t.Tx, err = db.db.BeginTx(ctx, nil); err != nil {
		return nil, err
	}
	return t, nil
}

// exec runs query, which begin must have prepared.
func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.StmtContext(ctx, t.stmts[query]).ExecContext(ctx, args...)
}

// queryRow runs query, which begin must have prepared.
func (t *tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return t.StmtContext(ctx, t.stmts[query]).QueryRowContext(ctx, args...)
}
