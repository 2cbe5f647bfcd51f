package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// SendCodeRequest is what the send-code step receives.
type SendCodeRequest struct {
	ClientIP      string
	Mobile        string
	CaptchaID     string
	CaptchaAnswer string
	Locale        string
}

// SendCode checks the captcha and queues a registration code for the number:
// once it returns nil the message is stored durably for delivery. A
// number that already has an account gets a notice instead of a code, and the
// caller is told the same as for any other number, so the answer reveals
// nothing; a code is still stored for it (never sent), so that guessing at
// registration also answers the same.
func (s *Service) SendCode(ctx context.Context, r SendCodeRequest) error {
	if r.Mobile == "" || r.CaptchaID == "" || r.CaptchaAnswer == "" {
		return &Error{Kind: KindMissingParams}
	}
	phone, err := ParsePhone(r.Mobile, s.opts.Region)
	if err != nil {
		return err
	}
	if !slices.Contains(s.opts.CallingCodes, phone.CallingCode()) {
		s.Observer.LimitHit("destination")
		return &Error{Kind: KindCountryRefused}
	}
	if err := s.checkCaptcha(ctx, r.CaptchaID, r.CaptchaAnswer); err != nil {
		return err
	}
	// The user and the fraud signal are in different stores: read both at once.
	var alert bool
	var wg sync.WaitGroup
	wg.Go(func() { alert = s.fraudAlert(ctx, phone.CallingCode()) })
	registered := true
	_, err = s.Users.UserByPhone(ctx, phone)
	wg.Wait()
	if errors.Is(err, ErrNotFound) {
		registered = false
	} else if err != nil {
		return storeError(KindUserStore, "look up user", err)
	}
	if registered && s.opts.RevealRegistered {
		return &Error{Kind: KindPhoneRegistered}
	}
	code := newCode()
	hash := s.codeHash(PurposeRegister, phone, code)
	if s.Checker != nil && !registered {
		code, hash = "", s.approvedMarker(PurposeRegister, phone)
	}
	m := Message{To: phone, Purpose: PurposeRegister, Code: code, TTL: s.opts.CodeTTL, Locale: r.Locale}
	if registered {
		m.Purpose, m.Code = PurposeAlreadyRegistered, ""
	}
	// A code the Checker makes goes out in the provider's own text.
	if m.Code != "" || m.Purpose == PurposeAlreadyRegistered {
		if m.Text, err = s.opts.Texts.Render(m.Purpose, m.Locale, m.Code, m.TTL); err != nil {
			return fmt.Errorf("account: render message: %w", err)
		}
	}
	key := codeKey(PurposeRegister, phone)
	start, quotas := s.sendStart(phone, r.ClientIP, alert, registered, key, hash)
	out, err := s.Sends.StartSend(ctx, start)
	if err != nil {
		if e := (*Error)(nil); errors.As(err, &e) {
			return err
		}
		return storeError(KindQuotaStore, "start send", err)
	}
	if out.Refusal != SendAllowed {
		return s.sendRefused(ctx, out, quotas, start.Budget.Key)
	}
	wait, err := s.queue(ctx, key, hash, m)
	if err != nil || wait > 0 {
		if uerr := s.Sends.UndoSend(context.WithoutCancel(ctx), start); uerr != nil {
			s.Logger.ErrorContext(ctx, "undo send", "err", uerr)
		}
		if wait > 0 {
			return s.resendWait(wait)
		}
		return err
	}
	s.Logger.InfoContext(ctx, "code queued", "message", m)
	return nil
}

