package sqlstore_test

import (
	"path/filepath"
	"testing"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/account/accounttest"
	"github.com/signupd/signupd/internal/delivery"
	"github.com/signupd/signupd/internal/delivery/deliverytest"
	"github.com/signupd/signupd/internal/sqlstore"
	"github.com/signupd/signupd/internal/testserver"
)

func BenchmarkSQLite(b *testing.B) {
	benchStores(b, func(b *testing.B) string { return "sqlite:" + filepath.Join(b.TempDir(), "signup.db") })
}

func BenchmarkPostgres(b *testing.B) {
	benchStores(b, func(b *testing.B) string { return testserver.SharedPostgres(b).Database(b) })
}

// benchStores runs the shared benchmarks of every store this package
// implements, each on a new database from fresh.
func benchStores(b *testing.B, fresh func(b *testing.B) string) {
	open := func(b *testing.B) *sqlstore.DB {
		b.Helper()
		db, err := sqlstore.Open(b.Context(), fresh(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			if err := db.Close(); err != nil {
				b.Error(err)
			}
		})
		return db
	}
	accounttest.BenchmarkUserStore(b, func(b *testing.B) accounttest.UserSessionStore { return open(b) })
	accounttest.BenchmarkCodeStore(b, func(b *testing.B) account.CodeStore { return open(b) })
	deliverytest.BenchmarkStore(b, func(b *testing.B) delivery.Store { return open(b) })
}
