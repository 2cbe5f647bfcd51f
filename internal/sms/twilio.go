package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/signupd/signupd/internal/account"
)

const (
	defaultTwilioEndpoint = "https://api.twilio.com"
	// defaultTwilioTimeout bounds an attempt when the config names none.
	defaultTwilioTimeout = 10 * time.Second
	// twilioMaxAnswer bounds how much of an answer is read: Twilio's error
	// documents and Message resources are far smaller.
	twilioMaxAnswer = 4 << 10
	twilioUserAgent = "signupd"
	// twilioInvalidRequest is the Failure code of a message we refuse to
	// send before asking Twilio: retrying the same message cannot help.
	twilioInvalidRequest = "invalid-request"
	// headerTwilioIdempotency: see Twilio.Send for what Twilio promises.
	headerTwilioIdempotency = "I-Twilio-Idempotency-Token"
)

var (
	twilioAccountSID   = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	twilioMessagingSID = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	twilioE164         = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	twilioShortCode    = regexp.MustCompile(`^[0-9]{3,8}$`)
	// An alphanumeric sender ID is 1 to 11 letters, digits and spaces with
	// at least one letter (Twilio error 21212's page).
	twilioAlphaSender = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	twilioLetter      = regexp.MustCompile(`[A-Za-z]`)
	// twilioIDToken is what a message id must look like to travel in a header.
	twilioIDToken = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
)

// TwilioConfig configures Twilio Programmable Messaging.
type TwilioConfig struct {
	AccountSID string // "AC" and 32 hex digits; the Basic-auth user name
	AuthToken  string // the Basic-auth password
	// Exactly one of From (an E.164 number, a short code or an alphanumeric
	// sender ID bought from or ported to Twilio) and MessagingServiceSID
	// ("MG" and 32 hex digits: Twilio picks a sender from the service's pool).
	From, MessagingServiceSID string
	Endpoint                  string        // default https://api.twilio.com
	Timeout                   time.Duration // one attempt; 10s if not positive
}

// String describes c without its AuthToken, so %v and %+v are safe to log.
func (c TwilioConfig) String() string {
	return fmt.Sprintf("{AccountSID:%s AuthToken:%s From:%s MessagingServiceSID:%s Endpoint:%s Timeout:%s}",
		c.AccountSID, twilioMask(c.AuthToken), c.From, c.MessagingServiceSID, c.Endpoint, c.Timeout)
}

// GoString keeps %#v from printing the AuthToken.
func (c TwilioConfig) GoString() string { return c.String() }

// LogValue keeps the AuthToken out of logs.
func (c TwilioConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("account_sid", c.AccountSID), slog.String("auth_token", twilioMask(c.AuthToken)),
		slog.String("from", c.From), slog.String("messaging_service_sid", c.MessagingServiceSID), slog.String("endpoint", c.Endpoint))
}

// Twilio sends messages with Programmable Messaging; it is a provider for
// the outbox (Send(ctx, account.Message) error): one POST to
// {Endpoint}/2010-04-01/Accounts/{AccountSid}/Messages.json per attempt, HTTP
// Basic auth (AccountSid:AuthToken), a form body of To, From or
// MessagingServiceSid, and Body (https://www.twilio.com/docs/messaging/api/message-resource).
type Twilio struct {
	cfg    TwilioConfig
	url    string
	client *http.Client
}

// NewTwilio checks cfg and returns a Twilio. A nil client means one with the
// attempt timeout that follows no redirect: a form carrying a code and the
// Basic-auth header are never re-sent to a host the endpoint did not name.
func NewTwilio(cfg TwilioConfig, client *http.Client) (*Twilio, error) {
	if err := twilioCredentials(cfg.AccountSID, cfg.AuthToken); err != nil {
		return nil, fmt.Errorf("sms: twilio: %w", err)
	}
	switch {
	case cfg.From != "" && cfg.MessagingServiceSID != "":
		return nil, errors.New("sms: twilio: set From or MessagingServiceSID, not both")
	case cfg.MessagingServiceSID != "" && !twilioMessagingSID.MatchString(cfg.MessagingServiceSID):
		return nil, errors.New(`sms: twilio: MessagingServiceSID must be "MG" and 32 hex digits`)
	case cfg.MessagingServiceSID == "" && cfg.From == "":
		return nil, errors.New("sms: twilio: set From or MessagingServiceSID")
	case cfg.From != "" && !twilioSender(cfg.From):
		return nil, errors.New("sms: twilio: From must be an E.164 number, a short code or an alphanumeric sender ID")
	}
	base, err := twilioBaseURL(cfg.Endpoint, defaultTwilioEndpoint)
	if err != nil {
		return nil, fmt.Errorf("sms: twilio: %w", err)
	}
	cfg.Endpoint, cfg.Timeout = base, twilioTimeout(cfg.Timeout)
	return &Twilio{
		cfg:    cfg,
		url:    base + "/2010-04-01/Accounts/" + cfg.AccountSID + "/Messages.json",
		client: twilioHTTPClient(client, cfg.Timeout),
	}, nil
}

