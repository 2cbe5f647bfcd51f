package account

import (
	"context"
	"sync"
	"time"
)

// FraudSignal watches, per country calling code, how many code sends end in
// a completed verification. SMS pumping sends codes nobody enters, so the
// ratio collapses; Twilio and Telnyx name this the first sign of it.
type FraudSignal struct {
	Window   time.Duration // the sliding period (15 min)
	MinSends int           // sends in the period before the ratio means anything (100)
	MinRatio float64       // alert below this ratio of verifications to sends (0.2)
	Tighten  bool          // while alerting, halve the per-IP and per-network limits for that country
}

// fraudLog keeps the alert line to once a minute per country.
type fraudLog struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (s *Service) fraudKeys(code string) (sends, verified string) {
	return "fraud:sends:" + code, "fraud:verified:" + code
}

// fraudAlert reports whether the country's ratio has collapsed, telling the
// observer either way. A store failure is logged and read as no alert: the
// signal must not stop sends the limits allow.
func (s *Service) fraudAlert(ctx context.Context, code string) bool {
	f := s.opts.Fraud
	if f.Window <= 0 || s.Events == nil {
		return false
	}
	sendsKey, verifiedKey := s.fraudKeys(code)
	counts, err := s.Events.Events(ctx, f.Window, sendsKey, verifiedKey)
	if err != nil {
		s.Logger.ErrorContext(ctx, "read fraud signal", "err", err)
		return false
	}
	sends, verified := counts[0], counts[1]
	ratio := 1.0
	if sends > 0 {
		ratio = float64(verified) / float64(sends)
	}
	alert := sends >= f.MinSends && ratio < f.MinRatio
	s.Observer.Fraud(code, ratio, alert)
	if alert && s.fraudLogDue(code) {
		s.Logger.ErrorContext(ctx, "ALERT: verifications collapsed against sends; possible SMS pumping",
			"calling_code", code, "sends", sends, "verified", verified, "tightened", f.Tighten)
	}
	return alert
}

func (s *Service) fraudLogDue(code string) bool {
	s.fraud.mu.Lock()
	defer s.fraud.mu.Unlock()
	now := s.Clock()
	if now.Sub(s.fraud.last[code]) < time.Minute {
		return false
	}
	if s.fraud.last == nil {
		s.fraud.last = map[string]time.Time{}
	}
	s.fraud.last[code] = now
	return true
}

// countFraudEvent records a send or a verification for the signal.
func (s *Service) countFraudEvent(ctx context.Context, key string) {
	if s.opts.Fraud.Window <= 0 || s.Events == nil {
		return
	}
	if _, err := s.Events.CountEvent(ctx, key, NewSessionToken(), s.opts.Fraud.Window); err != nil {
		s.Logger.ErrorContext(ctx, "count fraud signal", "err", err)
	}
}

// tightened halves every window's limit, keeping at least one.
func tightened(ws []Window) []Window {
	out := make([]Window, len(ws))
	for i, w := range ws {
		out[i] = Window{Limit: max(1, w.Limit/2), Period: w.Period}
	}
	return out
}
