package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"

	"golang.org/x/text/language"

	"github.com/signupd/signupd/internal/account"
)

// The errno values of the original project's API; front ends compare these strings.
const (
	errnoOK        = "0"
	errnoDB        = "4001"
	errnoNoData    = "4002"
	errnoDataExist = "4003"
	errnoData      = "4004"
	errnoSession   = "4101"
	errnoLogin     = "4102"
	errnoParam     = "4103"
	errnoUser      = "4104"
	errnoPassword  = "4106"
	errnoRequest   = "4201"
	errnoIP        = "4202"
	errnoThird     = "4301"
	errnoServer    = "4500"
)

// text is one message in both languages; %s, where present, takes a wait.
type text struct{ zh, en string }

type reply struct {
	errno string
	msg   text
}

// replies maps every user-facing kind to its answer. Every branch has its own
// message, so a user (and a support desk) can tell what went wrong.
var replies = map[account.Kind]reply{
	account.KindMissingParams:    {errnoParam, text{"参数不完整", "Some parameters are missing"}},
	account.KindBadPhone:         {errnoParam, text{"手机号格式错误", "The mobile number is not valid"}},
	account.KindNotMobile:        {errnoParam, text{"该号码不是手机号", "The number is not a mobile number"}},
	account.KindBadCaptchaID:     {errnoParam, text{"图片验证码编号无效", "The captcha id is not valid"}},
	account.KindCaptchaExpired:   {errnoNoData, text{"图片验证码已过期,请刷新", "The captcha has expired; load a new one"}},
	account.KindCaptchaWrong:     {errnoData, text{"图片验证码错误", "The captcha answer is wrong"}},
	account.KindResendWait:       {errnoRequest, text{"发送过于频繁,请%s后再试", "A code was sent recently; try again in %s"}},
	account.KindPhoneRegistered:  {errnoDataExist, text{"手机号已存在", "This mobile number is already registered"}},
	account.KindUndeliverable:    {errnoThird, text{"暂不支持向该号码发送短信", "SMS cannot be sent to this number"}},
	account.KindBadCodeFormat:    {errnoParam, text{"短信验证码应为6位数字", "The SMS code is 6 digits"}},
	account.KindCodeExpired:      {errnoNoData, text{"短信验证码已失效,请重新获取", "The SMS code has expired; ask for a new one"}},
	account.KindCodeWrong:        {errnoData, text{"短信验证码错误", "The SMS code is wrong"}},
	account.KindCodeVoid:         {errnoRequest, text{"短信验证码错误次数过多,请重新获取", "Too many wrong SMS codes; ask for a new one"}},
	account.KindPasswordMismatch: {errnoParam, text{"两次密码不一致", "The passwords do not match"}},
	account.KindPasswordLength:   {errnoParam, text{"密码长度应为8到128个字符", "The password must have 8 to 128 characters"}},
	account.KindPasswordCommon:   {errnoParam, text{"该密码过于常见,请换一个", "This password is too common; choose another"}},
	account.KindUserExists:       {errnoDataExist, text{"该手机号已注册,请直接登录", "This number already has an account; log in instead"}},
	account.KindLoginFailed:      {errnoData, text{"手机号或密码错误", "Wrong mobile number or password"}},
	account.KindLoginThrottled:   {errnoRequest, text{"登录失败次数过多,请%s后再试", "Too many failed logins; try again in %s"}},
	account.KindNotLoggedIn:      {errnoSession, text{"用户未登录", "Not logged in"}},
	account.KindBusy:             {errnoServer, text{"服务器繁忙,请稍后重试", "The server is busy; try again shortly"}},
	account.KindCaptchaStore:     {errnoDB, text{"图片验证码存取失败", "Storing or reading the captcha failed"}},
	account.KindCodeStore:        {errnoDB, text{"短信验证码存取失败", "Storing or reading the SMS code failed"}},
	account.KindUserStore:        {errnoDB, text{"用户数据存取失败", "Reading or saving the user failed"}},
	account.KindSessionStore:     {errnoDB, text{"登录状态存取失败", "Reading or saving the session failed"}},
	account.KindThrottleStore:    {errnoDB, text{"登录限制数据存取失败", "Reading the login limits failed"}},
	account.KindOutboxStore:      {errnoDB, text{"短信排队失败,请稍后重试", "Queuing the SMS failed; try again"}},
	account.KindCountryRefused:   {errnoParam, text{"暂不支持向该国家或地区的号码发送验证码", "Codes cannot be sent to numbers of this country or region"}},
	account.KindNumberQuota:      {errnoRequest, text{"该号码获取验证码次数过多,请%s后再试", "Too many codes for this number; try again in %s"}},
	account.KindIPQuota:          {errnoIP, text{"您所在网络的请求过多,请%s后再试", "Too many requests from your network; try again in %s"}},
	account.KindLoginIPThrottled: {errnoIP, text{"您所在网络的登录失败次数过多,请%s后再试", "Too many failed logins from your network; try again in %s"}},
	account.KindSendsPaused:      {errnoRequest, text{"短信发送暂时繁忙,请%s后再试", "Sending is paused for a moment; try again in %s"}},
	account.KindQuotaStore:       {errnoDB, text{"频率限制数据存取失败", "Reading the rate limits failed"}},
	account.KindVerifyPaused:     {errnoRequest, text{"该号码验证码错误次数过多,请%s后再试", "Too many wrong codes for this number; try again in %s"}},
	account.KindCodeChecker:      {errnoThird, text{"验证码校验服务暂时不可用,请稍后重试", "The code checking service is unavailable; try again"}},
	account.KindInternal:         {errnoServer, text{"内部错误", "Internal error"}},
}

