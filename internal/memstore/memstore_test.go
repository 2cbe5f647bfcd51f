package memstore_test

import (
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account/accounttest"
	"github.com/signupd/signupd/internal/memstore"
)

func TestContract(t *testing.T) {
	accounttest.TestKVStore(t, func(*testing.T) accounttest.KVStore { return memstore.New(nil) })
}

func TestSweepFreesExpired(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := memstore.New(func() time.Time { return now })
	s.PutCaptcha(t.Context(), "short", "AAAA", time.Second)
	s.PutCaptcha(t.Context(), "long", "BBBB", time.Hour)
	s.AddFailure(t.Context(), "f", time.Minute)
	now = now.Add(2 * time.Minute)
	if n := s.Sweep(); n != 2 {
		t.Fatalf("swept %d, want 2", n)
	}
	if got, err := s.TakeCaptcha(t.Context(), "long"); err != nil || got != "BBBB" {
		t.Fatalf("live entry lost by sweep: %q, %v", got, err)
	}
}
