package sms

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/signupd/signupd/internal/account"
)

const (
	// RonglianEndpoint is Ronglian Cloud's (容联云通讯, cloopen) production
	// REST address, the default of RonglianConfig.Endpoint.
	RonglianEndpoint = "https://app.cloopen.com:8883"

	// ronglianTimeout bounds one attempt whatever client and context the
	// caller gives: an outbound call without a limit could hang a sign-up.
	ronglianTimeout = 10 * time.Second
	// ronglianThrottleWait is how long to wait after 160038 (the same number
	// asked for too often). Ronglian does not say; one minute is ours, the
	// resend interval we hold ourselves to (SECURITY.md row 8).
	ronglianThrottleWait = time.Minute
	ronglianMaxAnswer    = 16 << 10
	ronglianStampLayout  = "20060102150405"
	ronglianSuccess      = "000000"
	ronglianMaxReqID     = 32
)

// ronglianChina is China Standard Time. The platform checks the timestamp in
// sig and Authorization against its own clock in UTC+8: the official SDKs
// format local time on servers in China, and a port for cloud functions that
// run in UTC adds eight hours by hand. A fixed zone needs no tzdata.
var ronglianChina = time.FixedZone("CST", 8*60*60)

// RonglianConfig configures a Ronglian sender.
type RonglianConfig struct {
	AccountSID string // main account ACCOUNT SID
	AuthToken  string // main account AUTH TOKEN; only its MD5 with the time travels
	AppID      string // APPID of an application in the console
	// Templates maps a message purpose to the numeric id of an approved
	// template. Code templates take {1} the code and {2} its lifetime in
	// minutes (like test template 1); notice templates take no variables.
	Templates map[string]string
	Endpoint  string // default RonglianEndpoint
}

// Ronglian sends messages as Ronglian Cloud template SMS (TemplateSMS, REST
// API version 2013-12-26).
type Ronglian struct {
	sid, token, appID string
	templates         map[string]string
	sendURL           string // without the sig query
	client            *http.Client
	now               func() time.Time
}

// NewRonglian checks cfg and returns a sender. A nil client means one with a
// 10s timeout that does not follow redirects, so a body carrying a code is
// never re-sent to a host the endpoint did not name.
//
// Both current purposes need a template: if only sign-ups of new numbers
// could be sent, the failure for registered numbers would tell a caller which
// numbers have accounts (SECURITY.md row 15).
func NewRonglian(cfg RonglianConfig, client *http.Client) (*Ronglian, error) {
	if !ronglianAlnum(cfg.AccountSID) {
		return nil, errors.New("sms: ronglian: account SID must be letters and digits")
	}
	if cfg.AuthToken == "" || strings.TrimSpace(cfg.AuthToken) != cfg.AuthToken {
		return nil, errors.New("sms: ronglian: auth token is empty or has surrounding spaces")
	}
	if !ronglianAlnum(cfg.AppID) {
		return nil, errors.New("sms: ronglian: app ID must be letters and digits")
	}
	templates, err := ronglianTemplates(cfg.Templates)
	if err != nil {
		return nil, err
	}
	endpoint, err := ronglianEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{
			Timeout: ronglianTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	return &Ronglian{
		sid: cfg.AccountSID, token: cfg.AuthToken, appID: cfg.AppID,
		templates: templates,
		sendURL:   endpoint + "/2013-12-26/Accounts/" + cfg.AccountSID + "/SMS/TemplateSMS",
		client:    client,
		now:       time.Now,
	}, nil
}

func ronglianTemplates(in map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(in))
	for purpose, id := range in {
		// 160057: the platform wants numeric template ids.
		if purpose == "" || id == "" || strings.Trim(id, "0123456789") != "" {
			return nil, fmt.Errorf("sms: ronglian: template for purpose %q must be a numeric id, got %q", purpose, id)
		}
		out[purpose] = id
	}
	for _, p := range []string{account.PurposeRegister, account.PurposeAlreadyRegistered} {
		if out[p] == "" {
			return nil, fmt.Errorf("sms: ronglian: no template for purpose %q", p)
		}
	}
	return out, nil
}

