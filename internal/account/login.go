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
	acct, ip := s.loginBuckets(phone, r.ClientIP)
	if err := s.takeLoginAttempt(ctx, acct, ip); err != nil {
		return User{}, "", err
	}
	u, ok, err := s.checkPassword(ctx, phone, r.Password)
	if err != nil { // never checked: the attempt does not count
		s.forgiveLoginAttempt(ctx, acct, ip)
		return User{}, "", err
	}
	if !ok {
		s.Logger.InfoContext(ctx, "login failed", "phone", phone)
		return User{}, "", &Error{Kind: KindLoginFailed}
	}
	s.forgiveLoginAttempt(ctx, ip)
	if err := s.Failures.ClearFailures(ctx, acct.key); err != nil {
		return User{}, "", storeError(KindThrottleStore, "clear login failures", err)
	}
	token := NewSessionToken()
	sess := s.newSession(token, s.Clock())
	sess.UserID = u.ID
	// The session opens only if the hash just checked is still the user's:
	// a password change that overtook this login has ended every session.
	err = s.Users.OpenSession(ctx, sess, u.PasswordHash)
	if errors.Is(err, ErrNotFound) {
		s.Logger.InfoContext(ctx, "login failed: password changed meanwhile", "user_id", u.ID)
		return User{}, "", &Error{Kind: KindLoginFailed}
	}
	if err != nil {
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

// loginBucket is one of the two login throttles: per account and per
// client network.
type loginBucket struct {
	key, metric string
	backoff     Backoff
	ttl         time.Duration
	refusal     Kind
}

func (s *Service) loginBuckets(phone Phone, clientIP string) (acct, ip loginBucket) {
	l := s.opts.Login
	return loginBucket{"login:account:" + string(phone), "login_account", Backoff{l.AccountFree, l.AccountDelay, l.MaxDelay}, l.AccountTTL, KindLoginThrottled},
		loginBucket{"login:ip:" + clientNetwork(clientIP), "login_ip", Backoff{l.IPFree, l.IPDelay, l.MaxDelay}, l.IPTTL, KindLoginIPThrottled}
}

// takeLoginAttempt counts the attempt in both buckets before the password
// is checked, or in neither: while either bucket's delay runs, the attempt
// is refused.
func (s *Service) takeLoginAttempt(ctx context.Context, buckets ...loginBucket) error {
	for i, b := range buckets {
		wait, err := s.Failures.TakeAttempt(ctx, b.key, b.backoff, b.ttl)
		if err == nil && wait == 0 {
			continue
		}
		s.forgiveLoginAttempt(ctx, buckets[:i]...)
		if err != nil {
			return storeError(KindThrottleStore, "take login attempt", err)
		}
		s.Observer.LimitHit(b.metric)
		return &Error{Kind: b.refusal, Wait: wait}
	}
	return nil
}

// forgiveLoginAttempt takes back an attempt counted in buckets. A failure
// here only leaves one failure too many in a counter, so it is logged.
func (s *Service) forgiveLoginAttempt(ctx context.Context, buckets ...loginBucket) {
	for _, b := range buckets {
		if err := s.Failures.ForgiveAttempt(context.WithoutCancel(ctx), b.key); err != nil {
			s.Logger.ErrorContext(ctx, "forgive login attempt", "err", err)
		}
	}
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
