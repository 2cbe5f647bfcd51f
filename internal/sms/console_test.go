package sms_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/sms"
)

func registerMessage(to account.Phone) account.Message {
	return account.Message{
		To:      to,
		Purpose: account.PurposeRegister,
		Code:    "123456",
		TTL:     5 * time.Minute,
		Locale:  account.LocaleZH,
		Text:    "【Signup】您的注册验证码是123456,5分钟内有效。如非本人操作,请忽略本短信。",
	}
}

func TestConsoleWritesOneLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	c := sms.NewConsole(&buf)
	if err := c.Send(context.Background(), registerMessage("+8613812345678")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	want := "SMS to +8613812345678 (register, zh-CN): 【Signup】您的注册验证码是123456,5分钟内有效。如非本人操作,请忽略本短信。\n"
	if got := buf.String(); got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
}

func TestConsoleConcurrentLinesStayWhole(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer // not safe for concurrent use: the race detector checks the mutex
	c := sms.NewConsole(&buf)
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := c.Send(context.Background(), registerMessage(account.Phone(fmt.Sprintf("+86138000000%02d", i)))); err != nil {
				t.Errorf("Send %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("got %d lines, want %d", len(lines), n)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "SMS to +86138000000") || !strings.HasSuffix(l, "请忽略本短信。") {
			t.Errorf("mangled line %q", l)
		}
	}
}
