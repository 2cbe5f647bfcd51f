// Package loadgen drives the sign-up API of a running signupd the way its
// front end does, from many clients at once, and reports throughput and
// latency per step. It is the tool behind the README's Performance section.
//
// The target must answer every captcha with a known answer
// (SIGNUP_TEST_CAPTCHA_ANSWER) and, for the modes that need codes, send its
// SMS to the webhook receiver the load generator runs (SIGNUP_SMS_PROVIDER=
// webhook pointing at Config.WebhookAddr).
package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The modes, from the cheapest step to the whole sign-up.
const (
	ModeCaptcha = "captcha" // draw one captcha
	ModeSMS     = "sms"     // captcha, send-code, and the code's arrival at the webhook
	ModeFlow    = "flow"    // page, captcha, send-code, code, register, session check
	ModeLogin   = "login"   // login and session check with accounts made beforehand
)

// Modes lists the modes Run accepts.
var Modes = []string{ModeCaptcha, ModeSMS, ModeFlow, ModeLogin}

// Config is one load run.
type Config struct {
	Target        string        // base URL of the service, e.g. http://127.0.0.1:8080
	Mode          string        // one of Modes
	Clients       int           // concurrent clients, each running flows back to back
	Duration      time.Duration // how long new flows start; flows under way then finish
	CaptchaAnswer string        // the target's SIGNUP_TEST_CAPTCHA_ANSWER
	WebhookAddr   string        // where the SMS webhook receiver listens (sms, flow, login)
	WebhookSecret []byte        // the target's SIGNUP_SMS_WEBHOOK_SECRET
	// SpreadClients sends each flow with its own X-Forwarded-For address
	// from 10.0.0.0/8, for a target that trusts the load generator as a
	// proxy: per-client limits then see many clients, as they would in
	// production.
	SpreadClients bool
	Password      string        // password of the accounts made
	CodeWait      time.Duration // how long a code may take to reach the webhook
	// Rate, when positive, starts that many flows per second in all, on a
	// fixed schedule, instead of each client starting its next flow as soon
	// as the last ended: latency is then measured at a given load, and a
	// flow's time counts from when it was due, so a slow target cannot
	// hide its delays by slowing the clients down.
	Rate float64
}

// Run drives the target until cfg.Duration has passed and returns what it
// measured. Errors of single requests are counted in the report, not
// returned; the error is for a run that could not start.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if !slices.Contains(Modes, cfg.Mode) {
		return nil, fmt.Errorf("loadgen: unknown mode %q (want one of %v)", cfg.Mode, Modes)
	}
	if cfg.Clients < 1 || cfg.Duration <= 0 || cfg.Rate < 0 {
		return nil, errors.New("loadgen: want at least 1 client, a positive duration and a rate of 0 or more")
	}
	if cfg.Password == "" {
		cfg.Password = "load test horse 7"
	}
	if cfg.CodeWait <= 0 {
		cfg.CodeWait = 10 * time.Second
	}
	transport := &http.Transport{
		MaxIdleConns:        2 * cfg.Clients,
		MaxIdleConnsPerHost: 2 * cfg.Clients,
		IdleConnTimeout:     30 * time.Second,
		// A captcha (5.4 KB) in one read rather than two: medians of six
		// alternating runs, 76 µs of the load tool's CPU a captcha, not 79.
		ReadBufferSize: 16 << 10,
	}
	defer transport.CloseIdleConnections()
	g := &generator{
		cfg:     cfg,
		http:    &http.Client{Transport: transport, Timeout: 30 * time.Second},
		report:  newReport(cfg),
		numbers: randomUint64() % numberSpace,
	}
	if cfg.Mode != ModeCaptcha {
		inbox, err := listenWebhook(cfg.WebhookAddr, cfg.WebhookSecret)
		if err != nil {
			return nil, err
		}
		defer inbox.Close()
		g.inbox = inbox
	}
	var accounts []account
	if cfg.Mode == ModeLogin {
		var err error
		if accounts, err = g.makeAccounts(ctx); err != nil {
			return nil, err
		}
		// Logins need no codes: the receiver's address is free for another
		// run, such as one sending codes beside a flood of logins.
		g.inbox.Close()
		g.inbox = nil
	}

	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	start := time.Now()
	due := schedule(runCtx, cfg.Rate, cfg.Clients)
	var wg sync.WaitGroup
	for i := range cfg.Clients {
		wg.Go(func() {
			rec := g.report.recorder()
			for t0 := range due {
				if t0.IsZero() {
					t0 = time.Now()
				}
				var ok bool
				switch cfg.Mode {
				case ModeCaptcha:
					ok = g.captchaFlow(ctx, rec)
				case ModeSMS:
					ok = g.smsFlow(ctx, rec)
				case ModeFlow:
					ok = g.signUpFlow(ctx, rec)
				case ModeLogin:
					ok = g.loginFlow(ctx, rec, accounts[i])
				}
				if ok {
					rec.add(stepFlow, time.Since(t0))
				}
			}
			g.report.merge(rec)
		})
	}
	wg.Wait()
	g.report.Elapsed = time.Since(start)
	if g.inbox != nil {
		g.report.addErrors("webhook", g.inbox.stray())
	}
	return g.report, nil
}

// schedule yields the times flows are due until ctx ends: with a rate, one
// every 1/rate seconds (late ones as soon as a client is free); without,
// the zero time, for "now", whenever one of the clients asks.
func schedule(ctx context.Context, rate float64, clients int) <-chan time.Time {
	due := make(chan time.Time, clients)
	go func() {
		defer close(due)
		if rate <= 0 {
			for {
				select {
				case due <- time.Time{}:
				case <-ctx.Done():
					return
				}
			}
		}
		interval := time.Duration(float64(time.Second) / rate)
		next := time.Now()
		for {
			select {
			case <-time.After(time.Until(next)):
			case <-ctx.Done():
				return
			}
			select {
			case due <- next:
			case <-ctx.Done():
				return
			}
			next = next.Add(interval)
		}
	}()
	return due
}

type generator struct {
	cfg     Config
	http    *http.Client
	report  *Report
	inbox   *inbox
	numbers uint64 // where this run's mobile numbers start
	next    atomic.Uint64
}

// numberSpace is how many numbers a run draws from: 139 followed by 8
// digits, from a random start, so that runs against one database rarely
// meet a number an earlier run registered.
const numberSpace = 100_000_000

func (g *generator) newMobile() string {
	return fmt.Sprintf("139%08d", (g.numbers+g.next.Add(1))%numberSpace)
}

// clientAddr is a random address in 10.0.0.0/8.
func clientAddr() string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(randomUint64()))
	b[0] = 10
	return netip.AddrFrom4(b).String()
}

func randomUint64() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])
}
