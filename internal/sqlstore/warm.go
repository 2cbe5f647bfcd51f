package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// How many connections Open makes ready in each PostgreSQL pool before it
// returns. A new instance that opened them one by one under its first
// traffic answered sends at 400/s with a p99 of 67-215 ms in its first 3 s
// (README, Performance); each connection costs PostgreSQL a process.
const (
	warmConns      = postgresIdleConns
	warmQueueConns = 6
)

// The tables each pool's requests read and write first. Planning a query
// on them loads their catalog entries into the new server process, which
// the first real query would otherwise wait for.
const (
	primeMain  = `SELECT (SELECT count(*) FROM users WHERE mobile = '') + (SELECT count(*) FROM sessions WHERE id_hash = '\x'::bytea)`
	primeQueue = `SELECT count(*) FROM outbox WHERE id = ''`
)

// warm opens n connections of pool at once, runs prime on each and leaves
// them idle in the pool. It is best effort: a connection that cannot be
// had now is opened later, when a request needs it, as without warming.
func warm(ctx context.Context, pool *sql.DB, n int, prime string) {
	conns := make([]*sql.Conn, n)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			c, err := pool.Conn(ctx)
			if err != nil {
				return
			}
			conns[i] = c
			c.ExecContext(ctx, prime) // a failure leaves the connection cold, not broken
		})
	}
	wg.Wait()
	for _, c := range conns {
		if c != nil {
			c.Close() // back to the pool, idle
		}
	}
}
