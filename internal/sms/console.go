// Package sms holds the account.Sender implementations: one file per provider.
package sms

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/signupd/signupd/internal/account"
)

// Console is the development sender: it writes each message, full number and
// code included, as one line to a writer. It is the delivery channel of the
// embedded default (the developer reads the code there), not a log, so the
// masking rules for logs do not apply to it.
type Console struct {
	mu sync.Mutex // one Write per line, so concurrent lines never interleave
	w  io.Writer
}

// NewConsole returns a Console that writes to w.
func NewConsole(w io.Writer) *Console {
	return &Console{w: w}
}

// Send writes one line such as
// "SMS to +8613812345678 (register, zh-CN): 【Signup】您的注册验证码是123456,...".
func (c *Console) Send(ctx context.Context, m account.Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sms: console: %w", err)
	}
	line := fmt.Sprintf("SMS to %s (%s, %s): %s\n", m.To, m.Purpose, m.Locale, m.Text)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.w, line); err != nil {
		return fmt.Errorf("sms: console: %w", err)
	}
	return nil
}
