package accounttest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
)

// SendStore is a SendStarter with the stores its parts land in, through
// which the contract checks what a StartSend recorded.
type SendStore interface {
	account.SendStarter
	KVStore
}

// TestSendStarter runs the contract every SendStarter must pass: a send
// goes ahead with all of its parts recorded, or with none of them.
func TestSendStarter(t *testing.T, open func(t *testing.T) SendStore) {
	t.Run("send records every part", func(t *testing.T) { t.Parallel(); testSendRecords(t, open(t)) })
	t.Run("send refused by a quota", func(t *testing.T) { t.Parallel(); testSendQuotaFull(t, open(t)) })
	t.Run("send over budget", func(t *testing.T) { t.Parallel(); testSendOverBudget(t, open(t)) })
	t.Run("send too soon", func(t *testing.T) { t.Parallel(); testSendTooSoon(t, open(t)) })
	t.Run("send undone", func(t *testing.T) { t.Parallel(); testSendUndo(t, open(t)) })
	t.Run("send without budget, code or count", func(t *testing.T) { t.Parallel(); testSendBare(t, open(t)) })
	t.Run("one send per window under contention", func(t *testing.T) { t.Parallel(); testSendRace(t, open(t)) })
}

// sendStart is a send of one code for number n: a quota of its own that
// allows one send a minute, an address quota allowing two, a budget of
// 10 with a price of 10, a code with a minute's resend window, and a count.
func sendStart(n, id string) account.SendStart {
	return account.SendStart{
		ID: id,
		Quotas: []account.QuotaTake{
			{Key: "number:" + n, Windows: []account.Window{{Limit: 1, Period: time.Minute}}},
			{Key: "ip:" + n, Windows: []account.Window{{Limit: 2, Period: time.Minute}}},
		},
		Budget: account.BudgetSpend{Key: "budget:" + n, Amount: 10, Limit: 10, TTL: time.Hour},
		Code:   account.CodeStart{Key: "code:" + n, Hash: hash("123456"), TTL: time.Minute, Interval: time.Minute},
		Count:  account.EventCount{Key: "sends:" + n, Period: time.Minute},
	}
}

func mustSend(t *testing.T, s SendStore, st account.SendStart) {
	t.Helper()
	out, err := s.StartSend(ctx, st)
	if err != nil || out != (account.SendOutcome{}) {
		t.Fatalf("start send %s = %+v, %v; want it to go ahead", st.ID, out, err)
	}
}

// parts reports which parts of st the store holds: the quota take of
// st.ID in each quota, the budget spent, the live code, the count.
type parts struct {
	quotas       []bool
	spent, code  bool
	counted      int
	resendWindow bool
}

