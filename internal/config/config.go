// Package config loads the service's settings from the environment and from
// flags that mirror it, and validates them once at start.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of signupd. Load fills it; nothing reads the
// environment afterwards.
type Config struct {
	Addr             string
	DebugAddr        string
	DatabaseURL      string
	RedisURL         string
	RedisTimeout     time.Duration
	Secret           string
	SMSProviders     []string                     // the default route, in order
	SMSRoutes        map[string][]string          // calling code -> providers, in order
	SMS              map[string]map[string]string // provider -> FIELD -> value, for providers in use
	SMSTexts         map[string]string            // "purpose/locale" -> text template, where the operator set one
	SMSTimeout       time.Duration
	SMSWorkers       int
	TestCaptcha      string
	WebRoot          string
	WebRootCSP       string
	RevealRegistered bool
	AppName          string
	Region           string
	CallingCodes     []string
	LogFormat        string
	LogLevel         string
	CookieSecure     string
	TrustedProxies   []netip.Prefix
	CaptchaTTL       time.Duration
	CodeTTL          time.Duration
	ResendInterval   time.Duration
	CodeMaxAttempts  int
	SessionIdle      time.Duration
	SessionMaxAge    time.Duration
	Argon2MemoryKiB  int
	Argon2Time       int
	HashConcurrency  int
	HashProcess      bool
	ShutdownTimeout  time.Duration
	LimitNumberHour  int
	LimitNumberDay   int
	LimitIPHour      int
	LimitIPDay       int
	LimitNetworkDay  int
	SMSMaxPerMinute  int
	LimitVerifyDay   int
	LoginAccountFree int
	LoginIPFree      int
	LoginAccountWait time.Duration
	LoginIPWait      time.Duration
	LoginMaxWait     time.Duration
	SMSDailyBudget   int64            // millionths of the currency; 0 means none
	SMSPrices        map[string]int64 // calling code or "*" -> price in millionths
	SMSBudgetZone    *time.Location
	FraudWindow      time.Duration
	FraudMinSends    int
	FraudMinRatio    float64
	FraudTighten     bool
}

// setting is one documented variable: its environment name, the flag that
// mirrors it (empty for secrets, which must not show in process lists), its
// default and where it goes.
type setting struct {
	env, flag, def, help string
	set                  func(c *Config, v string) error
}