// sendStart is the store work of a send to phone, whose code under key is
// hash, and the quotas it takes, in its order.
func (s *Service) sendStart(phone Phone, clientIP string, alert, registered bool, key string, hash []byte) (SendStart, []quota) {
	quotas := s.sendQuotas(phone, clientIP, alert && s.opts.Fraud.Tighten)
	start := SendStart{ID: newEventID(), Budget: s.budgetSpend(phone)}
	for _, q := range quotas {
		start.Quotas = append(start.Quotas, QuotaTake{Key: q.key, Windows: q.windows})
	}
	if s.CodeOutbox == nil {
		start.Code = CodeStart{Key: key, Hash: hash, TTL: s.opts.CodeTTL, Interval: s.opts.ResendInterval}
	}
	if !registered && s.opts.Fraud.Window > 0 && s.Events != nil { // a notice can never be verified: it would skew the signal
		sends, _ := s.fraudKeys(phone.CallingCode())
		start.Count = EventCount{Key: sends, Period: s.opts.Fraud.Window}
	}
	return start, quotas
}

// sendRefused is the answer to a send that out refused.
func (s *Service) sendRefused(ctx context.Context, out SendOutcome, quotas []quota, budgetDay string) error {
	switch out.Refusal {
	case SendQuotaFull:
		q := quotas[out.Quota]
		s.Observer.LimitHit(q.metric)
		if q.refusal == KindSendsPaused {
			s.Logger.ErrorContext(ctx, "ALERT: the SMS ceiling is reached; sends are paused", "retry_in", out.Wait)
		}
		return &Error{Kind: q.refusal, Wait: out.Wait}
	case SendOverBudget:
		s.Observer.LimitHit("budget")
		s.Logger.ErrorContext(ctx, "ALERT: the daily SMS budget is spent; sends are paused until the day ends", "day", budgetDay)
		return &Error{Kind: KindSendsPaused, Wait: untilTomorrow(s.Clock().In(s.budgetLocation()))}
	}
	return s.resendWait(out.Wait)
}

func (s *Service) resendWait(wait time.Duration) error {
	s.Observer.LimitHit("resend_interval")
	return &Error{Kind: KindResendWait, Wait: wait}
}

// queue queues m, the message of the code under key: with the code, in one
// transaction, when there is a CodeOutbox, which returns the wait of a
// resend window still open; else alone, the code having been started.
func (s *Service) queue(ctx context.Context, key string, hash []byte, m Message) (time.Duration, error) {
	var wait time.Duration
	var err error
	if s.CodeOutbox != nil {
		wait, err = s.CodeOutbox.StartCodeAndEnqueue(ctx, key, hash, s.opts.CodeTTL, s.opts.ResendInterval, m)
	} else {
		err = s.Outbox.Enqueue(ctx, m)
	}
	if errors.Is(err, ErrUndeliverable) {
		return 0, &Error{Kind: KindUndeliverable, Err: err}
	}
	if err != nil {
		return 0, storeError(KindOutboxStore, "enqueue message", err)
	}
	return wait, nil
}

func codeKey(purpose string, p Phone) string { return purpose + ":" + string(p) }

// RegisterRequest is what the registration step receives.
type RegisterRequest struct {
	Session   string // the session token the request carried, ended once the new one exists
	Mobile    string
	Code      string
	Password  string
	Password2 string
}

