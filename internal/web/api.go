package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/signupd/signupd/internal/account"
)

// maxBody caps JSON request bodies; the largest real one is under 400 bytes.
const maxBody = 16 << 10

func (s *Server) captchaImage(w http.ResponseWriter, r *http.Request) {
	answer, err := s.Accounts.NewCaptcha(r.Context(), r.PathValue("image_code_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Sized for the whole image at once, and sent with its length, so that
	// it leaves in one write rather than in chunks.
	buf := bytes.NewBuffer(make([]byte, 0, 6<<10))
	if err := s.Captcha.WritePNG(buf, answer); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}

func (s *Server) sendCode(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	err := s.Accounts.SendCode(r.Context(), account.SendCodeRequest{
		ClientIP:      s.clientIP(r),
		Mobile:        r.PathValue("mobile"),
		CaptchaID:     q.Get("image_code_id"),
		CaptchaAnswer: q.Get("image_code"),
		Locale:        locale(r),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOK(w, r, text{"发送成功", "Sent"}, nil)
}

func locale(r *http.Request) string {
	if english(r) {
		return account.LocaleEN
	}
	return account.LocaleZH
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Mobile    string `json:"mobile"`
		SMSCode   string `json:"sms_code"`
		Password  string `json:"password"`
		Password2 string `json:"password2"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	u, token, err := s.Accounts.Register(r.Context(), account.RegisterRequest{
		Mobile: req.Mobile, Code: req.SMSCode, Password: req.Password, Password2: req.Password2,
		Session: s.sessionToken(r),
	})
	s.loggedIn(w, r, u, token, err, text{"注册成功", "Registered"})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Mobile   string `json:"mobile"`
		Password string `json:"password"`
	}
	if !s.decode(w, r, &req) {
		return
	}
	u, token, err := s.Accounts.Login(r.Context(), account.LoginRequest{
		Mobile: req.Mobile, Password: req.Password, ClientIP: s.clientIP(r), Session: s.sessionToken(r),
	})
	s.loggedIn(w, r, u, token, err, text{"登录成功", "Logged in"})
}

// loggedIn answers a registration or login: on success the client gets the
// new session id (the old one is dead) and the CSRF token bound to it.
func (s *Server) loggedIn(w http.ResponseWriter, r *http.Request, u account.User, token string, err error, msg text) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setSession(w, r, token)
	writeOK(w, r, msg, map[string]any{"user_id": u.ID, "name": u.Name})
}

func (s *Server) checkSession(w http.ResponseWriter, r *http.Request) {
	u, err := s.Accounts.SessionUser(r.Context(), s.sessionToken(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOK(w, r, text{"已登录", "Logged in"}, map[string]any{"name": u.Name})
}

// logout ends the stored session but leaves the client its session id, to
// which its CSRF token is bound, so the page can log in again at once.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.Accounts.Logout(r.Context(), s.sessionToken(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOK(w, r, text{"已退出登录", "Logged out"}, nil)
}

func (s *Server) currentUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.Accounts.SessionUser(r.Context(), s.sessionToken(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeOK(w, r, text{"成功", "OK"}, map[string]any{
		"user_id": u.ID, "name": u.Name, "mobile": string(u.Phone), "avatar_url": u.AvatarURL,
	})
}

// decode reads a JSON body strictly: JSON content type, at most maxBody
// bytes, one object of the expected fields, no key twice at any depth, and
// nothing after it. On failure it answers and returns false.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeJSON(w, r, http.StatusOK, replyContentType, 0, nil)
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err == nil {
		err = checkDuplicateKeys(body)
	}
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		err = dec.Decode(v)
		if err == nil && dec.More() {
			err = errors.New("web: data after the JSON object")
		}
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeJSON(w, r, http.StatusOK, replyTooLarge, 0, nil)
	case err != nil:
		writeJSON(w, r, http.StatusOK, replyBadJSON, 0, nil)
	default:
		return true
	}
	return false
}
