package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"time"

	"github.com/signupd/signupd/internal/loadgen"
)

// errLoadFailed makes the process exit non-zero when requests failed.
var errLoadFailed = errors.New("load: some requests failed (see errors above)")

// load is the subcommand "signupd load": it drives a running signupd and
// prints throughput and latency per step. The secret is read from the
// environment, never from a flag, so it does not show in process lists.
func load(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("signupd load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := loadgen.Config{WebhookSecret: []byte(getenv("SIGNUP_SMS_WEBHOOK_SECRET"))}
	fs.StringVar(&cfg.Target, "target", "http://127.0.0.1:8080", "base URL of the signupd under load")
	fs.StringVar(&cfg.Mode, "mode", loadgen.ModeFlow, "what a flow is: "+strings.Join(loadgen.Modes, ", "))
	fs.IntVar(&cfg.Clients, "clients", 8, "concurrent clients")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long flows start")
	fs.Float64Var(&cfg.Rate, "rate", 0, "flows started per second in all, on a fixed schedule, each timed from when it was due (0: every client as fast as it can)")
	fs.StringVar(&cfg.CaptchaAnswer, "captcha-answer", getenv("SIGNUP_TEST_CAPTCHA_ANSWER"), "the target's SIGNUP_TEST_CAPTCHA_ANSWER")
	fs.StringVar(&cfg.WebhookAddr, "webhook-addr", "127.0.0.1:9099", "where to receive the target's SMS (its SIGNUP_SMS_WEBHOOK_URL); secret from SIGNUP_SMS_WEBHOOK_SECRET")
	fs.BoolVar(&cfg.SpreadClients, "spread", false, "give each flow its own X-Forwarded-For address in 10.0.0.0/8 (the target must trust this machine as a proxy)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: signupd load [flags]\n\nDrives a running signupd and reports flows/s and p50/p90/p99/max per step; exits 1 if any request failed.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if cfg.Mode != loadgen.ModeCaptcha && cfg.CaptchaAnswer == "" {
		return errors.New("load: -captcha-answer (or SIGNUP_TEST_CAPTCHA_ANSWER) is needed to solve captchas")
	}
	// The tool shares the machine with the target it measures, so it spends
	// as little CPU as it can: its live heap is small, and collecting it at
	// Go's default pace cost a tenth of the tool's CPU.
	defer debug.SetGCPercent(debug.SetGCPercent(800))
	report, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	report.Write(stdout)
	if report.ErrorCount() > 0 {
		return errLoadFailed
	}
	return nil
}
