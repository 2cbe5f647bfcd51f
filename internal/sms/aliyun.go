package sms

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/signupd/signupd/internal/account"
)

const (
	aliyunDefaultEndpoint = "https://dysmsapi.aliyuncs.com"
	aliyunDefaultRegion   = "cn-hangzhou"
	// aliyunDefaultTimeout bounds an attempt when the config names none. The
	// SendSms page asks for at least 1 s.
	aliyunDefaultTimeout = 10 * time.Second
	aliyunAPIVersion     = "2017-05-25"
	aliyunMaxAnswer      = 64 << 10
	aliyunProvider       = "aliyun"
)

// AliyunConfig configures Aliyun. Templates maps a message purpose
// (account.PurposeRegister, ...) to an approved TemplateCode ("SMS_15305...").
type AliyunConfig struct {
	AccessKeyID, AccessKeySecret, SignName string
	Templates                              map[string]string
	Endpoint                               string        // default https://dysmsapi.aliyuncs.com
	Region                                 string        // default cn-hangzhou
	Timeout                                time.Duration // per attempt; default 10s
}

// LogValue keeps the AccessKey secret out of logs.
func (c AliyunConfig) LogValue() slog.Value {
	secret := ""
	if c.AccessKeySecret != "" {
		secret = "***"
	}
	return slog.GroupValue(
		slog.String("access_key_id", c.AccessKeyID), slog.String("access_key_secret", secret),
		slog.String("sign_name", c.SignName), slog.Any("templates", c.Templates),
		slog.String("endpoint", c.Endpoint), slog.String("region", c.Region), slog.Duration("timeout", c.Timeout),
	)
}

// String masks the secret, so that %v and %+v cannot print it either.
func (c AliyunConfig) String() string { return c.LogValue().String() }

// GoString keeps %#v from printing the secret.
func (c AliyunConfig) GoString() string { return c.String() }

// Aliyun sends messages with Alibaba Cloud SMS SendSms (dysmsapi, API version
// 2017-05-25), one POST per attempt.
//
// It signs with the RPC-style HMAC-SHA1 signature (SignatureMethod HMAC-SHA1,
// SignatureVersion 1.0; Aliyun's current pages call it "signature method V2
// for RPC APIs"), not ACS3-HMAC-SHA256 (V3). Both publish worked examples that
// the tests reproduce, but only this one has an example for SendSms itself
// (https://help.aliyun.com/document_detail/56189.html: testId/testSecret,
// signature zJDF+Lrzhj/ThnlvIToysFRq6t4=), and with it every parameter
// travels in an application/x-www-form-urlencoded body. SendSms's API
// metadata puts its parameters in the query, so under V3 the number and the
// code would sit in the URL, where proxies log them and a *url.Error repeats
// them. Aliyun now marks this method "no longer recommended" in favour of V3,
// yet its gateway still checks it (SignatureDoesNotMatch answers of 2025 show
// the HMAC-SHA1 string to sign); HMAC-SHA1 remains a sound MAC, and moving to
// V3 would touch only AliyunSignature and Send.
//
// There is no idempotency: the SendSms page says domestic and international
// SMS "do not support idempotency". OutId carries the message id, and Aliyun
// only echoes it in delivery receipts. A retry after a lost answer may
// therefore send a second SMS with the same code; we accept that over losing
// the code.
type Aliyun struct {
	keyID, secret, signName, region string
	templates                       map[string]string
	endpoint                        string // scheme://host/
	timeout                         time.Duration
	client                          *http.Client
}

// NewAliyun checks cfg and returns an Aliyun. A nil client means one with the
// attempt timeout that does not follow redirects, so a signed body carrying a
// code is never re-sent to a host the endpoint did not name.
func NewAliyun(cfg AliyunConfig, client *http.Client) (*Aliyun, error) {
	if err := aliyunCheck(cfg); err != nil {
		return nil, err
	}
	endpoint, err := aliyunEndpoint(cmp.Or(cfg.Endpoint, aliyunDefaultEndpoint))
	if err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = aliyunDefaultTimeout
	}
	if client == nil {
		client = &http.Client{
			Timeout:       timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	templates := make(map[string]string, len(cfg.Templates))
	for purpose, code := range cfg.Templates {
		templates[purpose] = code
	}
	return &Aliyun{
		keyID: cfg.AccessKeyID, secret: cfg.AccessKeySecret, signName: cfg.SignName,
		region: cmp.Or(cfg.Region, aliyunDefaultRegion), templates: templates,
		endpoint: endpoint, timeout: timeout, client: client,
	}, nil
}

// aliyunCheck names the first missing or malformed setting, never echoing
// the key id or the secret. Surrounding spaces are refused because a
// pasted key with a trailing space fails only later, as SignatureDoesNotMatch.
func aliyunCheck(cfg AliyunConfig) error {
	fields := []struct{ name, value string }{
		{"access key id", cfg.AccessKeyID}, {"access key secret", cfg.AccessKeySecret}, {"sign name", cfg.SignName},
		{"template for " + account.PurposeRegister, cfg.Templates[account.PurposeRegister]},
		{"template for " + account.PurposeAlreadyRegistered, cfg.Templates[account.PurposeAlreadyRegistered]},
	}
	for _, f := range fields {
		if f.value == "" {
			return fmt.Errorf("sms: aliyun: %s is required", f.name)
		}
	}
	for _, f := range fields {
		if strings.TrimSpace(f.value) != f.value {
			return fmt.Errorf("sms: aliyun: %s has leading or trailing spaces", f.name)
		}
	}
	for purpose, code := range cfg.Templates {
		if code == "" || strings.ContainsAny(code, " \t\r\n") {
			return fmt.Errorf("sms: aliyun: template for %q is empty or contains spaces", purpose)
		}
	}
	if cfg.Region != "" && !aliyunRegionPattern.MatchString(cfg.Region) {
		return fmt.Errorf("sms: aliyun: region %q is not a region id such as cn-hangzhou", cfg.Region)
	}
	return nil
}

var aliyunRegionPattern = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// aliyunEndpoint accepts https://host[:port][/], or http:// for a loopback
// host (a test server): the body carries the number and the code.
func aliyunEndpoint(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("sms: aliyun: endpoint %q must be https://host with no path or query", raw)
	}
	loopback := u.Hostname() == "localhost"
	if ip := net.ParseIP(u.Hostname()); ip != nil {
		loopback = ip.IsLoopback()
	}
	if u.Scheme != "https" && (u.Scheme != "http" || !loopback) {
		return "", fmt.Errorf("sms: aliyun: endpoint %q must use https", raw)
	}
	u.Path = "/"
	return u.String(), nil
}

// Send makes one attempt to deliver m. It returns nil when Aliyun answers
// Code "OK", a *Failure when Aliyun or the message itself refuses, and a plain
// error (transient) on network failure or the end of the attempt's timeout.
func (a *Aliyun) Send(ctx context.Context, m account.Message) error {
	params, err := a.params(m)
	if err != nil {
		return err
	}
	_, signature := AliyunSignature(http.MethodPost, params, a.secret)
	body := aliyunCanonical(params) + "&Signature=" + aliyunPercentEncode(signature)

	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	// The number and code travel in the body, never in the URL, so the
	// *url.Error the client returns cannot carry them.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.endpoint, strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("sms: aliyun: new request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", webhookUserAgent)
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("sms: aliyun: post: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, aliyunMaxAnswer))
	if err != nil {
		return fmt.Errorf("sms: aliyun: read answer: %w", err)
	}
	return aliyunAnswerError(resp, raw, m.Code, params["PhoneNumbers"])
}

// params builds the SendSms request from typed fields only. A message with a
// code (register, login, reset) gets TemplateParam {"code":"..."} and nothing
// else, never the text or anything the user typed; a notice gets none, as
// TemplateParam is only required when the template has variables.
func (a *Aliyun) params(m account.Message) (map[string]string, error) {
	template, ok := a.templates[m.Purpose]
	if !ok {
		return nil, aliyunLocal("no_template", fmt.Sprintf("no template for purpose %q", m.Purpose))
	}
	phone, ok := aliyunPhoneNumber(m.To)
	if !ok {
		return nil, aliyunLocal("bad_number", "recipient is not an E.164 number")
	}
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("sms: aliyun: nonce: %w", err)
	}
	p := map[string]string{
		"AccessKeyId": a.keyID, "Action": "SendSms", "Format": "JSON", "RegionId": a.region,
		"SignatureMethod": "HMAC-SHA1", "SignatureNonce": hex.EncodeToString(nonce), "SignatureVersion": "1.0",
		// Seconds only: a timestamp with milliseconds fails the signature check.
		"Timestamp": time.Now().UTC().Format("2006-01-02T15:04:05Z"), "Version": aliyunAPIVersion,
		"PhoneNumbers": phone, "SignName": a.signName, "TemplateCode": template,
	}
	if m.ID != "" {
		p["OutId"] = m.ID
	}
	if m.Code != "" {
		if !aliyunCodePattern.MatchString(m.Code) {
			return nil, aliyunLocal("bad_code", "code is not 4 to 8 letters or digits")
		}
		tp, err := json.Marshal(struct {
			Code string `json:"code"`
		}{m.Code})
		if err != nil {
			return nil, fmt.Errorf("sms: aliyun: encode template param: %w", err)
		}
		p["TemplateParam"] = string(tp)
	}
	return p, nil
}

var aliyunCodePattern = regexp.MustCompile(`^[0-9A-Za-z]{4,8}$`)

func aliyunLocal(code, msg string) *Failure {
	return &Failure{Provider: aliyunProvider, Code: code, Permanent: true, Err: errors.New(msg)}
}

// aliyunPhoneNumber turns E.164 into what PhoneNumbers takes: a mainland
// mobile number as its 11 digits (the form of the SendSms examples; "86"
// prefixed also works), anything else as country code and number without
// "+" ("852000012****").
func aliyunPhoneNumber(p account.Phone) (string, bool) {
	digits, ok := strings.CutPrefix(string(p), "+")
	if !ok || len(digits) < 7 || len(digits) > 15 || digits[0] == '0' || strings.Trim(digits, "0123456789") != "" {
		return "", false
	}
	if national, ok := strings.CutPrefix(digits, "86"); ok && len(national) == 11 && national[0] == '1' {
		return national, true
	}
	return digits, true
}

// AliyunSignature signs an RPC-style request as the "signature mechanism"
// pages describe: parameters other than Signature sorted by name, names and
// values percent-encoded (RFC 3986: only A-Z a-z 0-9 - _ . ~ stay), joined as
// k=v with "&"; StringToSign = method + "&%2F&" + percentEncode(that); the
// signature is Base64(HMAC-SHA1(secret + "&", StringToSign)). It returns both
// so that the vendor's worked examples can be checked step by step.
func AliyunSignature(method string, params map[string]string, secret string) (stringToSign, signature string) {
	stringToSign = method + "&" + aliyunPercentEncode("/") + "&" + aliyunPercentEncode(aliyunCanonical(params))
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(stringToSign))
	return stringToSign, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// aliyunCanonical is the canonicalized query string of every parameter but
// Signature; with Signature appended it is also the request body, which form
// parsers read back unchanged.
func aliyunCanonical(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(aliyunPercentEncode(k) + "=" + aliyunPercentEncode(params[k]))
	}
	return b.String()
}

func aliyunPercentEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// aliyunAnswer is the JSON body of every answer, success or refusal:
// {"RequestId":"...","Code":"OK","Message":"OK","BizId":"..."}; the gateway's
// own refusals (bad signature, unknown key) add HostId and Recommend.
type aliyunAnswer struct {
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	RequestID string `json:"RequestId"`
}

var (
	aliyunCodeSyntax      = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]{0,63}$`)
	aliyunRequestIDSyntax = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)
)

// aliyunAnswerError returns nil for Code "OK" and otherwise a *Failure
// classified by the code (see aliyunPermanent), or by the HTTP status when
// there is no code to go by (a proxy's error page). Its text keeps the
// status, Aliyun's code, request id and message, without the code sent or the
// number: a SignatureDoesNotMatch answer repeats the whole string to sign.
func aliyunAnswerError(resp *http.Response, raw []byte, code, phone string) error {
	var ans aliyunAnswer
	parsed := json.Unmarshal(raw, &ans) == nil && aliyunCodeSyntax.MatchString(ans.Code)
	status := resp.StatusCode
	if parsed && ans.Code == "OK" && status >= 200 && status <= 299 {
		return nil
	}
	f := &Failure{Provider: aliyunProvider, Code: strconv.Itoa(status), RetryAfter: retryAfterHeader(resp.Header, time.Now())}
	text := string(raw)
	if parsed {
		f.Code, text = ans.Code, ans.Message
		permanent, known := aliyunPermanent(ans.Code)
		switch {
		case known:
			f.Permanent = permanent
		case strings.HasPrefix(ans.Code, "isp."): // the platform's side
		case status >= 200 && status <= 299: // a business refusal we do not know yet
			f.Permanent = true
		default:
			f.Permanent = httpStatusPermanent(status)
		}
		if f.RetryAfter == 0 && ans.Code == "isv.BUSINESS_LIMIT_CONTROL" {
			f.RetryAfter = aliyunFlowControlWait(ans.Message)
		}
	} else {
		// A 2xx we cannot read may have been sent: transient, like a timeout.
		// A redirect means a wrong endpoint, which no retry mends.
		f.Permanent = httpStatusPermanent(status) || status >= 300 && status <= 399
	}
	detail := fmt.Sprintf("status %d", status)
	if parsed && aliyunRequestIDSyntax.MatchString(ans.RequestID) {
		detail += ", request " + ans.RequestID
	}
	if s := aliyunSnippet(text, code); s != "" {
		detail += ": " + strconv.Quote(s)
	}
	if phone != "" {
		detail = strings.ReplaceAll(detail, phone, "***")
	}
	if code != "" {
		detail = strings.ReplaceAll(detail, code, "***")
	}
	f.Err = errors.New(detail)
	return f
}

// aliyunSnippet keeps the start of an error message: never what follows
// "server string to sign is" (it holds the number and the code), at most
// maxErrorBody characters, and redacted like the webhook's answers.
func aliyunSnippet(s, code string) string {
	if i := strings.Index(s, "server string to sign"); i >= 0 {
		s = s[:i]
	}
	r := []rune(s)
	truncated := len(r) > maxErrorBody
	if truncated {
		r = r[:maxErrorBody]
	}
	return strings.TrimSpace(redact(string(r), truncated, code))
}

// aliyunFlowControlWait reads the level of isv.BUSINESS_LIMIT_CONTROL from its
// message ("触发分钟级流控Permits:1", "触发小时级流控Permits:5",
// "触发天级流控Permits:10"): the default per-number limits are 1 a minute, 5 an
// hour and 10 a day. It is only a hint; an unknown text gives zero.
func aliyunFlowControlWait(message string) time.Duration {
	switch {
	case strings.Contains(message, "分钟级"):
		return time.Minute
	case strings.Contains(message, "小时级"):
		return time.Hour
	case strings.Contains(message, "天级"):
		return 24 * time.Hour
	}
	return 0
}

// aliyunPermanent classifies the codes we know; known is false for others.
//
// Sources: the SMS "API error codes" page (国内消息API错误码,
// https://help.aliyun.com/zh/sms/developer-reference/api-error-codes, also
// document_detail/101346), whose isv.* refusals come with HTTP 200; and the
// OpenAPI gateway's common codes (SignatureDoesNotMatch 400,
// InvalidAccessKeyId.NotFound 404, Throttling.*, ...), as listed in Aliyun's
// error center (api.aliyun.com/troubleshoot) and seen in real answers such
// as github.com/dromara/SMS4J/issues/34. Transient means a later attempt of
// the same message may pass within its few minutes of life; anything that
// needs the operator (credentials, templates, money, quotas) is permanent.
func aliyunPermanent(code string) (permanent, known bool) {
	if strings.HasPrefix(code, "Throttling") { // Throttling, Throttling.User, Throttling.Api, ...
		return false, true
	}
	switch code {
	case "isv.BUSINESS_LIMIT_CONTROL", // per-number flow control
		"isp.SYSTEM_ERROR", "InternalError", "ServiceUnavailable", "UnknownError",
		"SignatureNonceUsed": // a retry draws a new nonce
		return false, true
	case "isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT", "isv.DOMESTIC_NUMBER_NOT_SUPPORTED",
		// the template, its parameters, the content
		"isv.SMS_TEMPLATE_ILLEGAL", "isv.TEMPLATE_MISSING_PARAMETERS", "isv.TEMPLATE_PARAMS_ILLEGAL",
		"isv.INVALID_JSON_PARAM", "isv.PARAM_LENGTH_LIMIT", "isv.PARAM_NOT_SUPPORT_URL",
		"isv.BLACK_KEY_CONTROL_LIMIT", "isv.SMS_CONTENT_ILLEGAL", "isv.INVALID_PARAMETERS", "isv.EXTEND_CODE_ERROR",
		// the sign name
		"isv.SMS_SIGNATURE_ILLEGAL", "isv.SMS_SIGN_ILLEGAL", "isv.SIGN_STATE_ILLEGAL", "isv.SMS_SIGNATURE_SCENE_ILLEGAL",
		// test signs and templates bound to test numbers
		"isv.SMS_TEST_SIGN_TEMPLATE_LIMIT", "isv.SMS_TEST_TEMPLATE_PARAMS_ILLEGAL", "isv.SMS_TEST_NUMBER_LIMIT",
		// the account, its money and the quotas the operator set
		"isv.ACCOUNT_NOT_EXISTS", "isv.ACCOUNT_ABNORMAL", "isv.PRODUCT_UN_SUBSCRIPT", "isv.PRODUCT_UNSUBSCRIBE",
		"isv.OUT_OF_SERVICE", "isv.AMOUNT_NOT_ENOUGH", "isv.DAY_LIMIT_CONTROL", "isv.MONTH_LIMIT_CONTROL",
		"isv.DENY_IP_RANGE", "isp.RAM_PERMISSION_DENY", "Forbidden.RAM",
		// the gateway: credentials, signature, request shape; our clock
		"SignatureDoesNotMatch", "IncompleteSignature", "InvalidAccessKeyId.NotFound", "InvalidAccessKeyId.Inactive",
		"InvalidTimeStamp.Expired", "InvalidTimeStamp.Format", "MissingParameter", "InvalidParameter",
		"InvalidVersion", "InvalidAction.NotFound", "UnsupportedHTTPMethod":
		return true, true
	}
	return false, false
}
