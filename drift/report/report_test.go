package report

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/incident"
	"github.com/driftgate/driftgate/internal/golden"
)

var t0 = time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)

func finding(rule string, sev drift.Severity, ns, name, msg string) drift.Finding {
	return drift.Finding{Rule: rule, Severity: sev, Check: map[string]string{"network-policy": "networkpolicy", "dns": "corefile", "leftovers": "unmanaged"}[rule], Kind: drift.FindingChanged,
		Object: drift.ObjectID{Group: "apps", Kind: "Deployment", Namespace: ns, Name: name}, Message: msg}
}

func result(fs ...drift.Finding) *drift.Result {
	res := &drift.Result{Dev: drift.Side{Name: "dev", Location: "context:dev", Context: "dev"}, Prod: drift.Side{Name: "prod", Location: "context:prod", Context: "prod"}, Findings: fs,
		Compared: drift.Compared{Dev: 12, Prod: 11, Rules: 23}}
	res.Finish()
	return res
}

// runs builds three consecutive reports: nothing, then two findings, then one resolved.
func runs(t *testing.T) []*Report {
	t.Helper()
	egress := finding("network-policy", "block", "shop", "checkout", "dev allows egress traffic that prod denies")
	egress.Fields = []drift.FieldDiff{{Path: "egress to 0.0.0.0/0", Dev: "allowed on any", Prod: "denied"}}
	leftover := finding("leftovers", "block", "shop", "checkout-debug", "exists only in dev, made by hand (kubectl-create)")
	replicas := finding("workload-replicas", "info", "shop", "checkout", "spec.replicas differs")
	waivers := []Waiver{
		{Rule: "dns", Object: "kube-system/*", Reason: "NodeLocal DNSCache rollout to dev", Owner: "bob", Expires: t0.Add(10 * 24 * time.Hour), Where: "waivers.yaml:4"},
		{Rule: "leftovers", Object: "shop/*", Reason: "load test", Owner: "carol", Expires: t0.Add(60 * 24 * time.Hour), Where: "waivers.yaml:9"},
	}
	inc := &incident.Record{ID: "dg-20261121T100000Z-abcdef", Time: t0.Add(31 * time.Hour), Who: incident.Identity{Name: "alice"}, Ticket: "INC-9", Reason: "hotfix <script>alert(1)</script> must ship", Findings: []drift.Finding{egress}}
	var history []*Report
	inputs := []Input{
		{Now: t0, Pairs: []Pair{{Name: "payments", Result: result()}, {Name: "search", Result: result(replicas)}}},
		{Now: t0.Add(24 * time.Hour), Pairs: []Pair{{Name: "payments", Result: result(egress, leftover)}, {Name: "search", Error: "prod (context prod): cannot reach the API server at https://10.0.0.1:6443"}}},
		{Now: t0.Add(48 * time.Hour), Pairs: []Pair{{Name: "payments", Result: result(egress)}, {Name: "search", Result: result(replicas)}}, Waivers: waivers, Incidents: []*incident.Record{inc}},
	}
	for _, in := range inputs {
		history = append(history, Build(in, history))
	}
	return history
}

func TestNewResolvedAndTrend(t *testing.T) {
	t.Parallel()
	h := runs(t)
	keys := func(ks []FindingKey) []string {
		var out []string
		for _, k := range ks {
			out = append(out, k.Rule+" "+k.Object.String())
		}
		return out
	}
	pay2, pay3 := h[1].pair("payments"), h[2].pair("payments")
	if diff := cmp.Diff([]string{"network-policy shop/Deployment.apps/checkout", "leftovers shop/Deployment.apps/checkout-debug"}, keys(pay2.New)); diff != "" {
		t.Errorf("run 2 new (-want +got):\n%s", diff)
	}
	if len(pay3.New) != 0 || !cmp.Equal([]string{"leftovers shop/Deployment.apps/checkout-debug"}, keys(pay3.Resolved)) {
		t.Errorf("run 3: new %v resolved %v", keys(pay3.New), keys(pay3.Resolved))
	}
	var trend []string
	for _, p := range pay3.Trend {
		trend = append(trend, p.Time.Format("01-02")+":"+string(rune('0'+p.Block)))
	}
	if diff := cmp.Diff([]string{"11-20:0", "11-21:2", "11-22:1"}, trend); diff != "" {
		t.Errorf("trend (-want +got):\n%s", diff)
	}
	search := h[2].pair("search")
	if len(search.New) != 0 || len(search.Resolved) != 0 || !search.Trend[1].Failed {
		t.Errorf("a pair that failed last run has no known changes: %+v", search)
	}
	if h[1].Verdict != drift.VerdictCouldNotCheck || h[2].Verdict != drift.VerdictBlocked {
		t.Errorf("verdicts %s %s", h[1].Verdict, h[2].Verdict)
	}
	if len(h[2].Incidents) != 1 || !h[2].Waivers[0].Expiring || h[2].Waivers[1].Expiring {
		t.Errorf("incidents %v waivers %+v", h[2].Incidents, h[2].Waivers)
	}
}

