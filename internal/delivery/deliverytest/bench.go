package deliverytest

import (
	"fmt"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/delivery"
)

// BenchmarkStore runs the outbox's benchmarks on a delivery.Store: what the
// API does to queue a message, and what a worker does to send one. open
// returns a new, empty queue of b's own, closed with b.Cleanup. Records are
// made, and for a worker queued, with the timer stopped, so ns/op and
// allocs/op are the store's alone; CI runs them once each (-benchtime=1x).
func BenchmarkStore(b *testing.B, open func(b *testing.B) delivery.Store) {
	b.Run("Enqueue", func(b *testing.B) {
		s := open(b)
		var recs []delivery.Record
		made := 0
		b.ReportAllocs()
		for b.Loop() {
			if len(recs) == 0 {
				b.StopTimer()
				recs = benchRecords(made, benchBatch(made))
				made += len(recs)
				b.StartTimer()
			}
			if err := s.Enqueue(b.Context(), recs[0]); err != nil {
				b.Fatalf("enqueue %s: %v", recs[0].ID, err)
			}
			recs = recs[1:]
		}
	})
	b.Run("ClaimComplete", func(b *testing.B) {
		s := open(b)
		pending, made := 0, 0
		b.ReportAllocs()
		for b.Loop() {
			if pending == 0 {
				b.StopTimer()
				recs := benchRecords(made, benchBatch(made))
				for _, r := range recs {
					if err := s.Enqueue(b.Context(), r); err != nil {
						b.Fatalf("enqueue %s: %v", r.ID, err)
					}
				}
				pending, made = len(recs), made+len(recs)
				b.StartTimer()
			}
			recs, err := s.Claim(b.Context(), clock(), time.Minute, 1)
			if err != nil || len(recs) != 1 {
				b.Fatalf("claim = %d records, %v; want 1", len(recs), err)
			}
			if err := s.Complete(b.Context(), recs[0], delivery.StateSent, "provider", "ok", clock()); err != nil {
				b.Fatalf("complete %s: %v", recs[0].ID, err)
			}
			pending--
		}
	})
}

// benchBatch is how many records to make after made: doubling up to 1024,
// so that a run of one iteration makes one.
func benchBatch(made int) int { return min(max(made, 1), 1024) }

// benchRecords makes n records, each for a number of its own (none
// supersedes another), accepted now and due at once.
func benchRecords(from, n int) []delivery.Record {
	recs := make([]delivery.Record, n)
	for i := range recs {
		id := fmt.Sprintf("msg-%d", from+i)
		recs[i] = message(id, fmt.Sprintf("register:+86139%08d", from+i), clock())
	}
	return recs
}
