// Package redisstore keeps captchas, verification codes, failure counters and
// quotas in Redis, for several signupd instances sharing one store. It meets
// the same contract as memstore (account.CaptchaStore, account.CodeStore,
// account.FailureStore, account.QuotaStore), and every check-and-change is
// one atomic step on the server: SET PX to store a captcha, GETDEL to take
// it, and a Lua script (EVALSHA, falling back to EVAL) to start or check a
// code, to count a failure and to take from a quota. Times and expiries come from the server's clock (TIME inside the
// scripts, PX and PEXPIRE), so instances with skewed clocks agree.
//
// Open takes one of these URLs:
//
//	redis://[user:pass@]host:port[/db]
//	rediss://[user:pass@]host:port[/db]                            (TLS)
//	redis-cluster://[user:pass@]host1:port1,host2:port2,...
//	rediss-cluster://[user:pass@]host1:port1,host2:port2,...       (TLS)
//	redis-sentinel://[user:pass@]host1:port1,host2:port2/MASTERNAME[?db=N]
//	rediss-sentinel://[user:pass@]host1:port1,host2:port2/MASTERNAME[?db=N]
//
// User names and passwords are percent-encoded. A missing port means 6379
// (26379 for sentinels). On a sentinel URL the user and password are the
// data nodes'; sentinels with credentials of their own take
// ?sentinel_username=U&sentinel_password=P. TLS checks the server against
// the system's roots; add a private CA with SSL_CERT_FILE or SSL_CERT_DIR.
//
// Keys are <prefix>signup:captcha:{id}, <prefix>signup:code:{key} (a hash:
// hash, attempts, void, code_expires, resend_at), <prefix>signup:fail:{key}
// (a hash: count, last) and <prefix>signup:quota:{key} (a sorted set: event
// ids scored by server time in microseconds). The braces make the caller's id the Redis Cluster
// hash tag, and every script but one touches one key, so none spans slots.
// The exception takes a send's quotas, all or none, in one script; on a
// Cluster they are taken one by one instead. The fraud signal's counts go
// out as one pipeline: one round trip, or one per node, at once.
//
// The client is go-redis v9, not rueidis. Measured here (Redis 7.0 on
// loopback, two busy shared CPUs, 8 goroutines running the check-code script
// by EVALSHA for 5 s, median of 3 runs), go-redis made 22,100 calls/s with 11
// allocations each and rueidis (DisableCache) 34,100 with none (another batch:
// 16,600 against 28,400); the lead is rueidis's auto-pipelining, and even
// go-redis's slower figure is far above what sign-ups need, so it does not
// outweigh go-redis's per-command read, write, dial and pool timeouts with
// bounded retries, its Cluster and Sentinel clients built from our own URL
// forms, and its reconnection after a restart, all tested in this package.
package redisstore
