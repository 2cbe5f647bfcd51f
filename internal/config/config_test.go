package config

import (
	"io"
	"slices"
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
	if c.Addr != "127.0.0.1:8080" || c.DatabaseURL != "sqlite:signup.db" || c.RedisURL != "" || !slices.Equal(c.SMSProviders, []string{"console"}) || c.SMSWorkers != 8 ||
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
		{"SIGNUP_SMS_PROVIDER": "twilio", "SIGNUP_SMS_TWILIO_ACCOUNT_SID": "AC1", "SIGNUP_SMS_TWILIO_AUTH_TOKEN": "t", "SIGNUP_SMS_TWILIO_FROM": "+15005550006"},
		{"SIGNUP_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1,::1"},
		{"SIGNUP_DEFAULT_REGION": "US"},
		{"SIGNUP_ALLOWED_CALLING_CODES": "+86, 852,1"},
		{"SIGNUP_SMS_PRICES": "86=0.045, +1=0.0079, *=0.06", "SIGNUP_SMS_DAILY_BUDGET": "250.5", "SIGNUP_SMS_BUDGET_TIMEZONE": "UTC"},
	} {
		if _, err := load(t, env); err != nil {
			t.Errorf("%v: %v", env, err)
		}
	}
}

func TestInvalidNamesTheVariable(t *testing.T) {
	for env, v := range map[string]string{
		"SIGNUP_ADDR":                  ":8080",
		"SIGNUP_DATABASE_URL":          "mysql://x",
		"SIGNUP_REDIS_URL":             "memcached://x:1",
		"SIGNUP_SMS_PROVIDER":          "smoke-signals",
		"SIGNUP_SMS_ROUTES":            "86=nobody",
		"SIGNUP_SMS_WORKERS":           "0",
		"SIGNUP_SECRET":                "too short",
		"SIGNUP_SMS_TIMEOUT":           "0s",
		"SIGNUP_CODE_TTL":              "11m",
		"SIGNUP_CODE_MAX_ATTEMPTS":     "0",
		"SIGNUP_LOG_FORMAT":            "xml",
		"SIGNUP_LOG_LEVEL":             "loud",
		"SIGNUP_COOKIE_SECURE":         "sometimes",
		"SIGNUP_TRUSTED_PROXIES":       "10.0.0.0/33",
		"SIGNUP_REVEAL_REGISTERED":     "maybe",
		"SIGNUP_ARGON2_TIME":           "1",
		"SIGNUP_HASH_CONCURRENCY":      "0",
		"SIGNUP_DEFAULT_REGION":        "cn",
		"SIGNUP_ALLOWED_CALLING_CODES": "86,abc",
		"SIGNUP_SMS_PRICES":            "86=cheap,*=1",
		"SIGNUP_SMS_DAILY_BUDGET":      "-5",
		"SIGNUP_SMS_BUDGET_TIMEZONE":   "Mars/Olympus_Mons",
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

func TestSMSProvidersAndRoutes(t *testing.T) {
	env := map[string]string{
		"SIGNUP_SMS_PROVIDER": "twilio, webhook",
		"SIGNUP_SMS_ROUTES":   "+86=tencent,aliyun; 1=twilio",
	}
	_, err := load(t, env)
	for _, missing := range []string{
		"SIGNUP_SMS_TENCENT_SECRET_ID", "SIGNUP_SMS_TENCENT_SECRET_KEY", "SIGNUP_SMS_TENCENT_SDK_APP_ID",
		"SIGNUP_SMS_ALIYUN_ACCESS_KEY_SECRET", "SIGNUP_SMS_TWILIO_AUTH_TOKEN", "SIGNUP_SMS_WEBHOOK_URL",
		"SIGNUP_SMS_TWILIO_FROM or SIGNUP_SMS_TWILIO_MESSAGING_SERVICE_SID",
	} {
		if err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("err %v, want it to name %s", err, missing)
		}
	}
	for _, p := range []string{"tencent", "aliyun"} {
		for _, f := range smsFields[p] {
			env["SIGNUP_SMS_"+strings.ToUpper(p)+"_"+f.name] = "x1"
		}
	}
	env["SIGNUP_SMS_TWILIO_ACCOUNT_SID"], env["SIGNUP_SMS_TWILIO_AUTH_TOKEN"], env["SIGNUP_SMS_TWILIO_FROM"] = "AC1", "token-secret", "+15005550006"
	env["SIGNUP_SMS_WEBHOOK_URL"], env["SIGNUP_SMS_WEBHOOK_SECRET"] = "https://gw/sms", "0123456789abcdef"
	c, err := load(t, env)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.SMSProviders, []string{"twilio", "webhook"}) || !slices.Equal(c.SMSRoutes["86"], []string{"tencent", "aliyun"}) ||
		!slices.Equal(c.SMSRoutes["1"], []string{"twilio"}) || c.SMS["tencent"]["SIGN_NAME"] != "x1" {
		t.Fatalf("parsed %v %v %v", c.SMSProviders, c.SMSRoutes, c.SMS)
	}
	if used := c.UsedSMSProviders(); !slices.Equal(used, []string{"twilio", "webhook", "tencent", "aliyun"}) {
		t.Fatalf("used = %v, want each provider once, the default route first", used)
	}
	if s := c.String(); strings.Contains(s, "token-secret") || strings.Contains(s, "0123456789abcdef") {
		t.Fatalf("String() shows a provider secret: %s", s)
	}
	if _, err := load(t, map[string]string{"SIGNUP_SMS_PROVIDER": "console,console"}); err == nil {
		t.Error("a provider listed twice was accepted")
	}
}

func TestTwilioVerifyMustBeTheOnlyProvider(t *testing.T) {
	env := map[string]string{
		"SIGNUP_SMS_PROVIDER":                  "twilio_verify",
		"SIGNUP_SMS_TWILIO_VERIFY_ACCOUNT_SID": "AC1", "SIGNUP_SMS_TWILIO_VERIFY_AUTH_TOKEN": "t",
		"SIGNUP_SMS_TWILIO_VERIFY_SERVICE_SID": "VA1", "SIGNUP_SMS_TWILIO_VERIFY_FROM": "+15005550006",
	}
	if _, err := load(t, env); err != nil {
		t.Fatal(err)
	}
	env["SIGNUP_SMS_PROVIDER"] = "twilio_verify,console"
	if _, err := load(t, env); err == nil || !strings.Contains(err.Error(), "must be the only provider") {
		t.Fatalf("err = %v, want twilio_verify refused beside another provider", err)
	}
}

func TestBudgetSettings(t *testing.T) {
	c, err := load(t, map[string]string{"SIGNUP_SMS_PRICES": "86=0.045,1=0.0079,*=0.06", "SIGNUP_SMS_DAILY_BUDGET": "250.5"})
	if err != nil {
		t.Fatal(err)
	}
	if c.SMSDailyBudget != 250_500_000 || c.SMSPrices["86"] != 45_000 || c.SMSPrices["1"] != 7_900 || c.SMSPrices["*"] != 60_000 {
		t.Fatalf("budget %d, prices %v", c.SMSDailyBudget, c.SMSPrices)
	}
	if c.SMSBudgetZone.String() != "Asia/Shanghai" {
		t.Fatalf("default zone %v", c.SMSBudgetZone)
	}
	if _, err := load(t, map[string]string{"SIGNUP_SMS_PRICES": "86=0.05"}); err == nil {
		t.Fatal("prices without a price for the rest were accepted")
	}
}
