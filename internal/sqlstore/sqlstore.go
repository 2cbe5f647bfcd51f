// Package sqlstore keeps users, sessions and server settings in SQL: SQLite
// for one process, PostgreSQL for several instances on one database. It
// implements account.UserStore and account.SessionStore with hand-written
// queries that serve every engine; what differs between engines is kept in
// dialect.go and in the per-engine migrations under migrations/.
//
// Times are stored as unix milliseconds and read back in UTC.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
)

// migrations holds one folder of goose SQL files per dialect.
//
//go:embed migrations
var migrations embed.FS

// DB is a store over one SQL database. It is safe for concurrent use.
type DB struct {
	db      *sql.DB
	dialect dialect
	writer  *writer // SQLite's one writer; nil for PostgreSQL
	// queue is where the outbox's statements run: on PostgreSQL a pool
	// whose commits do not wait for the WAL to reach the disk; db on SQLite.
	queue *sql.DB
}

// Open connects to the database at url and brings its schema up to date
// before returning, as Migrate does. The url is "sqlite:<path>" or a
// PostgreSQL URL, "postgres://user:password@host:port/database?sslmode=...";
// a PostgreSQL URL without connect_timeout gets one of 2 seconds. On
// PostgreSQL it opens a few connections in each pool before it returns, so
// that an instance's first requests do not wait for them.
func Open(ctx context.Context, url string) (*DB, error) {
	t, sqlDB, err := openMigrated(ctx, url)
	if err != nil {
		return nil, err
	}
	db := &DB{db: sqlDB, dialect: t.dialect, queue: sqlDB}
	if t.dialect.name == "sqlite" {
		db.writer = newWriter(sqlDB)
		return db, nil
	}
	if db.queue, err = openAsyncCommit(t.dsn); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", t.name, err)
	}
	warm(ctx, db.db, warmConns, primeMain)
	warm(ctx, db.queue, warmQueueConns, primeQueue)
	return db, nil
}

// Migrate brings the schema of the database at url up to date, then closes
// the connection. Instances that migrate one database at the same moment
// take turns: a PostgreSQL advisory lock, or a lock on the file
// "<path>.lock" beside a SQLite database.
func Migrate(ctx context.Context, url string) error {
	t, sqlDB, err := openMigrated(ctx, url)
	if err != nil {
		return err
	}
	if err := sqlDB.Close(); err != nil {
		return fmt.Errorf("sqlstore: close %s: %w", t.name, err)
	}
	return nil
}

// openMigrated opens the database at url, checks that it answers and
// migrates it, all under the dialect's migration lock: a new SQLite file
// takes a lock to switch to WAL on its first connection too.
func openMigrated(ctx context.Context, url string) (target, *sql.DB, error) {
	t, err := parseURL(url)
	if err != nil {
		return target{}, nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	lockOpts, unlock, err := t.dialect.lockMigrations(ctx, t)
	if err != nil {
		return target{}, nil, fmt.Errorf("sqlstore: lock %s for migration: %w", t.name, err)
	}
	defer unlock()
	sqlDB, err := sql.Open(t.dialect.driver, t.dsn)
	if err != nil {
		return target{}, nil, fmt.Errorf("sqlstore: open %s: %w", t.name, err)
	}
	t.dialect.configure(sqlDB)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return target{}, nil, fmt.Errorf("sqlstore: open %s: %w", t.name, err)
	}
	if err := migrate(ctx, sqlDB, t.dialect, lockOpts); err != nil {
		sqlDB.Close()
		return target{}, nil, fmt.Errorf("sqlstore: migrate %s: %w", t.name, err)
	}
	return t, sqlDB, nil
}

// migrate applies the pending migrations of d to db; lockOpts are the
// dialect's goose options for its migration lock.
func migrate(ctx context.Context, db *sql.DB, d dialect, lockOpts []goose.ProviderOption) error {
	fsys, err := fs.Sub(migrations, "migrations/"+d.name)
	if err != nil {
		return err
	}
	// The provider is not closed: its Close would close db.
	opts := append([]goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}, lockOpts...)
	p, err := goose.NewProvider(d.goose, db, fsys, opts...)
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Close closes the database.
func (db *DB) Close() error {
	if db.writer != nil {
		db.writer.close()
	}
	if db.queue != db.db {
		db.queue.Close()
	}
	if err := db.db.Close(); err != nil {
		return wrap("close", err)
	}
	return nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.db.PingContext(ctx); err != nil {
		return wrap("ping", err)
	}
	return nil
}

func wrap(op string, err error) error {
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// millis is how a time is stored: exact to the millisecond, zone-free.
func millis(t time.Time) int64 { return t.UnixMilli() }

// fromMillis is the time a stored value reads back as.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// stored returns t as a read will give it back.
func stored(t time.Time) time.Time { return fromMillis(millis(t)) }
