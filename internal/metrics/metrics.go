// Package metrics exposes the service's Prometheus metrics. Labels are fixed
// words (routes, errnos, results, provider names): never a number or an IP.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/signupd/signupd/internal/delivery"
)

// Metrics holds every collector on a registry of its own, so that tests and
// several servers in one process never share state.
type Metrics struct {
	registry              *prometheus.Registry
	requests              *prometheus.CounterVec
	latency               *prometheus.HistogramVec
	captchas              *prometheus.CounterVec
	codeChecks            *prometheus.CounterVec
	limits                *prometheus.CounterVec
	smsAttempts           *prometheus.CounterVec
	smsLatency            *prometheus.HistogramVec
	smsMessages           *prometheus.CounterVec
	smsAttemptsPerMessage prometheus.Histogram
	smsDelivery           prometheus.Histogram
	smsQueueDepth         prometheus.Gauge
	smsQueueOldest        prometheus.Gauge
	fraudAlert            *prometheus.GaugeVec
	fraudRatio            *prometheus.GaugeVec
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
		smsAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signup_sms_attempts_total", Help: "Provider calls by provider and result (sent, transient, permanent).",
		}, []string{"provider", "result"}),
		smsLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "signup_sms_send_duration_seconds", Help: "Time of one provider call.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"provider"}),
		smsMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signup_sms_messages_total", Help: "Messages finished, by state (sent, failed, expired, superseded).",
		}, []string{"state"}),
		smsAttemptsPerMessage: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "signup_sms_attempts_per_message", Help: "Provider calls a finished message took.",
			Buckets: []float64{1, 2, 3, 4, 6, 8, 12, 16},
		}),
		smsDelivery: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "signup_sms_delivery_seconds", Help: "Time from the API accepting a message to a provider accepting it.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 16),
		}),
		smsQueueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "signup_sms_queue_depth", Help: "Messages waiting for delivery (all instances).",
		}),
		smsQueueOldest: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "signup_sms_queue_oldest_seconds", Help: "Age of the oldest message waiting for delivery.",
		}),
	}
	m.fraudAlert = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "signup_fraud_alert", Help: "1 while a country's verifications have collapsed against its code sends (possible SMS pumping).",
	}, []string{"calling_code"})
	m.fraudRatio = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "signup_fraud_verification_ratio", Help: "Completed verifications per code sent, per country, over the fraud window.",
	}, []string{"calling_code"})
	m.registry.MustRegister(m.fraudAlert, m.fraudRatio)
	m.registry.MustRegister(m.requests, m.latency, m.captchas, m.codeChecks, m.limits,
		m.smsAttempts, m.smsLatency, m.smsMessages, m.smsAttemptsPerMessage, m.smsDelivery, m.smsQueueDepth, m.smsQueueOldest,
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

// Attempted implements delivery.Observer.
func (m *Metrics) Attempted(provider, result string, d time.Duration) {
	m.smsAttempts.WithLabelValues(provider, result).Inc()
	m.smsLatency.WithLabelValues(provider).Observe(d.Seconds())
}

// Finished implements delivery.Observer.
func (m *Metrics) Finished(s delivery.State, attempts int, sinceAccepted time.Duration) {
	m.smsMessages.WithLabelValues(string(s)).Inc()
	m.smsAttemptsPerMessage.Observe(float64(attempts))
	if s == delivery.StateSent {
		m.smsDelivery.Observe(sinceAccepted.Seconds())
	}
}

// Queue implements delivery.Observer.
func (m *Metrics) Queue(depth int, oldest time.Duration) {
	m.smsQueueDepth.Set(float64(depth))
	m.smsQueueOldest.Set(oldest.Seconds())
}

// Fraud implements account.Observer. Calling codes are a small, bounded set
// (the allowed destinations), fit for a label.
func (m *Metrics) Fraud(callingCode string, ratio float64, alert bool) {
	v := 0.0
	if alert {
		v = 1
	}
	m.fraudAlert.WithLabelValues(callingCode).Set(v)
	m.fraudRatio.WithLabelValues(callingCode).Set(ratio)
}
