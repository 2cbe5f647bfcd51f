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
	// Fraud: a country's ratio of verifications to sends, and whether it
	// has collapsed below the alert threshold.
	Fraud(callingCode string, ratio float64, alert bool)
}

type noObserver struct{}

func (noObserver) CaptchaIssued()              {}
func (noObserver) CaptchaChecked(string)       {}
func (noObserver) CodeChecked(string)          {}
func (noObserver) LimitHit(string)             {}
func (noObserver) Fraud(string, float64, bool) {}
