package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/exec"
	"time"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/captcha"
	"github.com/signupd/signupd/internal/config"
	"github.com/signupd/signupd/internal/delivery"
	"github.com/signupd/signupd/internal/hashworker"
	"github.com/signupd/signupd/internal/memstore"
	"github.com/signupd/signupd/internal/metrics"
	"github.com/signupd/signupd/internal/redisstore"
	"github.com/signupd/signupd/internal/sms"
	"github.com/signupd/signupd/internal/sqlstore"
	"github.com/signupd/signupd/internal/web"
	"github.com/signupd/signupd/internal/web/site"
)

// run is the whole program: it serves until ctx ends, then shuts down
// gracefully; with the argument "migrate" it migrates the database and
// exits, with "load" it drives another signupd (see load.go), and with
// "hash-worker" it is the child process that computes password hashes
// (package hashworker). SMS of the console provider go to stdout, logs to
// stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "hash-worker" {
		return hashworker.ServeStdio()
	}
	if len(args) > 0 && args[0] == "migrate" {
		return migrate(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "load" {
		return load(ctx, args[1:], getenv, stdout, stderr)
	}
	cfg, err := config.Load(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	logger := newLogger(cfg, stderr)
	if cfg.TestCaptcha != "" {
		logger.Warn("SIGNUP_TEST_CAPTCHA_ANSWER is set: every captcha has the same, known answer. " +
			"This is for end-to-end and load tests only; never run it in production.")
	}

	db, err := sqlstore.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	secret, err := serverSecret(ctx, cfg, db)
	if err != nil {
		return err
	}
	kv, kvName, err := openKV(ctx, cfg.RedisURL, cfg.RedisTimeout)
	if err != nil {
		return err
	}
	defer kv.Close()
	drawer, err := captcha.NewDrawer()
	if err != nil {
		return err
	}
	if cfg.TestCaptcha != "" && drawer.WritePNG(io.Discard, cfg.TestCaptcha) != nil {
		return fmt.Errorf("configuration:\nSIGNUP_TEST_CAPTCHA_ANSWER: want %d characters from %s, got %q",
			captcha.AnswerLen, captcha.Alphabet, cfg.TestCaptcha)
	}
	pages, err := pagesFS(cfg.WebRoot)
	if err != nil {
		return err
	}

	texts, err := account.NewTexts(cfg.AppName, cfg.SMSTexts)
	if err != nil {
		return fmt.Errorf("configuration:\nSIGNUP_APP_NAME or SIGNUP_SMS_TEXT_*: %w", err)
	}
	opts := account.DefaultOptions()
	opts.Texts = texts
	opts.Region, opts.AppName, opts.RevealRegistered = cfg.Region, cfg.AppName, cfg.RevealRegistered
	opts.CallingCodes = cfg.CallingCodes
	opts.VerifyFailures = []account.Window{{Limit: cfg.LimitVerifyDay, Period: 24 * time.Hour}}
	opts.Fraud = account.FraudSignal{Window: cfg.FraudWindow, MinSends: cfg.FraudMinSends, MinRatio: cfg.FraudMinRatio, Tighten: cfg.FraudTighten}
	opts.Budget = account.Budget{Limit: cfg.SMSDailyBudget, Prices: cfg.SMSPrices, Default: cfg.SMSPrices["*"], Location: cfg.SMSBudgetZone}
	opts.SendLimits = account.SendLimits{
		PerNumber:  []account.Window{{Limit: cfg.LimitNumberHour, Period: time.Hour}, {Limit: cfg.LimitNumberDay, Period: 24 * time.Hour}},
		PerIP:      []account.Window{{Limit: cfg.LimitIPHour, Period: time.Hour}, {Limit: cfg.LimitIPDay, Period: 24 * time.Hour}},
		PerNetwork: []account.Window{{Limit: cfg.LimitNetworkDay, Period: 24 * time.Hour}},
		Global:     []account.Window{{Limit: cfg.SMSMaxPerMinute, Period: time.Minute}},
	}
	opts.Login.AccountFree, opts.Login.AccountDelay = cfg.LoginAccountFree, cfg.LoginAccountWait
	opts.Login.IPFree, opts.Login.IPDelay, opts.Login.MaxDelay = cfg.LoginIPFree, cfg.LoginIPWait, cfg.LoginMaxWait
	opts.CaptchaTTL, opts.CodeTTL, opts.ResendInterval = cfg.CaptchaTTL, cfg.CodeTTL, cfg.ResendInterval
	opts.MaxCodeAttempts = cfg.CodeMaxAttempts
	opts.SessionIdleTimeout, opts.SessionMaxAge = cfg.SessionIdle, cfg.SessionMaxAge
	opts.Argon2.MemoryKiB, opts.Argon2.Time = uint32(cfg.Argon2MemoryKiB), uint32(cfg.Argon2Time)
	opts.HashConcurrency = cfg.HashConcurrency
	var keys account.KeyDeriver
	if cfg.HashProcess {
		hashes, err := hashProcess(logger, stderr)
		if err != nil {
			return err
		}
		defer hashes.Close()
		keys = hashes
	}
	m := metrics.New()
	router, checker, err := newRouter(cfg, stdout)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	outbox, err := delivery.NewOutbox(db, deriveKey(secret, "outbox"), router, nil)
	if err != nil {
		return err
	}
	worker := delivery.NewWorker(outbox, delivery.WorkerOptions{
		Concurrency: cfg.SMSWorkers, AttemptTimeout: cfg.SMSTimeout, Permanent: sms.IsPermanent, RetryAfter: sms.RetryAfter,
		Observer: m, Logger: logger,
	})
	codes, codeOutbox := codeStore(kv, db, outbox)
	svc := account.NewService(account.Deps{
		Users: db, Sessions: db, Captchas: kv, Codes: codes, Failures: kv, Quotas: kv, Budgets: kv, Events: kv,
		Outbox:     outbox,
		Keys:       keys,
		CodeOutbox: codeOutbox,
		Sends:      sendStarter(kv),
		Checker:    checker,
		Secret:     deriveKey(secret, "sms code"),
		Answer:     captchaAnswers(cfg.TestCaptcha),
		Logger:     logger,
		Observer:   m,
	}, opts)
	handler := web.New(web.Options{
		Accounts: svc, Captcha: drawer, Secret: deriveKey(secret, "csrf"), Logger: logger,
		Pages: pages, BuiltIn: cfg.WebRoot == "", PagesCSP: cfg.WebRootCSP,
		CookieSecure: cfg.CookieSecure, TrustedProxies: cfg.TrustedProxies,
		SessionMaxAge: int(cfg.SessionMaxAge / time.Second),
		Checks:        map[string]func(context.Context) error{"database": db.Ping, kvName: kv.Ping},
		Requests:      m,
		Replays:       kv,
		Metrics:       m.Handler(),
	})

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	go sweep(ctx, logger, kv, db)
	if cfg.DebugAddr != "" {
		stopDebug, err := serveDebug(cfg.DebugAddr, logger)
		if err != nil {
			return err
		}
		defer stopDebug()
	}
	// The worker outlives the HTTP server's drain: requests accepted during
	// it are queued and still delivered before exit.
	wctx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	workerDone := make(chan struct{})
	go func() { defer close(workerDone); worker.Run(wctx) }()
	err = serve(ctx, logger, ln, handler, cfg.ShutdownTimeout)
	stopWorker()
	<-workerDone
	return err
}

// migrate brings the database schema up to date. Every start does this too,
// under a lock, so running it first is optional: it lets a deployment migrate
// once before rolling out new instances.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	if err := sqlstore.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "signupd: database schema is up to date")
	return nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	level, _ := cfg.Level()
	o := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, o)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, o)
	}
	return slog.New(web.WithRequestID(h))
}

