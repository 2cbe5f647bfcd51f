package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/signupd/signupd/internal/account"
)

// csrfCookie is the name the original front end reads its token from.
const csrfCookie = "csrf_token"

// sessionCookie is the session id's cookie. Over HTTPS it takes the __Host-
// prefix, which browsers accept only from a secure origin, for the whole
// host, so a sibling subdomain cannot plant one.
func (s *Server) sessionCookie(r *http.Request) string {
	if s.secure(r) {
		return "__Host-session"
	}
	return "session"
}

// sessionToken returns the client's session id, or "" when it has none. Every
// client that loaded a page has one; only a logged-in one has a stored session.
func (s *Server) sessionToken(r *http.Request) string {
	c, err := r.Cookie(s.sessionCookie(r))
	if err != nil || len(c.Value) != 43 {
		return ""
	}
	return c.Value
}

// csrfToken is derived from the session id, so it needs no storage, holds for
// as long as the id does (logout keeps the id: the token survives it), and is
// worthless with any other id.
func (s *Server) csrfToken(sessionToken string) string {
	m := hmac.New(sha256.New, s.Secret)
	m.Write([]byte("csrf\x00" + sessionToken))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Server) validCSRF(sessionToken, token string) bool {
	if sessionToken == "" || token == "" {
		return false
	}
	return hmac.Equal([]byte(token), []byte(s.csrfToken(sessionToken)))
}

// setSession sends the session id and the CSRF token bound to it.
func (s *Server) setSession(w http.ResponseWriter, r *http.Request, token string) {
	secure := s.secure(r)
	http.SetCookie(w, &http.Cookie{
		Name: s.sessionCookie(r), Value: token, Path: "/", MaxAge: s.SessionMaxAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
	// Page scripts read this one and echo it in X-CSRFToken.
	http.SetCookie(w, &http.Cookie{
		Name: csrfCookie, Value: s.csrfToken(token), Path: "/", MaxAge: s.SessionMaxAge,
		Secure: secure, SameSite: http.SameSiteLaxMode,
	})
}

// ensureSession gives a client without a session id a fresh one.
func (s *Server) ensureSession(w http.ResponseWriter, r *http.Request) {
	token := s.sessionToken(r)
	if token == "" {
		token = account.NewSessionToken()
	}
	s.setSession(w, r, token)
}

// secure reports whether the client reached us over TLS, directly or through
// a trusted proxy that says so.
func (s *Server) secure(r *http.Request) bool {
	switch s.CookieSecure {
	case "always":
		return true
	case "never":
		return false
	}
	if r.TLS != nil {
		return true
	}
	return s.trustedPeer(r) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (s *Server) trustedPeer(r *http.Request) bool { return s.trusted(peerAddr(r)) }

// clientIP is the peer's address, or, when the peer is a trusted proxy, the
// right-most address of X-Forwarded-For that is not a trusted proxy: the
// left part of that header is whatever the client chose to send.
func (s *Server) clientIP(r *http.Request) string {
	ip := peerAddr(r)
	if !s.trusted(ip) {
		return ip.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if ip = a.Unmap(); !s.trusted(ip) {
			break
		}
	}
	return ip.String()
}
