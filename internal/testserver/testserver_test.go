package testserver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// redisCLI runs redis-cli against addr, so the servers are checked by a
// client other than this package's own probe.
func redisCLI(t *testing.T, addr string, args ...string) (string, error) {
	t.Helper()
	cli, err := lookBinary("redis-cli")
	if err != nil {
		fail(t, err)
	}
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command(cli, append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func mustRedisCLI(t *testing.T, addr string, args ...string) string {
	t.Helper()
	out, err := redisCLI(t, addr, args...)
	if err != nil {
		t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
	}
	return out
}

func psqlURL(t *testing.T, url, sql string) (string, error) {
	t.Helper()
	bin, err := findPostgres()
	if err != nil {
		fail(t, err)
	}
	cmd := exec.Command(bin.psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql)
	cmd.Env = postgresEnv()
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func mustPSQL(t *testing.T, url, sql string) string {
	t.Helper()
	out, err := psqlURL(t, url, sql)
	if err != nil {
		t.Fatalf("psql %q: %v\n%s", sql, err, out)
	}
	return out
}

func TestSharedRedisAnswers(t *testing.T) {
	t.Parallel()
	r := SharedRedis(t)
	if got := mustRedisCLI(t, r.Addr, "PING"); got != "PONG" {
		t.Fatalf("PING = %q, want PONG", got)
	}
	if got := mustRedisCLI(t, r.Addr, "CONFIG", "GET", "bind"); got != "bind\n127.0.0.1" {
		t.Errorf("bind = %q, want 127.0.0.1 only", got)
	}
	if want := "redis://" + r.Addr; r.URL() != want || !strings.HasPrefix(r.Addr, "127.0.0.1:") {
		t.Errorf("Addr %q, URL %q, want %q", r.Addr, r.URL(), want)
	}
}

func TestSharedServersFromParallelTests(t *testing.T) {
	var mu sync.Mutex
	seenRedis, seenPostgres := map[*Redis]bool{}, map[*Postgres]bool{}
	t.Run("group", func(t *testing.T) {
		for i := range 8 {
			t.Run(strconv.Itoa(i), func(t *testing.T) {
				t.Parallel()
				r, p := SharedRedis(t), SharedPostgres(t)
				mu.Lock()
				seenRedis[r], seenPostgres[p] = true, true
				mu.Unlock()
			})
		}
	})
	if len(seenRedis) != 1 || len(seenPostgres) != 1 {
		t.Fatalf("parallel tests saw %d redis and %d postgres servers, want 1 each", len(seenRedis), len(seenPostgres))
	}
}

func TestRedisStopStart(t *testing.T) {
	t.Parallel()
	r := NewRedis(t)
	addr := r.Addr
	mustRedisCLI(t, addr, "SET", "k", "v")

	r.Stop(t)
	if out, err := redisCLI(t, addr, "PING"); err == nil && out == "PONG" {
		t.Fatal("stopped redis still answers PING")
	}
	r.Stop(t) // stopping a stopped server is a no-op

	r.Start(t)
	if r.Addr != addr {
		t.Fatalf("Addr after Start = %s, want %s", r.Addr, addr)
	}
	if got := mustRedisCLI(t, addr, "PING"); got != "PONG" {
		t.Fatalf("PING after Start = %q", got)
	}
	if got := mustRedisCLI(t, addr, "EXISTS", "k"); got != "0" {
		t.Errorf("EXISTS k after restart = %s, want 0: nothing is saved", got)
	}
}

func TestSharedRedisCluster(t *testing.T) {
	t.Parallel()
	c := SharedRedisCluster(t)
	if len(c.Addrs) != 3 {
		t.Fatalf("Addrs = %v, want 3 masters", c.Addrs)
	}
	for _, addr := range c.Addrs {
		info := mustRedisCLI(t, addr, "CLUSTER", "INFO")
		for _, want := range []string{"cluster_state:ok", "cluster_slots_assigned:16384", "cluster_known_nodes:3", "cluster_size:3"} {
			if !strings.Contains(info, want) {
				t.Errorf("%s: CLUSTER INFO lacks %s:\n%s", addr, want, info)
			}
		}
		nodes := mustRedisCLI(t, addr, "CLUSTER", "NODES")
		if n := strings.Count(nodes, "master"); n != 3 || strings.Contains(nodes, "slave") {
			t.Errorf("%s: CLUSTER NODES shows %d masters, want 3 and no replicas:\n%s", addr, n, nodes)
		}
	}
	// -c follows MOVED: a key written through one node reads through another.
	mustRedisCLI(t, c.Addrs[0], "-c", "SET", "testserver:cluster", "yes")
	if got := mustRedisCLI(t, c.Addrs[2], "-c", "GET", "testserver:cluster"); got != "yes" {
		t.Errorf("GET through another node = %q, want yes", got)
	}
}

// reportedMaster asks the sentinel at addr, through redis-cli, where the
// master is.
func reportedMaster(t *testing.T, addr, name string) string {
	t.Helper()
	out := mustRedisCLI(t, addr, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)
	host, port, ok := strings.Cut(out, "\n")
	if !ok {
		t.Fatalf("%s: SENTINEL GET-MASTER-ADDR-BY-NAME %s = %q", addr, name, out)
	}
	return net.JoinHostPort(host, port)
}

// eventually retries check every 50ms until it succeeds or 10s pass.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %v after 10s", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSharedRedisSentinel(t *testing.T) {
	t.Parallel()
	s := SharedRedisSentinel(t)
	if len(s.Addrs) != 3 || s.Master != "signup" {
		t.Fatalf("Addrs %v, Master %q; want 3 sentinels and master signup", s.Addrs, s.Master)
	}
	master := reportedMaster(t, s.Addrs[0], s.Master)
	for _, addr := range s.Addrs {
		if !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Errorf("sentinel at %s, want 127.0.0.1", addr)
		}
		if got := reportedMaster(t, addr, s.Master); got != master {
			t.Errorf("%s reports master %s, %s reports %s", addr, got, s.Addrs[0], master)
		}
		info := mustRedisCLI(t, addr, "INFO", "sentinel")
		if want := "master0:name=signup,status=ok,address=" + master + ",slaves=1,sentinels=3"; !strings.Contains(info, want) {
			t.Errorf("%s: INFO sentinel lacks %s:\n%s", addr, want, info)
		}
	}
	role := strings.Fields(mustRedisCLI(t, master, "ROLE"))
	if len(role) < 4 || role[0] != "master" || role[2] != "127.0.0.1" {
		t.Fatalf("ROLE on the master = %q, want a master with one replica on 127.0.0.1", role)
	}
	replica := net.JoinHostPort(role[2], role[3])
	if out, err := redisCLI(t, replica, "SET", "testserver:sentinel", "x"); !strings.Contains(out, "READONLY") {
		t.Errorf("SET on the replica = %q, %v; want READONLY", out, err)
	}
	mustRedisCLI(t, master, "SET", "testserver:sentinel", "yes")
	eventually(t, "GET on the replica", func() error {
		if got := mustRedisCLI(t, replica, "GET", "testserver:sentinel"); got != "yes" {
			return fmt.Errorf("GET = %q, want yes", got)
		}
		return nil
	})
}

func TestRedisSentinelFailover(t *testing.T) {
	t.Parallel()
	s := NewRedisSentinel(t)
	before := reportedMaster(t, s.Addrs[0], s.Master)
	mustRedisCLI(t, before, "SET", "testserver:failover", "kept")

	s.Failover(t)
	after := reportedMaster(t, s.Addrs[0], s.Master)
	if after == before {
		t.Fatalf("master still %s after Failover", before)
	}
	for _, addr := range s.Addrs[1:] {
		if got := reportedMaster(t, addr, s.Master); got != after {
			t.Errorf("%s reports master %s after Failover, %s reports %s", addr, got, s.Addrs[0], after)
		}
	}
	if role := mustRedisCLI(t, after, "ROLE"); !strings.HasPrefix(role, "master") {
		t.Errorf("ROLE on the new master %s = %q", after, role)
	}
	if got := mustRedisCLI(t, after, "GET", "testserver:failover"); got != "kept" {
		t.Errorf("GET on the new master = %q, want the value written before the failover", got)
	}
	mustRedisCLI(t, after, "SET", "testserver:failover", "new")
}

func TestFailoverRefusedOnShared(t *testing.T) {
	t.Parallel()
	s := SharedRedisSentinel(t)
	r := &recorder{TB: t}
	s.Failover(r)
	if !r.failed {
		t.Fatal("Failover on the shared deployment did not fail")
	}
	if got := reportedMaster(t, s.Addrs[0], s.Master); got != s.master.Addr {
		t.Errorf("master now %s, want %s still", got, s.master.Addr)
	}
}

func TestSharedPostgresDatabases(t *testing.T) {
	t.Parallel()
	p := SharedPostgres(t)
	a, b := p.Database(t), p.Database(t)
	if a == b {
		t.Fatalf("two Database calls gave the same URL %s", a)
	}
	for _, url := range []string{a, b} {
		if got := mustPSQL(t, url, "select 1"); got != "1" {
			t.Fatalf("%s: select 1 = %q", url, got)
		}
	}
	mustPSQL(t, a, "create table only_in_a (i int)")
	if got := mustPSQL(t, b, "select count(*) from pg_tables where tablename = 'only_in_a'"); got != "0" {
		t.Errorf("a table made in %s shows in %s", a, b)
	}
	if got := mustPSQL(t, a, "show listen_addresses"); got != "127.0.0.1" {
		t.Errorf("listen_addresses = %q, want 127.0.0.1", got)
	}
	if got := mustPSQL(t, a, "show server_encoding"); got != "UTF8" {
		t.Errorf("server_encoding = %q, want UTF8", got)
	}
}

func TestPostgresDatabaseDroppedAfterTest(t *testing.T) {
	t.Parallel()
	p := SharedPostgres(t)
	var url string
	var name string
	t.Run("uses", func(st *testing.T) {
		url = p.Database(st)
		name = url[strings.LastIndex(url, "/")+1 : strings.Index(url, "?")]
		// A session still open when the test ends must not stop the drop.
		bin, _ := findPostgres()
		session := exec.Command(bin.psql, "-X", "-d", url, "-c", "select pg_sleep(60)")
		session.Env = postgresEnv()
		if err := session.Start(); err != nil {
			st.Fatal(err)
		}
		t.Cleanup(func() { session.Process.Kill(); session.Wait() })
		for range 500 {
			n, err := p.psql(fmt.Sprintf("select count(*) from pg_stat_activity where datname = '%s'", name))
			if err == nil && n == "1" {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		st.Fatal("the session never connected")
	})
	n, err := p.psql(fmt.Sprintf("select count(*) from pg_database where datname = '%s'", name))
	if err != nil || n != "0" {
		t.Fatalf("database %s after its test: count %q, %v; want dropped", name, n, err)
	}
}

func TestPostgresStopStart(t *testing.T) {
	t.Parallel()
	p := NewPostgres(t)
	url := p.Database(t)
	mustPSQL(t, url, "create table kept (i int); insert into kept values (42)")

	p.Stop(t)
	if _, err := psqlURL(t, url, "select 1"); err == nil {
		t.Fatal("stopped postgres still answers")
	}
	p.Start(t)
	if got := mustPSQL(t, url, "select i from kept"); got != "42" {
		t.Fatalf("after restart: select i from kept = %q, want 42", got)
	}
}

// recorder is a testing.TB that notes a skip or failure instead of ending
// the test.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Skip(...any)           { r.skipped = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }
func (r *recorder) Fatal(...any)          { r.failed = true }

func TestMissingBinarySkipsUnlessCI(t *testing.T) {
	err := &missingError{what: "redis-server"}
	for _, ci := range []bool{false, true} {
		r := &recorder{TB: t}
		skipOrFatal(r, ci, err)
		if r.failed != ci || r.skipped == ci {
			t.Errorf("CI=%v: failed %v, skipped %v", ci, r.failed, r.skipped)
		}
	}
	if !strings.Contains(err.Error(), "redis-server not found") {
		t.Errorf("message %q does not name the binary", err)
	}
	if !errors.As(fmt.Errorf("shared redis: %w", err), new(*missingError)) {
		t.Error("a wrapped missingError is not recognised")
	}
}

func TestDatabaseName(t *testing.T) {
	tests := []struct {
		test string
		n    int64
		want string
	}{
		{"TestX", 1, "t_testx_1"},
		{"TestSignup/bad phone#01", 7, "t_testsignup_bad_phone_01_7"},
		{strings.Repeat("A", 100), 12, "t_" + strings.Repeat("a", 38) + "_12"},
	}
	for _, tt := range tests {
		if got := databaseName(tt.test, tt.n); got != tt.want {
			t.Errorf("databaseName(%q, %d) = %q, want %q", tt.test, tt.n, got, tt.want)
		}
	}
}
