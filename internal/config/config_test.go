package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	return Load(args, func(k string) string { return env[k] }, io.Discard)
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DatabaseURL != "sqlite:signup.db" || c.RedisURL != "" || c.SMSProvider != "console" ||
		c.CodeTTL != 300*time.Second || c.CaptchaTTL != 180*time.Second || c.ResendInterval != time.Minute || c.CodeMaxAttempts != 5 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	c, err := load(t, map[string]string{"SIGNUP_ADDR": "127.0.0.1:1"}, "-addr", "127.0.0.1:2")
	if err != nil || c.Addr != "127.0.0.1:2" {
		t.Fatalf("addr = %q, %v", c.Addr, err)
	}
}

func TestValid(t *testing.T) {
	for _, env := range []map[string]string{
		{"SIGNUP_DATABASE_URL": "postgres://signup:pw@db.internal:5432/signup?sslmode=require"},
		{"SIGNUP_DATABASE_URL": "postgresql://localhost/signup"},
		{"SIGNUP_REDIS_URL": "redis://:pw@127.0.0.1:6379/2"},
		{"SIGNUP_REDIS_URL": "rediss://cache.internal:6380"},
		{"SIGNUP_REDIS_URL": "redis-cluster://10.0.0.1:7000,10.0.0.2:7000"},
		{"SIGNUP_REDIS_URL": "redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster"},
		{"SIGNUP_SMS_PROVIDER": "webhook", "SIGNUP_SMS_WEBHOOK_URL": "https://sms.internal/send", "SIGNUP_SMS_WEBHOOK_SECRET": "0123456789abcdef"},
		{"SIGNUP_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1,::1"},
		{"SIGNUP_DEFAULT_REGION": "US"},
	} {
		if _, err := load(t, env); err != nil {
			t.Errorf("%v: %v", env, err)
		}
	}
}

func TestInvalidNamesTheVariable(t *testing.T) {
	for env, v := range map[string]string{
		"SIGNUP_ADDR":              ":8080",
		"SIGNUP_DATABASE_URL":      "mysql://x",
		"SIGNUP_REDIS_URL":         "memcached://x:1",
		"SIGNUP_SMS_PROVIDER":      "smoke-signals",
		"SIGNUP_SECRET":            "too short",
		"SIGNUP_SMS_TIMEOUT":       "0s",
		"SIGNUP_CODE_TTL":          "11m",
		"SIGNUP_CODE_MAX_ATTEMPTS": "0",
		"SIGNUP_LOG_FORMAT":        "xml",
		"SIGNUP_LOG_LEVEL":         "loud",
		"SIGNUP_COOKIE_SECURE":     "sometimes",
		"SIGNUP_TRUSTED_PROXIES":   "10.0.0.0/33",
		"SIGNUP_REVEAL_REGISTERED": "maybe",
		"SIGNUP_ARGON2_TIME":       "1",
		"SIGNUP_HASH_CONCURRENCY":  "0",
		"SIGNUP_DEFAULT_REGION":    "cn",
	} {
		_, err := load(t, map[string]string{env: v})
		if err == nil || !strings.Contains(err.Error(), env) {
			t.Errorf("%s=%q: err %v, want one naming %s", env, v, err, env)
		}
	}
}

func TestAllProblemsAtOnce(t *testing.T) {
	_, err := load(t, map[string]string{"SIGNUP_ADDR": "x", "SIGNUP_LOG_FORMAT": "xml"})
	if err == nil || !strings.Contains(err.Error(), "SIGNUP_ADDR") || !strings.Contains(err.Error(), "SIGNUP_LOG_FORMAT") {
		t.Fatalf("err = %v, want both problems", err)
	}
}

func TestStringMasksSecrets(t *testing.T) {
	c, err := load(t, map[string]string{
		"SIGNUP_SECRET":       strings.Repeat("s", 40),
		"SIGNUP_DATABASE_URL": "postgres://signup:hunter2hunter2@db:5432/signup",
		"SIGNUP_REDIS_URL":    "redis://:redispass@cache:6379",
	})
	if err != nil {
		t.Fatal(err)
	}
	s := c.String()
	for _, secret := range []string{"ssssssss", "hunter2", "redispass"} {
		if strings.Contains(s, secret) {
			t.Fatalf("String() shows %q: %s", secret, s)
		}
	}
	// A bad URL's password stays out of the error too.
	_, err = load(t, map[string]string{"SIGNUP_DATABASE_URL": "mysql://root:topsecret@x/db"})
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("err = %v", err)
	}
}