func settings() []setting {
	return []setting{
		{"SIGNUP_ADDR", "addr", "127.0.0.1:8080", "listen address host:port", str(func(c *Config) *string { return &c.Addr })},
		{"SIGNUP_DEBUG_ADDR", "debug-addr", "", "serve Go's pprof profiles on this loopback host:port (off when empty)", str(func(c *Config) *string { return &c.DebugAddr })},
		{"SIGNUP_DATABASE_URL", "database-url", "sqlite:signup.db", "users and sessions: sqlite:<path> or postgres://...", str(func(c *Config) *string { return &c.DatabaseURL })},
		{"SIGNUP_REDIS_URL", "redis-url", "", "captchas, codes and counters in Redis (redis://, rediss://, redis-cluster://, redis-sentinel://); in process memory when unset", str(func(c *Config) *string { return &c.RedisURL })},
		{"SIGNUP_SECRET", "", "", "server secret (>= 32 characters); generated and kept in the database when unset", str(func(c *Config) *string { return &c.Secret })},
		{"SIGNUP_REDIS_TIMEOUT", "redis-timeout", "500ms", "Redis read and write timeout (dial and pool waits get twice as long)", dur(func(c *Config) *time.Duration { return &c.RedisTimeout })},
		{"SIGNUP_SMS_PROVIDER", "sms-provider", "console", "SMS providers to try in order: console, webhook, aliyun, tencent, twilio, twilio_verify, ronglian", smsProviders},
		{"SIGNUP_SMS_ROUTES", "sms-routes", "", "per calling code, providers in order, e.g. 86=tencent,aliyun;1=twilio (others use SIGNUP_SMS_PROVIDER)", smsRoutes},
		{"SIGNUP_SMS_TIMEOUT", "sms-timeout", "5s", "timeout of one SMS provider call", dur(func(c *Config) *time.Duration { return &c.SMSTimeout })},
		{"SIGNUP_SMS_WORKERS", "sms-workers", "8", "SMS sends in flight per instance", integer(func(c *Config) *int { return &c.SMSWorkers })},
		{"SIGNUP_TEST_CAPTCHA_ANSWER", "test-captcha-answer", "", "fixed captcha answer, for end-to-end and load tests only", str(func(c *Config) *string { return &c.TestCaptcha })},
		{"SIGNUP_WEB_ROOT", "web-root", "", "serve this folder's html/ and static/ instead of the built-in pages", str(func(c *Config) *string { return &c.WebRoot })},
		{"SIGNUP_WEB_ROOT_CSP", "web-root-csp", "frame-ancestors 'none'; object-src 'none'; base-uri 'self'", "Content-Security-Policy of the SIGNUP_WEB_ROOT pages (the built-in pages always get a strict one)", str(func(c *Config) *string { return &c.WebRootCSP })},
		{"SIGNUP_REVEAL_REGISTERED", "reveal-registered", "false", "send-code answers DATAEXIST for registered numbers, as the original did", boolean(func(c *Config) *bool { return &c.RevealRegistered })},
		{"SIGNUP_APP_NAME", "app-name", "Signup", "the app name in SMS texts (1-20 characters, no brackets)", str(func(c *Config) *string { return &c.AppName })},
		{"SIGNUP_ALLOWED_CALLING_CODES", "allowed-calling-codes", "86", "country calling codes SMS codes may be sent to, comma-separated (e.g. 86,852,853)", callingCodes},
		{"SIGNUP_DEFAULT_REGION", "default-region", "CN", "region of numbers typed without a calling code", str(func(c *Config) *string { return &c.Region })},
		{"SIGNUP_LOG_FORMAT", "log-format", "text", "text | json", str(func(c *Config) *string { return &c.LogFormat })},
		{"SIGNUP_LOG_LEVEL", "log-level", "info", "debug | info | warn | error", str(func(c *Config) *string { return &c.LogLevel })},
		{"SIGNUP_COOKIE_SECURE", "cookie-secure", "auto", "auto (Secure when the request came over TLS) | always | never", str(func(c *Config) *string { return &c.CookieSecure })},
		{"SIGNUP_TRUSTED_PROXIES", "trusted-proxies", "", "comma-separated CIDRs whose X-Forwarded-For and X-Forwarded-Proto are believed", prefixes},
		{"SIGNUP_CAPTCHA_TTL", "captcha-ttl", "180s", "captcha lifetime", dur(func(c *Config) *time.Duration { return &c.CaptchaTTL })},
		{"SIGNUP_CODE_TTL", "code-ttl", "300s", "SMS code lifetime", dur(func(c *Config) *time.Duration { return &c.CodeTTL })},
		{"SIGNUP_RESEND_INTERVAL", "resend-interval", "60s", "least time between two codes to one number", dur(func(c *Config) *time.Duration { return &c.ResendInterval })},
		{"SIGNUP_CODE_MAX_ATTEMPTS", "code-max-attempts", "5", "wrong guesses that void a code", integer(func(c *Config) *int { return &c.CodeMaxAttempts })},
		{"SIGNUP_SESSION_IDLE_TIMEOUT", "session-idle-timeout", "168h", "a session unused this long ends", dur(func(c *Config) *time.Duration { return &c.SessionIdle })},
		{"SIGNUP_SESSION_MAX_AGE", "session-max-age", "720h", "a session ends this long after login, used or not", dur(func(c *Config) *time.Duration { return &c.SessionMaxAge })},
		{"SIGNUP_ARGON2_MEMORY_KIB", "argon2-memory-kib", "19456", "argon2id memory per hash (KiB; OWASP minimum 19456)", integer(func(c *Config) *int { return &c.Argon2MemoryKiB })},
		{"SIGNUP_ARGON2_TIME", "argon2-time", "2", "argon2id passes (OWASP minimum 2)", integer(func(c *Config) *int { return &c.Argon2Time })},
		{"SIGNUP_HASH_CONCURRENCY", "hash-concurrency", strconv.Itoa(runtime.GOMAXPROCS(0)), "password hashes computed at once (default: one per CPU)", integer(func(c *Config) *int { return &c.HashConcurrency })},
		{"SIGNUP_HASH_PROCESS", "hash-process", "true", "compute password hashes in a child process at the lowest CPU priority, so that a flood of logins cannot slow captchas and sends; false hashes in the service's process (then set SIGNUP_HASH_CONCURRENCY to half the CPUs)", boolean(func(c *Config) *bool { return &c.HashProcess })},
		{"SIGNUP_LIMIT_NUMBER_PER_HOUR", "limit-number-per-hour", "5", "codes one number may get in any hour", integer(func(c *Config) *int { return &c.LimitNumberHour })},
		{"SIGNUP_LIMIT_NUMBER_PER_DAY", "limit-number-per-day", "10", "codes one number may get in any 24 hours", integer(func(c *Config) *int { return &c.LimitNumberDay })},
		{"SIGNUP_LIMIT_IP_PER_HOUR", "limit-ip-per-hour", "10", "codes one client IP may ask for in any hour", integer(func(c *Config) *int { return &c.LimitIPHour })},
		{"SIGNUP_LIMIT_IP_PER_DAY", "limit-ip-per-day", "30", "codes one client IP may ask for in any 24 hours", integer(func(c *Config) *int { return &c.LimitIPDay })},
		{"SIGNUP_LIMIT_NETWORK_PER_DAY", "limit-network-per-day", "50", "codes one IPv4 /24 or IPv6 /64 may ask for in any 24 hours", integer(func(c *Config) *int { return &c.LimitNetworkDay })},
		{"SIGNUP_LIMIT_VERIFY_FAILURES_PER_DAY", "limit-verify-failures-per-day", "20", "wrong codes one number may see in any 24 hours, across all its codes; then checks pause", integer(func(c *Config) *int { return &c.LimitVerifyDay })},
		{"SIGNUP_LOGIN_ACCOUNT_FREE", "login-account-free", "5", "failed logins per account before each further attempt waits", integer(func(c *Config) *int { return &c.LoginAccountFree })},
		{"SIGNUP_LOGIN_ACCOUNT_DELAY", "login-account-delay", "30s", "the account's first wait, doubled per further failure; its failures are forgotten 24 h after the last", dur(func(c *Config) *time.Duration { return &c.LoginAccountWait })},
		{"SIGNUP_LOGIN_IP_FREE", "login-ip-free", "100", "failed logins per client IP (IPv6: /64) before each further attempt waits", integer(func(c *Config) *int { return &c.LoginIPFree })},
		{"SIGNUP_LOGIN_IP_DELAY", "login-ip-delay", "1m", "the client IP's first wait, doubled likewise; its failures are forgotten an hour after the last", dur(func(c *Config) *time.Duration { return &c.LoginIPWait })},
		{"SIGNUP_LOGIN_MAX_DELAY", "login-max-delay", "15m", "the longest login wait", dur(func(c *Config) *time.Duration { return &c.LoginMaxWait })},
		{"SIGNUP_SMS_DAILY_BUDGET", "sms-daily-budget", "1000", "money all SMS may cost in a day, in the prices' currency (0: no budget); when spent, sends pause with an alert", money},
		{"SIGNUP_SMS_PRICES", "sms-prices", "86=0.05,*=0.10", "price of one SMS per calling code, * for the rest", prices},
		{"SIGNUP_SMS_BUDGET_TIMEZONE", "sms-budget-timezone", "Asia/Shanghai", "where the budget's day begins and ends (an IANA zone)", zone},
		{"SIGNUP_FRAUD_WINDOW", "fraud-window", "15m", "the fraud signal's sliding period", dur(func(c *Config) *time.Duration { return &c.FraudWindow })},
		{"SIGNUP_FRAUD_MIN_SENDS", "fraud-min-sends", "100", "code sends to a country in the window before its ratio can alert", integer(func(c *Config) *int { return &c.FraudMinSends })},
		{"SIGNUP_FRAUD_MIN_RATIO", "fraud-min-ratio", "0.2", "alert when verifications per code sent fall below this", ratio},
		{"SIGNUP_FRAUD_TIGHTEN", "fraud-tighten", "false", "while a country alerts, halve its per-IP and per-network send limits", boolean(func(c *Config) *bool { return &c.FraudTighten })},
		{"SIGNUP_SMS_MAX_PER_MINUTE", "sms-max-per-minute", "600", "codes the whole service sends in any minute; beyond it sends pause with an alert", integer(func(c *Config) *int { return &c.SMSMaxPerMinute })},
		{"SIGNUP_SHUTDOWN_TIMEOUT", "shutdown-timeout", "30s", "grace period for in-flight requests at SIGTERM", dur(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	}
}

func str(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *field(c) = v; return nil }
}

func dur(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("not a duration like 90s or 5m: %q", v)
		}
		*field(c) = d
		return nil
	}
}

