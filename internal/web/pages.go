package web

import (
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// builtInCSP allows our own scripts, styles and images only.
const builtInCSP = "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// page serves html/<name>.html at /<name>.html and html/index.html at /, and
// gives every client a session id and its CSRF token cookie with the page.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "" {
		name = "index.html"
	}
	if !strings.HasSuffix(name, ".html") || strings.ContainsAny(name, `/\`) || name != path.Clean(name) {
		http.NotFound(w, r)
		return
	}
	body, err := fs.ReadFile(s.Pages, "html/"+name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	s.pageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	s.ensureSession(w, r)
	w.Write(body)
}

func (s *Server) static() http.Handler {
	sub, err := fs.Sub(s.Pages, "static")
	if err != nil {
		return http.NotFoundHandler()
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.pageHeaders(w)
		files.ServeHTTP(w, r)
	})
}

func (s *Server) pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if s.BuiltIn {
		h.Set("Content-Security-Policy", builtInCSP)
	} else if s.PagesCSP != "" {
		h.Set("Content-Security-Policy", s.PagesCSP)
	}
}

// favicon serves static/favicon.ico, where the original project kept it, and
// an empty answer when there is none, so browsers do not log an error.
func (s *Server) favicon(w http.ResponseWriter, r *http.Request) {
	icon, err := fs.ReadFile(s.Pages, "static/favicon.ico")
	if err != nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "image/x-icon")
	w.Write(icon)
}
