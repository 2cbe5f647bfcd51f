package delivery

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/signupd/signupd/internal/account"
)

// Provider sends one message through an SMS platform. A refusal that must
// not be retried satisfies the permanent test the Router was given.
type Provider interface {
	Send(ctx context.Context, m account.Message) error
}

// Named is a provider with the name used in routes, logs and metrics.
type Named struct {
	Name string
	Provider
}

// Router picks the providers for a number: an ordered list per country
// calling code, and a default list for every other code. A transient failure
// of one provider moves the message to the next in its list.
type Router struct {
	byCode   map[string][]Named // calling code without "+", e.g. "86"
	fallback []Named
}

// NewRouter returns a router with the default list fallback and the lists
// byCode for particular calling codes.
func NewRouter(fallback []Named, byCode map[string][]Named) *Router {
	return &Router{fallback: fallback, byCode: byCode}
}

// Route returns the providers for p, in order; nil means none serves it.
func (r *Router) Route(p account.Phone) []Named {
	digits := strings.TrimPrefix(string(p), "+")
	// Calling codes are prefix-free and at most three digits long.
	for n := 1; n <= 3 && n <= len(digits); n++ {
		if list, ok := r.byCode[digits[:n]]; ok {
			return list
		}
	}
	return r.fallback
}

func msDuration(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

// ValidCallingCode reports whether s looks like a calling code ("86", "1").
func ValidCallingCode(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && n < 1000 && !strings.HasPrefix(s, "0")
}
