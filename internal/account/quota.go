package account

import (
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"slices"
	"time"
)

// SendLimits bound how many codes are sent, in sliding windows, per number,
// per client IP, per network (IPv4 /24, IPv6 /64) and in all. Every limit
// holds even for a solved captcha, and for registered and new numbers alike.
type SendLimits struct {
	PerNumber  []Window
	PerIP      []Window
	PerNetwork []Window
	Global     []Window // the service's ceiling, e.g. SMS per minute
}

// DefaultSendLimits are the documented defaults (SECURITY rows 9-11).
func DefaultSendLimits() SendLimits {
	return SendLimits{
		PerNumber:  []Window{{5, time.Hour}, {10, 24 * time.Hour}},
		PerIP:      []Window{{10, time.Hour}, {30, 24 * time.Hour}},
		PerNetwork: []Window{{50, 24 * time.Hour}},
		Global:     []Window{{600, time.Minute}},
	}
}

// quota is one limit a send must pass.
type quota struct {
	key     string
	windows []Window
	refusal Kind
	metric  string
}

func (s *Service) sendQuotas(phone Phone, clientIP string, tighten bool) []quota {
	l := s.opts.SendLimits
	if tighten {
		l.PerIP, l.PerNetwork = tightened(l.PerIP), tightened(l.PerNetwork)
	}
	q := []quota{{"send:number:" + string(phone), l.PerNumber, KindNumberQuota, "send_number"}}
	if ip, ok := clientPrefix(clientIP, 32, 128); ok {
		network, _ := clientPrefix(clientIP, 24, 64)
		q = append(q,
			quota{"send:ip:" + ip.String(), l.PerIP, KindIPQuota, "send_ip"},
			quota{"send:network:" + network.String(), l.PerNetwork, KindIPQuota, "send_network"})
	}
	q = append(q, quota{"send:global", l.Global, KindSendsPaused, "send_global"})
	return slices.DeleteFunc(q, func(q quota) bool { return len(q.windows) == 0 }) // a limit turned off
}

// newEventID returns a fresh id for one event in quotas and counts.
func newEventID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// clientPrefix is the network of clientIP with v4Bits or v6Bits of prefix.
func clientPrefix(clientIP string, v4Bits, v6Bits int) (netip.Prefix, bool) {
	ip, err := netip.ParseAddr(clientIP)
	if err != nil {
		return netip.Prefix{}, false
	}
	bits := v6Bits
	if ip = ip.Unmap(); ip.Is4() {
		bits = v4Bits
	}
	p, _ := ip.Prefix(bits)
	return p, true
}

// clientNetwork is the unit a login IP limit counts: the address for IPv4,
// its /64 for IPv6, where one subscriber holds a whole /64 to rotate through.
func clientNetwork(clientIP string) string {
	p, ok := clientPrefix(clientIP, 32, 64)
	if !ok {
		return clientIP
	}
	return p.String()
}
