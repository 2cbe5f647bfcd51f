package web_test

import (
	"sync"
	"testing"
)

func (e *env) sendKeyed(mobile, id, key string) apiAnswer {
	e.t.Helper()
	return e.do(req{method: "GET", path: "/api/v1.0/sms_codes/" + mobile + "?image_code=" + answer + "&image_code_id=" + id,
		header: map[string]string{"Idempotency-Key": key}})
}

func TestIdempotencyKeyAnswersRepeatsLikeTheFirst(t *testing.T) {
	e := newEnv(t)
	e.openPage(e.client)
	id := newID()
	e.captcha(id)
	first := e.sendKeyed("13812345678", id, "retry-1")
	want(t, first, "0", "发送成功")
	// The captcha is spent and the resend window runs, yet a repeat with the
	// key answers as the first did, and sends nothing.
	for range 3 {
		if again := e.sendKeyed("13812345678", id, "retry-1"); again.Errno != first.Errno || again.Errmsg != first.Errmsg {
			t.Fatalf("repeat answered %+v, want %+v", again, first)
		}
	}
	e.sms.last(t, "+8613812345678")
	if n := len(e.sms.messages()); n != 1 {
		t.Fatalf("%d SMS for one keyed request, want 1", n)
	}
	// Without the key, the same request is a new one.
	want(t, e.sendCode("13812345678", id, answer), "4002", "已过期")
}

func TestIdempotencyKeyReusedForAnotherRequest(t *testing.T) {
	e := newEnv(t)
	e.openPage(e.client)
	id := newID()
	e.captcha(id)
	want(t, e.sendKeyed("13812345678", id, "k-2"), "0", "")
	want(t, e.sendKeyed("13812345679", id, "k-2"), "4103", "Idempotency-Key")
	want(t, e.sendKeyed("13812345679", id, "bad key!"), "4103", "Idempotency-Key格式错误")
}

func TestIdempotencyKeyConcurrentRepeats(t *testing.T) {
	e := newEnv(t)
	e.openPage(e.client)
	id := newID()
	e.captcha(id)
	var wg sync.WaitGroup
	answers := make(chan apiAnswer, 10)
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); answers <- e.sendKeyed("13812345678", id, "burst") }()
	}
	wg.Wait()
	close(answers)
	for a := range answers {
		if a.Errno != "0" {
			t.Fatalf("a concurrent repeat answered %+v, want the first answer (0)", a)
		}
	}
	e.sms.last(t, "+8613812345678")
	if n := len(e.sms.messages()); n != 1 {
		t.Fatalf("%d SMS for ten keyed repeats, want 1", n)
	}
}

func TestIdempotencyKeyForgetsRetryableFailures(t *testing.T) {
	e := newEnv(t)
	e.openPage(e.client)
	e.queue.Close() // queuing fails: DBERR, worth a retry
	id := newID()
	e.captcha(id)
	want(t, e.sendKeyed("13812345678", id, "k-4"), "4001", "")
	// Not remembered: the retry runs again (and meets the spent captcha).
	want(t, e.sendKeyed("13812345678", id, "k-4"), "4002", "")
}
