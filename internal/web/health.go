package web

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"time"
)

// healthz says the process is alive; it checks nothing else, so a failing
// dependency never gets a healthy process restarted.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"status":"ok"}` + "\n"))
}

// readyz says whether this instance can serve: every dependency answers
// within a second and no shutdown has begun.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	failed := []string{}
	if s.draining.Load() {
		failed = append(failed, "shutting down")
	}
	for name, check := range s.Checks {
		if err := check(ctx); err != nil {
			failed = append(failed, name)
			s.logger.WarnContext(ctx, "not ready", "check", name, "err", err)
		}
	}
	sort.Strings(failed)
	status, body := http.StatusOK, map[string]any{"status": "ok"}
	if len(failed) > 0 {
		status, body = http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "failed": failed}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}