// ronglianEndpoint accepts an https URL, or http to a loopback host (a test
// double): the body carries the code and the number.
func ronglianEndpoint(raw string) (string, error) {
	if raw == "" {
		return RonglianEndpoint, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		(u.Scheme != "https" && !(u.Scheme == "http" && ronglianLoopback(u.Hostname()))) {
		return "", fmt.Errorf("sms: ronglian: endpoint must be an https URL without query, got %q", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

func ronglianLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// ronglianBody is the TemplateSMS request body.
type ronglianBody struct {
	To         string   `json:"to"`
	AppID      string   `json:"appId"`
	TemplateID string   `json:"templateId"`
	Datas      []string `json:"datas"`
	ReqID      string   `json:"reqId,omitempty"`
}

// Send makes one attempt to deliver m. A refusal is a *Failure; a network
// error or the end of the attempt's time is a plain error, because the
// message may or may not have been accepted. Neither contains the code or the
// full number.
func (r *Ronglian) Send(ctx context.Context, m account.Message) error {
	templateID, ok := r.templates[m.Purpose]
	if !ok {
		return &Failure{Provider: "ronglian", Code: "no_template", Permanent: true,
			Err: fmt.Errorf("no template configured for purpose %q", m.Purpose)}
	}
	to, ok := ronglianTo(m.To)
	if !ok {
		return &Failure{Provider: "ronglian", Code: "bad_number", Permanent: true,
			Err: fmt.Errorf("number %s is not in E.164 form", m.To.Masked())}
	}
	datas := []string{}
	if m.Code != "" {
		// Minutes as the message text counts them.
		datas = []string{m.Code, strconv.Itoa(int(m.TTL / time.Minute))}
	}
	body, err := json.Marshal(ronglianBody{To: to, AppID: r.appID, TemplateID: templateID, Datas: datas, ReqID: ronglianReqID(m.ID)})
	if err != nil {
		return fmt.Errorf("sms: ronglian: encode: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, ronglianTimeout)
	defer cancel()
	req, err := r.newRequest(ctx, body)
	if err != nil {
		return err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("sms: ronglian: post: %w", r.withoutSig(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, ronglianMaxAnswer))
	if err != nil {
		return fmt.Errorf("sms: ronglian: read answer: %w", r.withoutSig(err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return ronglianHTTPFailure(resp, raw, m.Code)
	}
	return ronglianResult(raw, m.Code)
}

// newRequest signs a POST of body with the time now in China:
// sig = upper-case hex MD5(SID + token + stamp) in the query, and
// Authorization = base64(SID + ":" + stamp), the same stamp in both.
func (r *Ronglian) newRequest(ctx context.Context, body []byte) (*http.Request, error) {
	stamp := r.now().In(ronglianChina).Format(ronglianStampLayout)
	sig := fmt.Sprintf("%X", md5.Sum([]byte(r.sid+r.token+stamp)))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.sendURL+"?sig="+sig, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("sms: ronglian: new request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json;charset=utf-8")
	req.Header.Set("Authorization", base64.StdEncoding.EncodeToString([]byte(r.sid+":"+stamp)))
	return req, nil
}

// withoutSig drops the query from the URL that *url.Error quotes, so that a
// logged network error carries no signature.
func (r *Ronglian) withoutSig(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: r.sendURL, Err: ue.Err}
	}
	return err
}

// ronglianTo writes an E.164 number as Ronglian wants it: mainland numbers as
// the 11 national digits, others as 00, country code and number.
func ronglianTo(p account.Phone) (string, bool) {
	digits, ok := strings.CutPrefix(string(p), "+")
	if !ok || len(digits) < 8 || len(digits) > 15 || strings.Trim(digits, "0123456789") != "" {
		return "", false
	}
	if national, ok := strings.CutPrefix(digits, "86"); ok {
		return national, len(national) == 11
	}
	return "00" + digits, true
}

// ronglianReqID turns a message id into reqId, the platform's duplicate
// guard: at most 32 letters and digits, refused (160054) when repeated by the
// same account on the same day. An id that does not fit is hashed, so every
// retry of a message still sends the same reqId.
func ronglianReqID(id string) string {
	if id == "" || (len(id) <= ronglianMaxReqID && ronglianAlnum(id)) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:ronglianMaxReqID/2])
}

func ronglianAlnum(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// ronglianAnswer is the JSON answer: statusCode "000000" and a templateSMS
// object on success, statusCode and statusMsg otherwise.
type ronglianAnswer struct {
	StatusCode json.RawMessage `json:"statusCode"`
	StatusMsg  string          `json:"statusMsg"`
}

// ronglianResult reads a 2xx answer. One that cannot be read is a plain
// error: the message may have been accepted.
func ronglianResult(raw []byte, code string) error {
	var a ronglianAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return fmt.Errorf("sms: ronglian: unreadable answer: %w", err)
	}
	status := strings.Trim(string(a.StatusCode), `"`)
	if status == ronglianSuccess {
		return nil
	}
	if status == "" || strings.Trim(status, "0123456789") != "" {
		return errors.New("sms: ronglian: answer without a status code")
	}
	permanent, wait := ronglianClassify(status)
	err := fmt.Errorf("statusCode %s", status)
	msg, truncated := ronglianCut(a.StatusMsg)
	if msg := redact(msg, truncated, code); msg != "" {
		err = fmt.Errorf("statusCode %s: %q", status, msg)
	}
	return &Failure{Provider: "ronglian", Code: status, Permanent: permanent, RetryAfter: wait, Err: err}
}

// ronglianClassify says whether a refusal is permanent and how long to wait
// before retrying one that is not.
//
// Codes from Ronglian's published error table ("错误码", doc.yuntongxun.com),
// which could not be fetched here: they are read from copies of it in public
// code (the error map of github.com/jinyicheng/cloopen, Sms.php; several other
// integrations agree on 1111xx, 1123xx and 1600xx), 111109 and 160032 also
// from notes of real answers. The SDKs (cloopen go/python/java/php) know only
// 000000 and their own local 1720xx codes, which the server never sends.
//
// Retried (transient):
//
//	111000-111099  unknown / internal error (容云内部错误)
//	111111         too many concurrent requests (超过规定的并发数)
//	160000         system error (系统错误)
//	160050, 160063, 160064  sending failed, no reason given (短信发送失败)
//	160038         codes sent to this number too often (短信验证码发送过频繁):
//	               a short per-number window; retried after a minute, and
//	               never after the code expired (the outbox's rule)
//
// Permanent, everything else, notably:
//
//	160039, 160040, 160041  daily cap per number and template (超出同模板同号
//	               天发送上限): it resets at midnight China time, long after
//	               the code expired, so a retry only adds to the count
//	112300, 112306, 160042, 160044  number missing or malformed (号码格式有误)
//	112305, 112310, 113302  app not published / test template: only the
//	               console's test numbers may receive (应用未上线 … 外呼受限)
//	160032, 160036, 160043, 160052, 160057, 160069, 112307, 112308, 112311
//	               template invalid, unknown, not this app's, bad variables
//	160033, 160034, 160049, 160051, 160068, 160072-160074
//	               content or number blacklisted
//	1111xx (but 111111)  credentials and account: 111100-111113 Authorization
//	               or sig wrong (111109 sig check failed, 111106 timestamp
//	               expired: our clock), 111139 account suspended, 111141 no
//	               such account, 111142 balance exhausted, 111176-111182 app
//	               deleted, disabled or unpublished: an operator must act
//	160053         caller IP not allowed
//	160054, 160056 request repeated (reqId seen today; same content to the
//	               same number): an earlier attempt most likely got through
//	160055         reqId too long
//	160058-160062, 160070  no international permission for this destination
//
// An unknown code is permanent: a new refusal more likely needs an operator
// than a retry, and the user can ask for a new code.
func ronglianClassify(status string) (permanent bool, wait time.Duration) {
	switch status {
	case "160038":
		return false, ronglianThrottleWait
	case "111111", "160000", "160050", "160063", "160064":
		return false, 0
	}
	if n, err := strconv.Atoi(status); err == nil && n >= 111000 && n <= 111099 {
		return false, 0
	}
	return true, 0
}

// ronglianHTTPFailure classifies an answer that is not 2xx by its status: a
// redirect means a wrong endpoint, so it is permanent like other 4xx; 408,
// 429 and 5xx are retried.
func ronglianHTTPFailure(resp *http.Response, raw []byte, code string) error {
	truncated := len(raw) > maxErrorBody
	if truncated {
		raw = raw[:maxErrorBody]
	}
	err := fmt.Errorf("status %d", resp.StatusCode)
	if snippet := redact(string(raw), truncated, code); snippet != "" {
		err = fmt.Errorf("status %d: %q", resp.StatusCode, snippet)
	}
	return &Failure{
		Provider: "ronglian", Code: strconv.Itoa(resp.StatusCode), Err: err,
		Permanent:  resp.StatusCode < 400 || httpStatusPermanent(resp.StatusCode),
		RetryAfter: retryAfterHeader(resp.Header, time.Now()),
	}
}

// ronglianCut shortens a status message to at most maxErrorBody bytes on a
// rune boundary and says whether it did.
func ronglianCut(s string) (string, bool) {
	if len(s) <= maxErrorBody {
		return s, false
	}
	return strings.ToValidUTF8(s[:maxErrorBody], ""), true
}
