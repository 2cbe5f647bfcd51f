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
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/signupd/signupd/internal/account"
)

const (
	// defaultWebhookTimeout bounds an attempt when NewWebhook is given no
	// positive timeout: an outbound call without a limit could hang a sign-up.
	defaultWebhookTimeout = 10 * time.Second
	// maxErrorBody is how much of a non-2xx answer goes into the error.
	maxErrorBody     = 200
	signaturePrefix  = "sha256="
	headerTimestamp  = "X-Signup-Timestamp"
	headerSignature  = "X-Signup-Signature"
	webhookUserAgent = "signupd"
)

// Webhook sends each message as a signed JSON POST to a URL, for a gateway
// that we or the operator run in front of the real SMS provider.
//
// Every request carries X-Signup-Timestamp (Unix seconds) and
// X-Signup-Signature: "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).
// The timestamp is inside the MAC so that a captured request cannot be replayed
// later: a receiver checks both with VerifyWebhook and rejects timestamps
// outside its allowed skew.
type Webhook struct {
	url     string
	secret  []byte
	timeout time.Duration
	client  *http.Client
}

// NewWebhook returns a Webhook that posts to url, signs with secret and gives
// each attempt timeout (10s if timeout is not positive). A nil client means a
// client with that timeout that does not follow redirects, so a signed body
// carrying a code is never re-sent to a host that url did not name.
func NewWebhook(url string, secret []byte, timeout time.Duration, client *http.Client) *Webhook {
	if timeout <= 0 {
		timeout = defaultWebhookTimeout
	}
	if client == nil {
		client = &http.Client{
			Timeout: timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	return &Webhook{url: url, secret: bytes.Clone(secret), timeout: timeout, client: client}
}

// webhookBody is the request body; its fields and their order are the protocol.
type webhookBody struct {
	To         string `json:"to"`
	Code       string `json:"code"` // "" for notices
	Purpose    string `json:"purpose"`
	TTLSeconds int64  `json:"ttl_seconds"`
	Locale     string `json:"locale"`
	Text       string `json:"text"`
}

// Send makes one attempt to deliver m. Any answer but 2xx is an error; so is a
// network failure or the end of the attempt's timeout.
func (w *Webhook) Send(ctx context.Context, m account.Message) error {
	if len(w.secret) == 0 {
		return errors.New("sms: webhook: no secret configured")
	}
	body, err := json.Marshal(webhookBody{
		To:         string(m.To),
		Code:       m.Code,
		Purpose:    m.Purpose,
		TTLSeconds: int64(m.TTL / time.Second),
		Locale:     m.Locale,
		Text:       m.Text,
	})
	if err != nil {
		return fmt.Errorf("sms: webhook: encode: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sms: webhook: new request: %w", err)
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", webhookUserAgent)
	req.Header.Set(headerTimestamp, ts)
	req.Header.Set(headerSignature, signaturePrefix+hex.EncodeToString(sign(w.secret, ts, body)))
	if m.ID != "" {
		req.Header.Set("Idempotency-Key", m.ID)
	}

	// The number and code travel in the body, never in the URL, so the
	// *url.Error the client returns cannot carry them.
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("sms: webhook: post: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		// Reading a short answer to its end lets the connection be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil
	}
	return statusError(resp, m.Code)
}

// statusError describes a non-2xx answer by its status and at most
// maxErrorBody bytes of its body, with anything that could be the code or a
// phone number (a provider may echo the request) taken out, classified by
// status: 408, 429 and 5xx are retried, other 4xx are not.
func statusError(resp *http.Response, code string) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody+1))
	truncated := len(b) > maxErrorBody
	if truncated {
		b = b[:maxErrorBody]
	}
	err := fmt.Errorf("status %d", resp.StatusCode)
	if snippet := redact(string(b), truncated, code); snippet != "" {
		err = fmt.Errorf("status %d: %q", resp.StatusCode, snippet)
	}
	return &Failure{
		Provider: "webhook", Code: strconv.Itoa(resp.StatusCode), Err: err,
		Permanent:  httpStatusPermanent(resp.StatusCode),
		RetryAfter: retryAfterHeader(resp.Header, time.Now()),
	}
}

// longDigits matches what could be a code or a phone number. Provider error
// numbers are shorter and survive.
var longDigits = regexp.MustCompile(`[0-9]{6,}`)

// redact removes the code and every run of six or more digits from s. When s
// was cut short, a trailing run of digits could be the start of a code or a
// number, so it goes too.
func redact(s string, truncated bool, code string) string {
	if truncated {
		s = strings.TrimRight(s, "0123456789")
	}
	s = longDigits.ReplaceAllString(s, "***")
	if code != "" {
		s = strings.ReplaceAll(s, code, "***")
	}
	return s
}

// VerifyWebhook checks a request made by Webhook: timestamp and signature are
// the X-Signup-Timestamp and X-Signup-Signature headers, body the raw request
// body. It fails unless the signature is the HMAC of timestamp and body under
// secret (compared in constant time) and the timestamp is within maxSkew of
// now; the second check is what stops a captured request being replayed later.
func VerifyWebhook(secret []byte, timestamp string, body []byte, signature string, now time.Time, maxSkew time.Duration) error {
	if len(secret) == 0 {
		return errors.New("sms: webhook: verify: no secret configured")
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("sms: webhook: verify: malformed timestamp")
	}
	hexMAC, ok := strings.CutPrefix(signature, signaturePrefix)
	if !ok {
		return errors.New("sms: webhook: verify: signature lacks " + signaturePrefix)
	}
	mac, err := hex.DecodeString(hexMAC)
	if err != nil || !hmac.Equal(mac, sign(secret, timestamp, body)) {
		return errors.New("sms: webhook: verify: signature mismatch")
	}
	// Compare both ways instead of taking an absolute value: Sub saturates,
	// and the absolute value of the most negative Duration is still negative.
	if d := now.Sub(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return fmt.Errorf("sms: webhook: verify: timestamp %s off by %s, more than %s", timestamp, d, maxSkew)
	}
	return nil
}

// sign returns HMAC-SHA256(secret, timestamp + "." + body).
func sign(secret []byte, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(timestamp))
	h.Write([]byte("."))
	h.Write(body)
	return h.Sum(nil)
}
