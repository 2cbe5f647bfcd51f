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
)

// openFile opens the SQLite database at path and closes it when t ends.
func openFile(t *testing.T, path string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), "sqlite:"+path)
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

func openTemp(t *testing.T) *sqlstore.DB {
	return openFile(t, filepath.Join(t.TempDir(), "signup.db"))
}

func TestUserStore(t *testing.T) {
	accounttest.TestUserStore(t, func(t *testing.T) accounttest.UserSessionStore { return openTemp(t) })
}

var now = time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)

func newUser(phone account.Phone) account.User {
	return account.User{Phone: phone, Name: "Li Lei", PasswordHash: "hash", CreatedAt: now}
}

func newSession(id string, userID int64, ttl time.Duration) account.Session {
	return account.Session{IDHash: []byte(id), UserID: userID, CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(ttl)}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "signup.db")
	db, err := sqlstore.Open(ctx, "sqlite:"+path)
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

	db = openFile(t, path)
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
}

func TestSecret(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "signup.db")
	db := openFile(t, path)
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
	other := openFile(t, path)
	if got, err := other.Secret(ctx, []byte("third")); err != nil || !bytes.Equal(got, first) {
		t.Fatalf("after reopen = %q, %v; want the stored secret", got, err)
	}
}

func TestSecretRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signup.db")
	dbs := []*sqlstore.DB{openFile(t, path), openFile(t, path)}
	const n = 20
	got := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = dbs[i%2].Secret(t.Context(), []byte{byte(i + 1)}) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || !bytes.Equal(got[i], got[0]) {
			t.Fatalf("call %d = %x, %v; call 0 = %x", i, got[i], errs[i], got[0])
		}
	}
}

func TestOpenRejects(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "not.db")
	if err := os.WriteFile(notDB, bytes.Repeat([]byte("not a database "), 100), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url, want string
	}{
		{"", "no scheme"},
		{"signup.db", "no scheme"},
		{"mysql://root@localhost/signup", `scheme "mysql"`},
		{"postgres://signup:hunter2@localhost/signup", `scheme "postgres"`},
		{"sqlite:", "no file path"},
		{"sqlite::memory:", "in-memory"},
		{"sqlite:file:signup.db", "file: URI"},
		{"sqlite:signup.db?mode=ro", "'?'"},
		{"sqlite:" + filepath.Join(dir, "missing", "signup.db"), "no such file or directory"},
		{"sqlite:" + dir, "open sqlite " + dir + ": unable to open"},
		{"sqlite:" + notDB, "open sqlite " + notDB + ": "},
	}
	for _, tt := range tests {
		db, err := sqlstore.Open(t.Context(), tt.url)
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", tt.url)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "sqlstore: ") || !strings.Contains(msg, tt.want) {
			t.Errorf("Open(%q) = %q, want it to say %q", tt.url, msg, tt.want)
		}
		if strings.Contains(msg, "hunter2") {
			t.Errorf("Open(%q) = %q: the error shows the password", tt.url, msg)
		}
	}
}

func TestOpenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	db, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "signup.db"))
	if err == nil {
		db.Close()
		t.Fatal("Open with a canceled context succeeded")
	}
}

func TestClosedDB(t *testing.T) {
	ctx := t.Context()
	db, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "signup.db"))
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
	ctx := t.Context()
	db := openTemp(t)
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
	ctx := t.Context()
	db := openTemp(t)
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
	if err := openTemp(t).Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}
