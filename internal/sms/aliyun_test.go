package sms_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/sms"
)

const (
	aliyunTestKeyID    = "LTAI5tTestKeyID"
	aliyunTestSecret   = "aliyun-test-secret"
	aliyunTestCode     = "123456"
	aliyunTestPhone    = "+8613812345678"
	aliyunTestNational = "13812345678"
	aliyunTestSignName = "注册助手"
	aliyunRegisterTpl  = "SMS_100001"
	aliyunNoticeTpl    = "SMS_100002"
	aliyunTestReqID    = "A57FBFD7-FC9A-54FE-A876-4D5E19577186"
)

// aliyunDocEncode encodes as the signature pages' Java recipe does:
// URLEncoder.encode(v, "UTF-8").replace("+", "%20").replace("*", "%2A").replace("%7E", "~").
// Go's QueryEscape differs from URLEncoder only where those replacements act,
// so this is a second implementation, independent of the one under test.
func aliyunDocEncode(s string) string {
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(url.QueryEscape(s))
}

// aliyunDocStringToSign follows the pages step by step: every parameter but
// Signature, sorted by name, encoded, joined; then
// HTTPMethod + "&" + percentEncode("/") + "&" + percentEncode(that).
func aliyunDocStringToSign(method string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = aliyunDocEncode(k) + "=" + aliyunDocEncode(form.Get(k))
	}
	return method + "&" + aliyunDocEncode("/") + "&" + aliyunDocEncode(strings.Join(pairs, "&"))
}

// aliyunDocSign is Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign)).
func aliyunDocSign(secret, stringToSign string) string {
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// smsDocParams is the worked SendSms example of
// https://help.aliyun.com/document_detail/56189.html (AccessKeySecret testSecret).
var smsDocParams = map[string]string{
	"AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
	"PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
	"SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
	"SignatureVersion": "1.0", "TemplateCode": "SMS_71390007", "TemplateParam": `{"customer":"test"}`,
	"Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25",
}

func TestAliyunSignatureMatchesDocumentedExamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, secret string
		params               map[string]string
		wantStringToSign     string
		wantSignature        string
	}{
		{
			// SMS "HTTP protocol and signature" page, document_detail/56189.
			name: "SendSms", method: "GET", secret: "testSecret", params: smsDocParams,
			wantStringToSign: "GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms%26Format%3DXML%26OutId%3D123" +
				"%26PhoneNumbers%3D15300000001%26RegionId%3Dcn-hangzhou%26SignName%3D%25E9%2598%25BF%25E9%2587%258C" +
				"%25E4%25BA%2591%25E7%259F%25AD%25E4%25BF%25A1%25E6%25B5%258B%25E8%25AF%2595%25E4%25B8%2593%25E7%2594%25A8" +
				"%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D45e25e9b-0a6f-4070-8c85-2956eda1b466" +
				"%26SignatureVersion%3D1.0%26TemplateCode%3DSMS_71390007" +
				"%26TemplateParam%3D%257B%2522customer%2522%253A%2522test%2522%257D" +
				"%26Timestamp%3D2017-07-12T02%253A42%253A19Z%26Version%3D2017-05-25",
			wantSignature: "zJDF+Lrzhj/ThnlvIToysFRq6t4=",
		},
		{
			// The RPC "signature mechanism" (Sign RPC APIs) example.
			name: "DescribeRegions", method: "GET", secret: "testsecret",
			params: map[string]string{
				"AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML", "SignatureMethod": "HMAC-SHA1",
				"SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "SignatureVersion": "1.0",
				"Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26",
			},
			wantStringToSign: "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML" +
				"%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf" +
				"%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26",
			wantSignature: "OLeaidS1JvxuMvnyHOwuJ+uX5qY=",
		},
		{
			// The encoding table: space as %20 (not +), * as %2A, ~ kept,
			// and Signature itself left out.
			name: "encoding rules", method: "POST", secret: "s",
			params:           map[string]string{"b": "x y*~+/", "a": "1", "Signature": "ignored"},
			wantStringToSign: "POST&%2F&a%3D1%26b%3Dx%2520y%252A~%252B%252F",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sts, sig := sms.AliyunSignature(tt.method, tt.params, tt.secret)
			if sts != tt.wantStringToSign {
				t.Errorf("string to sign\n got %s\nwant %s", sts, tt.wantStringToSign)
			}
			if tt.wantSignature != "" && sig != tt.wantSignature {
				t.Errorf("signature = %s, want %s", sig, tt.wantSignature)
			}
			// The fake's own verifier must agree with the documentation too,
			// or the tests below would prove nothing.
			form := url.Values{}
			for k, v := range tt.params {
				form.Set(k, v)
			}
			if got := aliyunDocStringToSign(tt.method, form); got != tt.wantStringToSign {
				t.Errorf("fake's string to sign\n got %s\nwant %s", got, tt.wantStringToSign)
			}
			if got := aliyunDocSign(tt.secret, tt.wantStringToSign); tt.wantSignature != "" && got != tt.wantSignature {
				t.Errorf("fake's signature = %s, want %s", got, tt.wantSignature)
			}
		})
	}
}

// aliyunRequest is one request that passed the fake gateway's checks.
type aliyunRequest struct {
	method, path, rawQuery string
	header                 http.Header
	raw                    string
	form                   url.Values
}

type aliyunFake struct {
	url      string
	hits     atomic.Int32
	requests chan aliyunRequest
	mu       sync.Mutex
	nonces   map[string]bool
}

// newAliyunFake starts a server playing dysmsapi. Like the real gateway it
// checks the key, recomputes the signature from the published algorithm (not
// with sms.AliyunSignature), and refuses stale timestamps and reused nonces
// in Aliyun's own error shape. An accepted request is handed to the test and
// answered by answer, or with Code "OK" when answer is nil.
func newAliyunFake(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) *aliyunFake {
	t.Helper()
	f := &aliyunFake{requests: make(chan aliyunRequest, 100), nonces: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		raw, _ := io.ReadAll(r.Body)
		form, err := url.ParseQuery(string(raw))
		if err != nil || r.Method != http.MethodPost {
			aliyunWrite(w, http.StatusBadRequest, "InvalidParameter", "The request is not a form POST.")
			return
		}
		if code, status, msg := f.refusal(r.Method, form); code != "" {
			aliyunWrite(w, status, code, msg)
			return
		}
		f.requests <- aliyunRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(raw), form}
		if answer == nil {
			aliyunWrite(w, http.StatusOK, "OK", "OK")
			return
		}
		answer(w, r)
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *aliyunFake) refusal(method string, form url.Values) (code string, status int, msg string) {
	for k, v := range form {
		if len(v) != 1 {
			return "InvalidParameter", http.StatusBadRequest, "Parameter " + k + " is repeated."
		}
	}
	if form.Get("AccessKeyId") != aliyunTestKeyID {
		return "InvalidAccessKeyId.NotFound", http.StatusNotFound, "Specified access key is not found."
	}
	sts := aliyunDocStringToSign(method, form)
	if !hmac.Equal([]byte(form.Get("Signature")), []byte(aliyunDocSign(aliyunTestSecret, sts))) {
		// The real answer repeats the string to sign, number and code included.
		return "SignatureDoesNotMatch", http.StatusBadRequest,
			"Specified signature is not matched with our calculation. server string to sign is:" + sts
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", form.Get("Timestamp"))
	if d := time.Since(ts); err != nil || d > 15*time.Minute || d < -15*time.Minute {
		return "InvalidTimeStamp.Expired", http.StatusBadRequest, "Specified time stamp or date value is expired."
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := form.Get("SignatureNonce"); n == "" || f.nonces[n] {
		return "SignatureNonceUsed", http.StatusBadRequest, "Specified signature nonce was used already."
	}
	f.nonces[form.Get("SignatureNonce")] = true
	return "", 0, ""
}

// aliyunWrite answers in Aliyun's JSON shape.
func aliyunWrite(w http.ResponseWriter, status int, code, msg string) {
	body := map[string]string{"RequestId": aliyunTestReqID, "Code": code, "Message": msg}
	if code == "OK" {
		body["BizId"] = "900619746936498440^0"
	} else if status != http.StatusOK {
		body["HostId"] = "dysmsapi.aliyuncs.com"
		body["Recommend"] = "https://api.aliyun.com/troubleshoot?q=" + code + "&product=Dysmsapi"
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func newAliyunSender(t *testing.T, endpoint string, edit func(*sms.AliyunConfig)) *sms.Aliyun {
	t.Helper()
	cfg := sms.AliyunConfig{
		AccessKeyID: aliyunTestKeyID, AccessKeySecret: aliyunTestSecret, SignName: aliyunTestSignName,
		Templates: map[string]string{
			account.PurposeRegister: aliyunRegisterTpl, account.PurposeAlreadyRegistered: aliyunNoticeTpl,
		},
		Endpoint: endpoint,
	}
	if edit != nil {
		edit(&cfg)
	}
	a, err := sms.NewAliyun(cfg, nil)
	if err != nil {
		t.Fatalf("NewAliyun: %v", err)
	}
	return a
}

func aliyunMessage(purpose string) account.Message {
	m := account.Message{
		ID: "0f8c2a6e-msg", To: aliyunTestPhone, Purpose: purpose, Code: aliyunTestCode, TTL: 5 * time.Minute,
		Locale: account.LocaleZH, Text: "【注册助手】您的注册验证码是123456,5分钟内有效。",
	}
	if purpose == account.PurposeAlreadyRegistered {
		m.Code, m.TTL, m.Text = "", 0, "【注册助手】有人尝试用本号码注册,但本号码已有账号,请直接登录。"
	}
	return m
}

// aliyunNoSecrets fails if err's text carries the code or the number.
func aliyunNoSecrets(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{aliyunTestCode, aliyunTestNational} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q contains %q", err, s)
		}
	}
}

func TestAliyunSendsDocumentedRequest(t *testing.T) {
	t.Parallel()
	fake := newAliyunFake(t, nil)
	a := newAliyunSender(t, fake.url, nil)
	common := map[string]string{
		"AccessKeyId": aliyunTestKeyID, "Action": "SendSms", "Format": "JSON", "RegionId": "cn-hangzhou",
		"SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "Version": "2017-05-25",
		"PhoneNumbers": aliyunTestNational, "SignName": aliyunTestSignName, "OutId": "0f8c2a6e-msg",
	}
	tests := []struct {
		purpose string
		want    map[string]string
	}{
		{account.PurposeRegister, map[string]string{"TemplateCode": aliyunRegisterTpl, "TemplateParam": `{"code":"123456"}`}},
		{account.PurposeAlreadyRegistered, map[string]string{"TemplateCode": aliyunNoticeTpl}}, // no TemplateParam
	}
	nonces := map[string]bool{}
	for _, tt := range tests {
		if err := a.Send(context.Background(), aliyunMessage(tt.purpose)); err != nil {
			t.Fatalf("%s: Send: %v", tt.purpose, err)
		}
		req := <-fake.requests
		if req.method != http.MethodPost || req.path != "/" || req.rawQuery != "" {
			t.Errorf("%s: %s %s?%s, want POST / with no query", tt.purpose, req.method, req.path, req.rawQuery)
		}
		if ct := req.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			t.Errorf("%s: Content-Type %q", tt.purpose, ct)
		}
		want := map[string]string{}
		for k, v := range common {
			want[k] = v
		}
		for k, v := range tt.want {
			want[k] = v
		}
		for _, k := range []string{"Signature", "SignatureNonce", "Timestamp"} { // checked below
			want[k] = req.form.Get(k)
		}
		got := map[string]string{}
		for k := range req.form {
			got[k] = req.form.Get(k)
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("%s: unexpected parameter %s=%q", tt.purpose, k, got[k])
			}
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || g != v {
				t.Errorf("%s: %s = %q (present %v), want %q", tt.purpose, k, g, ok, v)
			}
		}
		if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(got["Timestamp"]) {
			t.Errorf("%s: Timestamp %q is not yyyy-MM-ddTHH:mm:ssZ", tt.purpose, got["Timestamp"])
		}
		if n := got["SignatureNonce"]; len(n) < 16 || nonces[n] {
			t.Errorf("%s: SignatureNonce %q is short or reused", tt.purpose, n)
		}
		nonces[got["SignatureNonce"]] = true
		// RFC 3986 encoding in the body: UTF-8 as upper-case %XX, no "+", no "*".
		if !strings.Contains(req.raw, "SignName="+aliyunDocEncode(aliyunTestSignName)) || strings.ContainsAny(req.raw, "+* ") {
			t.Errorf("%s: body not percent-encoded as documented: %s", tt.purpose, req.raw)
		}
	}
}