// Register consumes the code and creates the user with a logged-in session.
// It returns the user and the new session's token.
func (s *Service) Register(ctx context.Context, r RegisterRequest) (User, string, error) {
	if r.Mobile == "" || r.Code == "" || r.Password == "" || r.Password2 == "" {
		return User{}, "", &Error{Kind: KindMissingParams}
	}
	phone, err := ParsePhone(r.Mobile, s.opts.Region)
	if err != nil {
		return User{}, "", err
	}
	if r.Password != r.Password2 {
		return User{}, "", &Error{Kind: KindPasswordMismatch}
	}
	pw, err := checkPassword(r.Password)
	if err != nil {
		return User{}, "", err
	}
	if !validCode(r.Code) {
		return User{}, "", &Error{Kind: KindBadCodeFormat}
	}
	// Take a hashing slot before consuming the code, so that a busy server
	// refuses the request while the code is still good.
	if err := s.hasher.acquire(ctx); err != nil {
		return User{}, "", err
	}
	defer s.hasher.release()
	if err := s.consumeCode(ctx, PurposeRegister, phone, r.Code); err != nil {
		return User{}, "", err
	}
	now := s.Clock()
	u := User{Phone: phone, Name: string(phone), PasswordHash: s.hasher.hash(pw), CreatedAt: now}
	token := NewSessionToken()
	u, err = s.Users.CreateUser(ctx, u, s.newSession(token, now))
	if errors.Is(err, ErrDuplicate) {
		return User{}, "", &Error{Kind: KindUserExists}
	}
	if err != nil {
		return User{}, "", storeError(KindUserStore, "create user", err)
	}
	if err := s.Logout(ctx, r.Session); err != nil {
		return User{}, "", err
	}
	_, verified := s.fraudKeys(phone.CallingCode())
	s.countFraudEvent(ctx, verified)
	s.Logger.InfoContext(ctx, "user registered", "user_id", u.ID, "phone", phone)
	return u, token, nil
}

func validCode(c string) bool {
	if len(c) != 6 {
		return false
	}
	for _, d := range []byte(c) {
		if d < '0' || d > '9' {
			return false
		}
	}
	return true
}

// approvedMarker stands in the code store for a code the Checker made: only
// a check it approved presents the marker.
func (s *Service) approvedMarker(purpose string, p Phone) []byte {
	return s.codeHash(purpose, p, "approved by the code checker")
}

// consumeCode checks code against the number's live code. Every check
// first takes a slot in the number's failure budget, which a resend does not
// reset; only a wrong guess keeps it, so once the budget is spent checks
// pause until the window moves on (NIST 800-63B rev 4; no lasting lockout).
func (s *Service) consumeCode(ctx context.Context, purpose string, p Phone, code string) error {
	budget, id := "verify_fail:"+string(p), NewSessionToken()
	wait, err := s.Quotas.Take(ctx, budget, id, s.opts.VerifyFailures)
	if err != nil {
		return storeError(KindQuotaStore, "take verification budget", err)
	}
	if wait > 0 {
		s.Observer.LimitHit("verify_number")
		return &Error{Kind: KindVerifyPaused, Wait: wait}
	}
	res, err := s.checkCode(ctx, purpose, p, code)
	if res != CodeMismatch {
		if rerr := s.Quotas.Refund(context.WithoutCancel(ctx), budget, id); rerr != nil {
			s.Logger.ErrorContext(ctx, "refund verification budget", "err", rerr)
		}
	}
	if err != nil {
		return err
	}
	s.Observer.CodeChecked(res.String())
	switch res {
	case CodeMatched:
		return nil
	case CodeMismatch:
		return &Error{Kind: KindCodeWrong}
	case CodeVoid:
		return &Error{Kind: KindCodeVoid}
	default:
		return &Error{Kind: KindCodeExpired}
	}
}

func (s *Service) checkCode(ctx context.Context, purpose string, p Phone, code string) (CodeCheck, error) {
	hash := s.codeHash(purpose, p, code)
	if s.Checker != nil {
		res, err := s.Checker.Check(ctx, p, code)
		if err != nil {
			return 0, &Error{Kind: KindCodeChecker, Err: err}
		}
		switch res {
		case CodeMatched:
			hash = s.approvedMarker(purpose, p)
		case CodeMissing, CodeVoid:
			// Nothing live to guess at, so no attempt is counted: checks
			// that lost the race to an approval must not void the marker
			// the approved check is about to consume.
			return res, nil
		}
	}
	res, err := s.Codes.CheckCode(ctx, codeKey(purpose, p), hash, s.opts.MaxCodeAttempts)
	if err != nil {
		return 0, storeError(KindCodeStore, "check code", err)
	}
	return res, nil
}

func (s *Service) newSession(token string, now time.Time) Session {
	return Session{IDHash: SessionIDHash(token), CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(s.opts.SessionMaxAge)}
}
