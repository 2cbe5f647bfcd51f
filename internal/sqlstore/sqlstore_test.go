package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/account/accounttest"
	"github.com/signupd/signupd/internal/sqlstore"
	"github.com/signupd/signupd/internal/testserver"
)

func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }

// backends are the engines every test runs on; fresh returns the URL of a
// new, empty database of t's own.
var backends = []struct {
	name  string
	fresh func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "signup.db") }},
	{"postgres", func(t *testing.T) string { return testserver.SharedPostgres(t).Database(t) }},
}

// eachBackend runs test on every backend in parallel, each on a fresh
// database.
func eachBackend(t *testing.T, test func(t *testing.T, url string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			test(t, b.fresh(t))
		})
	}
}

// open opens the database at url and closes it when t ends.
func open(t *testing.T, url string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func TestUserStore(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			accounttest.TestUserStore(t, func(t *testing.T) accounttest.UserSessionStore { return open(t, b.fresh(t)) })
		})
	}
}

var now = time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)

func newUser(phone account.Phone) account.User {
	return account.User{Phone: phone, Name: "Li Lei", PasswordHash: "hash", CreatedAt: now}
}

func newSession(id string, userID int64, ttl time.Duration) account.Session {
	return account.Session{IDHash: []byte(id), UserID: userID, CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(ttl)}
}

func TestReopenKeepsData(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, url string) {
		ctx := t.Context()
		db, err := sqlstore.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		u, err := db.CreateUser(ctx, newUser("+8613812345678"), newSession("s1", 0, time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}

		db = open(t, url)
		got, err := db.UserByPhone(ctx, "+8613812345678")
		if err != nil || got != u {
			t.Fatalf("after reopen: %+v, %v; want %+v", got, err, u)
		}
		if got.CreatedAt.Location() != time.UTC {
			t.Errorf("created at in %v, want UTC", got.CreatedAt.Location())
		}
		sess, err := db.Session(ctx, []byte("s1"), now)
		if err != nil || sess.UserID != u.ID || !sess.ExpiresAt.Equal(now.Add(time.Hour)) {
			t.Fatalf("session after reopen: %+v, %v", sess, err)
		}
	})
}

func TestSecret(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, url string) {
		ctx := t.Context()
		db := open(t, url)
		first := []byte("first-secret-0123456789abcdef")
		got, err := db.Secret(ctx, first)
		if err != nil || !bytes.Equal(got, first) {
			t.Fatalf("first call = %q, %v; want the fresh secret", got, err)
		}
		if got, err := db.Secret(ctx, []byte("second")); err != nil || !bytes.Equal(got, first) {
			t.Fatalf("second call = %q, %v; want the stored secret", got, err)
		}
		if _, err := db.Secret(ctx, nil); err == nil {
			t.Fatal("empty fresh secret accepted")
		}

		// Another instance on the same database, or this one restarted, agrees.
		other := open(t, url)
		if got, err := other.Secret(ctx, []byte("third")); err != nil || !bytes.Equal(got, first) {
			t.Fatalf("after reopen = %q, %v; want the stored secret", got, err)
		}
	})
}

// TestSecretRace has two instances on one fresh database each ask for the
// secret with a fresh value of their own, all at once: every call must get
// the one value that was stored.
func TestSecretRace(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, url string) {
		dbs := []*sqlstore.DB{open(t, url), open(t, url)}
		const n = 8
		got := make([][]byte, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				got[i], errs[i] = dbs[i%2].Secret(t.Context(), []byte{byte(i + 1)})
			})
		}
		close(start)
		wg.Wait()
		for i := range n {
			if errs[i] != nil || len(got[i]) != 1 || !bytes.Equal(got[i], got[0]) {
				t.Fatalf("call %d = %x, %v; call 0 = %x", i, got[i], errs[i], got[0])
			}
		}
	})
}