// String describes t without its AuthToken.
func (t *Twilio) String() string { return "sms.Twilio" + t.cfg.String() }

// GoString keeps %#v from printing the AuthToken.
func (t *Twilio) GoString() string { return t.String() }

// Send makes one attempt to hand m to Twilio; 201 Created means accepted.
// Any other answer is a *Failure classified by twilioPermanent; a network
// error or the end of the attempt's timeout is a plain error.
//
// m.ID goes in the I-Twilio-Idempotency-Token header. What Twilio documents
// for that header is the one it puts on the webhooks it sends us, so that a
// receiver can drop Twilio's own retries; the Message resource reference
// promises no deduplication of API requests by it. We send it because it
// costs nothing and names the attempt in Twilio's request logs, but assume
// nothing: after a timeout or a 5xx the message may have been accepted, and a
// retry may deliver a second copy. Twilio does promise that a request answered
// 429 (error 20429) "is never processed and is always safe to retry".
func (t *Twilio) Send(ctx context.Context, m account.Message) error {
	if err := twilioCheckMessage(m); err != nil {
		return err
	}
	form := url.Values{"To": {string(m.To)}, "Body": {m.Text}}
	if t.cfg.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", t.cfg.MessagingServiceSID)
	} else {
		form.Set("From", t.cfg.From)
	}
	hdr := http.Header{}
	if m.ID != "" {
		hdr.Set(headerTwilioIdempotency, m.ID)
	}
	ans, err := twilioPost(ctx, t.client, t.cfg.Timeout, t.url, t.cfg.AccountSID, t.cfg.AuthToken, form, hdr)
	if err != nil {
		return fmt.Errorf("sms: twilio: send: %w", err)
	}
	if ans.ok() {
		return nil
	}
	return ans.failure("twilio", "send", string(m.To), m.Code)
}

// twilioSender reports whether from is an E.164 number, a short code or an
// alphanumeric sender ID.
func twilioSender(from string) bool {
	return twilioE164.MatchString(from) || twilioShortCode.MatchString(from) ||
		(twilioAlphaSender.MatchString(from) && twilioLetter.MatchString(from))
}

// twilioCheckMessage refuses, before any request, a message Twilio could only
// refuse: its number not E.164, no text, or an id unfit for a header.
func twilioCheckMessage(m account.Message) error {
	var why string
	switch {
	case !twilioE164.MatchString(string(m.To)):
		why = "the number is not in E.164 form"
	case m.Text == "":
		why = "the message has no text"
	case m.ID != "" && !twilioIDToken.MatchString(m.ID):
		why = "the message id is not usable as an idempotency token"
	default:
		return nil
	}
	return &Failure{Provider: "twilio", Code: twilioInvalidRequest, Permanent: true, Err: errors.New("send: " + why)}
}

// twilioPermanent classifies an error answer by Twilio's error code first, as
// the code says more than the status: Verify's 60202 and 60203 come with 429,
// yet retrying cannot help before the code has expired. Unlisted codes go by
// the HTTP status (429 and 5xx are retried, other 4xx are not); a redirect is
// permanent, as the endpoint is wrong. Meanings are from Twilio's error
// dictionary, https://www.twilio.com/docs/api/errors/{code}.
func twilioPermanent(code, status int) bool {
	switch code {
	case 20429, // Too many requests (429): never processed, safe to retry
		20500, // Internal server error
		21611, // the From number's queue holds more than 10 h of messages
		60212: // Verify: too many concurrent requests for one number (429)
		return false
	case 20003, // Authenticate (401): wrong AccountSID or AuthToken
		20404, // Not found: wrong AccountSID or ServiceSID (Check: see TwilioVerify)
		21211, // invalid 'To' number
		21408, // sending to this region not enabled (geo permissions)
		21602, // message body required
		21606, // 'From' not a message-capable Twilio number for this destination
		21608, // trial account: 'To' not verified
		21610, // recipient unsubscribed (replied STOP)
		21612, // 'To' not reachable by SMS
		21614, // 'To' is not a mobile number
		21617, // body longer than 1600 characters
		21635, // 'To' is a landline
		21659, // 'From' not a Twilio number, or short code country mismatch
		30004, // message blocked
		30005, // unknown destination handset
		30006, // landline or unreachable carrier
		30007, // message filtered by the carrier
		60200, // Verify: invalid parameter
		60202, // Verify: max check attempts reached (429)
		60203, // Verify: max send attempts reached (429)
		60205, // Verify: SMS not supported by a landline
		60410: // Verify: Fraud Guard blocked the prefix for 12 h
		return true
	}
	if status >= 300 && status < 400 {
		return true
	}
	return httpStatusPermanent(status)
}