func sendParts(t *testing.T, s SendStore, st account.SendStart) parts {
	t.Helper()
	var p parts
	for _, q := range st.Quotas {
		// Refused by a window of one while the quota holds any event.
		probe := st.ID + "-probe"
		wait, err := s.Take(ctx, q.Key, probe, []account.Window{{Limit: 1, Period: time.Minute}})
		if err != nil {
			t.Fatal(err)
		}
		if wait == 0 {
			if err := s.Refund(ctx, q.Key, probe); err != nil {
				t.Fatal(err)
			}
		}
		p.quotas = append(p.quotas, wait > 0)
	}
	fits, err := s.Spend(ctx, st.Budget.Key, 1, st.Budget.Limit, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if p.spent = !fits; fits {
		if err := s.Unspend(ctx, st.Budget.Key, 1); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.Events(ctx, time.Minute, st.Count.Key)
	if err != nil {
		t.Fatal(err)
	}
	p.counted = n[0]
	// Last, as a check consumes the code.
	res, err := s.CheckCode(ctx, st.Code.Key, st.Code.Hash, 5)
	if err != nil {
		t.Fatal(err)
	}
	p.code = res == account.CodeMatched
	wait, err := s.StartCode(ctx, st.Code.Key, hash("000000"), time.Minute, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if p.resendWindow = wait > 0; !p.resendWindow {
		if err := s.CancelCode(ctx, st.Code.Key); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func wantParts(t *testing.T, got parts, all bool) {
	t.Helper()
	want := parts{quotas: []bool{all, all}, spent: all, code: all, resendWindow: all}
	if all {
		want.counted = 1
	}
	if !slices.Equal(got.quotas, want.quotas) || got.spent != want.spent || got.code != want.code ||
		got.counted != want.counted || got.resendWindow != want.resendWindow {
		t.Fatalf("parts recorded: %+v; want %+v", got, want)
	}
}

func testSendRecords(t *testing.T, s SendStore) {
	st := sendStart("1", "send-1")
	mustSend(t, s, st)
	wantParts(t, sendParts(t, s, st), true)
}

func testSendQuotaFull(t *testing.T, s SendStore) {
	st := sendStart("2", "send-2")
	// The address quota (the second) holds two other sends already.
	for _, id := range []string{"other-a", "other-b"} {
		if wait, err := s.Take(ctx, st.Quotas[1].Key, id, st.Quotas[1].Windows); err != nil || wait != 0 {
			t.Fatalf("take %s = %v, %v", id, wait, err)
		}
	}
	out, err := s.StartSend(ctx, st)
	if err != nil || out.Refusal != account.SendQuotaFull || out.Quota != 1 || out.Wait <= 0 || out.Wait > time.Minute {
		t.Fatalf("start send = %+v, %v; want the second quota full for up to a minute", out, err)
	}
	for _, id := range []string{"other-a", "other-b"} {
		s.Refund(ctx, st.Quotas[1].Key, id)
	}
	wantParts(t, sendParts(t, s, st), false)
}

func testSendOverBudget(t *testing.T, s SendStore) {
	st := sendStart("3", "send-3")
	if ok, err := s.Spend(ctx, st.Budget.Key, 1, st.Budget.Limit, time.Hour); err != nil || !ok {
		t.Fatalf("spend = %v, %v", ok, err)
	}
	out, err := s.StartSend(ctx, st)
	if err != nil || out.Refusal != account.SendOverBudget {
		t.Fatalf("start send = %+v, %v; want over budget", out, err)
	}
	if err := s.Unspend(ctx, st.Budget.Key, 1); err != nil {
		t.Fatal(err)
	}
	wantParts(t, sendParts(t, s, st), false)
}

func testSendTooSoon(t *testing.T, s SendStore) {
	st := sendStart("4", "send-4")
	if wait, err := s.StartCode(ctx, st.Code.Key, hash("654321"), time.Minute, 300*time.Millisecond); err != nil || wait != 0 {
		t.Fatalf("start code = %v, %v", wait, err)
	}
	out, err := s.StartSend(ctx, st)
	if err != nil || out.Refusal != account.SendTooSoon || out.Wait <= 0 || out.Wait > 300*time.Millisecond {
		t.Fatalf("start send = %+v, %v; want too soon, waiting up to 300ms", out, err)
	}
	check(t, s, st.Code.Key, "654321", account.CodeMatched) // the older code stands
	time.Sleep(400 * time.Millisecond)
	wantParts(t, sendParts(t, s, st), false)
}

func testSendUndo(t *testing.T, s SendStore) {
	st := sendStart("5", "send-5")
	mustSend(t, s, st)
	if err := s.UndoSend(ctx, st); err != nil {
		t.Fatal(err)
	}
	wantParts(t, sendParts(t, s, st), false)
	mustSend(t, s, sendStart("5", "send-5-again")) // nothing is left to refuse it
}

func testSendBare(t *testing.T, s SendStore) {
	st := account.SendStart{ID: "bare", Quotas: []account.QuotaTake{{Key: "bare", Windows: []account.Window{{Limit: 1, Period: time.Minute}}}}}
	mustSend(t, s, st)
	out, err := s.StartSend(ctx, account.SendStart{ID: "bare-2", Quotas: st.Quotas})
	if err != nil || out.Refusal != account.SendQuotaFull || out.Quota != 0 {
		t.Fatalf("second bare send = %+v, %v; want its quota full", out, err)
	}
	if err := s.UndoSend(ctx, st); err != nil {
		t.Fatal(err)
	}
	mustSend(t, s, account.SendStart{ID: "bare-3", Quotas: st.Quotas})
	mustSend(t, s, account.SendStart{ID: "no quotas"})
}

// testSendRace sends for one number from many goroutines at once, each
// with quotas roomy enough for all: the resend window lets one alone go
// ahead, and the others leave nothing behind.
func testSendRace(t *testing.T, s SendStore) {
	base := sendStart("6", "")
	base.Quotas[0].Windows = []account.Window{{Limit: 100, Period: time.Minute}}
	base.Quotas[1].Windows = []account.Window{{Limit: 100, Period: time.Minute}}
	base.Budget.Limit = 1000
	sent := parallel(50, func(i int) bool {
		st := base
		st.ID = fmt.Sprint("race-", i)
		out, err := s.StartSend(ctx, st)
		return err == nil && out.Refusal == account.SendAllowed
	})
	if sent != 1 {
		t.Fatalf("%d sends went ahead, want exactly 1", sent)
	}
	for _, q := range base.Quotas {
		if wait, err := s.Take(ctx, q.Key, "probe", []account.Window{{Limit: 1, Period: time.Minute}}); err != nil || wait == 0 {
			t.Fatalf("quota %s holds no send (probe = %v, %v)", q.Key, wait, err)
		}
		if wait, err := s.Take(ctx, q.Key, "probe-2", []account.Window{{Limit: 2, Period: time.Minute}}); err != nil || wait != 0 {
			t.Fatalf("quota %s holds more than the one send (probe = %v, %v)", q.Key, wait, err)
		}
	}
	if ok, _ := s.Spend(ctx, base.Budget.Key, 990, base.Budget.Limit, time.Hour); !ok {
		t.Fatal("more than one send was charged to the budget")
	}
	if n, _ := s.Events(ctx, time.Minute, base.Count.Key); !slices.Equal(n, []int{1}) {
		t.Fatalf("%v sends counted, want 1", n)
	}
}
