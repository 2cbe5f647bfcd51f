package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Message purposes.
const (
	PurposeRegister          = "register"
	PurposeAlreadyRegistered = "already_registered"
)

// Message is one SMS to send. Text is complete and contains nothing the user
// typed but the number it goes to.
type Message struct {
	// ID names the message for its whole life: every retry reuses it, and
	// providers that accept an idempotency key get it, so a retry after a
	// lost answer does not send twice.
	ID      string
	To      Phone
	Purpose string
	Code    string // empty for notices
	TTL     time.Duration
	Locale  string // "zh-CN" or "en"
	Text    string
}

// LogValue keeps the code and the full number out of logs.
func (m Message) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", m.ID), slog.Any("to", m.To), slog.String("purpose", m.Purpose), slog.String("locale", m.Locale))
}

// Outbox accepts messages for delivery. Once Enqueue returns nil the message
// is queued durably: it will be delivered, or given up on only when it can
// never be (a permanent refusal, or its code expired first).
type Outbox interface {
	Enqueue(ctx context.Context, m Message) error
}

// ErrUndeliverable is wrapped by an Outbox that has no provider for a number.
var ErrUndeliverable = errors.New("account: no SMS provider serves this number")

// Locales for messages and answers.
const (
	LocaleZH = "zh-CN"
	LocaleEN = "en"
)

func messageText(app, purpose, locale, code string, ttl time.Duration) string {
	minutes := int(ttl / time.Minute)
	switch {
	case purpose == PurposeRegister && locale == LocaleEN:
		return fmt.Sprintf("[%s] Your sign-up code is %s. It expires in %d minutes. If you did not ask for it, ignore this message.", app, code, minutes)
	case purpose == PurposeRegister:
		return fmt.Sprintf("【%s】您的注册验证码是%s,%d分钟内有效。如非本人操作,请忽略本短信。", app, code, minutes)
	case locale == LocaleEN:
		return fmt.Sprintf("[%s] Someone asked to sign up with this number, which already has an account. Log in instead; if it was not you, ignore this message.", app)
	default:
		return fmt.Sprintf("【%s】有人尝试用本号码注册,但本号码已有账号,请直接登录。如非本人操作,请忽略本短信。", app)
	}
}
