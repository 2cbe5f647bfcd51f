// Package testserver starts real Redis and PostgreSQL servers for tests: on
// 127.0.0.1 only, on free ports, in temporary folders, stopped afterwards.
//
// A package whose tests use the shared servers runs them through Main:
//
//	func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }
//
// Shared servers (SharedRedis, SharedRedisCluster, SharedRedisSentinel,
// SharedPostgres) start on first use, once per test binary, and Main stops
// them. Tests sharing one must isolate themselves (a key prefix, a database
// of their own). Dedicated servers (NewRedis, NewRedisSentinel, NewPostgres)
// belong to one test and stop in its t.Cleanup; they are for fault tests
// that Stop and Start them or fail them over.
//
// A missing server binary skips the test, or fails it when CI is "true".
package testserver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// readyTimeout bounds how long a server may take to answer after it starts.
const readyTimeout = 30 * time.Second

// stopTimeout bounds how long a server may take to exit after a stop signal.
const stopTimeout = 30 * time.Second

// reg holds the shared servers' stop functions. It is package state because
// a shared server outlives the tests that asked for it: only Main, which
// owns the test binary's lifetime, can stop it.
var reg registry

type registry struct {
	mu      sync.Mutex
	running bool // Main is running the tests
	closed  bool // Main has stopped the shared servers
	stops   []func() error
}

// Main runs the package's tests and then stops every shared server; use it as
//
//	func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }
//
// It returns the tests' exit code, or 1 when a shared server did not stop
// cleanly. Should the test binary die without reaching the end of Main (a
// panic, a -timeout), every server gets a signal from the kernel and exits.
func Main(m *testing.M) int {
	reg.mu.Lock()
	reg.running = true
	reg.mu.Unlock()

	code := m.Run()

	if err := reg.stopAll(); err != nil {
		fmt.Fprintf(os.Stderr, "testserver: stopping shared servers: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func (r *registry) check() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed:
		return errors.New("testserver: shared servers were already stopped by Main")
	case !r.running:
		return errors.New("testserver: shared servers need TestMain to call testserver.Main, which stops them")
	}
	return nil
}

func (r *registry) add(stop func() error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("testserver: shared servers were already stopped by Main")
	}
	r.stops = append(r.stops, stop)
	return nil
}

// stopAll stops the shared servers, the last started first.
func (r *registry) stopAll() error {
	r.mu.Lock()
	stops := r.stops
	r.stops, r.closed = nil, true
	r.mu.Unlock()

	var errs []error
	for i := len(stops) - 1; i >= 0; i-- {
		errs = append(errs, stops[i]())
	}
	return errors.Join(errs...)
}

// shared is one lazily started shared server. Every caller, not just the
// first, sees a start failure.
type shared[T any] struct {
	once sync.Once
	v    T
	err  error
}

// get returns the server, starting it on first use; start returns the server
// and the function that stops it and removes its folders.
func (s *shared[T]) get(t testing.TB, what string, start func() (T, func() error, error)) T {
	t.Helper()
	if err := reg.check(); err != nil {
		t.Fatal(err)
	}
	s.once.Do(func() {
		begin := time.Now()
		v, stop, err := start()
		if err == nil {
			if err = reg.add(stop); err != nil {
				err = errors.Join(err, stop())
			}
		}
		s.v, s.err = v, err
		if err == nil {
			t.Logf("testserver: started shared %s in %v", what, time.Since(begin).Round(time.Millisecond))
		}
	})
	if s.err != nil {
		fail(t, fmt.Errorf("shared %s: %w", what, s.err))
	}
	return s.v
}

// missingError reports a server binary that is not installed.
type missingError struct{ what string }

func (e *missingError) Error() string {
	return fmt.Sprintf("testserver: %s not found (on Debian: apt-get install redis-server postgresql)", e.what)
}

// fail ends the test: a skip for a missing binary, unless under CI; a
// failure otherwise.
func fail(t testing.TB, err error) {
	t.Helper()
	var missing *missingError
	if errors.As(err, &missing) {
		skipOrFatal(t, os.Getenv("CI") == "true", err)
	} else {
		t.Fatal(err)
	}
}

// skipOrFatal follows the house rule: a test that needs a server fails under
// CI instead of skipping.
func skipOrFatal(t testing.TB, ci bool, err error) {
	t.Helper()
	if ci {
		t.Fatalf("%v (a failure, not a skip, because CI=true)", err)
	} else {
		t.Skip(err)
	}
}

// ports remembers the ports handed out by this binary so that two servers
// starting at once never get the same one.
var ports struct {
	sync.Mutex
	given map[int]bool
}

// freePort returns a port on 127.0.0.1 that was free a moment ago; with bus
// set, port+10000 (a cluster node's bus port) was free too. Another program
// may still take it before the server binds: callers retry on "in use".
func freePort(bus bool) (int, error) {
	ports.Lock()
	defer ports.Unlock()
	if ports.given == nil {
		ports.given = make(map[int]bool)
	}
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("testserver: finding a free port: %w", err)
		}
		held = append(held, l) // held so the next try gets another port
		port := l.Addr().(*net.TCPAddr).Port
		if ports.given[port] {
			continue
		}
		if bus {
			if port+10000 > 65535 || ports.given[port+10000] {
				continue
			}
			b, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+10000))
			if err != nil {
				continue
			}
			b.Close()
			ports.given[port+10000] = true
		}
		ports.given[port] = true
		return port, nil
	}
	return 0, errors.New("testserver: no free port found on 127.0.0.1")
}

// mkdirTemp makes a temporary folder for one server.
func mkdirTemp(what string) (string, error) {
	dir, err := os.MkdirTemp("", "testserver-"+what+"-")
	if err != nil {
		return "", fmt.Errorf("testserver: %w", err)
	}
	return dir, nil
}
