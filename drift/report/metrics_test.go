package report

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/incident"
)

// parseMetrics parses OpenMetrics text the way node_exporter's textfile
// collector does, with prometheus/common's text parser, into
// "name{label="value",...}" -> value, labels sorted by name. It fails the
// test when the text is not what the parser accepts, or lacks # EOF.
func parseMetrics(t *testing.T, text []byte) (map[string]float64, map[string]*dto.MetricFamily) {
	t.Helper()
	if !bytes.HasSuffix(text, []byte("\n# EOF\n")) {
		t.Errorf("OpenMetrics text must end with # EOF:\n%s", text)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("expfmt cannot parse the metrics: %v\n%s", err, text)
	}
	return samples(fams), fams
}

func samples(fams map[string]*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for name, mf := range fams {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			v := m.GetGauge().GetValue()
			if m.Untyped != nil {
				v = m.GetUntyped().GetValue()
			}
			out[name+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	return out
}

// metricsFixture is a report with a blocked pair holding a waived finding
// and an unobserved type, a pair that could not be compared, a passing pair
// and an override since the previous run.
func metricsFixture() *Report {
	egress := finding("network-policy", "block", "shop", "checkout", "dev allows egress")
	leftover := finding("leftovers", "block", "shop", "debug", "only in dev")
	leftover2 := finding("leftovers", "block", "shop", "debug-2", "only in dev")
	replicas := finding("workload-replicas", "info", "shop", "checkout", "spec.replicas differs")
	dns := finding("dns", "warn", "kube-system", "coredns", "corefile differs")
	waived := finding("dns", "warn", "kube-system", "nodelocal", "corefile differs")
	waived.Waiver = &drift.WaiverRef{Rule: "dns", Object: "kube-system/*"}
	blocked := result(egress, leftover, leftover2, replicas, dns, waived)
	blocked.Unobserved = []drift.UnobservedSide{{Side: "prod", Unobserved: drift.Unobserved{ResourceType: drift.ResourceType{Group: "example.com", Kind: "Widget"}, Reason: "forbidden"}}}
	blocked.Finish()
	first := Build(Input{Now: t0, Pairs: []Pair{{Name: "payments", Result: result()}}}, nil)
	inc := func(id string, at time.Time) *incident.Record {
		return &incident.Record{ID: id, Time: at, Who: incident.Identity{Name: "alice"}, Ticket: "INC-1", Reason: "hotfix"}
	}
	return Build(Input{
		Now:       t0.Add(24 * time.Hour),
		Pairs:     []Pair{{Name: "payments", Result: blocked}, {Name: "search", Error: "prod: cannot reach the API server"}, {Name: "web", Result: result()}},
		Incidents: []*incident.Record{inc("before", t0.Add(-time.Hour)), inc("after", t0.Add(time.Hour))},
	}, []*Report{first})
}

func TestMetricsFamiliesAndValues(t *testing.T) {
	t.Parallel()
	reg, err := metricsFixture().MetricsRegistry(RunStats{Duration: 1500 * time.Millisecond, Version: "v1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := OpenMetrics(&b, reg); err != nil {
		t.Fatal(err)
	}
	got, fams := parseMetrics(t, b.Bytes())
	want := map[string]float64{
		`driftgate_findings{pair="payments",rule="network-policy",severity="block"}`:   1,
		`driftgate_findings{pair="payments",rule="leftovers",severity="block"}`:        2,
		`driftgate_findings{pair="payments",rule="workload-replicas",severity="info"}`: 1,
		`driftgate_findings{pair="payments",rule="dns",severity="warn"}`:               1,
		`driftgate_findings_waived{pair="payments",rule="dns"}`:                        1,
		`driftgate_unobserved_types{pair="payments",side="dev"}`:                       0,
		`driftgate_unobserved_types{pair="payments",side="prod"}`:                      1,
		`driftgate_unobserved_types{pair="web",side="dev"}`:                            0,
		`driftgate_unobserved_types{pair="web",side="prod"}`:                           0,
		`driftgate_objects{pair="payments",side="dev"}`:                                12,
		`driftgate_objects{pair="payments",side="prod"}`:                               11,
		`driftgate_objects{pair="web",side="dev"}`:                                     12,
		`driftgate_objects{pair="web",side="prod"}`:                                    11,
		`driftgate_pair_verdict{pair="payments",verdict="pass"}`:                       0,
		`driftgate_pair_verdict{pair="payments",verdict="blocked"}`:                    0,
		`driftgate_pair_verdict{pair="payments",verdict="could-not-check"}`:            1,
		`driftgate_pair_verdict{pair="search",verdict="pass"}`:                         0,
		`driftgate_pair_verdict{pair="search",verdict="blocked"}`:                      0,
		`driftgate_pair_verdict{pair="search",verdict="could-not-check"}`:              1,
		`driftgate_pair_verdict{pair="web",verdict="pass"}`:                            1,
		`driftgate_pair_verdict{pair="web",verdict="blocked"}`:                         0,
		`driftgate_pair_verdict{pair="web",verdict="could-not-check"}`:                 0,
		`driftgate_overrides_since_previous_report{}`:                                  1,
		`driftgate_report_last_success_timestamp_seconds{}`:                            float64(t0.Add(24 * time.Hour).Unix()),
		`driftgate_report_duration_seconds{}`:                                          1.5,
		`driftgate_build_info{version="v1.2.3"}`:                                       1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s\n%s", diff, b.String())
	}
	for name, mf := range fams {
		if mf.GetType() != dto.MetricType_GAUGE {
			t.Errorf("%s is a %s, want a gauge", name, mf.GetType())
		}
		if mf.GetHelp() == "" {
			t.Errorf("%s has no help", name)
		}
		if !strings.HasPrefix(name, "driftgate_") || strings.HasSuffix(name, "_total") {
			t.Errorf("%s: gauges are named driftgate_..., without _total", name)
		}
	}
	for _, unit := range []string{"# UNIT driftgate_report_duration_seconds seconds\n", "# UNIT driftgate_report_last_success_timestamp_seconds seconds\n"} {
		if !strings.Contains(b.String(), unit) {
			t.Errorf("missing %q", unit)
		}
	}
}

// TestMetricsHostileLabels: pair and rule names are text from files and
// clusters. Whatever they hold, the file parses and each label value
// reads back as it was; only invalid UTF-8, which Prometheus cannot hold,
// reads back with U+FFFD in place of the bad bytes.
func TestMetricsHostileLabels(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, want string }{
		{"quote\"d", "quote\"d"},
		{`back\slash\n`, `back\slash\n`},
		{"new\nline} 1\nevil_metric 666", "new\nline} 1\nevil_metric 666"},
		{"# EOF\n", "# EOF\n"},
		{"crlf\r\n\ttab", "crlf\r\n\ttab"},
		{"esc\x1b[2J\u2028\u202e", "esc\x1b[2J\u2028\u202e"},
		{"bad\xff\xfeutf8", "bad\uFFFDutf8"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.name), func(t *testing.T) {
			t.Parallel()
			f := finding(tt.name, "block", "shop", "checkout", "x")
			r := Build(Input{Now: t0, Pairs: []Pair{{Name: tt.name, Result: result(f)}}}, nil)
			reg, err := r.MetricsRegistry(RunStats{Version: tt.name})
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := OpenMetrics(&b, reg); err != nil {
				t.Fatal(err)
			}
			got, fams := parseMetrics(t, b.Bytes())
			key := fmt.Sprintf("driftgate_findings{pair=%q,rule=%q,severity=\"block\"}", tt.want, tt.want)
			if got[key] != 1 {
				t.Errorf("no %s in\n%s", key, b.String())
			}
			if n := len(fams); n != 8 {
				t.Errorf("%d families, want 8: a label value must not add lines of its own\n%s", n, b.String())
			}
			if info := fmt.Sprintf("driftgate_build_info{version=%q}", tt.want); got[info] != 1 {
				t.Errorf("no %s", info)
			}
		})
	}
}

// fixedClock returns start, then start+step, ...: a run's duration is step.
func fixedClock(start time.Time, step time.Duration) func() time.Time {
	var mu sync.Mutex
	now := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t := now
		now = now.Add(step)
		return t
	}
}