// serverSecret is SIGNUP_SECRET, or else one generated on first start and
// kept in the database, so restarts and every instance agree on it.
func serverSecret(ctx context.Context, cfg config.Config, db *sqlstore.DB) ([]byte, error) {
	if cfg.Secret != "" {
		return []byte(cfg.Secret), nil
	}
	fresh := make([]byte, 32)
	rand.Read(fresh)
	return db.Secret(ctx, fresh)
}

// deriveKey gives each use its own key, so that no value made for one
// purpose (a CSRF token) can pass as another (a code hash).
func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("signupd " + purpose))
	return m.Sum(nil)
}

func captchaAnswers(fixed string) func() (string, error) {
	if fixed != "" {
		return func() (string, error) { return fixed, nil }
	}
	return captcha.NewAnswer
}

func pagesFS(root string) (fs.FS, error) {
	if root == "" {
		return site.FS(), nil
	}
	if st, err := os.Stat(root + "/html"); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("SIGNUP_WEB_ROOT: %q has no html folder (want html/<name>.html and static/)", root)
	}
	return os.DirFS(root), nil
}

// kvStore keeps captchas, codes and counters: Redis in production, process
// memory in the embedded default.
type kvStore interface {
	account.CaptchaStore
	account.CodeStore
	account.FailureStore
	account.QuotaStore
	account.BudgetStore
	account.EventCounter
	web.Replays
	Ping(context.Context) error
	Close() error
}

