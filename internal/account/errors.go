package account

import (
	"errors"
	"fmt"
	"time"
)

// Kind is one of the closed set of outcomes a user can be told about. The web
// layer maps each kind to an errno and a message; everything else is internal.
type Kind int

// The user-facing kinds. Store kinds name what was being stored, so that a
// DBERR answer says which step failed.
const (
	KindInternal Kind = iota
	KindMissingParams
	KindBadPhone
	KindNotMobile
	KindBadCaptchaID
	KindCaptchaExpired
	KindCaptchaWrong
	KindResendWait
	KindPhoneRegistered
	KindUndeliverable
	KindBadCodeFormat
	KindCodeExpired
	KindCodeWrong
	KindCodeVoid
	KindPasswordMismatch
	KindPasswordLength
	KindUserExists
	KindLoginFailed
	KindLoginThrottled
	KindNotLoggedIn
	KindBusy
	KindCaptchaStore
	KindCodeStore
	KindUserStore
	KindSessionStore
	KindThrottleStore
	KindOutboxStore
	KindCodeChecker
	KindCountryRefused
	KindNumberQuota
	KindIPQuota
	KindSendsPaused
	KindQuotaStore
	KindPasswordCommon
	KindVerifyPaused
	KindLoginIPThrottled
)

// Error is a user-facing failure: its Kind decides the answer, Wait says when a
// throttled request may be tried again, and Err keeps the cause for the log.
type Error struct {
	Kind Kind
	Wait time.Duration
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("account: kind %d: %v", e.Kind, e.Err)
	}
	return fmt.Sprintf("account: kind %d", e.Kind)
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of err, KindInternal for errors outside the set.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// ErrNotFound is returned by stores when a record does not exist or has expired.
var ErrNotFound = errors.New("account: not found")

// ErrDuplicate is returned by a user store when the number is already registered.
var ErrDuplicate = errors.New("account: duplicate")

func storeError(kind Kind, op string, err error) error {
	return &Error{Kind: kind, Err: fmt.Errorf("%s: %w", op, err)}
}