func TestAliyunPhoneNumbers(t *testing.T) {
	t.Parallel()
	fake := newAliyunFake(t, nil)
	a := newAliyunSender(t, fake.url, nil)
	tests := []struct {
		to   account.Phone
		want string // "" when refused without a request
	}{
		{"+8613812345678", "13812345678"}, // mainland mobile: its 11 digits
		{"+85261234567", "85261234567"},   // Hong Kong: country code and number, no "+"
		{"+14155550123", "14155550123"},
		{"+442071838750", "442071838750"},
		{"13812345678", ""}, // not E.164
		{"+86 138 1234", ""},
		{"+", ""},
	}
	for _, tt := range tests {
		m := aliyunMessage(account.PurposeRegister)
		m.To = tt.to
		err := a.Send(context.Background(), m)
		if tt.want == "" {
			if !sms.IsPermanent(err) {
				t.Errorf("%q: err = %v, want a permanent failure", tt.to, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tt.to, err)
		}
		if got := (<-fake.requests).form.Get("PhoneNumbers"); got != tt.want {
			t.Errorf("%q: PhoneNumbers = %q, want %q", tt.to, got, tt.want)
		}
	}
	if n := fake.hits.Load(); n != 4 {
		t.Errorf("%d requests, want 4: refused numbers must not be sent", n)
	}
}

func TestAliyunClassifiesFailures(t *testing.T) {
	t.Parallel()
	answer := func(status int, code, msg string) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, _ *http.Request) { aliyunWrite(w, status, code, msg) }
	}
	tests := []struct {
		name       string
		answer     func(http.ResponseWriter, *http.Request)
		edit       func(*sms.AliyunConfig)
		code       string
		permanent  bool
		retryAfter time.Duration
	}{
		{"throttled per number", answer(200, "isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1"), nil, "isv.BUSINESS_LIMIT_CONTROL", false, time.Minute},
		{"gateway throttling", answer(400, "Throttling.User", "Request was denied due to user flow control."), nil, "Throttling.User", false, 0},
		{"invalid number", answer(200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号 8613812345678"), nil, "isv.MOBILE_NUMBER_ILLEGAL", true, 0},
		{"template missing param", answer(200, "isv.TEMPLATE_MISSING_PARAMETERS", "模版缺少变量"), nil, "isv.TEMPLATE_MISSING_PARAMETERS", true, 0},
		{"template illegal", answer(200, "isv.SMS_TEMPLATE_ILLEGAL", "模版不合法(不存在或被拉黑)"), nil, "isv.SMS_TEMPLATE_ILLEGAL", true, 0},
		{"out of money", answer(200, "isv.AMOUNT_NOT_ENOUGH", "账户余额不足"), nil, "isv.AMOUNT_NOT_ENOUGH", true, 0},
		{"platform error", answer(200, "isp.SYSTEM_ERROR", "isp.SYSTEM_ERROR"), nil, "isp.SYSTEM_ERROR", false, 0},
		{"500 with unknown code", answer(500, "UnknownServerError", "The request processing has failed."), nil, "UnknownServerError", false, 0},
		{"502 from a proxy", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "<html>Bad Gateway</html>", http.StatusBadGateway)
		}, nil, "502", false, 0},
		{"400 with unknown code", answer(400, "Some.NewRefusal", "new"), nil, "Some.NewRefusal", true, 0},
		{"200 with unknown isv code", answer(200, "isv.SOMETHING_NEW", "new"), nil, "isv.SOMETHING_NEW", true, 0},
		{"wrong secret", nil, func(c *sms.AliyunConfig) { c.AccessKeySecret = "wrong-secret" }, "SignatureDoesNotMatch", true, 0},
		{"unknown key", nil, func(c *sms.AliyunConfig) { c.AccessKeyID = "LTAI5tUnknown" }, "InvalidAccessKeyId.NotFound", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newAliyunFake(t, tt.answer)
			err := newAliyunSender(t, fake.url, tt.edit).Send(context.Background(), aliyunMessage(account.PurposeRegister))
			var f *sms.Failure
			if !errors.As(err, &f) {
				t.Fatalf("err = %v, want a *sms.Failure", err)
			}
			if f.Provider != "aliyun" || f.Code != tt.code || f.Permanent != tt.permanent || f.RetryAfter != tt.retryAfter {
				t.Errorf("got %s/%s permanent=%v retryAfter=%v, want aliyun/%s permanent=%v retryAfter=%v",
					f.Provider, f.Code, f.Permanent, f.RetryAfter, tt.code, tt.permanent, tt.retryAfter)
			}
			if sms.IsPermanent(err) != tt.permanent {
				t.Errorf("IsPermanent = %v", !tt.permanent)
			}
			t.Log(err)
			aliyunNoSecrets(t, err)
		})
	}
}