// TestConcurrentFirstOpen starts several instances on one new database at
// the same moment: each must open it, and the schema must be migrated once.
func TestConcurrentFirstOpen(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, url string) {
		const n = 8
		dbs := make([]*sqlstore.DB, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				dbs[i], errs[i] = sqlstore.Open(t.Context(), url)
			})
		}
		close(start)
		wg.Wait()
		for i, db := range dbs {
			if db != nil {
				t.Cleanup(func() { db.Close() })
			}
			if errs[i] != nil {
				t.Errorf("open %d: %v", i, errs[i])
			}
		}
		if t.Failed() {
			t.FailNow()
		}
		checkMigratedOnce(t, dbs[0])
		u, err := dbs[1].CreateUser(t.Context(), newUser("+8613812345678"), newSession("s", 0, time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := dbs[n-1].UserByID(t.Context(), u.ID); err != nil || got != u {
			t.Fatalf("user from another instance = %+v, %v; want %+v", got, err, u)
		}
	})
}

// checkMigratedOnce checks that goose recorded each migration version once,
// in order, from its initial version 0 on.
func checkMigratedOnce(t *testing.T, db *sqlstore.DB) {
	t.Helper()
	versions, err := db.AppliedVersions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) < 2 || versions[0] != 0 {
		t.Fatalf("applied versions %v, want 0 and at least one migration", versions)
	}
	for i := 1; i < len(versions); i++ {
		if versions[i] <= versions[i-1] {
			t.Fatalf("applied versions %v: a version applied twice or out of order", versions)
		}
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, url string) {
		for range 2 { // the second finds nothing to do
			if err := sqlstore.Migrate(t.Context(), url); err != nil {
				t.Fatal(err)
			}
		}
		db := open(t, url)
		checkMigratedOnce(t, db)
		if _, err := db.CreateUser(t.Context(), newUser("+8613812345678"), newSession("s", 0, time.Hour)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOpenRejects(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notDB := filepath.Join(dir, "not.db")
	if err := os.WriteFile(notDB, bytes.Repeat([]byte("not a database "), 100), 0o600); err != nil {
		t.Fatal(err)
	}
	// Port 1 on 127.0.0.1 refuses connections at once.
	tests := []struct {
		url, want string
	}{
		{"", "no scheme"},
		{"signup.db", "no scheme"},
		{"mysql://root@localhost/signup", `scheme "mysql"`},
		{"sqlite:", "no file path"},
		{"sqlite::memory:", "in-memory"},
		{"sqlite:file:signup.db", "file: URI"},
		{"sqlite:signup.db?mode=ro", "'?'"},
		{"sqlite:" + filepath.Join(dir, "missing", "signup.db"), "no such file or directory"},
		{"sqlite:" + dir, "open sqlite " + dir + ": unable to open"},
		{"sqlite:" + notDB, "open sqlite " + notDB + ": "},
		{"postgres://signup:hunter2@127.0.0.1:1/signup", "open postgres://signup@127.0.0.1:1/signup: "},
		{"postgresql://signup:hunter2@127.0.0.1:1/signup?sslmode=disable", "open postgresql://signup@127.0.0.1:1/signup: "},
		{"postgres://127.0.0.1:1/signup?password=hunter2", "open postgres://127.0.0.1:1/signup: "},
		{"postgres://signup:hunter2@127.0.0.1:port/signup", "does not parse"},
		{"postgres://signup:hunter2@127.0.0.1:1/signup?connect_timeout=soon", "invalid connect_timeout"},
		{"postgres://signup@127.0.0.1:1/signup?password=hunter2&sslpassword=hunter2&sslmode=sometimes", "sslmode"},
		{"postgres://signup:hunter2@127.0.0.1:1/signup?sslmode=sometimes", "sslmode"},
	}
	for _, tt := range tests {
		db, err := sqlstore.Open(t.Context(), tt.url)
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", tt.url)
			continue
		}
		for _, err := range []error{err, sqlstore.Migrate(t.Context(), tt.url)} {
			if err == nil {
				t.Errorf("Migrate(%q) succeeded", tt.url)
				continue
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "sqlstore: ") || !strings.Contains(msg, tt.want) {
				t.Errorf("%q: error %q, want it to say %q", tt.url, msg, tt.want)
			}
			if strings.Contains(msg, "hunter2") {
				t.Errorf("%q: error %q shows the password", tt.url, msg)
			}
		}
	}
}

func TestOpenCanceled(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, url string) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		db, err := sqlstore.Open(ctx, url)
		if err == nil {
			db.Close()
			t.Fatal("Open with a canceled context succeeded")
		}
	})
}

