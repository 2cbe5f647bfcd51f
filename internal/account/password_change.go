package account

import (
	"context"
	"errors"
)

// ChangePasswordRequest is what the change-password step receives.
type ChangePasswordRequest struct {
	Session     string // the session token the request carried; it must be logged in
	OldPassword string
	NewPassword string
	ClientIP    string
}

// ChangePassword replaces the logged-in user's password and ends every
// session of the user, the one the request carried included, in one store
// transaction with the opening of a fresh session, whose token it returns
// (OWASP Session Management: a password change ends the other sessions).
// The old password is a password guess like a login's: it counts against
// the same throttles.
func (s *Service) ChangePassword(ctx context.Context, r ChangePasswordRequest) (string, error) {
	u, err := s.SessionUser(ctx, r.Session)
	if err != nil {
		return "", err
	}
	if r.OldPassword == "" || r.NewPassword == "" {
		return "", &Error{Kind: KindMissingParams}
	}
	pw, err := checkPassword(r.NewPassword)
	if err != nil {
		return "", err
	}
	hash, err := s.verifyAndHash(ctx, u, r.OldPassword, pw, r.ClientIP)
	if err != nil {
		return "", err
	}
	token := NewSessionToken()
	err = s.Users.ChangePassword(ctx, u.ID, u.PasswordHash, hash, s.newSession(token, s.Clock()))
	if errors.Is(err, ErrNotFound) {
		// The user is gone, or another change came first and ended every
		// session, this request's included.
		return "", &Error{Kind: KindNotLoggedIn}
	}
	if err != nil {
		return "", storeError(KindUserStore, "change password", err)
	}
	s.Logger.InfoContext(ctx, "password changed", "user_id", u.ID)
	return token, nil
}

// verifyAndHash checks old against u's password under the login throttles
// and returns the hash of pw. The attempt is counted before the hash is
// checked and taken back when it succeeds or was never checked, as at login.
func (s *Service) verifyAndHash(ctx context.Context, u User, old, pw, clientIP string) (string, error) {
	acct, ip := s.loginBuckets(u.Phone, clientIP)
	if err := s.takeLoginAttempt(ctx, acct, ip); err != nil {
		return "", err
	}
	if err := s.hasher.acquire(ctx); err != nil {
		s.forgiveLoginAttempt(ctx, acct, ip)
		return "", err
	}
	defer s.hasher.release()
	ok, err := s.hasher.verify(old, u.PasswordHash)
	if err != nil {
		s.forgiveLoginAttempt(ctx, acct, ip)
		return "", storeError(KindUserStore, "decode password hash", err)
	}
	if !ok {
		s.Logger.InfoContext(ctx, "password change failed", "user_id", u.ID)
		return "", &Error{Kind: KindLoginFailed}
	}
	s.forgiveLoginAttempt(ctx, ip)
	if err := s.Failures.ClearFailures(ctx, acct.key); err != nil {
		return "", storeError(KindThrottleStore, "clear login failures", err)
	}
	return s.hasher.hash(pw), nil
}
