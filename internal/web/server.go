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
	Pages          fs.FS
	BuiltIn        bool
	CookieSecure   string // "auto", "always" or "never"
	TrustedProxies []netip.Prefix
	SessionMaxAge  int // seconds, for the cookies' Max-Age
}

// Server serves the API and the pages.
type Server struct {
	Options
	logger  *slog.Logger
	handler http.Handler
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

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }
