package account

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"
)

func TestParsePhone(t *testing.T) {
	for _, tc := range []struct {
		raw, region string
		want        Phone
		kind        Kind
	}{
		{"13812345678", "CN", "+8613812345678", 0},
		{" 138 1234 5678 ", "CN", "+8613812345678", 0},
		{"+86 138-1234-5678", "CN", "+8613812345678", 0},
		{"008613812345678", "CN", "+8613812345678", 0},
		{"+1 201 555 0123", "CN", "+12015550123", 0}, // US numbers may be mobile or fixed
		{"+447400123456", "CN", "+447400123456", 0},
		{"", "CN", "", KindMissingParams},
		{"1381234567", "CN", "", KindBadPhone},
		{"138123456789", "CN", "", KindBadPhone},
		{"abc", "CN", "", KindBadPhone},
		{strings.Repeat("1", 40), "CN", "", KindBadPhone},
		{"01012345678", "CN", "", KindNotMobile},   // Beijing fixed line
		{"+442071838750", "CN", "", KindNotMobile}, // London fixed line
		{"4001234567", "CN", "", KindNotMobile},    // CN shared-cost 400
		{"+8619012345678", "CN", "+8619012345678", 0},
	} {
		got, err := ParsePhone(tc.raw, tc.region)
		if got != tc.want || (tc.kind != 0) != (err != nil) || (err != nil && KindOf(err) != tc.kind) {
			t.Errorf("ParsePhone(%q) = %q, %v; want %q, kind %d", tc.raw, got, err, tc.want, tc.kind)
		}
	}
}

func TestPhoneMasked(t *testing.T) {
	for p, want := range map[Phone]string{"+8613812345678": "+86*******5678", "+12015550123": "+12*****0123", "+1234": "*****"} {
		if got := p.Masked(); got != want {
			t.Errorf("%s masked = %s, want %s", p, got, want)
		}
	}
}

func TestNewCode(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c := newCode()
		if !validCode(c) {
			t.Fatalf("code %q is not 6 digits", c)
		}
		seen[c] = true
	}
	if len(seen) < 190 {
		t.Fatalf("only %d distinct codes in 200", len(seen))
	}
}

func TestValidCaptchaID(t *testing.T) {
	for id, want := range map[string]bool{
		"6f1c1d2e-1b7a-4c5e-9a51-0a4b2c3d4e5f": true, "1732500000000": true, "": false,
		strings.Repeat("a", 64): true, strings.Repeat("a", 65): false, "a:b": false, "a b": false, "图": false,
	} {
		if validCaptchaID(id) != want {
			t.Errorf("validCaptchaID(%q) = %v", id, !want)
		}
	}
}

func TestBackoffDelay(t *testing.T) {
	for _, tc := range []struct {
		count int
		want  time.Duration
	}{{0, 0}, {4, 0}, {5, 30 * time.Second}, {6, time.Minute}, {9, 8 * time.Minute}, {10, 15 * time.Minute}, {1000, 15 * time.Minute}} {
		b := Backoff{Free: 5, First: 30 * time.Second, Max: 15 * time.Minute}
		if got := b.Delay(tc.count); got != tc.want {
			t.Errorf("Delay(%d) = %v, want %v", tc.count, got, tc.want)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	h := newHasher(DefaultArgon2, 1, time.Second, nil)
	enc := h.hash("correct horse")
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not argon2id with OWASP parameters in PHC form", enc)
	}
	if enc == h.hash("correct horse") {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for pw, want := range map[string]bool{"correct horse": true, "correct horsE": false, "": false} {
		if ok, err := h.verify(pw, enc); ok != want || err != nil {
			t.Errorf("verify(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	// NFKC: a full-width spelling is the same password.
	if ok, _ := h.verify("ｃｏｒｒｅｃｔ ｈｏｒｓｅ", enc); !ok {
		t.Error("full-width spelling should verify after NFKC")
	}
	if _, err := h.verify("x", "$argon2id$v=19$garbage"); err == nil {
		t.Error("a malformed hash must be an error")
	}
}

func TestCheckPassword(t *testing.T) {
	for pw, ok := range map[string]bool{"7v#Qm2z": false, "7v#Qm2zk": true, strings.Repeat("密", 128): true, strings.Repeat("密", 129): false} {
		if _, err := checkPassword(pw); (err == nil) != ok {
			t.Errorf("checkPassword(%d runes) = %v", len([]rune(pw)), err)
		}
	}
}

func TestHasherSheds(t *testing.T) {
	h := newHasher(DefaultArgon2, 1, 10*time.Millisecond, nil)
	if err := h.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := h.acquire(context.Background())
	if KindOf(err) != KindBusy {
		t.Fatalf("second acquire = %v, want KindBusy", err)
	}
	h.release()
	if err := h.acquire(context.Background()); err != nil {
		t.Fatalf("acquire after release = %v", err)
	}
}

func TestTexts(t *testing.T) {
	texts, err := NewTexts("App", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ purpose, locale, code, want string }{
		{PurposeRegister, LocaleZH, "123456", "【App】您的注册验证码是123456,5分钟内有效"},
		{PurposeRegister, LocaleEN, "123456", "Your sign-up code is 123456. It expires in 5 minutes"},
		{PurposeAlreadyRegistered, LocaleZH, "", "已有账号"},
		{PurposeAlreadyRegistered, LocaleEN, "", "already has an account"},
		{PurposeLogin, LocaleEN, "654321", "log-in code is 654321"},
		{PurposeReset, LocaleZH, "654321", "重置密码,验证码是654321"},
		{PurposeRegister, "fr", "123456", "您的注册验证码是123456"}, // unknown locale: Chinese
	} {
		got, err := texts.Render(tc.purpose, tc.locale, tc.code, 5*time.Minute)
		if err != nil || !strings.Contains(got, tc.want) {
			t.Errorf("%s/%s: %q, %v; want it to contain %q", tc.purpose, tc.locale, got, err, tc.want)
		}
	}
}

func TestTextsRefuseUnsafeTemplates(t *testing.T) {
	for name, tc := range map[string]struct {
		app       string
		overrides map[string]string
	}{
		"user input":            {"App", map[string]string{"register/en": "{{.Code}} for {{.Mobile}}"}},
		"code left out":         {"App", map[string]string{"register/zh-CN": "【{{.App}}】欢迎"}},
		"code in a notice":      {"App", map[string]string{"already_registered/en": "code {{.Code}}"}},
		"not a template":        {"App", map[string]string{"login/en": "{{.Code"}},
		"calls a function":      {"App", map[string]string{"reset/en": `{{.Code}} {{printf "%s" .Mobile}}`}},
		"app breaks the text":   {"App】点击 http://x", nil},
		"app with a line break": {"A\nB", nil},
		"no app":                {"", nil},
	} {
		if _, err := NewTexts(tc.app, tc.overrides); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	texts, err := NewTexts("Shop", map[string]string{"register/en": "Shop code: {{.Code}} ({{.Minutes}} min)"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := texts.Render(PurposeRegister, LocaleEN, "111222", 5*time.Minute); got != "Shop code: 111222 (5 min)" {
		t.Fatalf("override rendered %q", got)
	}
}

func TestCallingCode(t *testing.T) {
	for p, want := range map[Phone]string{"+8613812345678": "86", "+12015550123": "1", "+85251234567": "852", "+447400123456": "44", "junk": "", "+": ""} {
		if got := p.CallingCode(); got != want {
			t.Errorf("%s: %q, want %q", p, got, want)
		}
	}
	// Every region's example mobile number agrees with the parser.
	for _, region := range slices.Sorted(maps.Keys(phonenumbers.GetSupportedRegions())) {
		num := phonenumbers.GetExampleNumberForType(region, phonenumbers.MOBILE)
		if num == nil {
			continue
		}
		p := Phone(phonenumbers.Format(num, phonenumbers.E164))
		if got, want := p.CallingCode(), strconv.Itoa(int(num.GetCountryCode())); got != want {
			t.Errorf("%s (%s): %q, want %q", p, region, got, want)
		}
	}
}

// ParsePhone asks libphonenumber for the type alone, on the grounds that the
// type is UNKNOWN exactly when IsValidNumber is false. Checked on every
// region's example number of every type, and on each with a digit dropped
// and with one added, which are mostly invalid.
func TestNumberTypeUnknownMeansInvalid(t *testing.T) {
	types := []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER,
		phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL}
	checked, invalid := 0, 0
	for _, region := range slices.Sorted(maps.Keys(phonenumbers.GetSupportedRegions())) {
		for _, typ := range types {
			ex := phonenumbers.GetExampleNumberForType(region, typ)
			if ex == nil {
				continue
			}
			e164 := phonenumbers.Format(ex, phonenumbers.E164)
			for _, raw := range []string{e164, e164[:len(e164)-1], e164 + "5"} {
				num, err := phonenumbers.Parse(raw, "ZZ")
				if err != nil {
					continue
				}
				valid, typ := phonenumbers.IsValidNumber(num), phonenumbers.GetNumberType(num)
				if valid != (typ != phonenumbers.UNKNOWN) {
					t.Errorf("%s (%s): IsValidNumber %v but type %v", raw, region, valid, typ)
				}
				checked++
				if !valid {
					invalid++
				}
			}
		}
	}
	if checked < 1000 || invalid < 300 {
		t.Fatalf("checked %d numbers, %d of them invalid: want many of both", checked, invalid)
	}
	t.Logf("%d numbers, %d invalid", checked, invalid)
}