// twilioError is the JSON body of Twilio's REST error answers, e.g.
// {"code":21211,"message":"...","more_info":"https://www.twilio.com/docs/errors/21211","status":400}.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// twilioAnswer is what one request got back.
type twilioAnswer struct {
	status    int
	header    http.Header
	body      []byte
	truncated bool
}

func (a *twilioAnswer) ok() bool { return a.status >= 200 && a.status <= 299 }

// failure turns an error answer into a *Failure whose Code is Twilio's error
// code (the HTTP status when the body is not Twilio's JSON, as from a proxy)
// and whose text is Twilio's message, or the start of a foreign body, with the
// number, the code and every long run of digits taken out: Twilio's messages
// quote the number ("The 'To' number +86... is not a valid phone number").
func (a *twilioAnswer) failure(provider, op, to, code string) *Failure {
	var e twilioError
	if json.Unmarshal(a.body, &e) != nil {
		e = twilioError{}
	}
	f := &Failure{Provider: provider, Code: strconv.Itoa(a.status), RetryAfter: retryAfterHeader(a.header, time.Now())}
	text, cut := e.Message, false
	if e.Code != 0 {
		f.Code = strconv.Itoa(e.Code)
	} else {
		text, cut = string(a.body), a.truncated
	}
	f.Permanent = twilioPermanent(e.Code, a.status)
	if len(text) > maxErrorBody {
		text, cut = text[:maxErrorBody], true
	}
	if to != "" {
		text = strings.ReplaceAll(text, to, "***")
	}
	if text = redact(text, cut, code); text != "" {
		f.Err = fmt.Errorf("%s: status %d: %q", op, a.status, text)
	} else {
		f.Err = fmt.Errorf("%s: status %d", op, a.status)
	}
	return f
}

// twilioPost makes one form POST with Basic auth, bounded by timeout, and
// reads at most twilioMaxAnswer bytes of the answer. The number and code
// travel in the body, never in the URL, so the *url.Error of a failed request
// cannot carry them; the credentials travel in a header it does not quote.
func twilioPost(ctx context.Context, c *http.Client, timeout time.Duration, endpoint, user, pass string, form url.Values, hdr http.Header) (*twilioAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", twilioUserAgent)
	req.SetBasicAuth(user, pass)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	// A read cut short leaves a partial body; callers that need the body
	// find it unreadable, the others need only the status.
	b, _ := io.ReadAll(io.LimitReader(resp.Body, twilioMaxAnswer+1))
	a := &twilioAnswer{status: resp.StatusCode, header: resp.Header, body: b}
	if len(b) > twilioMaxAnswer {
		a.body, a.truncated = b[:twilioMaxAnswer], true
	}
	return a, nil
}

func twilioCredentials(sid, token string) error {
	if !twilioAccountSID.MatchString(sid) {
		return errors.New(`AccountSID must be "AC" and 32 hex digits`)
	}
	if token == "" {
		return errors.New("AuthToken is empty")
	}
	return nil
}

// twilioBaseURL checks an endpoint (def when raw is empty) and returns it
// without a trailing slash. Plain http is allowed only to a loopback address,
// for tests: elsewhere it would expose the AuthToken.
func twilioBaseURL(raw, def string) (string, error) {
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", errors.New("endpoint is not a URL")
	case u.User != nil:
		return "", errors.New("endpoint must not carry credentials")
	case u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		return "", errors.New("endpoint must be a scheme and host, optionally a path")
	case u.Scheme == "https":
	case u.Scheme == "http" && twilioLoopback(u.Hostname()):
	default:
		return "", errors.New("endpoint must be https (plain http only to a loopback address)")
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

func twilioLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

func twilioTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return defaultTwilioTimeout
	}
	return d
}

func twilioHTTPClient(client *http.Client, timeout time.Duration) *http.Client {
	if client != nil {
		return client
	}
	return &http.Client{
		Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

func twilioMask(secret string) string {
	if secret == "" {
		return ""
	}
	return "***"
}
