package account

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
)

// validCaptchaID accepts what a page makes (a UUID, a timestamp) and nothing
// that could reach another key: at most 64 of [A-Za-z0-9-].
func validCaptchaID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// NewCaptcha makes an answer for id and keeps it for the captcha lifetime.
// The caller draws the answer; a new captcha for the same id replaces the old.
func (s *Service) NewCaptcha(ctx context.Context, id string) (string, error) {
	if !validCaptchaID(id) {
		return "", &Error{Kind: KindBadCaptchaID}
	}
	answer, err := s.Answer()
	if err != nil {
		return "", fmt.Errorf("account: captcha answer: %w", err)
	}
	if err := s.Captchas.PutCaptcha(ctx, id, answer, s.opts.CaptchaTTL); err != nil {
		return "", storeError(KindCaptchaStore, "put captcha", err)
	}
	s.Observer.CaptchaIssued()
	return answer, nil
}

// checkCaptcha consumes the captcha id, right or wrong, and compares answers
// case-insensitively.
func (s *Service) checkCaptcha(ctx context.Context, id, answer string) error {
	if !validCaptchaID(id) {
		return &Error{Kind: KindBadCaptchaID}
	}
	want, err := s.Captchas.TakeCaptcha(ctx, id)
	if errors.Is(err, ErrNotFound) {
		s.Observer.CaptchaChecked("expired")
		return &Error{Kind: KindCaptchaExpired}
	}
	if err != nil {
		return storeError(KindCaptchaStore, "take captcha", err)
	}
	got := strings.ToUpper(strings.TrimSpace(answer))
	if subtle.ConstantTimeCompare([]byte(got), []byte(strings.ToUpper(want))) != 1 {
		s.Observer.CaptchaChecked("wrong")
		return &Error{Kind: KindCaptchaWrong}
	}
	s.Observer.CaptchaChecked("passed")
	return nil
}