func TestHistoryRoundTrip(t *testing.T) {
	t.Parallel()
	hist := History{Dir: t.TempDir()}
	for _, r := range runs(t) {
		if err := hist.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	// Two runs within one second are both kept, in order.
	again := runs(t)[2]
	again.Verdict = "second-run-same-second"
	if err := hist.Save(again); err != nil {
		t.Fatal(err)
	}
	loaded, err := hist.Load()
	if err != nil || len(loaded) != 4 || !loaded[2].GeneratedAt.Equal(t0.Add(48*time.Hour)) || loaded[3].Verdict != "second-run-same-second" {
		t.Fatalf("loaded %d runs: %v", len(loaded), err)
	}
	os.WriteFile(filepath.Join(hist.Dir, "report-20991231T000000Z.json"), []byte("{"), 0o644)
	if _, err := hist.Load(); err == nil || !strings.Contains(err.Error(), "report-20991231T000000Z.json") {
		t.Errorf("a broken history file must be named: %v", err)
	}
}

func TestGolden(t *testing.T) {
	r := runs(t)[2]
	var md, js bytes.Buffer
	if err := r.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := r.JSON(&js); err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "report.md", md.Bytes())
	golden.Assert(t, "report.json", js.Bytes())
}

func TestHTMLIsSelfContainedAndEscaped(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := runs(t)[2].HTML(&b); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, bad := range []string{"<script", "src=\"http", "href=\"http", "<link", "@import", "url("} {
		if strings.Contains(strings.ToLower(html), bad) {
			t.Errorf("HTML has %q: not self-contained or not escaped", bad)
		}
	}
	if !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(html, "<svg") {
		t.Errorf("expected escaped reason and an inline SVG")
	}
}

// TestHTMLInChromium renders report.html in Debian's headless Chromium: the
// page must load without console errors and its rendered text must hold the
// pairs and findings.
func TestHTMLInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a browser; skipped by -short")
	}
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not installed: run `make chromium` (make test does)")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	var b bytes.Buffer
	if err := runs(t)[2].HTML(&b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + filepath.Join(dir, "profile"), "--enable-logging=stderr", "--v=0"}
	shot := filepath.Join(dir, "report.png")
	if out := os.Getenv("DRIFTGATE_REPORT_SCREENSHOT"); out != "" {
		shot = out
	}
	cmd := exec.Command(browser, append(args, "--window-size=1200,2400", "--screenshot="+shot, "file://"+page)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium screenshot: %v\n%s", err, stderr.String())
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10_000 {
		t.Errorf("screenshot %s missing or blank: %v", shot, err)
	}
	cmd = exec.Command(browser, append(args, "--dump-dom", "file://"+page)...)
	var dom bytes.Buffer
	cmd.Stdout, cmd.Stderr = &dom, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium dump-dom: %v\n%s", err, stderr.String())
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "CONSOLE") || strings.Contains(line, "Uncaught") {
			t.Errorf("browser console: %s", line)
		}
	}
	text := regexp.MustCompile(`<[^>]+>`).ReplaceAllString(dom.String(), " ")
	text = strings.Join(strings.Fields(text), " ")
	for _, want := range []string{"payments", "search", "shop/Deployment.apps/checkout", "dev allows egress traffic that prod denies",
		"egress to 0.0.0.0/0", "allowed on any", "Resolved since the last run (1)", "shop/Deployment.apps/checkout-debug",
		"NodeLocal DNSCache rollout to dev", "(within 14 days)", "dg-20261121T100000Z-abcdef", "could-not-check"} {
		if !strings.Contains(text, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
}
