package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is one SQL engine. Every difference between the engines lives in
// this file; the queries elsewhere are one text for all of them.
type dialect struct {
	name   string // also the folder of its migrations under migrations/
	driver string // the database/sql driver name
	goose  goose.Dialect
	// configure sizes the connection pool.
	configure func(*sql.DB)
	// lockMigrations makes instances that start together on one database
	// migrate one at a time: it returns goose options that take the lock,
	// or takes one itself and returns how to release it.
	lockMigrations func(ctx context.Context, t target) (opts []goose.ProviderOption, unlock func(), err error)
	// isUniqueViolation reports whether err is a unique or primary-key
	// violation, judged by the driver's error code.
	isUniqueViolation func(err error) bool
	// skipLocked ends the SELECT that picks the records a Claim leases, so
	// that concurrent Claims pass over each other's rows instead of waiting
	// for them; SQLite runs one writer at a time and needs none.
	skipLocked string
	// forShare ends the SELECT with which a login holds the user's row
	// while its session goes in; SQLite's writer holds the whole file.
	forShare string
}

// target is a database to open.
type target struct {
	dialect dialect
	dsn     string // for the driver
	name    string // for errors: the engine and where, never a password
	path    string // the SQLite file; empty for a server
}

const wantURL = "want sqlite:<path> or postgres://..."

// parseURL returns the database a URL names. Errors never show the whole
// URL, which may hold a password.
func parseURL(url string) (target, error) {
	scheme, rest, ok := strings.Cut(url, ":")
	if !ok || scheme == "" {
		return target{}, fmt.Errorf("database URL has no scheme (%s)", wantURL)
	}
	switch scheme {
	case "sqlite":
		dsn, err := sqliteDSN(rest)
		return target{dialect: sqliteDialect(), dsn: dsn, name: "sqlite " + rest, path: rest}, err
	case "postgres", "postgresql":
		dsn, name, err := postgresDSN(url)
		return target{dialect: postgresDialect(), dsn: dsn, name: name}, err
	default:
		return target{}, fmt.Errorf("unsupported database URL scheme %q (%s)", scheme, wantURL)
	}
}

func sqliteDialect() dialect {
	return dialect{
		name:              "sqlite",
		driver:            "sqlite",
		goose:             goose.DialectSQLite3,
		configure:         configureSQLite,
		lockMigrations:    lockSQLiteMigrations,
		isUniqueViolation: sqliteUniqueViolation,
		skipLocked:        "",
		forShare:          "",
	}
}

// sqliteParams make every pooled connection wait for a lock instead of failing
// at once, let readers run beside the one writer (WAL), enforce the sessions'
// foreign key, and take the write lock when a transaction begins, so that two
// read-then-write transactions cannot deadlock on the lock upgrade.
const sqliteParams = "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)" +
	"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"

func sqliteDSN(path string) (string, error) {
	switch {
	case path == "":
		return "", errors.New("sqlite URL has no file path (want sqlite:<path>)")
	case path == ":memory:":
		// Every pooled connection would open a database of its own.
		return "", errors.New("sqlite in-memory databases are not supported; give a file path")
	case strings.HasPrefix(path, "file:"):
		return "", fmt.Errorf("sqlite path %q: give a plain file path, not a file: URI", path)
	case strings.ContainsRune(path, '?'):
		// The driver reads its parameters after the first '?'.
		return "", fmt.Errorf("sqlite path %q must not contain '?'", path)
	}
	// SQLite creates the file but not its folder, and would only say it is
	// "unable to open database file".
	if _, err := os.Stat(filepath.Dir(path)); err != nil {
		return "", fmt.Errorf("sqlite path %q: %w", path, err)
	}
	return path + "?" + sqliteParams, nil
}

// lockSQLiteMigrations takes an exclusive lock on "<path>.lock", held from
// the first connection until goose is done. Without it, processes opening a
// new file together each find the first migration pending, and all but one
// fail on "table already exists": goose decides what is pending before the
// transaction that applies it. Switching a new file to WAL on the first
// connection can also fail with SQLITE_BUSY, without waiting, when another
// process is doing the same. The lock file is left in place: removing it
// would let a later process lock a new file while another held the old one.
func lockSQLiteMigrations(ctx context.Context, t target) ([]goose.ProviderOption, func(), error) {
	unlock, err := lockFile(ctx, t.path+".lock")
	return nil, unlock, err
}

func sqliteUniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	code := e.Code()
	return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func postgresDialect() dialect {
	return dialect{
		name:              "postgres",
		driver:            "pgx",
		goose:             goose.DialectPostgres,
		configure:         configurePostgres,
		lockMigrations:    lockPostgresMigrations,
		isUniqueViolation: postgresUniqueViolation,
		skipLocked:        " FOR UPDATE SKIP LOCKED",
		forShare:          " FOR SHARE",
	}
}

// postgresConnectTimeout bounds each connection attempt, so that a dead or
// unreachable server fails a request at once instead of at the TCP timeout.
const postgresConnectTimeout = "2" // seconds, as libpq's connect_timeout

// postgresDSN returns the URL given to pgx, with a connect_timeout unless the
// URL sets one, and the name errors show: scheme, user, host and database,
// without the password or the query (which may hold one too).
func postgresDSN(raw string) (dsn, name string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the URL, password and all.
		return "", "", errors.New("postgres URL does not parse (it is not shown: it may hold a password)")
	}
	shown := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	if u.User != nil {
		shown.User = url.User(u.User.Username())
	}
	q := u.Query()
	if !q.Has("connect_timeout") {
		q.Set("connect_timeout", postgresConnectTimeout)
		u.RawQuery = q.Encode()
	}
	// pgx checks the settings without the passwords, so that its error,
	// which quotes the URL and masks passwords only on a best-effort basis,
	// has none to show.
	check := *u
	check.User = shown.User
	q.Del("password")
	q.Del("sslpassword")
	check.RawQuery = q.Encode()
	if _, err := pgx.ParseConfig(check.String()); err != nil {
		return "", "", err
	}
	return u.String(), shown.String(), nil
}

// openAsyncCommit opens the pool for the SMS outbox on PostgreSQL, whose
// commits return before the WAL is on disk (synchronous_commit off, for
// these sessions only). A crash of signupd then loses nothing queued; a
// crash of the PostgreSQL server or its machine may lose the last fraction
// of a second of messages, as Redis, which holds their codes, would lose
// the codes. Waiting for the disk made every send-code wait for an fsync:
// sends went from 405/s to 690/s without it (README, Performance).
func openAsyncCommit(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["synchronous_commit"] = "off"
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(10)
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	return db, nil
}

// configureSQLite keeps a few connections open for good. Opening one runs
// the pragmas and reads the schema, which under load cost more than the
// queries did; and more than a few connections only queue on SQLite's one
// writer lock, whose busy handler sleeps. Every write goes through the one
// writer goroutine (see writer), which holds one connection at a time;
// reads never wait for it, so the cap cannot deadlock.
func configureSQLite(db *sql.DB) {
	db.SetMaxOpenConns(sqliteConns)
	db.SetMaxIdleConns(sqliteConns)
}

const sqliteConns = 4

// postgresIdleConns is how many idle connections the request pool keeps,
// and how many Open makes ready in it.
const postgresIdleConns = 10

// configurePostgres sizes the request pool for a small service running as
// several instances on one server: each keeps postgresIdleConns warm, and
// with the outbox's pool (openAsyncCommit) uses 30 at most, so three
// instances fit PostgreSQL's default max_connections of 100.
func configurePostgres(db *sql.DB) {
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(postgresIdleConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	// Connections are renewed now and then, so that a failover or a
	// changed DNS name is followed without a restart.
	db.SetConnMaxLifetime(time.Hour)
}

// lockPostgresMigrations has goose hold a session-level advisory lock while
// it migrates, so that instances starting together migrate one at a time
// and the rest then find nothing pending. Advisory locks are per database.
// goose polls for the lock; once a second is the shortest period it takes.
func lockPostgresMigrations(context.Context, target) ([]goose.ProviderOption, func(), error) {
	l, err := lock.NewPostgresSessionLocker(
		lock.WithLockTimeout(1, 300), // retry every second for 5 minutes
		lock.WithUnlockTimeout(1, 10),
	)
	if err != nil {
		return nil, nil, err
	}
	return []goose.ProviderOption{goose.WithSessionLocker(l)}, func() {}, nil
}

// postgresUniqueViolation reports a unique_violation, SQLSTATE 23505.
func postgresUniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}
