package account

import (
	"fmt"
	"strings"
	"text/template"
	"time"
)

// Purposes of messages beyond registration, with texts ready for the flows
// that will send them.
const (
	PurposeLogin = "login"
	PurposeReset = "reset"
)

// TextData is everything a message text may show. No field holds anything a
// user typed: a template can only reach these, so no user input can get into
// an SMS (ASVS 5.0 4.2.4).
type TextData struct {
	App     string // the operator's app name
	Code    string // the code, for purposes that carry one
	Minutes int    // how long the code is valid
}

var defaultTexts = map[string]string{
	PurposeRegister + "/" + LocaleZH:          "【{{.App}}】您的注册验证码是{{.Code}},{{.Minutes}}分钟内有效。如非本人操作,请忽略本短信。",
	PurposeRegister + "/" + LocaleEN:          "[{{.App}}] Your sign-up code is {{.Code}}. It expires in {{.Minutes}} minutes. If you did not ask for it, ignore this message.",
	PurposeAlreadyRegistered + "/" + LocaleZH: "【{{.App}}】有人尝试用本号码注册,但本号码已有账号,请直接登录。如非本人操作,请忽略本短信。",
	PurposeAlreadyRegistered + "/" + LocaleEN: "[{{.App}}] Someone asked to sign up with this number, which already has an account. Log in instead; if it was not you, ignore this message.",
	PurposeLogin + "/" + LocaleZH:             "【{{.App}}】您的登录验证码是{{.Code}},{{.Minutes}}分钟内有效。请勿告诉他人。",
	PurposeLogin + "/" + LocaleEN:             "[{{.App}}] Your log-in code is {{.Code}}. It expires in {{.Minutes}} minutes. Do not share it.",
	PurposeReset + "/" + LocaleZH:             "【{{.App}}】您正在重置密码,验证码是{{.Code}},{{.Minutes}}分钟内有效。如非本人操作,请忽略本短信。",
	PurposeReset + "/" + LocaleEN:             "[{{.App}}] Your password reset code is {{.Code}}. It expires in {{.Minutes}} minutes. If you did not ask for it, ignore this message.",
}

// carriesCode says which purposes send a code; their texts must show it and
// the others must not.
var carriesCode = map[string]bool{PurposeRegister: true, PurposeLogin: true, PurposeReset: true, PurposeAlreadyRegistered: false}

// Texts renders message texts per purpose and locale.
type Texts struct {
	app       string
	templates map[string]*template.Template // "purpose/locale"
}

// TextKeys lists the "purpose/locale" keys a text can be given for.
func TextKeys() []string {
	var keys []string
	for _, p := range []string{PurposeRegister, PurposeAlreadyRegistered, PurposeLogin, PurposeReset} {
		keys = append(keys, p+"/"+LocaleZH, p+"/"+LocaleEN)
	}
	return keys
}

// NewTexts returns the default texts for app, with overrides ("purpose/locale"
// -> template) in their place. A template is refused when it uses anything
// but {{.App}}, {{.Code}} and {{.Minutes}}, when a code purpose's text lacks
// {{.Code}} or a notice's has it, or when the app name could break a text.
func NewTexts(app string, overrides map[string]string) (*Texts, error) {
	if app == "" || len([]rune(app)) > 20 || strings.ContainsAny(app, "【】[]{}<>\r\n\t") {
		return nil, fmt.Errorf("account: app name %q: want 1-20 characters without brackets or line breaks", app)
	}
	t := &Texts{app: app, templates: map[string]*template.Template{}}
	for _, key := range TextKeys() {
		src, ok := overrides[key]
		if !ok {
			src = defaultTexts[key]
		}
		tmpl, err := template.New(key).Option("missingkey=error").Parse(src)
		if err != nil {
			return nil, fmt.Errorf("account: text %s: %w", key, err)
		}
		purpose, _, _ := strings.Cut(key, "/")
		var probe strings.Builder
		if err := tmpl.Execute(&probe, TextData{App: app, Code: "\x00code\x00", Minutes: 5}); err != nil {
			return nil, fmt.Errorf("account: text %s may use only {{.App}}, {{.Code}} and {{.Minutes}}: %w", key, err)
		}
		if shows := strings.Contains(probe.String(), "\x00code\x00"); shows != carriesCode[purpose] {
			return nil, fmt.Errorf("account: text %s: a %s message must %sshow {{.Code}}", key, purpose, map[bool]string{true: "", false: "not "}[carriesCode[purpose]])
		}
		t.templates[key] = tmpl
	}
	return t, nil
}

// Render returns the text of a message; an unknown locale falls back to Chinese.
func (t *Texts) Render(purpose, locale, code string, ttl time.Duration) (string, error) {
	tmpl, ok := t.templates[purpose+"/"+locale]
	if !ok {
		if tmpl, ok = t.templates[purpose+"/"+LocaleZH]; !ok {
			return "", fmt.Errorf("account: no text for purpose %q", purpose)
		}
	}
	var b strings.Builder
	err := tmpl.Execute(&b, TextData{App: t.app, Code: code, Minutes: int(ttl / time.Minute)})
	return b.String(), err
}