func TestAliyunWrongSecretKeepsSecretsOutOfError(t *testing.T) {
	t.Parallel()
	fake := newAliyunFake(t, nil)
	a := newAliyunSender(t, fake.url, func(c *sms.AliyunConfig) { c.AccessKeySecret = "wrong-secret" })
	err := a.Send(context.Background(), aliyunMessage(account.PurposeRegister))
	if !sms.IsPermanent(err) || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("err = %v, want a permanent SignatureDoesNotMatch", err)
	}
	// The answer repeated the string to sign; none of it may reach the error.
	if strings.Contains(err.Error(), "string to sign") || strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("error %q repeats the string to sign or the secret", err)
	}
	aliyunNoSecrets(t, err)
	if len(fake.requests) != 0 {
		t.Errorf("the fake accepted a request signed with the wrong secret")
	}
}

func TestAliyunTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	fake := newAliyunFake(t, func(w http.ResponseWriter, r *http.Request) {
		select { // hang until the client gives up or the test ends
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	const timeout = 300 * time.Millisecond
	tests := []struct {
		name string
		edit func(*sms.AliyunConfig)
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"config timeout", func(c *sms.AliyunConfig) { c.Timeout = timeout }, func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}},
		{"caller's deadline", nil, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), timeout)
		}},
	}
	for _, tt := range tests {
		ctx, cancel := tt.ctx()
		start := time.Now()
		err := newAliyunSender(t, fake.url, tt.edit).Send(ctx, aliyunMessage(account.PurposeRegister))
		cancel()
		elapsed := time.Since(start)
		var f *sms.Failure
		var ne net.Error
		if err == nil || errors.As(err, &f) || sms.IsPermanent(err) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("%s: err = %v, want a plain timeout error", tt.name, err)
		}
		if elapsed < timeout || elapsed > timeout+2*time.Second {
			t.Errorf("%s: returned after %v, want about %v", tt.name, elapsed, timeout)
		}
		if err != nil {
			aliyunNoSecrets(t, err)
		}
	}
}

