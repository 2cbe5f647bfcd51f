package loadgen

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"text/tabwriter"
	"time"
)

// Report is what a run measured.
type Report struct {
	Mode     string
	Clients  int
	Rate     float64 // the flows per second asked for; 0 for as fast as the clients go
	Elapsed  time.Duration
	Steps    map[string]Latency // by step; "flow" is a whole flow
	Errors   map[string]int     // "step: kind" -> count
	mu       sync.Mutex
	samples  map[string][]time.Duration
	stepList []string
}

// Latency sums up one step's successful timings.
type Latency struct {
	Count              int
	P50, P90, P99, Max time.Duration
}

func newReport(cfg Config) *Report {
	steps := map[string][]string{
		ModeCaptcha: {stepCaptcha},
		ModeSMS:     {stepCaptcha, stepSend, stepCode},
		ModeFlow:    {stepPage, stepCaptcha, stepSend, stepCode, stepRegister, stepSession},
		ModeLogin:   {stepPage, stepLogin, stepSession},
	}[cfg.Mode]
	return &Report{
		Mode: cfg.Mode, Clients: cfg.Clients, Rate: cfg.Rate,
		Steps: map[string]Latency{}, Errors: map[string]int{},
		samples: map[string][]time.Duration{}, stepList: append(steps, stepFlow),
	}
}

// Flows is how many flows completed without an error.
func (r *Report) Flows() int { return r.Steps[stepFlow].Count }

// FlowRate is completed flows per second.
func (r *Report) FlowRate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Flows()) / r.Elapsed.Seconds()
}

// ErrorCount is how many requests or deliveries failed.
func (r *Report) ErrorCount() int {
	n := 0
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// recorder collects one client's timings without locks; merge adds them to
// the report at the end.
type recorder struct {
	samples map[string][]time.Duration
	errors  map[string]int
	first   string
}

func (r *Report) recorder() *recorder {
	return &recorder{samples: map[string][]time.Duration{}, errors: map[string]int{}}
}

func (rec *recorder) add(step string, d time.Duration) {
	rec.samples[step] = append(rec.samples[step], d)
}

func (rec *recorder) fail(step, kind string) {
	key := step + ": " + kind
	rec.errors[key]++
	if rec.first == "" {
		rec.first = key
	}
}

func (rec *recorder) firstError() string {
	if rec.first == "" {
		return "stopped"
	}
	return rec.first
}

func (r *Report) merge(rec *recorder) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for step, s := range rec.samples {
		r.samples[step] = append(r.samples[step], s...)
	}
	for k, n := range rec.errors {
		r.Errors[k] += n
	}
	for step, s := range r.samples {
		r.Steps[step] = summarize(s)
	}
}

func (r *Report) addErrors(step string, kinds map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, n := range kinds {
		r.Errors[step+": "+k] += n
	}
}

func summarize(s []time.Duration) Latency {
	if len(s) == 0 {
		return Latency{}
	}
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return Latency{Count: len(s), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: s[len(s)-1]}
}

// Write prints the report as a table: the rate, each step's latencies, and
// every error by kind.
func (r *Report) Write(w io.Writer) {
	paced := ""
	if r.Rate > 0 {
		paced = fmt.Sprintf(" at %g/s", r.Rate)
	}
	fmt.Fprintf(w, "mode %s, %d clients%s, %.1fs: %d flows, %.1f flows/s, %d errors\n",
		r.Mode, r.Clients, paced, r.Elapsed.Seconds(), r.Flows(), r.FlowRate(), r.ErrorCount())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "step\tcount\tp50\tp90\tp99\tmax\t")
	for _, step := range r.stepList {
		l := r.Steps[step]
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t\n", step, l.Count, ms(l.P50), ms(l.P90), ms(l.P99), ms(l.Max))
	}
	tw.Flush()
	if len(r.Errors) > 0 {
		fmt.Fprintln(w, "errors:")
		for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
			fmt.Fprintf(w, "  %6d  %s\n", r.Errors[k], k)
		}
	}
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}
