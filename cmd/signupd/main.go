// Command signupd is the phone-number sign-up service: captcha, SMS code,
// registration, login and sessions behind the original iHome JSON API.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // the SMS budget's time zone must load on hosts without zoneinfo

	"github.com/redis/go-redis/v9"
)

func main() {
	// go-redis prints every failed dial through a process-wide logger. A Redis
	// outage is already reported once per request (DBERR, logged with its
	// request id) and by /readyz, so its own lines would only flood the log.
	redis.SetLogger(quietRedis{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "signupd:", err)
		os.Exit(1)
	}
}

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}
