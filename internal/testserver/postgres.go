package testserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Postgres is a PostgreSQL server listening on 127.0.0.1, its superuser
// "postgres" trusted without a password, tuned for speed over durability.
type Postgres struct {
	port int
	dir  string // temporary folder: data/, postgres.log, initdb.log, the socket
	bin  pgBinaries
	env  []string
	proc *process
	dbs  atomic.Int64 // databases created, for unique names
}

type pgBinaries struct{ postgres, initdb, psql, pgIsReady string }

var sharedPostgres shared[*Postgres]

// SharedPostgres returns the test binary's PostgreSQL, started on first use
// and stopped by Main. Each test takes a database of its own with Database;
// tests must not Stop or Start it.
func SharedPostgres(t testing.TB) *Postgres {
	t.Helper()
	return sharedPostgres.get(t, "postgres", func() (*Postgres, func() error, error) {
		p, err := startPostgres()
		if err != nil {
			return nil, nil, err
		}
		return p, p.close, nil
	})
}

// NewPostgres starts a PostgreSQL of the test's own, stopped by t.Cleanup;
// for fault tests that Stop and Start it.
func NewPostgres(t testing.TB) *Postgres {
	t.Helper()
	begin := time.Now()
	p, err := startPostgres()
	if err != nil {
		fail(t, err)
		return nil
	}
	t.Logf("testserver: started postgres on 127.0.0.1:%d in %v", p.port, time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := p.close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

// Database creates an empty database with a unique name and returns its URL,
// "postgres://postgres@127.0.0.1:PORT/NAME?sslmode=disable&connect_timeout=20". t.Cleanup drops
// it, closing any connection still open, unless the server is stopped then.
func (p *Postgres) Database(t testing.TB) string {
	t.Helper()
	name := databaseName(t.Name(), p.dbs.Add(1))
	if _, err := p.psql("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !p.proc.running() {
			return // the database goes with the server's folder
		}
		if _, err := p.psql("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Error(err)
		}
	})
	// A patient connect timeout: tests open many connections at once on a
	// small machine under -race. A stopped server still refuses at once.
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=20", p.port, name)
}

// Stop shuts the server down fast (SIGINT to the postmaster: clients are
// disconnected, data is kept) and waits for it to exit.
func (p *Postgres) Stop(t testing.TB) {
	t.Helper()
	if err := p.proc.stop(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
}

// Start starts the server again on the same port and data folder and waits
// until it accepts connections.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
}

// databaseName makes a valid, unique, lower-case identifier that still tells
// which test made the database.
func databaseName(test string, n int64) string {
	var b strings.Builder
	b.WriteString("t_")
	for _, r := range strings.ToLower(test) {
		if b.Len() >= 40 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else if !strings.HasSuffix(b.String(), "_") {
			b.WriteByte('_')
		}
	}
	return fmt.Sprintf("%s_%d", strings.TrimSuffix(b.String(), "_"), n)
}

func startPostgres() (*Postgres, error) {
	bin, err := findPostgres()
	if err != nil {
		return nil, err
	}
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	dir, err := mkdirTemp("postgres")
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("testserver: %w", err)
		}
	}
	p := &Postgres{dir: dir, bin: bin, env: postgresEnv()}
	if err := p.initdb(cred); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		if p.port, err = freePort(false); err != nil {
			break
		}
		p.proc = &process{
			name: fmt.Sprintf("postgres 127.0.0.1:%d", p.port), path: bin.postgres, dir: dir, env: p.env,
			args: []string{
				"-D", filepath.Join(dir, "data"), "-p", strconv.Itoa(p.port), "-k", dir,
				"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
				"-c", "full_page_writes=off", "-c", "max_connections=300",
			},
			logPath: filepath.Join(dir, "postgres.log"), cred: cred,
			deathSig: syscall.SIGQUIT, // immediate shutdown: nothing to keep
		}
		if err = p.start(); err == nil || !bindFailed(err) || attempt == 3 {
			break
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return p, nil
}

