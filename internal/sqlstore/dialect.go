package sqlstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is one SQL engine. Every difference between the engines lives in
// this file; the queries elsewhere are one text for all of them.
type dialect struct {
	name   string // also the folder of its migrations under migrations/
	driver string // the database/sql driver name
	goose  goose.Dialect
	// gooseOptions are the engine's own migration options, such as a
	// PostgreSQL advisory-lock session locker so that instances starting
	// together migrate one at a time.
	gooseOptions []goose.ProviderOption
	// isUniqueViolation reports whether err is a unique or primary-key
	// violation, judged by the driver's error code.
	isUniqueViolation func(err error) bool
}

// target is a database to open.
type target struct {
	dialect dialect
	dsn     string // for the driver
	name    string // for errors: the engine and where, never a password
}

// parseURL returns the database a URL names. Errors name the scheme at most,
// never the whole URL, which may hold a password.
func parseURL(url string) (target, error) {
	scheme, rest, ok := strings.Cut(url, ":")
	if !ok || scheme == "" {
		return target{}, errors.New("database URL has no scheme (want sqlite:<path>)")
	}
	switch scheme {
	case "sqlite":
		dsn, err := sqliteDSN(rest)
		return target{dialect: sqliteDialect(), dsn: dsn, name: "sqlite " + rest}, err
	default:
		return target{}, fmt.Errorf("unsupported database URL scheme %q (want sqlite:<path>)", scheme)
	}
}

func sqliteDialect() dialect {
	return dialect{
		name:              "sqlite",
		driver:            "sqlite",
		goose:             goose.DialectSQLite3,
		isUniqueViolation: sqliteUniqueViolation,
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

func sqliteUniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	code := e.Code()
	return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}
