package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/internal/atomicfile"
)

// MetricsFile is the name of the run's metrics in the report folder: a
// name node_exporter's textfile collector picks up (*.prom).
const MetricsFile = "report.prom"

// PushJob is the job label the metrics are pushed to a Pushgateway under.
const PushJob = "driftgate"

// Metric names, one place: the README's metric table lists them.
const (
	MetricFindings          = "driftgate_findings"
	MetricFindingsWaived    = "driftgate_findings_waived"
	MetricUnobservedTypes   = "driftgate_unobserved_types"
	MetricObjects           = "driftgate_objects"
	MetricPairVerdict       = "driftgate_pair_verdict"
	MetricOverrides         = "driftgate_overrides_since_previous_report"
	MetricLastSuccess       = "driftgate_report_last_success_timestamp_seconds"
	MetricDuration          = "driftgate_report_duration_seconds"
	MetricBuildInfo         = "driftgate_build_info"
	metricsLabelPair        = "pair"
	metricsLabelSide        = "side"
	metricsLabelRule        = "rule"
	metricsLabelSeverity    = "severity"
	metricsLabelVerdict     = "verdict"
	metricsLabelVersion     = "version"
	metricsReplacementValue = "\uFFFD"
)

// MetricsLabels are the label names the metrics use; a Pushgateway
// grouping label must be none of them.
var MetricsLabels = []string{metricsLabelPair, metricsLabelSide, metricsLabelRule, metricsLabelSeverity, metricsLabelVerdict, metricsLabelVersion}

// RunStats is what the metrics say about the run itself, beside the report.
type RunStats struct {
	// Duration is how long the run took, from the first comparison to the
	// report written and recorded.
	Duration time.Duration
	// Version is driftgate's version, for driftgate_build_info.
	Version string
}

// metricsLabel makes a label value of text from clusters and files:
// Prometheus requires UTF-8, so an invalid byte becomes U+FFFD (the
// exposition format escapes the rest).
func metricsLabel(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, metricsReplacementValue)
}

// MetricsRegistry is the run as Prometheus metrics, in a registry of its
// own (no process or Go metrics: they would describe the report's writer,
// not the clusters, and change every run). Every value comes from the
// report and stats, so the same inputs give the same metrics.
func (r *Report) MetricsRegistry(stats RunStats) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	findings := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricFindings,
		Help: "Findings of the last run that are not waived, by pair, rule and severity; a pair that could not be compared has none."},
		[]string{metricsLabelPair, metricsLabelRule, metricsLabelSeverity})
	waived := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricFindingsWaived,
		Help: "Findings of the last run that an active waiver accepts, by pair and rule."},
		[]string{metricsLabelPair, metricsLabelRule})
	unobserved := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricUnobservedTypes,
		Help: "Resource types a side could not observe in the last run (any makes the pair could-not-check)."},
		[]string{metricsLabelPair, metricsLabelSide})
	objects := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricObjects,
		Help: "Objects in scope on each side of a pair in the last run."},
		[]string{metricsLabelPair, metricsLabelSide})
	verdict := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricPairVerdict,
		Help: "The pair's verdict in the last run: 1 for the verdict it got, 0 for the others."},
		[]string{metricsLabelPair, metricsLabelVerdict})
	overrides := prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricOverrides,
		Help: "Overrides recorded in the incident log since the previous report run (all of them on the first run)."})
	lastSuccess := prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricLastSuccess, Unit: "seconds",
		Help: "When the last report run that wrote its files and recorded its history started, in seconds since the Unix epoch."})
	duration := prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricDuration, Unit: "seconds",
		Help: "How long the last successful report run took, comparisons included."})
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricBuildInfo,
		Help: "Always 1; the version label is the driftgate that wrote the metrics."},
		[]string{metricsLabelVersion})
	for _, c := range []prometheus.Collector{findings, waived, unobserved, objects, verdict, overrides, lastSuccess, duration, info} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}

	var errs []error
	add := func(v *prometheus.GaugeVec, n float64, labels ...string) {
		for i := range labels {
			labels[i] = metricsLabel(labels[i])
		}
		g, err := v.GetMetricWithLabelValues(labels...)
		if err != nil {
			errs = append(errs, err)
			return
		}
		g.Add(n)
	}
	for i := range r.Pairs {
		p := &r.Pairs[i]
		got := p.Verdict()
		for _, v := range []string{drift.VerdictPass, drift.VerdictBlocked, drift.VerdictCouldNotCheck} {
			n := 0.0
			if v == got {
				n = 1
			}
			add(verdict, n, p.Name, v)
		}
		if p.Result == nil {
			continue
		}
		add(objects, float64(p.Result.Compared.Dev), p.Name, "dev")
		add(objects, float64(p.Result.Compared.Prod), p.Name, "prod")
		add(unobserved, 0, p.Name, "dev")
		add(unobserved, 0, p.Name, "prod")
		for _, u := range p.Result.Unobserved {
			add(unobserved, 1, p.Name, u.Side)
		}
		for _, f := range p.Result.Findings {
			if f.Waiver != nil {
				add(waived, 1, p.Name, f.Rule)
				continue
			}
			// As Result.Finish counts them: an unknown severity is info.
			sev := f.Severity
			if sev != drift.SeverityBlock && sev != drift.SeverityWarn {
				sev = drift.SeverityInfo
			}
			add(findings, 1, p.Name, f.Rule, string(sev))
		}
	}
	add(info, 1, stats.Version)
	overrides.Set(float64(len(r.Incidents)))
	lastSuccess.Set(float64(r.GeneratedAt.Unix()))
	duration.Set(stats.Duration.Seconds())
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("building the metrics: %w", err)
	}
	return reg, nil
}

