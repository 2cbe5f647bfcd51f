package redisstore_test

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/testserver"
)

// send is a send with every part: four quotas, as the service takes, a
// budget, a code and a count.
func send(id string) account.SendStart {
	w := []account.Window{{Limit: 5, Period: time.Hour}, {Limit: 10, Period: 24 * time.Hour}}
	return account.SendStart{
		ID: id,
		Quotas: []account.QuotaTake{
			{Key: "send:number:+8613812345678", Windows: w}, {Key: "send:ip:192.0.2.1/32", Windows: w},
			{Key: "send:network:192.0.2.0/24", Windows: w}, {Key: "send:global", Windows: w},
		},
		Budget: account.BudgetSpend{Key: "sms:2026-11-25", Amount: 45_000, Limit: 1_000_000, TTL: 25 * time.Hour},
		Code:   account.CodeStart{Key: "register:+8613812345678", Hash: []byte("hash"), TTL: 5 * time.Minute, Interval: time.Minute},
		Count:  account.EventCount{Key: "fraud:sends:86", Period: 15 * time.Minute},
	}
}

// TestStartSendOneRoundTrip counts the requests that a send's store work
// sends Redis, through a proxy that counts what clients write: one.
func TestStartSendOneRoundTrip(t *testing.T) {
	t.Parallel()
	p := newCountingProxy(t, testserver.SharedRedis(t).Addr)
	s := open(t, "redis://"+p.addr(), prefix())
	ctx := t.Context()
	if out, err := s.StartSend(ctx, send("load the script")); err != nil || out.Refusal != account.SendAllowed {
		t.Fatalf("first send = %+v, %v", out, err)
	}
	// go-redis dials its idle connections in the background: let them settle.
	before := p.requests.Load()
	for settled := time.Now(); time.Since(settled) < 300*time.Millisecond; time.Sleep(20 * time.Millisecond) {
		if n := p.requests.Load(); n != before {
			before, settled = n, time.Now()
		}
	}
	st := send("counted")
	st.Code.Key = "register:+8613912345678" // a number without a resend window
	if out, err := s.StartSend(ctx, st); err != nil || out.Refusal != account.SendAllowed {
		t.Fatalf("send = %+v, %v", out, err)
	}
	if n := p.requests.Load() - before; n != 1 {
		t.Fatalf("a send sent Redis %d requests, want 1", n)
	}
}

// countingProxy forwards TCP connections to a server and counts the reads
// it makes from clients: on loopback, one per request a client sends and
// waits on.
type countingProxy struct {
	ln       net.Listener
	requests atomic.Int64
}

func newCountingProxy(t *testing.T, server string) *countingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{ln: ln}
	var conns sync.WaitGroup
	t.Cleanup(func() { ln.Close(); conns.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() { p.forward(c, server) })
		}
	}()
	return p
}

func (p *countingProxy) addr() string { return p.ln.Addr().String() }

func (p *countingProxy) forward(c net.Conn, server string) {
	defer c.Close()
	up, err := net.Dial("tcp", server)
	if err != nil {
		return
	}
	defer up.Close()
	go io.Copy(c, up)
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		p.requests.Add(1)
		if _, err := up.Write(buf[:n]); err != nil {
			return
		}
	}
}

// TestStartSendRetried: a StartSend that go-redis retries after its reply
// was lost finds its id recorded and reports the send as gone ahead, once:
// it neither counts twice nor reports the send's own resend window.
func TestStartSendRetried(t *testing.T) {
	t.Parallel()
	s := open(t, testserver.SharedRedis(t).URL(), prefix())
	st := send("retried")
	for range 2 {
		if out, err := s.StartSend(t.Context(), st); err != nil || out.Refusal != account.SendAllowed {
			t.Fatalf("send = %+v, %v; want it gone ahead", out, err)
		}
	}
	if n, err := s.Events(t.Context(), time.Minute, st.Count.Key); err != nil || n[0] != 1 {
		t.Fatalf("sends counted = %v, %v; want 1", n, err)
	}
	rest := st.Budget.Limit - st.Budget.Amount
	ok, err := s.Spend(t.Context(), st.Budget.Key, rest, st.Budget.Limit, time.Hour)
	if err != nil || !ok {
		t.Fatalf("the rest of the budget = %v, %v; want it spendable, the send charged once", ok, err)
	}
	if err := s.Unspend(t.Context(), st.Budget.Key, rest); err != nil {
		t.Fatal(err)
	}
	again := send("a new send")
	if out, err := s.StartSend(t.Context(), again); err != nil || out.Refusal != account.SendTooSoon {
		t.Fatalf("a new send for the number = %+v, %v; want too soon", out, err)
	}
}
