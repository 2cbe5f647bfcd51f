package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

func (c *Config) validate() []error {
	var errs []error
	bad := func(env, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{env}, a...)...))
	}
	if c.DebugAddr != "" {
		if ap, err := netip.ParseAddrPort(c.DebugAddr); err != nil || !ap.Addr().IsLoopback() {
			bad("SIGNUP_DEBUG_ADDR", "want a loopback address and port such as 127.0.0.1:6060 (profiles are not for the network), got %q", c.DebugAddr)
		}
	}
	if host, port, err := net.SplitHostPort(c.Addr); err != nil {
		bad("SIGNUP_ADDR", "not host:port: %q", c.Addr)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad("SIGNUP_ADDR", "port %q is not 0-65535", port)
	} else if host == "" {
		bad("SIGNUP_ADDR", "give a host, e.g. 127.0.0.1:%s or 0.0.0.0:%s to listen on every interface", port, port)
	}
	if !validDatabaseURL(c.DatabaseURL) {
		bad("SIGNUP_DATABASE_URL", "want sqlite:<path> or postgres://user:password@host:port/database, got %q", redactURL(c.DatabaseURL))
	}
	if c.RedisURL != "" && !validRedisURL(c.RedisURL) {
		bad("SIGNUP_REDIS_URL", "want redis://host:port, rediss://..., redis-cluster://host1:port1,host2:port2 or redis-sentinel://host1:port1,host2:port2/master, got %q", redactURL(c.RedisURL))
	}
	if c.Secret != "" && len(c.Secret) < 32 {
		bad("SIGNUP_SECRET", "must be at least 32 characters (or unset, to generate one)")
	}
	if c.TestCaptcha != "" && !alnum(c.TestCaptcha, 16) {
		bad("SIGNUP_TEST_CAPTCHA_ANSWER", "want 1-16 letters or digits")
	}
	if c.Region != strings.ToUpper(c.Region) || phonenumbers.GetCountryCodeForRegion(c.Region) == 0 {
		bad("SIGNUP_DEFAULT_REGION", "not a region code like CN or US: %q", c.Region)
	}
	if strings.ContainsAny(c.WebRootCSP, "\r\n") {
		bad("SIGNUP_WEB_ROOT_CSP", "must be one line")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("SIGNUP_LOG_FORMAT", "want text or json, got %q", c.LogFormat)
	}
	if _, err := c.Level(); err != nil {
		bad("SIGNUP_LOG_LEVEL", "want debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.CookieSecure != "auto" && c.CookieSecure != "always" && c.CookieSecure != "never" {
		bad("SIGNUP_COOKIE_SECURE", "want auto, always or never, got %q", c.CookieSecure)
	}
	errs = append(errs, checkRange("SIGNUP_REDIS_TIMEOUT", c.RedisTimeout, 10*time.Millisecond, 30*time.Second))
	errs = append(errs, checkRange("SIGNUP_FRAUD_WINDOW", c.FraudWindow, time.Minute, 24*time.Hour))
	errs = append(errs, checkRange("SIGNUP_SMS_TIMEOUT", c.SMSTimeout, 100*time.Millisecond, time.Minute))
	errs = append(errs, checkRange("SIGNUP_CAPTCHA_TTL", c.CaptchaTTL, 10*time.Second, time.Hour))
	errs = append(errs, checkRange("SIGNUP_CODE_TTL", c.CodeTTL, time.Minute, 10*time.Minute))
	errs = append(errs, checkRange("SIGNUP_RESEND_INTERVAL", c.ResendInterval, 0, time.Hour))
	errs = append(errs, checkRange("SIGNUP_SESSION_IDLE_TIMEOUT", c.SessionIdle, time.Minute, 30*24*time.Hour))
	errs = append(errs, checkRange("SIGNUP_SESSION_MAX_AGE", c.SessionMaxAge, time.Minute, 30*24*time.Hour))
	errs = append(errs, checkRange("SIGNUP_LOGIN_ACCOUNT_DELAY", c.LoginAccountWait, time.Second, 24*time.Hour))
	errs = append(errs, checkRange("SIGNUP_LOGIN_IP_DELAY", c.LoginIPWait, time.Second, 24*time.Hour))
	errs = append(errs, checkRange("SIGNUP_LOGIN_MAX_DELAY", c.LoginMaxWait, max(c.LoginAccountWait, c.LoginIPWait), 24*time.Hour))
	errs = append(errs, checkRange("SIGNUP_SHUTDOWN_TIMEOUT", c.ShutdownTimeout, 0, 10*time.Minute))
	for env, n := range map[string]int{
		"SIGNUP_LIMIT_NUMBER_PER_HOUR": c.LimitNumberHour, "SIGNUP_LIMIT_NUMBER_PER_DAY": c.LimitNumberDay,
		"SIGNUP_LIMIT_IP_PER_HOUR": c.LimitIPHour, "SIGNUP_LIMIT_IP_PER_DAY": c.LimitIPDay,
		"SIGNUP_LIMIT_NETWORK_PER_DAY": c.LimitNetworkDay, "SIGNUP_SMS_MAX_PER_MINUTE": c.SMSMaxPerMinute,
		"SIGNUP_LIMIT_VERIFY_FAILURES_PER_DAY": c.LimitVerifyDay, "SIGNUP_FRAUD_MIN_SENDS": c.FraudMinSends,
		"SIGNUP_LOGIN_ACCOUNT_FREE": c.LoginAccountFree, "SIGNUP_LOGIN_IP_FREE": c.LoginIPFree,
	} {
		if n < 1 || n > 1_000_000 {
			bad(env, "want 1-1000000, got %d", n)
		}
	}
	if c.SMSWorkers < 1 || c.SMSWorkers > 1000 {
		bad("SIGNUP_SMS_WORKERS", "want 1-1000, got %d", c.SMSWorkers)
	}
	if c.CodeMaxAttempts < 1 || c.CodeMaxAttempts > 100 {
		bad("SIGNUP_CODE_MAX_ATTEMPTS", "want 1-100, got %d", c.CodeMaxAttempts)
	}
	if c.Argon2MemoryKiB < 19456 || c.Argon2MemoryKiB > 4<<20 {
		bad("SIGNUP_ARGON2_MEMORY_KIB", "want 19456 (OWASP's minimum) to 4194304, got %d", c.Argon2MemoryKiB)
	}
	if c.Argon2Time < 2 || c.Argon2Time > 20 {
		bad("SIGNUP_ARGON2_TIME", "want 2 (OWASP's minimum) to 20, got %d", c.Argon2Time)
	}
	if c.HashConcurrency < 1 || c.HashConcurrency > 256 {
		bad("SIGNUP_HASH_CONCURRENCY", "want 1-256, got %d", c.HashConcurrency)
	}
	return errs
}

