package testserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Redis is a redis-server listening on 127.0.0.1, saving nothing to disk.
type Redis struct {
	Addr string // "127.0.0.1:port"

	dir  string
	proc *process
}

var sharedRedis shared[*Redis]

// SharedRedis returns the test binary's Redis, started on first use and
// stopped by Main. Tests sharing it isolate themselves with a key prefix and
// must not FLUSHALL, Stop or Start it.
func SharedRedis(t testing.TB) *Redis {
	t.Helper()
	return sharedRedis.get(t, "redis", func() (*Redis, func() error, error) {
		r, err := startRedis(false)
		if err != nil {
			return nil, nil, err
		}
		return r, r.close, nil
	})
}

// NewRedis starts a Redis of the test's own, stopped by t.Cleanup; for fault
// tests that Stop and Start it.
func NewRedis(t testing.TB) *Redis {
	t.Helper()
	begin := time.Now()
	r, err := startRedis(false)
	if err != nil {
		fail(t, err)
		return nil
	}
	t.Logf("testserver: started redis at %s in %v", r.Addr, time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := r.close(); err != nil {
			t.Error(err)
		}
	})
	return r
}

// URL returns the server's address as "redis://127.0.0.1:port".
func (r *Redis) URL() string { return "redis://" + r.Addr }

// Stop stops the server now, with SIGTERM (it saves nothing), and waits for
// it to exit.
func (r *Redis) Stop(t testing.TB) {
	t.Helper()
	if err := r.proc.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

// Start starts the server again on the same port and folder and waits until
// it answers PING. Its data is gone: nothing was saved.
func (r *Redis) Start(t testing.TB) {
	t.Helper()
	if err := r.start(); err != nil {
		t.Fatal(err)
	}
}

// startRedis starts a server in a new folder on a free port; cluster adds
// the cluster options and needs the bus port (port+10000) free too.
func startRedis(cluster bool) (*Redis, error) {
	bin, err := lookBinary("redis-server")
	if err != nil {
		return nil, err
	}
	dir, err := mkdirTemp("redis")
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		port, err := freePort(cluster)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		args := []string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--protected-mode", "yes",
			"--dir", dir, "--save", "", "--appendonly", "no", "--daemonize", "no",
		}
		if cluster {
			args = append(args, "--cluster-enabled", "yes",
				"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
				"--cluster-node-timeout", "5000")
		}
		r := &Redis{Addr: addr, dir: dir, proc: &process{
			name: "redis " + addr, path: bin, args: args, dir: dir,
			logPath: filepath.Join(dir, "redis.log"), deathSig: syscall.SIGTERM,
		}}
		err = r.start()
		if err == nil {
			return r, nil
		}
		if !bindFailed(err) || attempt == 3 {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

func (r *Redis) start() error {
	if err := r.proc.start(); err != nil {
		return err
	}
	err := r.proc.waitReady(func() error {
		_, err := redisDo(r.Addr, "PING")
		return err
	})
	if err != nil {
		return errors.Join(err, r.proc.stop(syscall.SIGTERM))
	}
	return nil
}

// close stops the server and removes its folder.
func (r *Redis) close() error {
	err := r.proc.stop(syscall.SIGTERM)
	return errors.Join(err, os.RemoveAll(r.dir))
}

// redisDo sends one command and returns a simple, integer or bulk string
// reply; enough RESP to probe a server without a client library.
func redisDo(addr string, args ...string) (string, error) {
	reply, err := redisCall(addr, args...)
	if err != nil {
		return "", err
	}
	s, ok := reply.(string)
	if !ok {
		return "", fmt.Errorf("redis: %s: unexpected reply %v", args[0], reply)
	}
	return s, nil
}

// redisDoList sends one command whose reply is an array of strings, as
// SENTINEL GET-MASTER-ADDR-BY-NAME's is; a null reply is an empty list.
func redisDoList(addr string, args ...string) ([]string, error) {
	reply, err := redisCall(addr, args...)
	if err != nil || reply == nil {
		return nil, err
	}
	items, ok := reply.([]any)
	if !ok {
		return nil, fmt.Errorf("redis: %s: unexpected reply %v", args[0], reply)
	}
	list := make([]string, len(items))
	for i, item := range items {
		if list[i], ok = item.(string); !ok {
			return nil, fmt.Errorf("redis: %s: unexpected reply %v", args[0], reply)
		}
	}
	return list, nil
}

// redisCall sends one command and returns its reply as readReply does.
func redisCall(addr string, args ...string) (any, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	var req strings.Builder
	fmt.Fprintf(&req, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&req, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(conn, req.String()); err != nil {
		return nil, err
	}
	return readReply(bufio.NewReader(conn))
}

// readReply reads one RESP2 reply: a string (simple, integer or bulk), nil
// (a null bulk string or array), or an array of these as []any. An error
// reply is returned as an error.
func readReply(rd *bufio.Reader) (any, error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return nil, errors.New("redis: empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return nil, fmt.Errorf("redis: %s", line[1:])
	case '$', '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < -1 {
			break
		}
		if n == -1 {
			return nil, nil
		}
		if line[0] == '$' {
			buf := make([]byte, n+2)
			if _, err := io.ReadFull(rd, buf); err != nil {
				return nil, err
			}
			return string(buf[:n]), nil
		}
		items := make([]any, n)
		for i := range items {
			if items[i], err = readReply(rd); err != nil {
				return nil, err
			}
		}
		return items, nil
	}
	return nil, fmt.Errorf("redis: unexpected reply %q", line)
}