// Answers of the HTTP layer itself.
var (
	replyBadJSON     = reply{errnoParam, text{"请求数据格式错误", "The request body is not valid JSON of the expected shape"}}
	replyContentType = reply{errnoParam, text{"请求数据应为JSON (Content-Type: application/json)", "The request body must be JSON (Content-Type: application/json)"}}
	replyTooLarge    = reply{errnoParam, text{"请求数据过大", "The request body is too large"}}
	replyCSRF        = reply{errnoRequest, text{"CSRF令牌缺失或无效,请刷新页面", "The CSRF token is missing or wrong; reload the page"}}
	replyCrossOrigin = reply{errnoRequest, text{"拒绝跨站请求", "Cross-origin request refused"}}
	replyNoRoute     = reply{errnoNoData, text{"接口不存在", "No such API endpoint"}}
	replyPanic       = reply{errnoServer, text{"内部错误", "Internal error"}}
)

type envelope struct {
	Errno  string `json:"errno"`
	Errmsg string `json:"errmsg"`
	Data   any    `json:"data,omitempty"`
}

var languages = language.NewMatcher([]language.Tag{language.SimplifiedChinese, language.English})

// english reports whether the request prefers English to Chinese; Chinese,
// the original's language, is the default.
func english(r *http.Request) bool {
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return false
	}
	_, i, _ := languages.Match(tags...)
	return i == 1
}

func (t text) in(r *http.Request, wait time.Duration) string {
	s, en := t.zh, english(r)
	if en {
		s = t.en
	}
	if wait > 0 {
		return fmt.Sprintf(s, waitText(wait, en))
	}
	return s
}

// waitText says a wait in whole seconds, minutes or hours, rounded up, so
// it is never shorter than the real one.
func waitText(d time.Duration, en bool) string {
	n, zh, unit := math.Ceil(d.Seconds()), "秒", "second"
	switch {
	case d > 2*time.Hour:
		n, zh, unit = math.Ceil(d.Hours()), "小时", "hour"
	case d > 2*time.Minute:
		n, zh, unit = math.Ceil(d.Minutes()), "分钟", "minute"
	}
	if !en {
		return fmt.Sprintf("%d%s", int(n), zh)
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s", int(n), unit)
}

// writeJSON writes an answer with HTTP status 200 unless status says otherwise.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, rp reply, wait time.Duration, data any) {
	switch rec := w.(type) {
	case *recorder:
		rec.errno = rp.errno
	case *bufferedWriter:
		rec.errno = rp.errno
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(envelope{Errno: rp.errno, Errmsg: rp.msg.in(r, wait), Data: data})
}

func writeOK(w http.ResponseWriter, r *http.Request, msg text, data any) {
	writeJSON(w, r, http.StatusOK, reply{errnoOK, msg}, 0, data)
}

// writeError is the one place an error becomes an answer. It alone logs
// unexpected errors and store failures, once, with the request's id.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *account.Error
	kind, wait := account.KindInternal, time.Duration(0)
	if errors.As(err, &ae) {
		kind, wait = ae.Kind, ae.Wait
	}
	rp := replies[kind]
	if rp.errno == errnoServer || rp.errno == errnoDB || rp.errno == errnoThird {
		s.logger.ErrorContext(r.Context(), "request failed", "errno", rp.errno, "err", err)
	}
	writeJSON(w, r, http.StatusOK, rp, wait, nil)
}

type ctxKey int

const requestIDKey ctxKey = 0

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// logHandler adds the request id of the context to every record.
type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := requestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(as)}
}
func (h logHandler) WithGroup(n string) slog.Handler { return logHandler{h.Handler.WithGroup(n)} }

// WithRequestID wraps h so that records logged with a request's context carry
// its id. cmd/signupd wraps the service's handler with it.
func WithRequestID(h slog.Handler) slog.Handler { return logHandler{h} }
