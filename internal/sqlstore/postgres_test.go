package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

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