func integer(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not a whole number: %q", v)
		}
		*field(c) = n
		return nil
	}
}

func boolean(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("not true or false: %q", v)
		}
		*field(c) = b
		return nil
	}
}

func prefixes(c *Config, v string) error {
	c.TrustedProxies = nil
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			if a, aerr := netip.ParseAddr(s); aerr == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			} else {
				return fmt.Errorf("not a CIDR like 10.0.0.0/8: %q", s)
			}
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}
	return nil
}

// Load reads the settings: defaults, then the environment through getenv,
// then flags in args (which win). It returns every problem at once.
func Load(args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	var c Config
	var errs []error
	fs := flag.NewFlagSet("signupd", flag.ContinueOnError)
	fs.SetOutput(usage)
	for _, s := range settings() {
		v := s.def
		if e := getenv(s.env); e != "" {
			v = e
		}
		if err := s.set(&c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.env, err))
		}
		if s.flag != "" {
			fs.Func(s.flag, fmt.Sprintf("%s (env %s, default %q)", s.help, s.env, s.def), func(v string) error { return s.set(&c, v) })
		}
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %q", fs.Args()))
	}
	errs = append(errs, c.validate()...)
	errs = append(errs, c.loadSMSSettings(getenv)...)
	c.loadSMSTexts(getenv)
	return c, errors.Join(errs...)
}
