package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// reader is where reads run: the pool, through kept statements for SQLite.
func (db *DB) reader() querier {
	if db.writer != nil {
		return cached{stmts: db.writer.stmts}
	}
	return db.db
}

// write runs fn, whose statements change the database, atomically: on
// PostgreSQL in a transaction of its own when tx is true (otherwise fn must
// be a single statement), on SQLite always in the writer's next batch.
func (db *DB) write(ctx context.Context, tx bool, fn writeFunc) error {
	return db.writeOn(ctx, db.db, tx, fn)
}

// writeQueue is write for the outbox's statements, which run on its pool.
func (db *DB) writeQueue(ctx context.Context, tx bool, fn writeFunc) error {
	return db.writeOn(ctx, db.queue, tx, fn)
}

func (db *DB) writeOn(ctx context.Context, pool *sql.DB, tx bool, fn writeFunc) error {
	if db.writer != nil {
		return db.writer.do(ctx, fn)
	}
	if !tx {
		return fn(ctx, pool)
	}
	t, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer t.Rollback() // a no-op after Commit
	if err := fn(ctx, t); err != nil {
		return err
	}
	return t.Commit()
}

// writeFunc is a write: its statements run with ctx on q.
type writeFunc func(ctx context.Context, q querier) error

// maxBatch bounds the writes one SQLite transaction commits together.
const maxBatch = 64

// writer is SQLite's one writer. SQLite lets one connection write at a time
// whatever we do; funnelling the writes of every request through one
// goroutine lets it commit those that arrive together in one transaction
// (group commit), which costs about what one of them alone did. Each write
// runs inside a savepoint, so one that fails is undone alone.
type writer struct {
	db    *sql.DB
	stmts *stmts
	reqs  chan writeReq
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

type writeReq struct {
	ctx    context.Context
	fn     writeFunc
	result chan error
}

func newWriter(db *sql.DB) *writer {
	w := &writer{db: db, stmts: &stmts{db: db}, reqs: make(chan writeReq), stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

var errWriterClosed = errors.New("the database is closed")

// do runs fn in a batch and returns its error, or the batch's when the
// batch could not commit. It waits for the outcome even when ctx ends
// meanwhile, so that a caller never reports failure for a write that
// committed; a write not yet begun when ctx ends is skipped.
func (w *writer) do(ctx context.Context, fn writeFunc) error {
	r := writeReq{ctx: ctx, fn: fn, result: make(chan error, 1)}
	select {
	case w.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.stop:
		return errWriterClosed
	}
	return <-r.result
}

func (w *writer) run() {
	defer close(w.done)
	batch := make([]writeReq, 0, maxBatch)
	for {
		select {
		case r := <-w.reqs:
			batch = append(batch[:0], r)
		case <-w.stop:
			return
		}
		// Let the goroutines that are about to write queue up first: under
		// load this made 2.8 writes per commit instead of 1.7.
		runtime.Gosched()
	more:
		for len(batch) < maxBatch {
			select {
			case r := <-w.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		w.commit(batch)
	}
}

func (w *writer) commit(batch []writeReq) {
	errs := make([]error, len(batch))
	err := w.batch(batch, errs)
	for i, r := range batch {
		if err != nil && errs[i] == nil {
			errs[i] = err
		}
		r.result <- errs[i]
	}
}

// batch runs the writes in one transaction, leaving each one's own error in
// errs, and returns the transaction's.
func (w *writer) batch(batch []writeReq, errs []error) error {
	ctx := context.Background() // a request's end must not cut the others' transaction short
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit
	q := cached{stmts: w.stmts, tx: tx}
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if _, err := q.ExecContext(ctx, "SAVEPOINT w"); err != nil {
			return err
		}
		// Interrupting a statement would roll the whole batch back, so a
		// write once begun runs to its end.
		if errs[i] = r.fn(context.WithoutCancel(r.ctx), q); errs[i] != nil {
			if _, err := q.ExecContext(ctx, "ROLLBACK TO w"); err != nil {
				return fmt.Errorf("undo a failed write: %w", err)
			}
		}
		if _, err := q.ExecContext(ctx, "RELEASE w"); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (w *writer) close() {
	w.once.Do(func() {
		close(w.stop)
		<-w.done
		w.stmts.close()
	})
}

// exec runs one statement that changes the database.
func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := db.write(ctx, false, func(ctx context.Context, q querier) error {
		var err error
		res, err = q.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

// queryRow runs a read.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.reader().QueryRowContext(ctx, query, args...)
}
