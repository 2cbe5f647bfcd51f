package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/signupd/signupd/internal/account"
)

const defaultTwilioVerifyEndpoint = "https://verify.twilio.com"

var (
	twilioVerifySID = regexp.MustCompile(`^VA[0-9a-fA-F]{32}$`)
	// twilioVerifyCode is what Verify can have sent: 4 to 10 characters,
	// digits unless the service uses custom codes.
	twilioVerifyCode = regexp.MustCompile(`^[0-9A-Za-z]{4,10}$`)
)

// TwilioVerifyConfig configures Twilio Verify, for deployments where Twilio
// generates, sends and checks the code instead of us.
type TwilioVerifyConfig struct {
	AccountSID string        // "AC" and 32 hex digits; the Basic-auth user name
	AuthToken  string        // the Basic-auth password
	ServiceSID string        // the Verify service, "VA" and 32 hex digits
	Endpoint   string        // default https://verify.twilio.com
	Timeout    time.Duration // one attempt; 10s if not positive
}

// String describes c without its AuthToken, so %v and %+v are safe to log.
func (c TwilioVerifyConfig) String() string {
	return fmt.Sprintf("{AccountSID:%s AuthToken:%s ServiceSID:%s Endpoint:%s Timeout:%s}",
		c.AccountSID, twilioMask(c.AuthToken), c.ServiceSID, c.Endpoint, c.Timeout)
}

// GoString keeps %#v from printing the AuthToken.
func (c TwilioVerifyConfig) GoString() string { return c.String() }

// LogValue keeps the AuthToken out of logs.
func (c TwilioVerifyConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("account_sid", c.AccountSID), slog.String("auth_token", twilioMask(c.AuthToken)),
		slog.String("service_sid", c.ServiceSID), slog.String("endpoint", c.Endpoint))
}

// TwilioVerify starts and checks verifications with Twilio Verify v2
// (https://www.twilio.com/docs/verify/api/verification and
// .../verification-check). Errors follow Twilio's: a *Failure classified by
// twilioPermanent, or a plain error for the network and the timeout.
type TwilioVerify struct {
	cfg    TwilioVerifyConfig
	base   string // {Endpoint}/v2/Services/{ServiceSid}
	client *http.Client
}

// NewTwilioVerify checks cfg and returns a TwilioVerify; client as for NewTwilio.
func NewTwilioVerify(cfg TwilioVerifyConfig, client *http.Client) (*TwilioVerify, error) {
	if err := twilioCredentials(cfg.AccountSID, cfg.AuthToken); err != nil {
		return nil, fmt.Errorf("sms: twilio verify: %w", err)
	}
	if !twilioVerifySID.MatchString(cfg.ServiceSID) {
		return nil, errors.New(`sms: twilio verify: ServiceSID must be "VA" and 32 hex digits`)
	}
	base, err := twilioBaseURL(cfg.Endpoint, defaultTwilioVerifyEndpoint)
	if err != nil {
		return nil, fmt.Errorf("sms: twilio verify: %w", err)
	}
	cfg.Endpoint, cfg.Timeout = base, twilioTimeout(cfg.Timeout)
	return &TwilioVerify{cfg: cfg, base: base + "/v2/Services/" + cfg.ServiceSID, client: twilioHTTPClient(client, cfg.Timeout)}, nil
}

// String describes v without its AuthToken.
func (v *TwilioVerify) String() string { return "sms.TwilioVerify" + v.cfg.String() }

// GoString keeps %#v from printing the AuthToken.
func (v *TwilioVerify) GoString() string { return v.String() }

// Start asks Twilio to text a new code to to (POST .../Verifications with To,
// Channel=sms and, for our locales, Locale). Twilio answers 201. Within a
// verification's 10 minutes a second Start re-sends and counts towards the
// limit of 5 sends, past which Twilio answers 60203: a permanent *Failure,
// since retrying cannot succeed before the code we would deliver has expired.
func (v *TwilioVerify) Start(ctx context.Context, to account.Phone, locale string) error {
	if !twilioE164.MatchString(string(to)) {
		return &Failure{Provider: "twilio-verify", Code: twilioInvalidRequest, Permanent: true, Err: errors.New("start: the number is not in E.164 form")}
	}
	form := url.Values{"To": {string(to)}, "Channel": {"sms"}}
	if l := twilioVerifyLocale(locale); l != "" {
		form.Set("Locale", l)
	}
	ans, err := twilioPost(ctx, v.client, v.cfg.Timeout, v.base+"/Verifications", v.cfg.AccountSID, v.cfg.AuthToken, form, nil)
	if err != nil {
		return fmt.Errorf("sms: twilio verify: start: %w", err)
	}
	if ans.ok() {
		return nil
	}
	return ans.failure("twilio-verify", "start", string(to), "")
}

