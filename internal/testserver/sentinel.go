package testserver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RedisSentinel is a Redis master with one replica, watched by three Redis
// Sentinels with a quorum of two; every process on 127.0.0.1.
type RedisSentinel struct {
	// Addrs lists the sentinels as "127.0.0.1:port"; a client asks them
	// where the master is.
	Addrs []string
	// Master is the name the sentinels know the master by: "signup".
	Master string

	shared    bool
	dir       string     // the sentinels' configuration files and logs
	sentinels []*process // in the order of Addrs

	mu      sync.Mutex // guards master and replica, which Failover swaps
	master  *Redis
	replica *Redis
}

// sentinelMaster is the master name the sentinels monitor.
const sentinelMaster = "signup"

var sharedSentinel shared[*RedisSentinel]

// SharedRedisSentinel returns the test binary's Redis Sentinel deployment,
// started on first use and stopped by Main. It returns once every sentinel
// reports the master, knows its replica and the other two sentinels, and the
// replica is in sync. Tests sharing it isolate themselves with a key prefix
// and must not call Failover.
func SharedRedisSentinel(t testing.TB) *RedisSentinel {
	t.Helper()
	return sharedSentinel.get(t, "redis sentinel", func() (*RedisSentinel, func() error, error) {
		s, err := startRedisSentinel()
		if err != nil {
			return nil, nil, err
		}
		s.shared = true
		return s, s.close, nil
	})
}