func checkRange(env string, d, lo, hi time.Duration) error {
	if d < lo || d > hi {
		return fmt.Errorf("%s: want %v to %v, got %v", env, lo, hi, d)
	}
	return nil
}

func alnum(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

var errLevel = errors.New("config: unknown log level")

// Level returns the slog level named by LogLevel.
func (c Config) Level() (slog.Level, error) {
	switch c.LogLevel {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, errLevel
}

func validDatabaseURL(s string) bool {
	if path, ok := strings.CutPrefix(s, "sqlite:"); ok {
		return path != ""
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") && u.Host != ""
}

func validRedisURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return false
	}
	switch u.Scheme {
	case "redis", "rediss", "redis-cluster", "rediss-cluster", "redis-sentinel", "rediss-sentinel":
		return true
	}
	return false
}

// redactURL hides a password in a URL for messages and logs.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if i := strings.LastIndex(s, "@"); i >= 0 {
			return "(redacted)" + s[i:]
		}
		return s
	}
	return u.Redacted()
}

// String lists the settings with secrets masked, for the start-up log.
func (c Config) String() string {
	masked := func(s string) string {
		if s == "" {
			return ""
		}
		return "(set)"
	}
	m := c
	m.Secret = masked(c.Secret)
	m.SMS = map[string]map[string]string{}
	for p, fields := range c.SMS {
		m.SMS[p] = map[string]string{}
		for f, v := range fields {
			if strings.Contains(f, "SECRET") || strings.Contains(f, "TOKEN") || strings.Contains(f, "KEY") {
				v = masked(v)
			}
			m.SMS[p][f] = v
		}
	}
	m.DatabaseURL, m.RedisURL = redactURL(c.DatabaseURL), redactURL(c.RedisURL)
	type plain Config // without this String method, so %+v does not recurse
	return fmt.Sprintf("%+v", plain(m))
}
