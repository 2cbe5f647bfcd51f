package sms

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/signupd/signupd/internal/account"
)

// Tencent Cloud SMS, action SendSms of API version 2021-01-11, signed with
// TC3-HMAC-SHA256. Sources, read in 2025/2026:
//   - SendSms: https://cloud.tencent.com/document/api/382/55981 (English:
//     https://www.tencentcloud.com/document/api/382/40536)
//   - signature v3: https://cloud.tencent.com/document/api/382/52072, the same
//     text for every product (English: https://www.tencentcloud.com/document/api/382/40465)
//   - error codes: https://cloud.tencent.com/document/api/382/52075 (common and
//     SMS codes) and the list of codes SendSms may return in the official SDK,
//     tencentcloud-sdk-go tencentcloud/sms/v20210111/client.go and errors.go.
const (
	tencentProvider        = "tencent"
	tencentService         = "sms" // the product in the credential scope
	tencentAction          = "SendSms"
	tencentVersion         = "2021-01-11"
	tencentAlgorithm       = "TC3-HMAC-SHA256"
	tencentContentType     = "application/json; charset=utf-8"
	tencentDefaultRegion   = "ap-guangzhou"
	tencentDefaultEndpoint = "https://sms.tencentcloudapi.com"
	// tencentDefaultTimeout bounds an attempt when the config names none.
	tencentDefaultTimeout = 10 * time.Second
	// tencentMaxAnswer bounds how much of an answer is read: one number's
	// SendSms answer is a few hundred bytes.
	tencentMaxAnswer = 64 << 10
)

// TencentConfig configures Tencent. Templates maps a message purpose
// (account.PurposeRegister, ...) to the id of an approved template.
type TencentConfig struct {
	SecretID, SecretKey, SDKAppID, SignName string
	Templates                               map[string]string
	Region                                  string        // default ap-guangzhou
	Endpoint                                string        // default https://sms.tencentcloudapi.com
	Timeout                                 time.Duration // per attempt; default 10s
}

// LogValue keeps the secret key out of logs.
func (c TencentConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("secret_id", tencentMask(c.SecretID, 4)),
		slog.String("secret_key", tencentMask(c.SecretKey, 0)),
		slog.String("sdk_app_id", c.SDKAppID),
		slog.String("sign_name", c.SignName),
		slog.Any("templates", c.Templates),
		slog.String("region", c.Region),
		slog.String("endpoint", c.Endpoint),
		slog.Duration("timeout", c.Timeout),
	)
}

// String masks the secret key, so that %v cannot print it either.
func (c TencentConfig) String() string { return c.LogValue().String() }

// tencentMask keeps the first keep bytes of s.
func tencentMask(s string, keep int) string {
	if s == "" {
		return ""
	}
	if len(s) <= keep {
		return "***"
	}
	return s[:keep] + "***"
}

// Tencent sends messages through Tencent Cloud SMS. It is safe for
// concurrent use.
type Tencent struct {
	cfg    TencentConfig
	url    string // the endpoint with path "/", which the signature fixes
	host   string
	client *http.Client
}

// NewTencent checks cfg, fills in its defaults and returns a Tencent that
// calls the API with client. A nil client means one that gives up after the
// attempt timeout and does not follow redirects, so a body carrying a code is
// never re-sent to a host the endpoint did not name.
func NewTencent(cfg TencentConfig, client *http.Client) (*Tencent, error) {
	cfg.Templates = maps.Clone(cfg.Templates)
	if cfg.Region == "" {
		cfg.Region = tencentDefaultRegion
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = tencentDefaultEndpoint
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = tencentDefaultTimeout
	}
	u, err := tencentValidate(cfg)
	if err != nil {
		return nil, fmt.Errorf("sms: tencent: config: %w", err)
	}
	if client == nil {
		client = &http.Client{
			Timeout: cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	return &Tencent{cfg: cfg, url: u.Scheme + "://" + u.Host + "/", host: u.Host, client: client}, nil
}

// tencentValidate reports every problem in cfg at once. Ids are checked to
// be digits, as every documented SdkAppId and TemplateId is, which catches a
// swapped setting at start-up instead of at the first sign-up.
func tencentValidate(cfg TencentConfig) (*url.URL, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if cfg.SecretID == "" || cfg.SecretKey == "" {
		bad("a SecretId and a SecretKey are required")
	}
	if !tencentDigits(cfg.SDKAppID) {
		bad("SDKAppID must be the digits of the SmsSdkAppId, got %q", cfg.SDKAppID)
	}
	// SignName is optional for numbers outside the Chinese mainland only;
	// mainland numbers are our default, so a missing one is a mistake.
	if cfg.SignName == "" {
		bad("SignName is required")
	}
	for _, p := range []string{account.PurposeRegister, account.PurposeAlreadyRegistered} {
		if _, ok := cfg.Templates[p]; !ok {
			bad("no template for purpose %q", p)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(cfg.Templates)) {
		if !tencentDigits(cfg.Templates[p]) {
			bad("template for purpose %q must be the digits of a TemplateId, got %q", p, cfg.Templates[p])
		}
	}
	if strings.Trim(cfg.Region, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		bad("region %q is not a region name such as ap-guangzhou", cfg.Region)
	}
	u, err := url.Parse(cfg.Endpoint)
	switch {
	case err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/"):
		bad("endpoint %q is not a URL such as %s", cfg.Endpoint, tencentDefaultEndpoint)
	case u.Scheme == "http" && !tencentLoopback(u.Hostname()):
		// The body carries the code and the number: plain HTTP only to a
		// stand-in on this machine.
		bad("endpoint %q must use https", cfg.Endpoint)
	case u.Scheme != "https" && u.Scheme != "http":
		bad("endpoint %q must use https", cfg.Endpoint)
	}
	return u, errors.Join(errs...)
}

func tencentDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func tencentLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// LogValue keeps the secret key out of logs.
func (t *Tencent) LogValue() slog.Value { return t.cfg.LogValue() }

// tencentRequest is the SendSms body; the field names are the API's.
type tencentRequest struct {
	PhoneNumberSet   []string `json:"PhoneNumberSet"`
	SmsSdkAppID      string   `json:"SmsSdkAppId"`
	SignName         string   `json:"SignName"`
	TemplateID       string   `json:"TemplateId"`
	TemplateParamSet []string `json:"TemplateParamSet"`
	SessionContext   string   `json:"SessionContext,omitempty"`
}

// tencentAnswer is the part of a SendSms answer that Send reads. The API
// answers HTTP 200 for refusals too: Error is set when the whole request
// was refused, SendStatusSet has one entry per number otherwise.
type tencentAnswer struct {
	Response struct {
		Error *struct {
			Code    string `json:"Code"`
			Message string `json:"Message"`
		} `json:"Error"`
		SendStatusSet []struct {
			Code    string `json:"Code"`
			Message string `json:"Message"`
		} `json:"SendStatusSet"`
		RequestID string `json:"RequestId"`
	} `json:"Response"`
}

// Send makes one attempt to deliver m. A refusal is a *Failure classified by
// tencentClassify; a network failure, the end of the attempt's timeout or an
// answer that cannot be read is a plain error: the message may have gone.
//
// The template gets only the code and its lifetime in minutes (SECURITY.md
// row 33), never m.Text: Tencent renders the approved template itself.
// m.ID travels as SessionContext, which Tencent only echoes back: SendSms has
// no idempotency key, so a retry after a lost answer can send twice.
func (t *Tencent) Send(ctx context.Context, m account.Message) error {
	templateID, ok := t.cfg.Templates[m.Purpose]
	if !ok {
		return &Failure{Provider: tencentProvider, Code: "NoTemplate", Permanent: true,
			Err: fmt.Errorf("no template configured for purpose %q", m.Purpose)}
	}
	params := []string{} // a notice: the docs ask for an empty set
	if m.Code != "" {
		params = []string{m.Code, strconv.Itoa(int(m.TTL / time.Minute))}
	}
	body, err := json.Marshal(tencentRequest{
		PhoneNumberSet:   []string{string(m.To)},
		SmsSdkAppID:      t.cfg.SDKAppID,
		SignName:         t.cfg.SignName,
		TemplateID:       templateID,
		TemplateParamSet: params,
		SessionContext:   m.ID,
	})
	if err != nil {
		return fmt.Errorf("sms: tencent: encode: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	req, err := t.newRequest(ctx, body, time.Now())
	if err != nil {
		return fmt.Errorf("sms: tencent: new request: %w", err)
	}
	// The number and the code travel in the body, never in the URL, so the
	// *url.Error the client returns cannot carry them.
	resp, err := t.client.Do(req)
	if err != nil {
		return fmt.Errorf("sms: tencent: post: %w", err)
	}
	defer resp.Body.Close()
	return tencentResult(resp, m.Code)
}

// newRequest builds the signed POST. X-TC-Action is signed along with the
// two required headers, so a captured signature cannot be replayed against
// another action within its five minutes.
func (t *Tencent) newRequest(ctx context.Context, body []byte, now time.Time) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Host = t.host
	req.Header.Set("Content-Type", tencentContentType)
	req.Header.Set("User-Agent", webhookUserAgent)
	req.Header.Set("X-TC-Action", tencentAction)
	req.Header.Set("X-TC-Version", tencentVersion)
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("X-TC-Region", t.cfg.Region)
	req.Header.Set("Authorization", TencentAuthorization(t.cfg.SecretID, t.cfg.SecretKey, tencentService, now,
		map[string]string{"content-type": tencentContentType, "host": t.host, "x-tc-action": tencentAction}, body))
	return req, nil
}

// TencentAuthorization returns the TC3-HMAC-SHA256 Authorization header of a
// POST to "/" with no query string, for service (the product, "sms") at
// timestamp, signing headers (name to value as sent; "content-type" and
// "host" are required) and payload, the body as sent.
func TencentAuthorization(secretID, secretKey, service string, timestamp time.Time, headers map[string]string, payload []byte) string {
	canon := make(map[string]string, len(headers))
	for k, v := range headers {
		canon[strings.ToLower(strings.TrimSpace(k))] = strings.ToLower(strings.TrimSpace(v))
	}
	names := slices.Sorted(maps.Keys(canon))
	var canonicalHeaders strings.Builder
	for _, k := range names {
		canonicalHeaders.WriteString(k + ":" + canon[k] + "\n")
	}
	signedHeaders := strings.Join(names, ";")
	canonicalRequest := "POST\n/\n\n" + canonicalHeaders.String() + "\n" + signedHeaders + "\n" + tencentSHA256Hex(payload)

	date := timestamp.UTC().Format(time.DateOnly) // UTC, or calls fail around midnight in UTC+8
	scope := date + "/" + service + "/tc3_request"
	stringToSign := tencentAlgorithm + "\n" + strconv.FormatInt(timestamp.Unix(), 10) + "\n" + scope + "\n" +
		tencentSHA256Hex([]byte(canonicalRequest))

	key := tencentHMAC([]byte("TC3"+secretKey), date)
	key = tencentHMAC(key, service)
	key = tencentHMAC(key, "tc3_request")
	signature := hex.EncodeToString(tencentHMAC(key, stringToSign))
	return tencentAlgorithm + " Credential=" + secretID + "/" + scope +
		", SignedHeaders=" + signedHeaders + ", Signature=" + signature
}

func tencentSHA256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func tencentHMAC(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// tencentResult reads an answer: nil when the one number's status is "Ok".
func tencentResult(resp *http.Response, code string) error {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, tencentMaxAnswer))
	if err != nil {
		return fmt.Errorf("sms: tencent: read answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// The API answers 200 even for refusals; anything else comes from
		// the gateway in front of it.
		return &Failure{
			Provider: tencentProvider, Code: strconv.Itoa(resp.StatusCode),
			Permanent:  httpStatusPermanent(resp.StatusCode),
			RetryAfter: retryAfterHeader(resp.Header, time.Now()),
			Err:        errors.New(tencentDetail(fmt.Sprintf("status %d: %s", resp.StatusCode, raw), "", code)),
		}
	}
	var a tencentAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return errors.New("sms: tencent: decode answer: " + tencentDetail(err.Error(), "", code))
	}
	r := a.Response
	switch {
	case r.Error != nil:
		return tencentFailure(r.Error.Code, r.Error.Message, r.RequestID, code)
	case len(r.SendStatusSet) == 0:
		return errors.New("sms: tencent: answer has neither Error nor SendStatusSet, request " + tencentDetail(r.RequestID, "", code))
	case r.SendStatusSet[0].Code == "Ok":
		return nil
	default:
		return tencentFailure(r.SendStatusSet[0].Code, r.SendStatusSet[0].Message, r.RequestID, code)
	}
}

func tencentFailure(errCode, message, requestID, code string) error {
	permanent, wait := tencentClassify(errCode)
	return &Failure{Provider: tencentProvider, Code: errCode, Permanent: permanent, RetryAfter: wait,
		Err: errors.New(tencentDetail(message, requestID, code))}
}

// tencentDetail cuts a provider's message to maxErrorBody bytes and takes out
// anything that could be the code or a number: an error must never carry them.
func tencentDetail(message, requestID, code string) string {
	truncated := len(message) > maxErrorBody
	if truncated {
		message = message[:maxErrorBody]
		for !utf8.ValidString(message) {
			message = message[:len(message)-1]
		}
	}
	s := redact(message, truncated, code)
	if requestID != "" {
		s += " (request " + redact(requestID, false, code) + ")"
	}
	return s
}

// tencentClassify says whether a refusal is permanent and how long to wait
// before a retry, from the codes documented for SendSms (sources at the top
// of this file):
//
//	LimitExceeded.PhoneNumberThirtySecondLimit       transient, retry after 30 s
//	LimitExceeded.PhoneNumberOneHourLimit            permanent (see below)
//	LimitExceeded.PhoneNumberDailyLimit              permanent (see below)
//	LimitExceeded.PhoneNumberSameContentDailyLimit   permanent (see below)
//	LimitExceeded.PhoneNumberCountLimit              permanent: over 200 numbers, our bug
//	LimitExceeded.AppCountryOrRegionInBlacklist      permanent: the country is blocked in the console
//	LimitExceeded.* (DeliveryFrequencyLimit, AppDailyLimit, DailyLimit,
//	  AppGlobalDailyLimit, AppMainlandChinaDailyLimit, AppCountryOrRegionDailyLimit)
//	                                                 transient: the operator can raise the limit
//	RequestLimitExceeded, RequestLimitExceeded.*     transient: API call rate
//	InternalError.RequestTimeException               permanent: our clock is > 10 min off
//	InternalError.RestApiInterfaceNotExist           permanent: our request is wrong
//	InternalError, InternalError.* (Timeout, OtherError, SendAndRecvFail, ...)
//	                                                 transient
//	AuthFailure.* (SignatureFailure, SecretIdNotFound, SignatureExpire, ...)
//	UnauthorizedOperation.* (SmsSdkAppIdVerifyFail, SdkAppIdIsDisabled,
//	  SerivceSuspendDueToArrears, RequestIpNotInWhitelist, ...)
//	FailedOperation.* (SignatureIncorrectOrUnapproved, TemplateIncorrectOrUnapproved,
//	  TemplateUnapprovedOrNotExist, TemplateParamSetNotMatchApprovedTemplate,
//	  InsufficientBalanceInSmsPackage, PhoneNumberInBlacklist, ContainSensitiveWord, ...)
//	InvalidParameter.*, InvalidParameterValue.* (IncorrectPhoneNumber, SdkAppIdNotExist,
//	  TemplateParameterFormatError, ...), MissingParameter.*
//	UnsupportedOperation.* (UnsuportedRegion, ContainDomesticAndInternationalPhoneNumber, ...)
//	InvalidAction, ActionOffline, NoSuchProduct, NoSuchVersion, IpInBlacklist, IpNotInWhitelist
//	                                                 permanent: a retry is refused the same way
//	anything else                                    transient
//
// The per-number hourly and daily limits are permanent for now: the wait
// they ask for outlives the code (300 s), and SECURITY.md row 35 forbids
// retries after it expires; a retry would only be refused again. A refusal
// means nothing was sent, so an unknown code is retried: the cost of a wrong
// guess is a few bounded retries, not a lost or doubled message.
func tencentClassify(code string) (permanent bool, retryAfter time.Duration) {
	switch code {
	case "LimitExceeded.PhoneNumberThirtySecondLimit":
		return false, 30 * time.Second
	case "LimitExceeded.PhoneNumberOneHourLimit", "LimitExceeded.PhoneNumberDailyLimit",
		"LimitExceeded.PhoneNumberSameContentDailyLimit", "LimitExceeded.PhoneNumberCountLimit",
		"LimitExceeded.AppCountryOrRegionInBlacklist",
		"InternalError.RequestTimeException", "InternalError.RestApiInterfaceNotExist":
		return true, 0
	}
	class, _, _ := strings.Cut(code, ".")
	switch class {
	case "AuthFailure", "UnauthorizedOperation", "FailedOperation", "InvalidParameter", "InvalidParameterValue",
		"MissingParameter", "UnsupportedOperation", "InvalidAction", "ActionOffline", "NoSuchProduct",
		"NoSuchVersion", "IpInBlacklist", "IpNotInWhitelist":
		return true, 0
	}
	return false, 0 // LimitExceeded, RequestLimitExceeded, InternalError, unknown
}
