// Package web is the HTTP side of signupd: the original project's JSON API,
// CSRF and session cookies, and the pages (built in, or a deployment's own).
package web

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/signupd/signupd/internal/account"
)

// Accounts is the sign-up flow the handlers drive.
type Accounts interface {
	NewCaptcha(ctx context.Context, id string) (string, error)
	SendCode(ctx context.Context, r account.SendCodeRequest) error
	Register(ctx context.Context, r account.RegisterRequest) (account.User, string, error)
	Login(ctx context.Context, r account.LoginRequest) (account.User, string, error)
	Logout(ctx context.Context, token string) error
	SessionUser(ctx context.Context, token string) (account.User, error)
	ChangePassword(ctx context.Context, r account.ChangePasswordRequest) (string, error)
}

// CaptchaDrawer draws a captcha answer as a PNG.
type CaptchaDrawer interface {
	WritePNG(w io.Writer, answer string) error
}

// Options configure a Server.
type Options struct {
	Accounts Accounts
	Captcha  CaptchaDrawer
	Secret   []byte // keys the CSRF tokens
	Logger   *slog.Logger
	// Pages has the layout html/<name>.html and static/...; BuiltIn says they
	// are ours, which earns them a strict Content-Security-Policy.
	Pages   fs.FS
	BuiltIn bool
	// PagesCSP is the Content-Security-Policy of a deployment's own pages
	// (the built-in ones always get a strict one): older pages rely on
	// inline scripts, so the deployment chooses.
	PagesCSP       string
	CookieSecure   string // "auto", "always" or "never"
	TrustedProxies []netip.Prefix
	SessionMaxAge  int // seconds, for the cookies' Max-Age
	// Checks are what /readyz pings, by name ("database", "redis").
	Checks   map[string]func(context.Context) error
	Requests RequestObserver // nil means none
	Replays  Replays         // remembers send-code answers by Idempotency-Key; nil ignores the header
	Metrics  http.Handler    // served at /metrics; nil means no /metrics
}

// RequestObserver records each request, for metrics.
type RequestObserver interface {
	ObserveRequest(route string, status int, errno string, d time.Duration)
}

// Server serves the API and the pages.
type Server struct {
	Options
	logger   *slog.Logger
	handler  http.Handler
	draining atomic.Bool
}

// New returns a server for o.
func New(o Options) *Server {
	s := &Server{Options: o, logger: o.Logger}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.handler = s.routes()
	return s
}

// Drain makes /readyz fail, so load balancers stop sending new requests
// while in-flight ones finish.
func (s *Server) Drain() { s.draining.Store(true) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }
