package sms_test

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
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/sms"
)

const (
	tencentTestSecretID  = "AKIDtestsecretid0123456789EXAMPLE"
	tencentTestSecretKey = "tencent-test-secret-key-EXAMPLE"
	tencentTestNumber    = "+8613812345678"
	tencentTestCode      = "123456"
)

// The worked example of the TC3-HMAC-SHA256 documentation ("Signature v3",
// https://cloud.tencent.com/document/api/382/52072 and its English twin):
// CVM DescribeInstances with a fixed key, timestamp and payload.
const (
	tencentDocSecretID    = "AKID**********************0123456789EXAMPLE"
	tencentDocSecretKey   = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
	tencentDocTimestamp   = 1551113065
	tencentDocPayload     = `{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}`
	tencentDocPayloadHash = "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
	tencentDocCanonical   = "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n" + tencentDocPayloadHash
	tencentDocCanonHash   = "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
	tencentDocStringToSgn = "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n" + tencentDocCanonHash
	tencentDocSignature   = "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
	tencentDocAuth        = "TC3-HMAC-SHA256 Credential=AKID**********************0123456789EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=" + tencentDocSignature
)

// tencentDocHash and tencentDocHMAC follow the pseudocode of the
// documentation, written apart from the package's signing code.
func tencentDocHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func tencentDocHMAC(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// tencentDocSign computes, step by step as documented, the canonical
// request, the string to sign and the signature.
func tencentDocSign(secretKey, method, query, canonicalHeaders, signedHeaders, payload string, timestamp int64, service string) (canonical, stringToSign, signature string) {
	canonical = method + "\n/\n" + query + "\n" + canonicalHeaders + "\n" + signedHeaders + "\n" + tencentDocHash(payload)
	date := time.Unix(timestamp, 0).UTC().Format("2006-01-02")
	stringToSign = "TC3-HMAC-SHA256\n" + strconv.FormatInt(timestamp, 10) + "\n" + date + "/" + service + "/tc3_request\n" + tencentDocHash(canonical)
	secretDate := tencentDocHMAC([]byte("TC3"+secretKey), date)
	secretService := tencentDocHMAC(secretDate, service)
	secretSigning := tencentDocHMAC(secretService, "tc3_request")
	return canonical, stringToSign, hex.EncodeToString(tencentDocHMAC(secretSigning, stringToSign))
}

func TestTencentSignatureWorkedExample(t *testing.T) {
	t.Parallel()
	if got := tencentDocHash(tencentDocPayload); got != tencentDocPayloadHash {
		t.Errorf("HashedRequestPayload = %s, want %s", got, tencentDocPayloadHash)
	}
	canonical, sts, sig := tencentDocSign(tencentDocSecretKey, "POST", "",
		"content-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n", "content-type;host",
		tencentDocPayload, tencentDocTimestamp, "cvm")
	if canonical != tencentDocCanonical || tencentDocHash(canonical) != tencentDocCanonHash {
		t.Errorf("fake's CanonicalRequest = %q, want %q", canonical, tencentDocCanonical)
	}
	if sts != tencentDocStringToSgn {
		t.Errorf("fake's StringToSign = %q, want %q", sts, tencentDocStringToSgn)
	}
	if sig != tencentDocSignature {
		t.Errorf("fake's Signature = %s, want %s", sig, tencentDocSignature)
	}

	auth := sms.TencentAuthorization(tencentDocSecretID, tencentDocSecretKey, "cvm", time.Unix(tencentDocTimestamp, 0),
		map[string]string{"Content-Type": "application/json; charset=utf-8", "Host": "cvm.tencentcloudapi.com"},
		[]byte(tencentDocPayload))
	if auth != tencentDocAuth {
		t.Errorf("TencentAuthorization =\n%s\nwant\n%s", auth, tencentDocAuth)
	}
}

// tencentRequest is one request that passed the fake's signature check.
type tencentRequest struct {
	method, path, query, host string
	header                    http.Header
	body                      []byte
}

// tencentFake plays Tencent Cloud: it checks the TC3-HMAC-SHA256 signature
// the documented way and, like the real API, refuses a bad one with HTTP 200
// and Response.Error; a request that passes is recorded and answered by
// answer (success when nil).
type tencentFake struct {
	srv      *httptest.Server
	got      chan tencentRequest
	requests atomic.Int32
}

func newTencentFake(t *testing.T, answer http.HandlerFunc) *tencentFake {
	t.Helper()
	f := &tencentFake{got: make(chan tencentRequest, 16)}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		if code := tencentVerify(r, body); code != "" {
			tencentWriteError(w, code, "The provided credentials could not be validated. Please check your signature is correct.")
			return
		}
		f.got <- tencentRequest{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, host: r.Host, header: r.Header.Clone(), body: body}
		if answer == nil {
			tencentWriteStatus(w, "Ok", "send success")
			return
		}
		answer(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// tencentVerify returns the error code Tencent would answer for r's
// signature, or "" when it is right.
func tencentVerify(r *http.Request, body []byte) string {
	alg, rest, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || alg != "TC3-HMAC-SHA256" {
		return "AuthFailure.InvalidAuthorization"
	}
	fields := make(map[string]string)
	for part := range strings.SplitSeq(rest, ", ") {
		k, v, _ := strings.Cut(part, "=")
		fields[k] = v
	}
	cred := strings.Split(fields["Credential"], "/")
	signed := strings.Split(fields["SignedHeaders"], ";")
	if len(cred) != 4 || cred[3] != "tc3_request" || !tencentContains(signed, "content-type") || !tencentContains(signed, "host") {
		return "AuthFailure.InvalidAuthorization"
	}
	if cred[0] != tencentTestSecretID {
		return "AuthFailure.SecretIdNotFound"
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	if d := time.Since(time.Unix(ts, 0)); err != nil || d > 5*time.Minute || d < -5*time.Minute {
		return "AuthFailure.SignatureExpire"
	}
	if cred[1] != time.Unix(ts, 0).UTC().Format("2006-01-02") || cred[2] != "sms" {
		return "AuthFailure.SignatureFailure"
	}
	var headers strings.Builder
	for _, name := range signed {
		v := r.Header.Get(name)
		if name == "host" {
			v = r.Host
		}
		headers.WriteString(name + ":" + strings.ToLower(strings.TrimSpace(v)) + "\n")
	}
	_, _, want := tencentDocSign(tencentTestSecretKey, r.Method, r.URL.RawQuery, headers.String(), fields["SignedHeaders"], string(body), ts, "sms")
	if !hmac.Equal([]byte(fields["Signature"]), []byte(want)) {
		return "AuthFailure.SignatureFailure"
	}
	return ""
}

func tencentContains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// tencentWriteError answers the documented shape of a refused request.
func tencentWriteError(w http.ResponseWriter, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"Response":{"Error":{"Code":%q,"Message":%q},"RequestId":"ed93f3cb-f35e-473f-b9f3-0d451b8b79c6"}}`, code, message)
}

// tencentWriteStatus answers the documented shape of an accepted request
// with one number's status; like the real API it echoes the number.
func tencentWriteStatus(w http.ResponseWriter, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"Response":{"SendStatusSet":[{"SerialNo":"5000:1045710669157053657849499619","PhoneNumber":%q,`+
		`"Fee":1,"SessionContext":"msg-7f3a","Code":%q,"Message":%q,"IsoCode":"CN"}],"RequestId":"a0aabda6-cf91-4f3e-a81f-9198114a2279"}}`,
		tencentTestNumber, code, message)
}

func tencentConfig(endpoint string) sms.TencentConfig {
	return sms.TencentConfig{
		SecretID: tencentTestSecretID, SecretKey: tencentTestSecretKey,
		SDKAppID: "1400006666", SignName: "腾讯云",
		Templates: map[string]string{account.PurposeRegister: "1110", account.PurposeAlreadyRegistered: "1111"},
		Endpoint:  endpoint,
		Timeout:   2 * time.Second,
	}
}

func newTencent(t *testing.T, cfg sms.TencentConfig) *sms.Tencent {
	t.Helper()
	tc, err := sms.NewTencent(cfg, nil)
	if err != nil {
		t.Fatalf("NewTencent: %v", err)
	}
	return tc
}

func tencentMessage(purpose string) account.Message {
	m := account.Message{
		ID: "msg-7f3a", To: tencentTestNumber, Purpose: purpose, TTL: 5 * time.Minute, Locale: account.LocaleZH,
		Text: "【Signup】有人尝试用本号码注册,但本号码已有账号,请直接登录。",
	}
	if purpose != account.PurposeAlreadyRegistered {
		m.Code = tencentTestCode
		m.Text = "【Signup】您的注册验证码是123456,5分钟内有效。"
	}
	return m
}

// tencentAssertClean fails if err carries the code, the number in any common
// form, or the secret key.
func tencentAssertClean(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{tencentTestCode, "13812345678", tencentTestSecretKey} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("err = %q contains %q", err, s)
		}
	}
}

func TestTencentRequestMatchesDocumentation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, purpose, region, wantRegion, wantTemplate string
		wantParams                                      []any
	}{
		{"code, default region", account.PurposeRegister, "", "ap-guangzhou", "1110", []any{"123456", "5"}},
		{"notice, other region", account.PurposeAlreadyRegistered, "ap-nanjing", "ap-nanjing", "1111", []any{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newTencentFake(t, nil)
			cfg := tencentConfig(f.srv.URL)
			cfg.Region = tc.region
			before := time.Now().Unix()
			if err := newTencent(t, cfg).Send(context.Background(), tencentMessage(tc.purpose)); err != nil {
				t.Fatalf("Send: %v", err)
			}
			r := <-f.got
			if r.method != http.MethodPost || r.path != "/" || r.query != "" {
				t.Errorf("request %s %s?%s, want POST / without a query", r.method, r.path, r.query)
			}
			if r.host != strings.TrimPrefix(f.srv.URL, "http://") {
				t.Errorf("Host = %q, want the endpoint's host", r.host)
			}
			for name, want := range map[string]string{
				"Content-Type": "application/json; charset=utf-8",
				"X-TC-Action":  "SendSms",
				"X-TC-Version": "2021-01-11",
				"X-TC-Region":  tc.wantRegion,
			} {
				if got := r.header.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			ts, err := strconv.ParseInt(r.header.Get("X-TC-Timestamp"), 10, 64)
			if err != nil || ts < before || ts > time.Now().Unix() {
				t.Errorf("X-TC-Timestamp = %q, want the current Unix time", r.header.Get("X-TC-Timestamp"))
			}
			wantAuth := "TC3-HMAC-SHA256 Credential=" + tencentTestSecretID + "/" + time.Unix(ts, 0).UTC().Format("2006-01-02") +
				"/sms/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature="
			if auth := r.header.Get("Authorization"); !strings.HasPrefix(auth, wantAuth) {
				t.Errorf("Authorization = %q, want prefix %q", auth, wantAuth)
			}

			var body map[string]any
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatalf("body %q: %v", r.body, err)
			}
			want := map[string]any{
				"PhoneNumberSet":   []any{"+8613812345678"},
				"SmsSdkAppId":      "1400006666",
				"SignName":         "腾讯云",
				"TemplateId":       tc.wantTemplate,
				"TemplateParamSet": tc.wantParams,
				"SessionContext":   "msg-7f3a",
			}
			for k, v := range want {
				if got, ok := body[k]; !ok || !reflect.DeepEqual(got, v) {
					t.Errorf("body[%q] = %#v, want %#v", k, got, v)
				}
			}
			for k := range body {
				if _, ok := want[k]; !ok {
					t.Errorf("body has extra field %q", k)
				}
			}
			// The text is Tencent's template's business; ours never travels.
			if bytes.Contains(r.body, []byte("Signup")) || bytes.Contains(r.body, []byte("有效")) {
				t.Errorf("body %s carries the message text", r.body)
			}
		})
	}
}

func TestTencentSuccess(t *testing.T) {
	t.Parallel()
	f := newTencentFake(t, nil)
	if err := newTencent(t, tencentConfig(f.srv.URL)).Send(context.Background(), tencentMessage(account.PurposeRegister)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestTencentWrongCredentials(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, id, key, wantCode string
	}{
		{"wrong key", tencentTestSecretID, "another-secret-key", "AuthFailure.SignatureFailure"},
		{"unknown id", "AKIDunknown", tencentTestSecretKey, "AuthFailure.SecretIdNotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newTencentFake(t, nil)
			cfg := tencentConfig(f.srv.URL)
			cfg.SecretID, cfg.SecretKey = tc.id, tc.key
			err := newTencent(t, cfg).Send(context.Background(), tencentMessage(account.PurposeRegister))
			var fail *sms.Failure
			if !errors.As(err, &fail) || fail.Provider != "tencent" || fail.Code != tc.wantCode || !fail.Permanent {
				t.Fatalf("err = %v, want a permanent tencent failure %s", err, tc.wantCode)
			}
			if len(f.got) != 0 {
				t.Error("the fake accepted a badly signed request")
			}
			tencentAssertClean(t, err)
		})
	}
}

func TestTencentClassifiesAnswers(t *testing.T) {
	t.Parallel()
	// Messages echo the number and the code, as a careless provider might:
	// neither may reach the error.
	echo := "number " + tencentTestNumber + " code " + tencentTestCode
	status := func(code string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { tencentWriteStatus(w, code, echo) }
	}
	refusal := func(code string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) { tencentWriteError(w, code, echo) }
	}
	for _, tc := range []struct {
		name      string
		answer    http.HandlerFunc
		wantCode  string
		permanent bool
		wait      time.Duration
	}{
		{"throttled 30 s", status("LimitExceeded.PhoneNumberThirtySecondLimit"), "LimitExceeded.PhoneNumberThirtySecondLimit", false, 30 * time.Second},
		{"throttled by policy", status("LimitExceeded.DeliveryFrequencyLimit"), "LimitExceeded.DeliveryFrequencyLimit", false, 0},
		{"app daily limit", status("LimitExceeded.AppDailyLimit"), "LimitExceeded.AppDailyLimit", false, 0},
		{"number hourly limit", status("LimitExceeded.PhoneNumberOneHourLimit"), "LimitExceeded.PhoneNumberOneHourLimit", true, 0},
		{"number daily limit", status("LimitExceeded.PhoneNumberDailyLimit"), "LimitExceeded.PhoneNumberDailyLimit", true, 0},
		{"invalid number", status("InvalidParameterValue.IncorrectPhoneNumber"), "InvalidParameterValue.IncorrectPhoneNumber", true, 0},
		{"unapproved template", status("FailedOperation.TemplateIncorrectOrUnapproved"), "FailedOperation.TemplateIncorrectOrUnapproved", true, 0},
		{"unapproved sign", status("FailedOperation.SignatureIncorrectOrUnapproved"), "FailedOperation.SignatureIncorrectOrUnapproved", true, 0},
		{"no balance", status("FailedOperation.InsufficientBalanceInSmsPackage"), "FailedOperation.InsufficientBalanceInSmsPackage", true, 0},
		{"unsubscribed number", status("FailedOperation.PhoneNumberInBlacklist"), "FailedOperation.PhoneNumberInBlacklist", true, 0},
		{"unsupported region", status("UnsupportedOperation.UnsuportedRegion"), "UnsupportedOperation.UnsuportedRegion", true, 0},
		{"API rate", refusal("RequestLimitExceeded"), "RequestLimitExceeded", false, 0},
		{"internal timeout", refusal("InternalError.Timeout"), "InternalError.Timeout", false, 0},
		{"clock skew", refusal("InternalError.RequestTimeException"), "InternalError.RequestTimeException", true, 0},
		{"app id not ours", refusal("UnauthorizedOperation.SmsSdkAppIdVerifyFail"), "UnauthorizedOperation.SmsSdkAppIdVerifyFail", true, 0},
		{"signature expired", refusal("AuthFailure.SignatureExpire"), "AuthFailure.SignatureExpire", true, 0},
		{"unknown code", refusal("ResourceUnavailable.Something"), "ResourceUnavailable.Something", false, 0},
		{"500", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "upstream 500 for "+echo, http.StatusInternalServerError)
		}, "500", false, 0},
		{"503 with Retry-After", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusServiceUnavailable)
		}, "503", false, 3 * time.Second},
		{"403 from a gateway", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusForbidden)
		}, "403", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newTencentFake(t, tc.answer)
			err := newTencent(t, tencentConfig(f.srv.URL)).Send(context.Background(), tencentMessage(account.PurposeRegister))
			var fail *sms.Failure
			if !errors.As(err, &fail) {
				t.Fatalf("err = %v, want a *sms.Failure", err)
			}
			if fail.Provider != "tencent" || fail.Code != tc.wantCode || sms.IsPermanent(err) != tc.permanent || sms.RetryAfter(err) != tc.wait {
				t.Errorf("err = %v (code %q, permanent %v, retry after %v), want code %q, permanent %v, retry after %v",
					err, fail.Code, sms.IsPermanent(err), sms.RetryAfter(err), tc.wantCode, tc.permanent, tc.wait)
			}
			if !strings.HasPrefix(err.Error(), "sms: tencent: ") {
				t.Errorf("err = %q, want the sms: tencent: prefix", err)
			}
			tencentAssertClean(t, err)
		})
	}
}

func TestTencentUnreadableAnswer(t *testing.T) {
	t.Parallel()
	for name, answer := range map[string]string{
		"not JSON":         `<html>gateway page for 13812345678</html>`,
		"no status at all": `{"Response":{"RequestId":"a0aabda6-cf91-4f3e-a81f-9198114a2279"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newTencentFake(t, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, answer) })
			err := newTencent(t, tencentConfig(f.srv.URL)).Send(context.Background(), tencentMessage(account.PurposeRegister))
			var fail *sms.Failure
			// The message may have gone: a plain error, retried under the same id.
			if err == nil || errors.As(err, &fail) || sms.IsPermanent(err) {
				t.Fatalf("err = %v, want a plain transient error", err)
			}
			tencentAssertClean(t, err)
		})
	}
}

func TestTencentTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 200 * time.Millisecond
	for _, tc := range []struct {
		name          string
		configTimeout time.Duration
		ctx           func() (context.Context, context.CancelFunc)
	}{
		{"attempt timeout", timeout, func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
		{"caller deadline", time.Minute, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), timeout)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			f := newTencentFake(t, func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-release:
				}
			})
			t.Cleanup(func() { close(release) }) // runs before f.srv.Close, which waits for handlers
			cfg := tencentConfig(f.srv.URL)
			cfg.Timeout = tc.configTimeout
			ctx, cancel := tc.ctx()
			defer cancel()
			start := time.Now()
			err := newTencent(t, cfg).Send(ctx, tencentMessage(account.PurposeRegister))
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("Send got nil error from a server that never answers")
			}
			if elapsed > timeout+800*time.Millisecond {
				t.Errorf("Send returned after %v, want about %v", elapsed, timeout)
			}
			var fail *sms.Failure
			if errors.As(err, &fail) || sms.IsPermanent(err) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want a plain deadline error", err)
			}
			if !strings.HasPrefix(err.Error(), "sms: tencent: ") {
				t.Errorf("err = %q, want the sms: tencent: prefix", err)
			}
			tencentAssertClean(t, err)
		})
	}
}

func TestTencentMissingTemplate(t *testing.T) {
	t.Parallel()
	f := newTencentFake(t, nil)
	err := newTencent(t, tencentConfig(f.srv.URL)).Send(context.Background(), tencentMessage("login"))
	var fail *sms.Failure
	if !errors.As(err, &fail) || fail.Provider != "tencent" || !fail.Permanent || fail.Code != "NoTemplate" {
		t.Fatalf("err = %v, want a permanent NoTemplate failure", err)
	}
	if n := f.requests.Load(); n != 0 {
		t.Errorf("%d requests reached Tencent, want none", n)
	}
	tencentAssertClean(t, err)
}

func TestNewTencentValidates(t *testing.T) {
	t.Parallel()
	for name, change := range map[string]func(*sms.TencentConfig){
		"no secret id":            func(c *sms.TencentConfig) { c.SecretID = "" },
		"no secret key":           func(c *sms.TencentConfig) { c.SecretKey = "" },
		"no app id":               func(c *sms.TencentConfig) { c.SDKAppID = "" },
		"app id not digits":       func(c *sms.TencentConfig) { c.SDKAppID = "app-1400006666" },
		"no sign name":            func(c *sms.TencentConfig) { c.SignName = "" },
		"no register template":    func(c *sms.TencentConfig) { delete(c.Templates, account.PurposeRegister) },
		"no notice template":      func(c *sms.TencentConfig) { delete(c.Templates, account.PurposeAlreadyRegistered) },
		"template not digits":     func(c *sms.TencentConfig) { c.Templates[account.PurposeRegister] = "SMS_1110" },
		"bad region":              func(c *sms.TencentConfig) { c.Region = "ap guangzhou\r\n" },
		"endpoint not a URL":      func(c *sms.TencentConfig) { c.Endpoint = "sms.tencentcloudapi.com" },
		"endpoint with path":      func(c *sms.TencentConfig) { c.Endpoint = "https://sms.tencentcloudapi.com/v3" },
		"endpoint with query":     func(c *sms.TencentConfig) { c.Endpoint = "https://sms.tencentcloudapi.com/?a=b" },
		"plain http to elsewhere": func(c *sms.TencentConfig) { c.Endpoint = "http://sms.tencentcloudapi.com" },
		"other scheme":            func(c *sms.TencentConfig) { c.Endpoint = "ftp://sms.tencentcloudapi.com" },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := tencentConfig("")
			change(&cfg)
			_, err := sms.NewTencent(cfg, nil)
			if err == nil {
				t.Fatal("NewTencent accepted the config")
			}
			if !strings.HasPrefix(err.Error(), "sms: tencent: config: ") || strings.Contains(err.Error(), tencentTestSecretKey) {
				t.Errorf("err = %q, want the prefix and no secret key", err)
			}
		})
	}
	for _, endpoint := range []string{"", "https://sms.tencentcloudapi.com", "https://sms.intl.tencentcloudapi.com/", "http://127.0.0.1:8080", "http://[::1]:8080"} {
		if _, err := sms.NewTencent(tencentConfig(endpoint), nil); err != nil {
			t.Errorf("endpoint %q: %v", endpoint, err)
		}
	}
}

func TestTencentConfigKeepsTheSecretKeyOutOfLogs(t *testing.T) {
	t.Parallel()
	cfg := tencentConfig("")
	tc := newTencent(t, cfg)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("sms", "config", cfg, "sender", tc)
	out := buf.String() + fmt.Sprintf("%v %+v", cfg, cfg)
	if strings.Contains(out, tencentTestSecretKey) {
		t.Errorf("output carries the secret key: %s", out)
	}
	// The defaults were filled in.
	for _, want := range []string{"https://sms.tencentcloudapi.com", "ap-guangzhou", "1400006666"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log %s lacks %q", buf.String(), want)
		}
	}
}

func TestTencentTemplatesCopied(t *testing.T) {
	t.Parallel()
	f := newTencentFake(t, nil)
	cfg := tencentConfig(f.srv.URL)
	tc := newTencent(t, cfg)
	cfg.Templates[account.PurposeRegister] = "9999" // a later change to the caller's map
	if err := tc.Send(context.Background(), tencentMessage(account.PurposeRegister)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	var body struct{ TemplateId string }
	if err := json.Unmarshal((<-f.got).body, &body); err != nil || body.TemplateId != "1110" {
		t.Errorf("TemplateId = %q (%v), want the one configured at construction", body.TemplateId, err)
	}
}