func TestClosedDB(t *testing.T) {
	t.Parallel()
	eachBackend(t, testClosedDB)
}

func testClosedDB(t *testing.T, url string) {
	ctx := t.Context()
	db, err := sqlstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	id := []byte("id")
	calls := map[string]func() error{
		"Ping": func() error { return db.Ping(ctx) },
		"CreateUser": func() error {
			_, err := db.CreateUser(ctx, newUser("+8613812345678"), newSession("s", 0, time.Hour))
			return err
		},
		"UserByPhone":           func() error { _, err := db.UserByPhone(ctx, "+8613812345678"); return err },
		"UserByID":              func() error { _, err := db.UserByID(ctx, 1); return err },
		"CreateSession":         func() error { return db.CreateSession(ctx, newSession("s", 1, time.Hour)) },
		"Session":               func() error { _, err := db.Session(ctx, id, now); return err },
		"TouchSession":          func() error { return db.TouchSession(ctx, id, now) },
		"DeleteSession":         func() error { return db.DeleteSession(ctx, id) },
		"DeleteExpiredSessions": func() error { _, err := db.DeleteExpiredSessions(ctx, now); return err },
		"Secret":                func() error { _, err := db.Secret(ctx, []byte("fresh")); return err },
	}
	for name, call := range calls {
		err := call()
		if err == nil || errors.Is(err, account.ErrNotFound) || errors.Is(err, account.ErrDuplicate) {
			t.Errorf("%s on a closed DB: err = %v, want an internal error", name, err)
		} else if !strings.HasPrefix(err.Error(), "sqlstore: ") {
			t.Errorf("%s on a closed DB: err = %q, want the sqlstore: prefix", name, err)
		}
	}
}

func TestCreateSessionErrors(t *testing.T) {
	t.Parallel()
	eachBackend(t, testCreateSessionErrors)
}

func testCreateSessionErrors(t *testing.T, url string) {
	ctx := t.Context()
	db := open(t, url)
	u, err := db.CreateUser(ctx, newUser("+8613812345678"), newSession("taken", 0, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSession(ctx, newSession("taken", u.ID, time.Hour)); !errors.Is(err, account.ErrDuplicate) {
		t.Errorf("taken id: err = %v, want ErrDuplicate", err)
	}
	err = db.CreateSession(ctx, newSession("orphan", u.ID+1, time.Hour))
	if err == nil || errors.Is(err, account.ErrDuplicate) {
		t.Errorf("unknown user: err = %v, want a foreign-key error", err)
	}
	// A session id clash inside CreateUser is not a duplicate user.
	_, err = db.CreateUser(ctx, newUser("+8613912345678"), newSession("taken", 0, time.Hour))
	if err == nil || errors.Is(err, account.ErrDuplicate) {
		t.Errorf("CreateUser with a taken session id: err = %v, want an internal error", err)
	}
	if _, err := db.UserByPhone(ctx, "+8613912345678"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("user of the failed CreateUser: err = %v, want ErrNotFound", err)
	}
}

func TestDeleteExpiredSessions(t *testing.T) {
	t.Parallel()
	eachBackend(t, testDeleteExpiredSessions)
}

func testDeleteExpiredSessions(t *testing.T, url string) {
	ctx := t.Context()
	db := open(t, url)
	u, err := db.CreateUser(ctx, newUser("+8613812345678"), newSession("live", 0, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []account.Session{
		newSession("expired", u.ID, -time.Minute),
		newSession("expires now", u.ID, 0),
		newSession("later", u.ID, time.Minute),
	} {
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	n, err := db.DeleteExpiredSessions(ctx, now)
	if err != nil || n != 2 {
		t.Fatalf("swept %d, %v; want 2", n, err)
	}
	for _, id := range []string{"expired", "expires now"} {
		if err := db.DeleteSession(ctx, []byte(id)); !errors.Is(err, account.ErrNotFound) {
			t.Errorf("%s still stored: %v", id, err)
		}
	}
	for _, id := range []string{"live", "later"} {
		if _, err := db.Session(ctx, []byte(id), now); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	if n, err := db.DeleteExpiredSessions(ctx, now); err != nil || n != 0 {
		t.Fatalf("second sweep %d, %v; want 0", n, err)
	}
}

func TestPing(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, url string) {
		if err := open(t, url).Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}
