package sms

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Failure is a provider's refusal of a message, classified for the outbox: a
// permanent one (invalid number, rejected template, bad credentials) is never
// retried; a transient one (throttled, 5xx) is retried with back-off, not
// before RetryAfter when the provider named a time.
type Failure struct {
	Provider   string
	Code       string // the provider's own error code, for logs and metrics
	Permanent  bool
	RetryAfter time.Duration
	Err        error
}

func (f *Failure) Error() string {
	kind := "transient"
	if f.Permanent {
		kind = "permanent"
	}
	return fmt.Sprintf("sms: %s: %s failure %s: %v", f.Provider, kind, f.Code, f.Err)
}

func (f *Failure) Unwrap() error { return f.Err }

// IsPermanent reports whether err must not be retried. Errors that are not a
// *Failure (a network error, a timeout) are transient: the message may or may
// not have been accepted, and the idempotency key covers a retry.
func IsPermanent(err error) bool {
	var f *Failure
	return errors.As(err, &f) && f.Permanent
}

// RetryAfter returns the wait a provider asked for, or zero.
func RetryAfter(err error) time.Duration {
	var f *Failure
	if errors.As(err, &f) {
		return f.RetryAfter
	}
	return 0
}

// httpStatusPermanent classifies a bare HTTP status for providers that say no
// more: 408 and 429 and every 5xx are worth retrying, other 4xx are not.
func httpStatusPermanent(status int) bool {
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500:
		return false
	}
	return status >= 400
}

// retryAfterHeader reads a Retry-After header in seconds or as an HTTP date.
func retryAfterHeader(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
