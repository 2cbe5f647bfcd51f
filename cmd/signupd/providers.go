package main

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/signupd/signupd/internal/account"
	"github.com/signupd/signupd/internal/config"
	"github.com/signupd/signupd/internal/delivery"
	"github.com/signupd/signupd/internal/sms"
)

// newRouter builds every provider in use from its settings and routes
// numbers to them: SIGNUP_SMS_ROUTES per calling code, SIGNUP_SMS_PROVIDER
// for the rest. With Twilio Verify it also returns the code checker.
func newRouter(cfg config.Config, stdout io.Writer) (*delivery.Router, account.CodeChecker, error) {
	built := map[string]delivery.Named{}
	var checker account.CodeChecker
	// Every worker may send to the same provider at once: with the default
	// two idle connections per host, the others dialled (and shook hands
	// with TLS) anew for each message.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = cfg.SMSWorkers
	client := func() *http.Client {
		return &http.Client{
			Transport:     transport,
			Timeout:       cfg.SMSTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	for _, name := range cfg.UsedSMSProviders() {
		p, err := newProvider(name, cfg.SMS[name], cfg.SMSTimeout, client(), stdout)
		if err != nil {
			return nil, nil, fmt.Errorf("SMS provider %s: %w", name, err)
		}
		if v, ok := p.(*sms.TwilioVerifySender); ok {
			checker = v.Checker()
		}
		built[name] = delivery.Named{Name: name, Provider: p}
	}
	list := func(names []string) []delivery.Named {
		var l []delivery.Named
		for _, n := range names {
			l = append(l, built[n])
		}
		return l
	}
	byCode := map[string][]delivery.Named{}
	for code, names := range cfg.SMSRoutes {
		byCode[code] = list(names)
	}
	return delivery.NewRouter(list(cfg.SMSProviders), byCode), checker, nil
}

// templates maps message purposes to a provider's template settings.
func templates(s map[string]string) map[string]string {
	return map[string]string{
		account.PurposeRegister:          s["TEMPLATE_REGISTER"],
		account.PurposeAlreadyRegistered: s["TEMPLATE_ALREADY_REGISTERED"],
	}
}

func newProvider(name string, s map[string]string, timeout time.Duration, client *http.Client, stdout io.Writer) (delivery.Provider, error) {
	switch name {
	case "console":
		return sms.NewConsole(stdout), nil
	case "webhook":
		return sms.NewWebhook(s["URL"], []byte(s["SECRET"]), timeout, client), nil
	case "aliyun":
		return sms.NewAliyun(sms.AliyunConfig{
			AccessKeyID: s["ACCESS_KEY_ID"], AccessKeySecret: s["ACCESS_KEY_SECRET"], SignName: s["SIGN_NAME"],
			Templates: templates(s), Endpoint: s["ENDPOINT"], Region: s["REGION"], Timeout: timeout,
		}, client)
	case "tencent":
		return sms.NewTencent(sms.TencentConfig{
			SecretID: s["SECRET_ID"], SecretKey: s["SECRET_KEY"], SDKAppID: s["SDK_APP_ID"], SignName: s["SIGN_NAME"],
			Templates: templates(s), Region: s["REGION"], Endpoint: s["ENDPOINT"], Timeout: timeout,
		}, client)
	case "twilio":
		return sms.NewTwilio(sms.TwilioConfig{
			AccountSID: s["ACCOUNT_SID"], AuthToken: s["AUTH_TOKEN"], From: s["FROM"],
			MessagingServiceSID: s["MESSAGING_SERVICE_SID"], Endpoint: s["ENDPOINT"], Timeout: timeout,
		}, client)
	case "twilio_verify":
		verify, err := sms.NewTwilioVerify(sms.TwilioVerifyConfig{
			AccountSID: s["ACCOUNT_SID"], AuthToken: s["AUTH_TOKEN"], ServiceSID: s["SERVICE_SID"],
			Endpoint: s["ENDPOINT"], Timeout: timeout,
		}, client)
		if err != nil {
			return nil, err
		}
		notices, err := sms.NewTwilio(sms.TwilioConfig{
			AccountSID: s["ACCOUNT_SID"], AuthToken: s["AUTH_TOKEN"], From: s["FROM"],
			MessagingServiceSID: s["MESSAGING_SERVICE_SID"], Endpoint: s["MESSAGES_ENDPOINT"], Timeout: timeout,
		}, client)
		if err != nil {
			return nil, err
		}
		return sms.NewTwilioVerifySender(verify, notices), nil
	case "ronglian":
		return sms.NewRonglian(sms.RonglianConfig{
			AccountSID: s["ACCOUNT_SID"], AuthToken: s["AUTH_TOKEN"], AppID: s["APP_ID"],
			Templates: templates(s), Endpoint: s["ENDPOINT"],
		}, client)
	}
	return nil, fmt.Errorf("unknown provider")
}
