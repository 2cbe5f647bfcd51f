package config

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// smsFields lists, for each SMS provider, its settings as
// SIGNUP_SMS_<PROVIDER>_<FIELD> and whether each is required. Settings are
// read only for providers in use.
var smsFields = map[string][]struct {
	name     string
	required bool
}{
	"console": nil,
	"webhook": {{"URL", true}, {"SECRET", true}},
	"aliyun": {{"ACCESS_KEY_ID", true}, {"ACCESS_KEY_SECRET", true}, {"SIGN_NAME", true},
		{"TEMPLATE_REGISTER", true}, {"TEMPLATE_ALREADY_REGISTERED", true}, {"ENDPOINT", false}, {"REGION", false}},
	"tencent": {{"SECRET_ID", true}, {"SECRET_KEY", true}, {"SDK_APP_ID", true}, {"SIGN_NAME", true},
		{"TEMPLATE_REGISTER", true}, {"TEMPLATE_ALREADY_REGISTERED", true}, {"REGION", false}, {"ENDPOINT", false}},
	"twilio": {{"ACCOUNT_SID", true}, {"AUTH_TOKEN", true}, {"FROM", false}, {"MESSAGING_SERVICE_SID", false}, {"ENDPOINT", false}},
	"twilio_verify": {{"ACCOUNT_SID", true}, {"AUTH_TOKEN", true}, {"SERVICE_SID", true}, {"FROM", false},
		{"MESSAGING_SERVICE_SID", false}, {"ENDPOINT", false}, {"MESSAGES_ENDPOINT", false}},
	"ronglian": {{"ACCOUNT_SID", true}, {"AUTH_TOKEN", true}, {"APP_ID", true},
		{"TEMPLATE_REGISTER", true}, {"TEMPLATE_ALREADY_REGISTERED", true}, {"ENDPOINT", false}},
}

