// Package sqlstore keeps users, sessions and server settings in SQL: SQLite
// now, PostgreSQL next. It implements account.UserStore and
// account.SessionStore with hand-written queries that serve every engine;
// what differs between engines is kept in dialect.go and in the per-engine
// migrations under migrations/.
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
}

// Open connects to the database at url ("sqlite:<path>") and brings its
// schema up to date before returning.
func Open(ctx context.Context, url string) (*DB, error) {
	t, err := parseURL(url)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	sqlDB, err := sql.Open(t.dialect.driver, t.dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", t.name, err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", t.name, err)
	}
	if err := migrate(ctx, sqlDB, t.dialect); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("sqlstore: migrate %s: %w", t.name, err)
	}
	return &DB{db: sqlDB, dialect: t.dialect}, nil
}

func migrate(ctx context.Context, db *sql.DB, d dialect) error {
	fsys, err := fs.Sub(migrations, "migrations/"+d.name)
	if err != nil {
		return err
	}
	// The provider is not closed: its Close would close db.
	opts := append([]goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}, d.gooseOptions...)
	p, err := goose.NewProvider(d.goose, db, fsys, opts...)
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Close closes the database.
func (db *DB) Close() error {
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
