package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/testserver"
)

// TestPostgresServerDown stops the server under an open DB: calls must fail
// at once rather than hang, and the same DB must work again, without being
// reopened, once the server is back.
func TestPostgresServerDown(t *testing.T) {
	t.Parallel()
	srv := testserver.NewPostgres(t)
	db := open(t, srv.Database(t))
	ctx := t.Context()
	u, err := db.CreateUser(ctx, newUser("+8613812345678"), newSession("s1", 0, time.Hour))
	if err != nil {
		t.Fatal(err)
	}

	srv.Stop(t)
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"CreateUser", func(ctx context.Context) error {
			_, err := db.CreateUser(ctx, newUser("+8613912345678"), newSession("s2", 0, time.Hour))
			return err
		}},
		{"UserByPhone", func(ctx context.Context) error { _, err := db.UserByPhone(ctx, u.Phone); return err }},
		{"Session", func(ctx context.Context) error { _, err := db.Session(ctx, []byte("s1"), now); return err }},
	}
	for _, c := range calls {
		// The deadline only keeps a hang from stalling the test; the store
		// must answer well before it.
		callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		begin := time.Now()
		err := c.call(callCtx)
		took := time.Since(begin)
		cancel()
		if took > 3*time.Second {
			t.Errorf("%s with the server down took %v, want an error at once", c.name, took)
		}
		if err == nil || errors.Is(err, account.ErrNotFound) || errors.Is(err, account.ErrDuplicate) {
			t.Errorf("%s with the server down: err = %v, want an internal error", c.name, err)
		}
	}

	srv.Start(t)
	if got, err := db.UserByPhone(ctx, u.Phone); err != nil || got != u {
		t.Fatalf("UserByPhone after restart = %+v, %v; want %+v", got, err, u)
	}
	if _, err := db.CreateUser(ctx, newUser("+8613912345678"), newSession("s2", 0, time.Hour)); err != nil {
		t.Fatalf("CreateUser after restart: %v", err)
	}
	if s, err := db.Session(ctx, []byte("s1"), now); err != nil || s.UserID != u.ID {
		t.Fatalf("Session after restart = %+v, %v", s, err)
	}
}

// TestPostgresOpenWarmsPools checks that Open returns with connections
// open and idle, so that a new instance's first requests need not open
// them: PostgreSQL must see them as its own sessions.
func TestPostgresOpenWarmsPools(t *testing.T) {
	t.Parallel()
	url := testserver.SharedPostgres(t).Database(t)
	open(t, url)

	observer, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer observer.Close()
	var idle int
	err = observer.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle'`).Scan(&idle)
	if err != nil {
		t.Fatal(err)
	}
	if want := 10 + 6; idle < want {
		t.Errorf("after Open the database has %d idle sessions, want at least %d", idle, want)
	}
}