// NewRedisSentinel starts a Redis Sentinel deployment of the test's own,
// stopped by t.Cleanup; for tests that call Failover.
func NewRedisSentinel(t testing.TB) *RedisSentinel {
	t.Helper()
	begin := time.Now()
	s, err := startRedisSentinel()
	if err != nil {
		fail(t, err)
		return nil
	}
	t.Logf("testserver: started redis sentinel at %s in %v", strings.Join(s.Addrs, ","), time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := s.close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// startRedisSentinel runs the sentinels as redis-server --sentinel, so that
// the redis-server binary is all it needs.
func startRedisSentinel() (*RedisSentinel, error) {
	bin, err := lookBinary("redis-server")
	if err != nil {
		return nil, err
	}
	s := &RedisSentinel{Master: sentinelMaster}
	var errMaster, errReplica error
	var wg sync.WaitGroup
	wg.Go(func() { s.master, errMaster = startRedis(false) })
	wg.Go(func() { s.replica, errReplica = startRedis(false) })
	wg.Wait()
	if err := errors.Join(errMaster, errReplica); err != nil {
		return nil, errors.Join(err, s.close())
	}
	if err := s.replicate(); err != nil {
		return nil, errors.Join(err, s.close())
	}
	if s.dir, err = mkdirTemp("redis-sentinel"); err != nil {
		return nil, errors.Join(err, s.close())
	}

	s.Addrs, s.sentinels = make([]string, 3), make([]*process, 3)
	errs := make([]error, 3)
	for i := range s.sentinels {
		wg.Go(func() { s.Addrs[i], s.sentinels[i], errs[i] = s.startSentinel(bin, i+1) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, s.close())
	}
	if err := s.waitWhole(); err != nil {
		return nil, errors.Join(err, s.close())
	}
	return s, nil
}

// replicate makes the replica a replica of the master. Both nodes sync
// their replicas at once rather than after the default 5s wait for more
// replicas to share one transfer; after a failover the old master syncs
// from the old replica.
func (s *RedisSentinel) replicate() error {
	for _, addr := range []string{s.master.Addr, s.replica.Addr} {
		if _, err := redisDo(addr, "CONFIG", "SET", "repl-diskless-sync-delay", "0"); err != nil {
			return fmt.Errorf("testserver: redis %s: CONFIG SET repl-diskless-sync-delay: %w", addr, err)
		}
	}
	host, port, _ := net.SplitHostPort(s.master.Addr)
	if _, err := redisDo(s.replica.Addr, "REPLICAOF", host, port); err != nil {
		return fmt.Errorf("testserver: redis %s: REPLICAOF: %w", s.replica.Addr, err)
	}
	return nil
}

// startSentinel starts sentinel n on a free port and waits until it answers
// PING; waitWhole waits for it to know the rest.
func (s *RedisSentinel) startSentinel(bin string, n int) (string, *process, error) {
	for attempt := 1; ; attempt++ {
		port, err := freePort(false)
		if err != nil {
			return "", nil, err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		// Sentinel rewrites its configuration file as it learns, so each
		// gets a file of its own, written afresh for every port tried.
		conf := filepath.Join(s.dir, fmt.Sprintf("sentinel%d.conf", n))
		if err := os.WriteFile(conf, []byte(s.sentinelConfig(port)), 0o644); err != nil {
			return "", nil, fmt.Errorf("testserver: %w", err)
		}
		p := &process{
			name: "redis sentinel " + addr, path: bin, args: []string{conf, "--sentinel"}, dir: s.dir,
			logPath: filepath.Join(s.dir, fmt.Sprintf("sentinel%d.log", n)), deathSig: syscall.SIGTERM,
		}
		if err = p.start(); err == nil {
			err = p.waitReady(func() error {
				_, err := redisDo(addr, "PING")
				return err
			})
			if err != nil {
				err = errors.Join(err, p.stop(syscall.SIGTERM))
			}
		}
		if err == nil {
			return addr, p, nil
		}
		if !bindFailed(err) || attempt == 3 {
			return "", nil, err
		}
	}
}

// sentinelConfig is one sentinel's configuration. down-after-milliseconds is
// 5s rather than 1s: it does not slow the start (sentinels find each other
// through hello messages every 2s) nor Failover (which does not wait for the
// master to be down), and a shorter one risks a failover nobody asked for on
// a loaded machine, under the tests sharing the deployment.
func (s *RedisSentinel) sentinelConfig(port int) string {
	host, masterPort, _ := net.SplitHostPort(s.master.Addr)
	return fmt.Sprintf(`port %d
bind 127.0.0.1
daemonize no
logfile ""
dir %q
sentinel monitor %s %s %s 2
sentinel down-after-milliseconds %[3]s 5000
sentinel failover-timeout %[3]s 10000
sentinel parallel-syncs %[3]s 1
`, port, s.dir, s.Master, host, masterPort)
}

// waitWhole waits until the replica is in sync and every sentinel reports
// the master, its replica and the two other sentinels.
func (s *RedisSentinel) waitWhole() error {
	if err := s.waitSynced(); err != nil {
		return err
	}
	for i, p := range s.sentinels {
		addr := s.Addrs[i]
		err := p.waitReady(func() error {
			if err := s.reportsMaster(addr, s.master.Addr); err != nil {
				return err
			}
			info, err := redisDo(addr, "INFO", "sentinel")
			if err != nil {
				return err
			}
			want := fmt.Sprintf("name=%s,status=ok,address=%s,slaves=1,sentinels=3\r\n", s.Master, s.master.Addr)
			if !strings.Contains(info, want) {
				return fmt.Errorf("INFO sentinel lacks %q:\n%s", want, info)
			}
			return nil
		})
		if err != nil {
			return s.withDataLogs(err)
		}
	}
	return nil
}

// reportsMaster checks that the sentinel at addr names want as the master.
func (s *RedisSentinel) reportsMaster(addr, want string) error {
	got, err := redisDoList(addr, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", s.Master)
	if err != nil {
		return err
	}
	if len(got) != 2 || net.JoinHostPort(got[0], got[1]) != want {
		return fmt.Errorf("SENTINEL GET-MASTER-ADDR-BY-NAME %s = %q, want %s", s.Master, got, want)
	}
	return nil
}

// waitSynced waits until the replica is connected to the master and has
// every write the master had when the wait began.
func (s *RedisSentinel) waitSynced() error {
	host, port, _ := net.SplitHostPort(s.master.Addr)
	want := []string{"role:slave", "master_host:" + host, "master_port:" + port, "master_link_status:up"}
	err := s.replica.proc.waitReady(func() error {
		minfo, err := redisDo(s.master.Addr, "INFO", "replication")
		if err != nil {
			return fmt.Errorf("master: %w", err)
		}
		rinfo, err := redisDo(s.replica.Addr, "INFO", "replication")
		if err != nil {
			return err
		}
		for _, w := range want {
			if !strings.Contains(rinfo, w+"\r\n") {
				return fmt.Errorf("INFO replication lacks %s:\n%s", w, rinfo)
			}
		}
		if m, r := infoInt(minfo, "master_repl_offset"), infoInt(rinfo, "slave_repl_offset"); r < m {
			return fmt.Errorf("replica at offset %d, master at %d", r, m)
		}
		return nil
	})
	if err != nil {
		return s.withDataLogs(err)
	}
	return nil
}

// infoInt returns an integer field of an INFO reply, or -1.
func infoInt(info, field string) int64 {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// withDataLogs adds the master's and replica's logs to err: a sentinel's
// log alone seldom tells why it does not see them.
func (s *RedisSentinel) withDataLogs(err error) error {
	return fmt.Errorf("%w\n--- the master's (%s) log:\n%s\n--- the replica's (%s) log:\n%s",
		err, s.master.Addr, s.master.proc.logTail(), s.replica.Addr, s.replica.proc.logTail())
}

// Failover has the sentinels promote the replica: once the replica has every
// write made so far, it sends SENTINEL FAILOVER to the first sentinel and
// waits until every sentinel reports the replica's address as the master.
// The old master keeps running; the sentinels make it the new master's
// replica some 10s later, and a second Failover waits for that. Only for a
// deployment from NewRedisSentinel.
func (s *RedisSentinel) Failover(t testing.TB) {
	t.Helper()
	if s.shared {
		t.Fatal("testserver: Failover on the shared Redis Sentinel would disturb the tests sharing it; use NewRedisSentinel")
		return
	}
	begin := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.failover(); err != nil {
		t.Fatal(err)
	}
	t.Logf("testserver: redis sentinel failed over from %s to %s in %v",
		s.replica.Addr, s.master.Addr, time.Since(begin).Round(time.Millisecond))
}

func (s *RedisSentinel) failover() error {
	if err := s.waitSynced(); err != nil {
		return fmt.Errorf("testserver: before the failover: %w", err)
	}
	// Retried while the sentinel sees no replica fit for promotion
	// (NOGOODSLAVE) yet. INPROG means a failover is under way, perhaps
	// ours with its reply lost: asking again once it ends would start
	// another.
	err := s.sentinels[0].waitReady(func() error {
		_, err := redisDo(s.Addrs[0], "SENTINEL", "FAILOVER", s.Master)
		if err != nil && strings.Contains(err.Error(), "INPROG") {
			return nil
		}
		return err
	})
	if err != nil {
		return s.withDataLogs(fmt.Errorf("SENTINEL FAILOVER: %w", err))
	}
	for i, p := range s.sentinels {
		if err := p.waitReady(func() error { return s.reportsMaster(s.Addrs[i], s.replica.Addr) }); err != nil {
			return s.withDataLogs(fmt.Errorf("after SENTINEL FAILOVER: %w", err))
		}
	}
	s.master, s.replica = s.replica, s.master
	return nil
}

// close stops the sentinels first, so that none reacts to the data nodes
// going away, then the data nodes, and removes the folders.
func (s *RedisSentinel) close() error {
	var errs []error
	for _, p := range s.sentinels {
		if p != nil {
			errs = append(errs, p.stop(syscall.SIGTERM))
		}
	}
	for _, r := range []*Redis{s.master, s.replica} {
		if r != nil {
			errs = append(errs, r.close())
		}
	}
	if s.dir != "" {
		errs = append(errs, os.RemoveAll(s.dir))
	}
	return errors.Join(errs...)
}
