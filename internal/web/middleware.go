package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"
)

// recorder remembers what a handler answered, for the request log.
type recorder struct {
	http.ResponseWriter
	status int
	errno  string
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// observe gives every request an id, logs its outcome, and turns a panic into
// an ordinary error answer instead of a dropped connection and a stack.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 8)
		rand.Read(b)
		ctx := context.WithValue(r.Context(), requestIDKey, hex.EncodeToString(b))
		r = r.WithContext(ctx)
		rec := &recorder{ResponseWriter: w}
		start := time.Now()
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.logger.ErrorContext(ctx, "handler panic", "panic", p)
				if rec.status == 0 {
					writeJSON(rec, r, http.StatusOK, replyPanic, 0, nil)
				}
			}
			d := time.Since(start)
			s.logger.LogAttrs(ctx, slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("route", r.Pattern),
				slog.Int("status", rec.status), slog.String("errno", rec.errno),
				slog.Duration("duration", d))
			if s.Requests != nil {
				route := r.Pattern
				if route == "" {
					route = "unmatched"
				}
				s.Requests.ObserveRequest(route, rec.status, rec.errno, d)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// crossOrigin refuses state-changing requests that browsers mark as coming
// from another origin: a second line of defence behind the CSRF token.
func (s *Server) crossOrigin(next http.Handler) http.Handler {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, r, http.StatusForbidden, replyCrossOrigin, 0, nil)
	}))
	return p.Handler(next)
}

// csrf requires, on every POST, PUT, PATCH and DELETE, the token bound to the
// client's session cookie in X-CSRFToken (or X-CSRF-Token), as the original
// front end sends it. A mismatch is HTTP 400, as Flask-WTF answered.
func (s *Server) csrf(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		token := r.Header.Get("X-CSRFToken")
		if token == "" {
			token = r.Header.Get("X-CSRF-Token")
		}
		if !s.validCSRF(s.sessionToken(r), token) {
			writeJSON(w, r, http.StatusBadRequest, replyCSRF, 0, nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusNotFound, replyNoRoute, 0, nil)
}
