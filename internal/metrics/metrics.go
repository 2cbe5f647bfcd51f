// Package metrics exposes the service's Prometheus metrics. Labels are fixed
// words (routes, errnos, results, provider names): never a number or an IP.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/signupd/signupd/internal/account"
)

// Metrics holds every collector on a registry of its own, so that tests and
// several servers in one process never share state.
type Metrics struct {
	registry   *prometheus.Registry
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	captchas   *prometheus.CounterVec
	codeChecks *prometheus.CounterVec
	limits     *prometheus.CounterVec
	sms        *prometheus.CounterVec
	smsLatency *prometheus.HistogramVec
}

// New returns metrics registered on a fresh registry, with the Go runtime
// and process collectors.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signup_http_requests_total", Help: "HTTP requests by route, status and API errno.",
		}, []string{"route", "status", "errno"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "signup_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		captchas: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signup_captchas_total", Help: "Captchas issued, and checked by result (passed, wrong, expired).",
		}, []string{"result"}),
		codeChecks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signup_code_checks_total", Help: "SMS code checks by result (matched, mismatch, missing, void).",
		}, []string{"result"}),
		limits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signup_limits_hit_total", Help: "Requests refused by a limit, by kind.",
		}, []string{"kind"}),
		sms: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signup_sms_total", Help: "SMS sends by provider and result (sent, failed).",
		}, []string{"provider", "result"}),
		smsLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "signup_sms_send_duration_seconds", Help: "Time of one provider call.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"provider"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.captchas, m.codeChecks, m.limits, m.sms, m.smsLatency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// ObserveRequest records one HTTP request.
func (m *Metrics) ObserveRequest(route string, status int, errno string, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status), errno).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// CaptchaIssued implements account.Observer.
func (m *Metrics) CaptchaIssued() { m.captchas.WithLabelValues("issued").Inc() }

// CaptchaChecked implements account.Observer.
func (m *Metrics) CaptchaChecked(result string) { m.captchas.WithLabelValues(result).Inc() }

// CodeChecked implements account.Observer.
func (m *Metrics) CodeChecked(result string) { m.codeChecks.WithLabelValues(result).Inc() }

// LimitHit implements account.Observer.
func (m *Metrics) LimitHit(kind string) { m.limits.WithLabelValues(kind).Inc() }

// Sender counts the sends of next under the provider name.
func (m *Metrics) Sender(provider string, next account.Sender) account.Sender {
	return &countingSender{m: m, provider: provider, next: next}
}

type countingSender struct {
	m        *Metrics
	provider string
	next     account.Sender
}

func (s *countingSender) Send(ctx context.Context, msg account.Message) error {
	start := time.Now()
	err := s.next.Send(ctx, msg)
	s.m.smsLatency.WithLabelValues(s.provider).Observe(time.Since(start).Seconds())
	result := "sent"
	if err != nil {
		result = "failed"
	}
	s.m.sms.WithLabelValues(s.provider, result).Inc()
	return err
}
