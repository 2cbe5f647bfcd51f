package web

import "net/http"

// routes lists the whole URL surface.
func (s *Server) routes() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("GET /api/v1.0/image_codes/{image_code_id}", s.captchaImage)
	api.HandleFunc("GET /api/v1.0/sms_codes/{mobile}", s.idempotent(s.sendCode))
	api.HandleFunc("POST /api/v1.0/users", s.register)
	api.HandleFunc("POST /api/v1.0/sessions", s.login)
	api.HandleFunc("GET /api/v1.0/session", s.checkSession)
	api.HandleFunc("DELETE /api/v1.0/session", s.logout)
	api.HandleFunc("GET /api/v1.0/user", s.currentUser)
	api.HandleFunc("PUT /api/v1.0/user/password", s.changePassword)
	api.HandleFunc("/api/", s.noRoute)

	mux := http.NewServeMux()
	mux.Handle("/api/", s.crossOrigin(s.csrf(api)))
	mux.HandleFunc("GET /{$}", s.page)
	mux.HandleFunc("GET /favicon.ico", s.favicon)
	mux.HandleFunc("GET /{name}", s.page)
	mux.Handle("GET /static/", s.static())
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.Metrics != nil {
		mux.Handle("GET /metrics", s.Metrics)
	}
	return s.observe(mux)
}
