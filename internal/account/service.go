// Package account holds the sign-up domain: numbers, captchas, verification
// codes, users and sessions, and the rules that bind them. It knows nothing of
// HTTP, SQL or Redis; stores and senders are the small interfaces it declares.
package account

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"math/big"
	"time"
)

// Options are the rules' parameters. DefaultOptions gives the documented defaults.
type Options struct {
	Region string // region for numbers typed without a calling code
	// CallingCodes are the countries codes may be sent to ("86"); an SMS to
	// anywhere else is refused, since pumping fraud targets expensive
	// destinations (Twilio's geo permissions).
	CallingCodes       []string
	CaptchaTTL         time.Duration
	CodeTTL            time.Duration
	ResendInterval     time.Duration
	MaxCodeAttempts    int
	RevealRegistered   bool // answer DATAEXIST on send-code, as the original did
	SessionIdleTimeout time.Duration
	SessionMaxAge      time.Duration
	AppName            string
	Texts              *Texts // message texts; nil means the defaults for AppName
	Argon2             Argon2Params
	HashConcurrency    int
	HashMaxWait        time.Duration
	Login              LoginLimits
	SendLimits         SendLimits
	Budget             Budget
	Fraud              FraudSignal
	// VerifyFailures bound wrong codes per number across all its codes.
	VerifyFailures []Window
}

// LoginLimits throttle failed logins with a growing delay, in two separate
// buckets: one per account and one per client IP. Nothing locks for good.
type LoginLimits struct {
	AccountFree  int           // failures per account before delays start
	AccountDelay time.Duration // first delay, doubled for each further failure
	AccountTTL   time.Duration // failures are forgotten after this long without one
	IPFree       int
	IPDelay      time.Duration
	IPTTL        time.Duration
	MaxDelay     time.Duration
}

// DefaultOptions returns the defaults documented in the README.
func DefaultOptions() Options {
	return Options{
		Region:             "CN",
		CallingCodes:       []string{"86"},
		CaptchaTTL:         180 * time.Second,
		CodeTTL:            300 * time.Second,
		ResendInterval:     60 * time.Second,
		MaxCodeAttempts:    5,
		SessionIdleTimeout: 7 * 24 * time.Hour,
		SessionMaxAge:      30 * 24 * time.Hour,
		AppName:            "Signup",
		Argon2:             DefaultArgon2,
		HashConcurrency:    2,
		HashMaxWait:        2 * time.Second,
		SendLimits:         DefaultSendLimits(),
		Fraud:              FraudSignal{Window: 15 * time.Minute, MinSends: 100, MinRatio: 0.2},
		VerifyFailures:     []Window{{20, 24 * time.Hour}},
		Login: LoginLimits{
			AccountFree: 5, AccountDelay: 30 * time.Second, AccountTTL: 24 * time.Hour,
			IPFree: 100, IPDelay: time.Minute, IPTTL: time.Hour,
			MaxDelay: 15 * time.Minute,
		},
	}
}

// Deps are the service's collaborators.
type Deps struct {
	Users    UserStore
	Sessions SessionStore
	Captchas CaptchaStore
	Codes    CodeStore
	Failures FailureStore
	Quotas   QuotaStore
	Budgets  BudgetStore
	Events   EventCounter // for the fraud signal; nil turns it off
	Outbox   Outbox
	// Keys computes the password hashes; nil means in this process.
	Keys KeyDeriver
	// CodeOutbox, when set, starts codes and queues their messages in one
	// transaction, in place of Codes.StartCode and Outbox.Enqueue.
	CodeOutbox CodeOutbox
	// Sends, when set, does a send's quotas, budget, code and count at
	// once; nil means SendSteps over Quotas, Budgets, Codes and Events.
	Sends    SendStarter
	Secret   []byte                 // keys the code HMAC; at least 32 bytes
	Answer   func() (string, error) // makes captcha answers
	Clock    func() time.Time       // nil means time.Now
	Logger   *slog.Logger
	Observer Observer // nil means none
	// Checker, when set, makes and checks the codes (see CodeChecker); the
	// messages queued for code purposes then carry no code.
	Checker CodeChecker
}

// Service runs the sign-up flow.
type Service struct {
	Deps
	opts      Options
	fraud     fraudLog
	hasher    *hasher
	dummyHash string
}

// NewService returns a service with d and o.
func NewService(d Deps, o Options) *Service {
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Observer == nil {
		d.Observer = noObserver{}
	}
	if d.Sends == nil {
		d.Sends = SendSteps{Quotas: d.Quotas, Budgets: d.Budgets, Codes: d.Codes, Events: d.Events}
	}
	if o.Texts == nil {
		texts, err := NewTexts(o.AppName, nil)
		if err != nil {
			panic(err) // the default texts are valid for any app name NewTexts accepts
		}
		o.Texts = texts
	}
	h := newHasher(o.Argon2, o.HashConcurrency, o.HashMaxWait, d.Keys)
	return &Service{Deps: d, opts: o, hasher: h, dummyHash: h.hash("dummy password for unknown numbers")}
}

// Options returns the service's options.
func (s *Service) Options() Options { return s.opts }

// codeHash binds a code to its purpose and number, so a hash is useless
// anywhere else and a store dump reveals no code.
func (s *Service) codeHash(purpose string, p Phone, code string) []byte {
	m := hmac.New(sha256.New, s.Secret)
	fmt.Fprintf(m, "%s\x00%s\x00%s", purpose, p, code)
	return m.Sum(nil)
}

// newCode returns six uniformly distributed decimal digits from crypto/rand.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// NewSessionToken returns a fresh 256-bit session id, base64url-encoded.
func NewSessionToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// SessionIDHash is what a store keeps in place of a session id.
func SessionIDHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
