package hashworker

import (
	"log/slog"
	"testing"
)

// BenchmarkIDKey computes OWASP-cost argon2id keys through the hash process,
// as many at once as GOMAXPROCS.
func BenchmarkIDKey(b *testing.B) {
	c := NewClient(testCommand, slog.New(slog.DiscardHandler))
	defer c.Close()
	pw, salt := []byte("correct horse battery"), []byte("0123456789abcdef")
	c.IDKey(pw, salt, 1, 64, 1, 32) // start the process
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.IDKey(pw, salt, 2, 19*1024, 1, 32)
		}
	})
}