// memKV is the in-process store, which needs no closing.
type memKV struct{ *memstore.Store }

func (memKV) Close() error { return nil }

func openKV(ctx context.Context, redisURL string, timeout time.Duration) (kvStore, string, error) {
	if redisURL == "" {
		return memKV{memstore.New(nil)}, "memory", nil
	}
	rs, err := redisstore.Open(ctx, redisURL, redisstore.Options{
		ReadTimeout: timeout, WriteTimeout: timeout, DialTimeout: 2 * timeout, PoolTimeout: 2 * timeout,
	})
	if err != nil {
		return nil, "", err
	}
	return rs, "redis", nil
}

// codeStore is where codes live: in Redis when there is one; else in the
// database, not in memory, because a queued message is delivered after a
// restart and its code must still work then. Codes in the database that
// queues their messages are started and queued in one transaction: the
// outbox is then the CodeOutbox too.
func codeStore(kv kvStore, db *sqlstore.DB, outbox *delivery.Outbox) (account.CodeStore, account.CodeOutbox) {
	if _, inMemory := kv.(memKV); inMemory {
		return db, outbox
	}
	return kv, nil
}

// sendStarter is kv when it does a send's store work in one round trip
// (Redis); in memory the steps cost no round trips.
func sendStarter(kv kvStore) account.SendStarter {
	s, _ := kv.(account.SendStarter)
	return s
}

// sweep frees expired codes and captchas held in memory (Redis expires its
// own) and deletes expired sessions.
func sweep(ctx context.Context, logger *slog.Logger, kv kvStore, db *sqlstore.DB) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if mem, ok := kv.(memKV); ok {
				mem.Sweep()
			}
			if _, err := db.DeleteExpiredSessions(ctx, now); err != nil && ctx.Err() == nil {
				logger.Error("delete expired sessions", "err", err)
			}
			if _, err := db.DeleteExpiredCodes(ctx, now); err != nil && ctx.Err() == nil {
				logger.Error("delete expired codes", "err", err)
			}
		}
	}
}

// serve serves h on ln until ctx ends; then it drains: /readyz fails at once,
// new connections are refused, and in-flight requests get grace to finish.
func serve(ctx context.Context, logger *slog.Logger, ln net.Listener, h *web.Server, grace time.Duration) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("listening", "addr", ln.Addr().String(), "url", "http://"+ln.Addr().String()+"/register.html")
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", grace)
	h.Drain()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// serveDebug serves Go's profiles (net/http/pprof) on their own loopback
// listener, so that they never share a mux or a port with the API.
func serveDebug(addr string, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("debug listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	logger.Info("serving profiles", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	return func() { srv.Close() }, nil
}

// hashProcess computes password hashes in a child process: this binary run
// as "hash-worker", its errors on stderr.
func hashProcess(logger *slog.Logger, stderr io.Writer) (*hashworker.Client, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("configuration:\nSIGNUP_HASH_PROCESS: cannot find this program to start it as the hash process: %w", err)
	}
	return hashworker.NewClient(func() *exec.Cmd {
		cmd := exec.Command(exe, "hash-worker")
		cmd.Stderr = stderr
		return cmd
	}, logger), nil
}