// TestRunMetricsFile: report.prom is written beside the other files, the
// same bytes for the same inputs, readable by others (node_exporter runs
// as its own user) when the umask lets it.
func TestRunMetricsFile(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	base, leftover := scenario("base/both"), scenario("leftover/dev")
	var files [][]byte
	for range 2 {
		cfg, _ := runConfig(t, PairConfig{Name: "same", Dev: base, Prod: base}, PairConfig{Name: "changed", Dev: leftover, Prod: base})
		cfg.Clock = fixedClock(t0, 2*time.Second)
		cfg.Version = "v0.0.0-test"
		if _, err := Run(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(cfg.Out, MetricsFile)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(path)
		if fi.Mode().Perm() != 0o644 {
			t.Errorf("%s mode %v, want 0644 under umask 022", MetricsFile, fi.Mode().Perm())
		}
		files = append(files, b)
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Errorf("two runs of the same inputs wrote different metrics:\n%s\n---\n%s", files[0], files[1])
	}
	got, _ := parseMetrics(t, files[0])
	for key, want := range map[string]float64{
		`driftgate_pair_verdict{pair="same",verdict="pass"}`:       1,
		`driftgate_pair_verdict{pair="changed",verdict="blocked"}`: 1,
		`driftgate_report_duration_seconds{}`:                      2,
		`driftgate_report_last_success_timestamp_seconds{}`:        float64(t0.Unix()),
		`driftgate_build_info{version="v0.0.0-test"}`:              1,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
	var leftovers float64
	for k, v := range got {
		if strings.HasPrefix(k, `driftgate_findings{pair="changed",rule="leftovers"`) {
			leftovers += v
		}
	}
	if leftovers == 0 {
		t.Errorf("no leftovers findings for pair changed:\n%s", files[0])
	}
}

// TestRunFailureKeepsLastSuccess: a run that fails after writing the
// report files (here: its history cannot be recorded) leaves report.prom
// as the last good run wrote it, so the last-success time does not move
// and an alert on its age fires.
func TestRunFailureKeepsLastSuccess(t *testing.T) {
	t.Parallel()
	base := scenario("base/both")
	cfg, _ := runConfig(t, PairConfig{Name: "same", Dev: base, Prod: base})
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(cfg.Out, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	// The history folder becomes a file: Load finds no runs, Save fails.
	if err := os.RemoveAll(cfg.History.Dir); err != nil {
		t.Fatal(err)
	}
	writeFile(t, cfg.History.Dir, "not a folder")
	cfg.Now = t0.Add(24 * time.Hour)
	if _, err := Run(context.Background(), cfg); err == nil {
		t.Fatal("a run that cannot record its history must fail")
	}
	after, err := os.ReadFile(filepath.Join(cfg.Out, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("a failed run changed %s:\n%s\n---\n%s", MetricsFile, before, after)
	}
	got, _ := parseMetrics(t, after)
	if v := got[`driftgate_report_last_success_timestamp_seconds{}`]; v != float64(t0.Unix()) {
		t.Errorf("last success %v, want the first run's %d", v, t0.Unix())
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pushRequest is what the stand-in Pushgateway received.
type pushRequest struct {
	method, path string
	user, pass   string
	families     map[string]*dto.MetricFamily
	decodeErr    error
}

// pushgateway is a loopback stand-in for a Pushgateway: it decodes each
// push in the format its Content-Type names and answers with status.
func pushgateway(t *testing.T, status int) (*httptest.Server, *[]pushRequest) {
	t.Helper()
	var mu sync.Mutex
	var got []pushRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := pushRequest{method: r.Method, path: r.URL.EscapedPath(), families: map[string]*dto.MetricFamily{}}
		req.user, req.pass, _ = r.BasicAuth()
		dec := expfmt.NewDecoder(r.Body, expfmt.ResponseFormat(r.Header))
		for {
			var mf dto.MetricFamily
			if err := dec.Decode(&mf); err != nil {
				if err != io.EOF {
					req.decodeErr = err
				}
				break
			}
			req.families[mf.GetName()] = &mf
		}
		mu.Lock()
		got = append(got, req)
		mu.Unlock()
		w.WriteHeader(status)
		fmt.Fprint(w, "stand-in says no")
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func TestPush(t *testing.T) {
	t.Parallel()
	reg, err := metricsFixture().MetricsRegistry(RunStats{Duration: time.Second, Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := OpenMetrics(&want, reg); err != nil {
		t.Fatal(err)
	}
	wantSamples, _ := parseMetrics(t, want.Bytes())

	ok, okGot := pushgateway(t, http.StatusOK)
	withCreds := strings.Replace(ok.URL, "http://", "http://bot:s3cret@", 1) + "/base/"
	if err := Push(context.Background(), Pushgateway{URL: withCreds, Grouping: map[string]string{"instance": "nightly/eu"}}, reg); err != nil {
		t.Fatal(err)
	}
	if len(*okGot) != 1 {
		t.Fatalf("%d pushes, want 1", len(*okGot))
	}
	r := (*okGot)[0]
	// A value holding / is base64-encoded in the path, as the Pushgateway expects.
	if r.method != http.MethodPut || r.path != "/base/metrics/job/driftgate/instance@base64/bmlnaHRseS9ldQ" {
		t.Errorf("pushed %s %s, want PUT /base/metrics/job/driftgate/instance@base64/bmlnaHRseS9ldQ", r.method, r.path)
	}
	if r.user != "bot" || r.pass != "s3cret" {
		t.Errorf("basic auth %q:%q, want the URL's user information", r.user, r.pass)
	}
	if r.decodeErr != nil {
		t.Fatalf("the body does not decode: %v", r.decodeErr)
	}
	if diff := cmp.Diff(wantSamples, samples(r.families)); diff != "" {
		t.Errorf("pushed metrics differ from the file's (-file +pushed):\n%s", diff)
	}

	failing, _ := pushgateway(t, http.StatusInternalServerError)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name, url, want string
	}{
		{"server error", failing.URL, "unexpected status code 500"},
		{"unreachable", closed.URL, "connect"},
		{"not a URL", "http://bot:s3cret@[::1", "invalid Pushgateway URL"},
		{"no scheme", "pushgateway:9091", "invalid Pushgateway URL"},
		{"query", ok.URL + "/?token=s3cret", "query or fragment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := strings.Replace(tt.url, "http://", "http://bot:s3cret@", 1)
			err := Push(context.Background(), Pushgateway{URL: u}, reg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("push to %s: %v, want an error with %q", tt.name, err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error shows the credentials: %v", err)
			}
			if h, _, _ := net.SplitHostPort(strings.TrimPrefix(tt.url, "http://")); tt.name != "not a URL" && tt.name != "no scheme" && !strings.Contains(err.Error(), h) {
				t.Errorf("the error does not name the host %s: %v", h, err)
			}
		})
	}
}

func TestValidatePushGrouping(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{"instance": true, "config_name": true, "job": false, "pair": false, "rule": false, "9bad": false, "__name__": false, "bad-dash": false} {
		err := ValidatePush(Pushgateway{URL: "http://127.0.0.1:9091", Grouping: map[string]string{name: "x"}})
		if (err == nil) != ok {
			t.Errorf("grouping label %q: %v, want ok %v", name, err, ok)
		}
	}
}

// TestRunPushFailureAfterFiles: a push that fails is reported after the
// files are written; the run itself succeeds.
func TestRunPushFailureAfterFiles(t *testing.T) {
	t.Parallel()
	srv, got := pushgateway(t, http.StatusInternalServerError)
	base := scenario("base/both")
	cfg, notes := runConfig(t, PairConfig{Name: "same", Dev: base, Prod: base})
	cfg.Push = &Pushgateway{URL: srv.URL, Grouping: map[string]string{"instance": "ci"}}
	out, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if out.Unpushed == nil || len(*got) != 1 {
		t.Fatalf("unpushed %v after %d pushes, want the failure after one", out.Unpushed, len(*got))
	}
	if !strings.Contains(notes.String(), "pushing the metrics to the Pushgateway at 127.0.0.1:") {
		t.Errorf("notes: %q", notes)
	}
	for _, f := range []string{"report.json", MetricsFile} {
		if _, err := os.Stat(filepath.Join(cfg.Out, f)); err != nil {
			t.Errorf("%s must be written before the push: %v", f, err)
		}
	}
}
