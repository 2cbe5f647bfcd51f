package redisstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options tunes a Store. A zero duration means its default; the defaults
// make a dead Redis answer within about a second instead of hanging a
// request (SECURITY.md #34).
type Options struct {
	// Prefix starts every key, so several deployments or tests can share one
	// Redis. It must not contain '{' or '}', which would move the hash tag.
	Prefix string

	DialTimeout  time.Duration // default 1s
	ReadTimeout  time.Duration // default 500ms
	WriteTimeout time.Duration // default 500ms
	PoolTimeout  time.Duration // default 1s: wait for a free connection
}

// The defaults of Options.
const (
	DefaultDialTimeout  = time.Second
	DefaultReadTimeout  = 500 * time.Millisecond
	DefaultWriteTimeout = 500 * time.Millisecond
	DefaultPoolTimeout  = time.Second
)

// maxRetries is one retry after a network error. A retried script may have
// run once already with its reply lost; every script here then errs on the
// safe side (an attempt counted twice, a captcha or code reported gone, a
// start reported as waiting), never the lenient one; a quota take, whose
// event id the retry finds already recorded, is counted once and reported
// as taken, which is simply right.
const maxRetries = 1

// minIdleConns is how many connections go-redis keeps open and idle, to
// each node, dialled from the start. With only its PostgreSQL connections
// ready, a new instance answered its first sends at 400/s with a p99 of
// 43-116 ms; with these too, 11-27 ms (README, Performance).
const minIdleConns = 8

// dialerRetries is one dial per attempt: go-redis's default of five dials
// with back-off would let a dead or unreachable Redis hold a request for
// five dial timeouts instead of one.
const dialerRetries = 1

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.DialTimeout, DefaultDialTimeout)
	def(&o.ReadTimeout, DefaultReadTimeout)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.PoolTimeout, DefaultPoolTimeout)
	return o
}

// Store keeps captchas, verification codes, failure counters and quotas in
// Redis.
// It is safe for concurrent use, and any number of Stores, in one process or
// in many, may share one Redis: every check-and-change is one atomic step on
// the server, timed by the server's clock.
type Store struct {
	client redis.UniversalClient
	prefix string
}

// Open connects to the Redis that url names (see the package documentation
// for the forms) and pings it once. Errors never contain the password.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	t, err := parseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisstore: open: %w", err)
	}
	if strings.ContainsAny(opts.Prefix, "{}") {
		return nil, errors.New("redisstore: open: prefix must not contain '{' or '}'")
	}
	s := &Store{client: newClient(t, opts.withDefaults()), prefix: opts.Prefix}
	if err := s.client.Ping(ctx).Err(); err != nil {
		s.client.Close()
		return nil, fmt.Errorf("redisstore: open: ping %s: %w", strings.Join(t.addrs, ","), err)
	}
	return s, nil
}

func newClient(t target, o Options) redis.UniversalClient {
	var tlsConfig *tls.Config
	if t.tls {
		// ServerName stays empty: crypto/tls then checks each node's
		// certificate against the host it dials, which a cluster needs.
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	switch t.topology {
	case cluster:
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: t.addrs, Username: t.username, Password: t.password, TLSConfig: tlsConfig,
			DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			PoolTimeout: o.PoolTimeout, MinIdleConns: minIdleConns, MaxRetries: maxRetries, DialerRetries: dialerRetries, ContextTimeoutEnabled: true,
		})
	case sentinel:
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: t.master, SentinelAddrs: t.addrs,
			SentinelUsername: t.sentinelUsername, SentinelPassword: t.sentinelPassword,
			Username: t.username, Password: t.password, DB: t.db, TLSConfig: tlsConfig,
			DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			PoolTimeout: o.PoolTimeout, MinIdleConns: minIdleConns, MaxRetries: maxRetries, DialerRetries: dialerRetries, ContextTimeoutEnabled: true,
		})
	default:
		return redis.NewClient(&redis.Options{
			Addr: t.addrs[0], Username: t.username, Password: t.password, DB: t.db, TLSConfig: tlsConfig,
			DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			PoolTimeout: o.PoolTimeout, MinIdleConns: minIdleConns, MaxRetries: maxRetries, DialerRetries: dialerRetries, ContextTimeoutEnabled: true,
		})
	}
}

// Close closes the connections.
func (s *Store) Close() error {
	if err := s.client.Close(); err != nil {
		return fmt.Errorf("redisstore: close: %w", err)
	}
	return nil
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisstore: ping: %w", err)
	}
	return nil
}

// key names one record. The caller's id or key is the hash tag, so that on
// Redis Cluster everything about it lives in one slot; each script touches
// one key only, so no script ever spans slots.
func (s *Store) key(kind, id string) string {
	return s.prefix + "signup:" + kind + ":{" + id + "}"
}

// ms turns a TTL into whole milliseconds, rounding up, for PX and PEXPIRE.
func ms(d time.Duration) (int64, error) {
	if d <= 0 {
		return 0, fmt.Errorf("ttl %v is not positive", d)
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond), nil
}

// serverNow is the Lua prelude that reads the server's clock, in
// milliseconds (now) and in microseconds (now_us), so that instances with
// skewed clocks agree. Redis 7 replicates a script's effects rather than
// the script, so a script may read TIME and then write, and replicas get
// the very values the master wrote.
const serverNow = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
`