// SMSProviderNames lists the providers SIGNUP_SMS_PROVIDER accepts.
func SMSProviderNames() []string {
	names := make([]string, 0, len(smsFields))
	for n := range smsFields {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// UsedSMSProviders returns every provider named by SIGNUP_SMS_PROVIDER or
// SIGNUP_SMS_ROUTES, once each.
func (c Config) UsedSMSProviders() []string {
	var used []string
	add := func(names []string) {
		for _, n := range names {
			if !slices.Contains(used, n) {
				used = append(used, n)
			}
		}
	}
	add(c.SMSProviders)
	for _, code := range slices.Sorted(mapsKeys(c.SMSRoutes)) {
		add(c.SMSRoutes[code])
	}
	return used
}

func mapsKeys(m map[string][]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func providerList(v string) ([]string, error) {
	var names []string
	for _, n := range strings.Split(v, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		if _, ok := smsFields[n]; !ok {
			return nil, fmt.Errorf("unknown provider %q (known: %s)", n, strings.Join(SMSProviderNames(), ", "))
		}
		if slices.Contains(names, n) {
			return nil, fmt.Errorf("provider %q listed twice", n)
		}
		names = append(names, n)
	}
	return names, nil
}

func smsProviders(c *Config, v string) error {
	names, err := providerList(v)
	if err == nil && len(names) == 0 {
		err = fmt.Errorf("name at least one provider")
	}
	c.SMSProviders = names
	return err
}

// smsRoutes parses "86=tencent,aliyun; 1=twilio": per calling code, the
// providers to try in order.
func smsRoutes(c *Config, v string) error {
	c.SMSRoutes = map[string][]string{}
	for _, route := range strings.Split(v, ";") {
		if route = strings.TrimSpace(route); route == "" {
			continue
		}
		code, list, ok := strings.Cut(route, "=")
		code = strings.TrimPrefix(strings.TrimSpace(code), "+")
		if !ok || !callingCode(code) {
			return fmt.Errorf("want routes like 86=tencent,aliyun;1=twilio, got %q", route)
		}
		names, err := providerList(list)
		if err != nil {
			return fmt.Errorf("route %s: %w", code, err)
		}
		if len(names) == 0 {
			return fmt.Errorf("route %s names no provider", code)
		}
		c.SMSRoutes[code] = names
	}
	return nil
}

func callingCode(s string) bool {
	if s == "" || len(s) > 3 || s[0] == '0' {
		return false
	}
	for _, d := range []byte(s) {
		if d < '0' || d > '9' {
			return false
		}
	}
	return true
}

// loadSMSSettings reads the settings of the providers in use and reports
// each missing required one by its variable's name.
func (c *Config) loadSMSSettings(getenv func(string) string) []error {
	var errs []error
	c.SMS = map[string]map[string]string{}
	for _, p := range c.UsedSMSProviders() {
		c.SMS[p] = map[string]string{}
		for _, f := range smsFields[p] {
			env := "SIGNUP_SMS_" + strings.ToUpper(p) + "_" + f.name
			v := getenv(env)
			if v == "" && f.required {
				errs = append(errs, fmt.Errorf("%s: required by the %s provider", env, p))
			}
			c.SMS[p][f.name] = v
		}
	}
	if wh := c.SMS["webhook"]; wh != nil {
		if u, err := url.Parse(wh["URL"]); wh["URL"] != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
			errs = append(errs, fmt.Errorf("SIGNUP_SMS_WEBHOOK_URL: want an http(s) URL, got %q", redactURL(wh["URL"])))
		}
		if s := wh["SECRET"]; s != "" && len(s) < 16 {
			errs = append(errs, fmt.Errorf("SIGNUP_SMS_WEBHOOK_SECRET: want at least 16 characters"))
		}
	}
	for _, p := range []string{"twilio", "twilio_verify"} {
		if tw := c.SMS[p]; tw != nil && tw["FROM"] == "" && tw["MESSAGING_SERVICE_SID"] == "" {
			env := "SIGNUP_SMS_" + strings.ToUpper(p) + "_"
			errs = append(errs, fmt.Errorf("%sFROM or %sMESSAGING_SERVICE_SID: the %s provider needs one", env, env, p))
		}
	}
	// Codes Twilio Verify made can be checked only by Twilio: no other
	// provider can take its messages over.
	if c.SMS["twilio_verify"] != nil && len(c.UsedSMSProviders()) > 1 {
		errs = append(errs, fmt.Errorf("SIGNUP_SMS_PROVIDER and SIGNUP_SMS_ROUTES: twilio_verify makes and checks the codes itself, so it must be the only provider"))
	}
	return errs
}

// loadSMSTexts reads the message texts an operator set, as
// SIGNUP_SMS_TEXT_<PURPOSE>_<ZH|EN>, keyed "purpose/locale". They are checked
// when the service builds them.
func (c *Config) loadSMSTexts(getenv func(string) string) {
	c.SMSTexts = map[string]string{}
	for _, purpose := range []string{"register", "already_registered", "login", "reset"} {
		for suffix, locale := range map[string]string{"ZH": "zh-CN", "EN": "en"} {
			if v := getenv("SIGNUP_SMS_TEXT_" + strings.ToUpper(purpose) + "_" + suffix); v != "" {
				c.SMSTexts[purpose+"/"+locale] = v
			}
		}
	}
}

func callingCodes(c *Config, v string) error {
	c.CallingCodes = nil
	for _, code := range strings.Split(v, ",") {
		code = strings.TrimPrefix(strings.TrimSpace(code), "+")
		if !callingCode(code) {
			return fmt.Errorf("want calling codes like 86,852, got %q", code)
		}
		c.CallingCodes = append(c.CallingCodes, code)
	}
	return nil
}

// millionths parses a non-negative decimal amount of money.
func millionths(v string) (int64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < 0 || f > 1e9 || math.IsNaN(f) {
		return 0, fmt.Errorf("not an amount like 0.05: %q", v)
	}
	return int64(math.Round(f * 1e6)), nil
}

func money(c *Config, v string) error {
	n, err := millionths(v)
	c.SMSDailyBudget = n
	return err
}

// prices parses "86=0.045,1=0.0079,*=0.06".
func prices(c *Config, v string) error {
	c.SMSPrices = map[string]int64{}
	for _, item := range strings.Split(v, ",") {
		code, amount, ok := strings.Cut(strings.TrimSpace(item), "=")
		code = strings.TrimPrefix(strings.TrimSpace(code), "+")
		if !ok || (code != "*" && !callingCode(code)) {
			return fmt.Errorf("want prices like 86=0.045,*=0.06, got %q", item)
		}
		n, err := millionths(amount)
		if err != nil {
			return err
		}
		c.SMSPrices[code] = n
	}
	if _, ok := c.SMSPrices["*"]; !ok {
		return fmt.Errorf("give a price for the rest, e.g. *=0.10")
	}
	return nil
}

func zone(c *Config, v string) error {
	loc, err := time.LoadLocation(v)
	if err != nil {
		return fmt.Errorf("not a time zone like Asia/Shanghai or UTC: %q", v)
	}
	c.SMSBudgetZone = loc
	return nil
}

func ratio(c *Config, v string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < 0 || f > 1 {
		return fmt.Errorf("want a ratio from 0 to 1 like 0.2, got %q", v)
	}
	c.FraudMinRatio = f
	return nil
}