func TestAliyunMissingTemplate(t *testing.T) {
	t.Parallel()
	fake := newAliyunFake(t, nil)
	err := newAliyunSender(t, fake.url, nil).Send(context.Background(), aliyunMessage("login"))
	var f *sms.Failure
	if !errors.As(err, &f) || !f.Permanent || !strings.Contains(err.Error(), "no template for purpose") {
		t.Fatalf("err = %v, want a permanent failure: no template for purpose", err)
	}
	aliyunNoSecrets(t, err)
	if n := fake.hits.Load(); n != 0 {
		t.Errorf("%d requests made, want none", n)
	}
}

func TestNewAliyunValidates(t *testing.T) {
	t.Parallel()
	good := func() sms.AliyunConfig {
		return sms.AliyunConfig{
			AccessKeyID: aliyunTestKeyID, AccessKeySecret: aliyunTestSecret, SignName: aliyunTestSignName,
			Templates: map[string]string{account.PurposeRegister: aliyunRegisterTpl, account.PurposeAlreadyRegistered: aliyunNoticeTpl},
		}
	}
	if _, err := sms.NewAliyun(good(), nil); err != nil {
		t.Fatalf("good config: %v", err)
	}
	tests := []struct {
		name string
		edit func(*sms.AliyunConfig)
		want string
	}{
		{"no key id", func(c *sms.AliyunConfig) { c.AccessKeyID = "" }, "access key id is required"},
		{"no secret", func(c *sms.AliyunConfig) { c.AccessKeySecret = "" }, "access key secret is required"},
		{"secret with space", func(c *sms.AliyunConfig) { c.AccessKeySecret = aliyunTestSecret + " " }, "access key secret has leading or trailing spaces"},
		{"no sign name", func(c *sms.AliyunConfig) { c.SignName = "" }, "sign name is required"},
		{"no register template", func(c *sms.AliyunConfig) { delete(c.Templates, account.PurposeRegister) }, "template for register is required"},
		{"no notice template", func(c *sms.AliyunConfig) { delete(c.Templates, account.PurposeAlreadyRegistered) }, "template for already_registered is required"},
		{"template with space", func(c *sms.AliyunConfig) { c.Templates["login"] = "SMS_1 2" }, `template for "login"`},
		{"bad region", func(c *sms.AliyunConfig) { c.Region = "CN Hangzhou" }, "region"},
		{"plain http", func(c *sms.AliyunConfig) { c.Endpoint = "http://dysmsapi.aliyuncs.com" }, "must use https"},
		{"endpoint path", func(c *sms.AliyunConfig) { c.Endpoint = "https://dysmsapi.aliyuncs.com/x?y=1" }, "no path or query"},
	}
	for _, tt := range tests {
		cfg := good()
		tt.edit(&cfg)
		_, err := sms.NewAliyun(cfg, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to say %q", tt.name, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), aliyunTestSecret) {
			t.Errorf("%s: error %q repeats the secret", tt.name, err)
		}
	}
}

func TestAliyunConfigMasksSecret(t *testing.T) {
	t.Parallel()
	cfg := sms.AliyunConfig{AccessKeyID: aliyunTestKeyID, AccessKeySecret: aliyunTestSecret, SignName: aliyunTestSignName}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "aliyun", cfg)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), logged.String()} {
		if strings.Contains(s, aliyunTestSecret) || !strings.Contains(s, aliyunTestKeyID) {
			t.Errorf("%q shows the secret or hides the key id", s)
		}
	}
}
