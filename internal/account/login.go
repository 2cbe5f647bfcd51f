package account

import (
	"context"
	"errors"
	"time"
)

// LoginRequest is what the login step receives.
type LoginRequest struct {
	Mobile   string
	Password string
	ClientIP string
	// Session is the session token the request carried, if any: a new
	// session replaces it, so it dies at login (the id rotates).
	Session string
}

// Login checks the password and opens a new session, returning the user and
// the session's token. An unknown number and a wrong password answer the same
// and take the same time: a dummy hash is checked for unknown numbers.
func (s *Service) Login(ctx context.Context, r LoginRequest) (User, string, error) {
	if r.Mobile == "" || r.Password == "" {
		return User{}, "", &Error{Kind: KindMissingParams}
	}
	phone, err := ParsePhone(r.Mobile, s.opts.Region)
	if err != nil {
		return User{}, "", err
	}
	acctKey, ipKey := "login:account:"+string(phone), "login:ip:"+clientNetwork(r.ClientIP)
	if err := s.loginThrottle(ctx, acctKey, ipKey); err != nil {
		return User{}, "", err
	}
	u, ok, err := s.checkPassword(ctx, phone, r.Password)
	if err != nil {
		return User{}, "", err
	}
	if !ok {
		for key, ttl := range map[string]time.Duration{acctKey: s.opts.Login.AccountTTL, ipKey: s.opts.Login.IPTTL} {
			if _, err := s.Failures.AddFailure(ctx, key, ttl); err != nil {
				return User{}, "", storeError(KindThrottleStore, "add login failure", err)
			}
		}
		s.Logger.InfoContext(ctx, "login failed", "phone", phone)
		return User{}, "", &Error{Kind: KindLoginFailed}
	}
	if err := s.Failures.ClearFailures(ctx, acctKey); err != nil {
		return User{}, "", storeError(KindThrottleStore, "clear login failures", err)
	}
	token := NewSessionToken()
	sess := s.newSession(token, s.Clock())
	sess.UserID = u.ID
	if err := s.Sessions.CreateSession(ctx, sess); err != nil {
		return User{}, "", storeError(KindSessionStore, "create session", err)
	}
	if err := s.Logout(ctx, r.Session); err != nil {
		return User{}, "", err
	}
	s.Logger.InfoContext(ctx, "user logged in", "user_id", u.ID)
	return u, token, nil
}

func (s *Service) checkPassword(ctx context.Context, phone Phone, pw string) (User, bool, error) {
	if err := s.hasher.acquire(ctx); err != nil {
		return User{}, false, err
	}
	defer s.hasher.release()
	u, err := s.Users.UserByPhone(ctx, phone)
	if errors.Is(err, ErrNotFound) {
		s.hasher.verify(pw, s.dummyHash)
		return User{}, false, nil
	}
	if err != nil {
		return User{}, false, storeError(KindUserStore, "look up user", err)
	}
	ok, err := s.hasher.verify(pw, u.PasswordHash)
	if err != nil {
		return User{}, false, storeError(KindUserStore, "decode password hash", err)
	}
	return u, ok, nil
}

// loginThrottle refuses an attempt while either bucket's delay runs.
func (s *Service) loginThrottle(ctx context.Context, acctKey, ipKey string) error {
	l, now := s.opts.Login, s.Clock()
	var wait time.Duration
	for _, b := range []struct {
		key, kind string
		free      int
		delay     time.Duration
	}{{acctKey, "login_account", l.AccountFree, l.AccountDelay}, {ipKey, "login_ip", l.IPFree, l.IPDelay}} {
		f, err := s.Failures.Failures(ctx, b.key)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return storeError(KindThrottleStore, "read login failures", err)
		}
		if w := f.Last.Add(growingDelay(f.Count, b.free, b.delay, l.MaxDelay)).Sub(now); w > 0 {
			s.Observer.LimitHit(b.kind)
			wait = max(wait, w)
		}
	}
	if wait > 0 {
		return &Error{Kind: KindLoginThrottled, Wait: wait}
	}
	return nil
}

// growingDelay is zero for the first free failures, then first, doubling with
// each further failure, up to ceiling.
func growingDelay(count, free int, first, ceiling time.Duration) time.Duration {
	if count < free {
		return 0
	}
	d := first
	for i := free; i < count && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// Logout ends the session with token; ending an unknown session is not an error.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	if err := s.Sessions.DeleteSession(ctx, SessionIDHash(token)); err != nil && !errors.Is(err, ErrNotFound) {
		return storeError(KindSessionStore, "delete session", err)
	}
	return nil
}

// touchEvery bounds session writes: last-seen moves at most once a minute.
const touchEvery = time.Minute

// SessionUser returns the user logged in with token.
func (s *Service) SessionUser(ctx context.Context, token string) (User, error) {
	if token == "" {
		return User{}, &Error{Kind: KindNotLoggedIn}
	}
	now, idHash := s.Clock(), SessionIDHash(token)
	sess, err := s.Sessions.Session(ctx, idHash, now)
	if errors.Is(err, ErrNotFound) {
		return User{}, &Error{Kind: KindNotLoggedIn}
	}
	if err != nil {
		return User{}, storeError(KindSessionStore, "read session", err)
	}
	if now.Sub(sess.LastSeen) > s.opts.SessionIdleTimeout {
		if err := s.Sessions.DeleteSession(ctx, idHash); err != nil && !errors.Is(err, ErrNotFound) {
			return User{}, storeError(KindSessionStore, "delete idle session", err)
		}
		return User{}, &Error{Kind: KindNotLoggedIn}
	}
	if now.Sub(sess.LastSeen) > touchEvery {
		err := s.Sessions.TouchSession(ctx, idHash, now)
		if errors.Is(err, ErrNotFound) { // logged out meanwhile
			return User{}, &Error{Kind: KindNotLoggedIn}
		}
		if err != nil {
			return User{}, storeError(KindSessionStore, "touch session", err)
		}
	}
	u, err := s.Users.UserByID(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) {
		return User{}, &Error{Kind: KindNotLoggedIn}
	}
	if err != nil {
		return User{}, storeError(KindUserStore, "read user", err)
	}
	return u, nil
}