// initdb makes the data folder, as the user postgres when we are root since
// PostgreSQL refuses to run as root.
func (p *Postgres) initdb(cred *syscall.Credential) error {
	cmd := exec.Command(p.bin.initdb, "-D", filepath.Join(p.dir, "data"), "-U", "postgres",
		"-A", "trust", "--no-sync", "-E", "UTF8", "--no-locale")
	cmd.Dir, cmd.Env = p.dir, p.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.CombinedOutput()
	os.WriteFile(filepath.Join(p.dir, "initdb.log"), out, 0o644)
	if err != nil {
		return fmt.Errorf("testserver: initdb: %w\n%s", err, out)
	}
	return nil
}

func (p *Postgres) start() error {
	if err := p.proc.start(); err != nil {
		return err
	}
	if err := p.proc.waitReady(p.ready); err != nil {
		return errors.Join(err, p.proc.stop(syscall.SIGINT))
	}
	return nil
}

// ready reports whether the server accepts connections.
func (p *Postgres) ready() error {
	if p.bin.pgIsReady == "" {
		_, err := p.psql("SELECT 1")
		return err
	}
	cmd := exec.Command(p.bin.pgIsReady, "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(p.port),
		"-U", "postgres", "-d", "postgres", "-t", "2")
	cmd.Env = p.env
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pg_isready: %w", err)
	}
	return nil
}

// psql runs SQL in the database postgres and returns its unaligned output.
func (p *Postgres) psql(sql string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin.psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
		"-h", "127.0.0.1", "-p", strconv.Itoa(p.port), "-U", "postgres", "-d", "postgres", "-c", sql)
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("testserver: psql %q: %w\n%s", sql, err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// close stops the server and removes its folder.
func (p *Postgres) close() error {
	err := p.proc.stop(syscall.SIGINT)
	return errors.Join(err, os.RemoveAll(p.dir))
}

// findPostgres prefers the newest /usr/lib/postgresql/<version>/bin, where
// Debian puts the server, and falls back to PATH. psql and pg_isready come
// from the same folder when there, since Debian's /usr/bin ones are wrappers.
func findPostgres() (pgBinaries, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return -compareVersions(a, b) })
	for _, dir := range dirs {
		b := pgBinaries{postgres: filepath.Join(dir, "postgres"), initdb: filepath.Join(dir, "initdb")}
		if executable(b.postgres) && executable(b.initdb) {
			return b.withClients(dir)
		}
	}
	var b pgBinaries
	var err error
	if b.postgres, err = lookBinary("postgres"); err != nil {
		return b, err
	}
	if b.initdb, err = lookBinary("initdb"); err != nil {
		return b, err
	}
	return b.withClients(filepath.Dir(b.postgres))
}

func (b pgBinaries) withClients(dir string) (pgBinaries, error) {
	var err error
	if b.psql = filepath.Join(dir, "psql"); !executable(b.psql) {
		if b.psql, err = lookBinary("psql"); err != nil {
			return b, err
		}
	}
	if b.pgIsReady = filepath.Join(dir, "pg_isready"); !executable(b.pgIsReady) {
		b.pgIsReady, _ = lookBinary("pg_isready") // optional: psql does too
	}
	return b, nil
}

// compareVersions orders /usr/lib/postgresql/<version>/bin paths by version,
// numerically: 9.6 < 15 < 17.
func compareVersions(a, b string) int {
	va := strings.Split(filepath.Base(filepath.Dir(a)), ".")
	vb := strings.Split(filepath.Base(filepath.Dir(b)), ".")
	for i := range min(len(va), len(vb)) {
		x, _ := strconv.Atoi(va[i])
		y, _ := strconv.Atoi(vb[i])
		if x != y {
			return x - y
		}
	}
	return len(va) - len(vb)
}

func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// postgresCredential returns the user postgres to run the server as when we
// are root, and nil otherwise.
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, &missingError{what: "user postgres (PostgreSQL refuses to run as root)"}
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("testserver: user postgres: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// postgresEnv is our environment without PG* variables, which would point
// psql elsewhere, and with the C locale, which every machine has.
func postgresEnv() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG")
	})
	return append(env, "LC_ALL=C")
}
