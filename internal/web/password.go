package web

import (
	"net/http"

	"github.com/signupd/signupd/internal/account"
)

// changePassword replaces the logged-in user's password. Every session of
// the user ends with it, so the client gets a new session id (and CSRF
// token) the way login hands one out.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OldPassword string `json:"old_password"`
		NewPassword string `json:"new_password"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	token, err := s.Accounts.ChangePassword(r.Context(), account.ChangePasswordRequest{
		Session: s.sessionToken(r), OldPassword: req.OldPassword, NewPassword: req.NewPassword,
		ClientIP: s.clientIP(r),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setSession(w, r, token)
	writeOK(w, r, text{"密码已修改", "Password changed"}, nil)
}