// twilioVerifyLocale maps our locales to Verify's language tags. Any other
// locale sends none, and Twilio picks the language from the number's country
// (its recommended default; an unsupported Locale would be answered 404).
func twilioVerifyLocale(locale string) string {
	switch locale {
	case account.LocaleZH:
		return "zh"
	case account.LocaleEN:
		return "en"
	}
	return ""
}

// Check asks Twilio whether code is the one sent to to (POST
// .../VerificationCheck with To and Code). Status "approved" is
// CodeMatched; a wrong code leaves the verification "pending": CodeMismatch.
// Twilio deletes a verification once it is approved or expired and answers
// a later check 404 with code 20404: CodeMissing, which is no guess at a
// live code (under concurrent checks of the right code, all but the approved
// one see it). The 6th check of one verification is answered 429 with code
// 60202: CodeVoid. A 404 without Twilio's JSON is not Twilio speaking and
// stays an error, as do 429 (20429) and 5xx (transient). A code Verify cannot
// have sent is CodeMismatch without asking Twilio.
func (v *TwilioVerify) Check(ctx context.Context, to account.Phone, code string) (account.CodeCheck, error) {
	if !twilioE164.MatchString(string(to)) {
		return 0, &Failure{Provider: "twilio-verify", Code: twilioInvalidRequest, Permanent: true, Err: errors.New("check: the number is not in E.164 form")}
	}
	if !twilioVerifyCode.MatchString(code) {
		return account.CodeMismatch, nil
	}
	form := url.Values{"To": {string(to)}, "Code": {code}}
	ans, err := twilioPost(ctx, v.client, v.cfg.Timeout, v.base+"/VerificationCheck", v.cfg.AccountSID, v.cfg.AuthToken, form, nil)
	if err != nil {
		return 0, fmt.Errorf("sms: twilio verify: check: %w", err)
	}
	if ans.ok() {
		var c struct {
			Status string `json:"status"`
		}
		if json.Unmarshal(ans.body, &c) != nil || c.Status == "" {
			return 0, fmt.Errorf("sms: twilio verify: check: status %d with an unreadable body", ans.status)
		}
		if c.Status == "approved" {
			return account.CodeMatched, nil
		}
		return account.CodeMismatch, nil
	}
	f := ans.failure("twilio-verify", "check", string(to), code)
	switch f.Code {
	case "20404":
		return account.CodeMissing, nil
	case "60202":
		return account.CodeVoid, nil
	}
	return 0, f
}

// TwilioVerifySender is the outbox's provider where Twilio Verify makes the
// codes: a code message starts a verification, and Twilio sends its own text
// with its own code; a notice, which carries no code, goes out through
// notices (Twilio Messages).
type TwilioVerifySender struct {
	verify  *TwilioVerify
	notices interface {
		Send(ctx context.Context, m account.Message) error
	}
}

// NewTwilioVerifySender returns a sender starting verifications with verify
// and sending notices with notices.
func NewTwilioVerifySender(verify *TwilioVerify, notices interface {
	Send(ctx context.Context, m account.Message) error
}) *TwilioVerifySender {
	return &TwilioVerifySender{verify: verify, notices: notices}
}

// Send starts a verification for a code purpose, or sends a notice.
func (s *TwilioVerifySender) Send(ctx context.Context, m account.Message) error {
	if m.Purpose == account.PurposeAlreadyRegistered {
		return s.notices.Send(ctx, m)
	}
	return s.verify.Start(ctx, m.To, m.Locale)
}

// Checker returns the Verify client, which checks the codes Twilio made.
func (s *TwilioVerifySender) Checker() *TwilioVerify { return s.verify }