// OpenMetrics writes the families g gathers as OpenMetrics text, ending
// with # EOF.
func OpenMetrics(w io.Writer, g prometheus.Gatherer) error {
	mfs, err := g.Gather()
	if err != nil {
		return fmt.Errorf("gathering the metrics: %w", err)
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeOpenMetrics))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("encoding %s: %w", mf.GetName(), err)
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		return c.Close()
	}
	return nil
}

// Pushgateway is where --push sends the run's metrics.
type Pushgateway struct {
	// URL is the Pushgateway's base URL (http or https, without
	// /metrics/job/...); user information in it is sent as basic auth and
	// never shown.
	URL string
	// Grouping are the grouping labels beside job=driftgate, such as
	// instance: the run replaces what the same group pushed last.
	Grouping map[string]string
	// Client sends the request; default a client with a one-minute timeout.
	Client *http.Client
}

// pushTarget is a parsed Pushgateway URL: the base without credentials,
// and the host to name in messages.
type pushTarget struct {
	base, host string
	user       *url.Userinfo
}

func parsePushURL(raw string) (pushTarget, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url's errors quote the whole URL, credentials included.
		return pushTarget{}, errors.New("invalid Pushgateway URL: use http(s)://HOST[:PORT][/PATH]")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return pushTarget{}, errors.New("invalid Pushgateway URL: use http(s)://HOST[:PORT][/PATH]")
	case u.Host == "":
		return pushTarget{}, errors.New("invalid Pushgateway URL: it names no host")
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return pushTarget{}, fmt.Errorf("invalid Pushgateway URL for %s: a query or fragment cannot be part of it (the push path is appended to the URL)", u.Host)
	}
	t := pushTarget{host: u.Host, user: u.User}
	u.User = nil
	t.base = strings.TrimSuffix(u.String(), "/")
	return t, nil
}

// ValidatePush checks a Pushgateway's URL and grouping labels before any
// comparison runs, so a typo fails at once rather than after the night's work.
func ValidatePush(p Pushgateway) error {
	t, err := parsePushURL(p.URL)
	if err != nil {
		return err
	}
	for name := range p.Grouping {
		switch {
		case !model.LegacyValidation.IsValidLabelName(name) || strings.HasPrefix(name, "__"):
			return fmt.Errorf("invalid Pushgateway grouping label name %q: use letters, digits and underscores", name)
		case name == "job":
			return fmt.Errorf("grouping label job is always %s for %s", PushJob, t.host)
		}
		for _, l := range MetricsLabels {
			if name == l {
				return fmt.Errorf("grouping label %s is a label of the metrics themselves: choose another name", name)
			}
		}
	}
	return nil
}

// Push sends the metrics g gathers to the Pushgateway, replacing what its
// group held (HTTP PUT). Errors name the host, never the credentials.
func Push(ctx context.Context, p Pushgateway, g prometheus.Gatherer) error {
	if err := ValidatePush(p); err != nil {
		return err
	}
	t, _ := parsePushURL(p.URL)
	client := p.Client
	if client == nil {
		client = &http.Client{Timeout: time.Minute}
	}
	pusher := push.New(t.base, PushJob).Gatherer(g).Client(client).Format(expfmt.NewFormat(expfmt.TypeProtoDelim))
	if t.user != nil {
		pw, _ := t.user.Password()
		pusher = pusher.BasicAuth(t.user.Username(), pw)
	}
	for name, value := range p.Grouping {
		pusher = pusher.Grouping(name, value)
	}
	if err := pusher.PushContext(ctx); err != nil {
		return fmt.Errorf("pushing the metrics to the Pushgateway at %s: %w", t.host, err)
	}
	return nil
}

// writeMetrics renders the run's metrics into path, atomically: the
// textfile collector never reads half a file. The mode is 0666 less the
// umask, as for the other report files, so node_exporter's user can read it.
func writeMetrics(path string, g prometheus.Gatherer) error {
	var b bytes.Buffer
	if err := OpenMetrics(&b, g); err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, 0o666, b.Bytes())
}
