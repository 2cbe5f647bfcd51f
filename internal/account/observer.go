package account

// Observer is told of the flow's events, for metrics. Results and kinds are
// short fixed words, fit for metric labels.
type Observer interface {
	CaptchaIssued()
	// CaptchaChecked: "passed", "wrong" or "expired".
	CaptchaChecked(result string)
	// CodeChecked: "matched", "mismatch", "missing" or "void".
	CodeChecked(result string)
	// LimitHit: the kind of limit, e.g. "resend_interval", "send_number",
	// "budget", "login_account".
	LimitHit(kind string)
}

type noObserver struct{}

func (noObserver) CaptchaIssued()        {}
func (noObserver) CaptchaChecked(string) {}
func (noObserver) CodeChecked(string)    {}
func (noObserver) LimitHit(string)       {}
