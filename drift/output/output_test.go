package output

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/fatih/color"
	"github.com/google/go-cmp/cmp"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/internal/golden"
)

func sampleResult() *drift.Result {
	at := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	res := &drift.Result{
		Dev:   drift.Side{Name: "dev", Source: drift.SourceCluster, Location: "context:dev", Context: "dev", ServerVersion: "v1.36.3", CapturedAt: at, Digest: "sha256:aaaa", Objects: 41},
		Prod:  drift.Side{Name: "prod", Source: drift.SourceCluster, Location: "prod.json.gz", Context: "prod", ServerVersion: "v1.36.3", CapturedAt: at, Digest: "sha256:bbbb", Objects: 40},
		Rules: []string{"builtin"},
		Findings: []drift.Finding{
			{Rule: "workload-spec", Severity: drift.SeverityBlock, Check: "fields", Kind: drift.FindingChanged,
				Object:  drift.ObjectID{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"},
				Message: "spec.template.spec.containers[name=app].image differs",
				Fields:  []drift.FieldDiff{{Path: "spec.template.spec.containers[name=app].image", Dev: "web:1.3", Prod: "web:1.2"}}},
			{Rule: "missing-in-dev", Severity: drift.SeverityBlock, Check: "presence", Kind: drift.FindingMissingInDev,
				Object: drift.ObjectID{Kind: "ConfigMap", Namespace: "shop", Name: "settings"}, Message: "exists in prod but is missing in dev"},
			{Rule: "extra-in-dev", Severity: drift.SeverityWarn, Check: "presence", Kind: drift.FindingExtraInDev,
				Object: drift.ObjectID{Kind: "ConfigMap", Namespace: "shop", Name: "debug|tmp"}, Message: "exists in dev but not in prod"},
			{Rule: "workload-replicas", Severity: drift.SeverityInfo, Check: "fields", Kind: drift.FindingChanged,
				Object:  drift.ObjectID{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"},
				Message: "spec.replicas differs", Fields: []drift.FieldDiff{{Path: "spec.replicas", Dev: int64(1), Prod: int64(5)}}},
			{Rule: "configmap-data", Severity: drift.SeverityWarn, Check: "fields", Kind: drift.FindingChanged,
				Object: drift.ObjectID{Kind: "ConfigMap", Namespace: "shop", Name: "flags"}, Message: "data.beta differs",
				Fields: []drift.FieldDiff{{Path: "data.beta", Dev: "on", Prod: nil}},
				Waiver: &drift.WaiverRef{Rule: "configmap-data", Object: "shop/ConfigMap/flags", Reason: "beta flag tested on dev first", Owner: "alice", Expires: at.Add(72 * time.Hour)}},
		},
		Unobserved: []drift.UnobservedSide{{Side: "prod", Unobserved: drift.Unobserved{
			ResourceType: drift.ResourceType{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy", Resource: "networkpolicies", Namespaced: true},
			Namespace:    "shop", Reason: "forbidden: networkpolicies is forbidden: User \"ci\" cannot list"}}},
		Notes:    []string{"dev and prod Secret values were digested with different keys"},
		Compared: drift.Compared{Dev: 41, Prod: 40, Rules: 3},
	}
	res.Finish()
	return res
}

var testOptions = Options{ToolVersion: "v0.0.0-test", Rules: []RuleInfo{
	{ID: "missing-in-dev", Description: "Every object in prod exists in dev", Severity: "block"},
	{ID: "workload-spec", Description: "Workloads match", Severity: "block"},
	{ID: "secret-keys", Description: "Secrets hold the same keys", Severity: "block"},
}}

func render(t *testing.T, format string, res *drift.Result) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, format, res, testOptions); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	color.NoColor = true
	for _, format := range Formats {
		golden.Assert(t, format, render(t, format, sampleResult()))
	}
	pass := &drift.Result{Dev: sampleResult().Dev, Prod: sampleResult().Prod, Compared: drift.Compared{Dev: 12, Prod: 12, Rules: 23}}
	pass.Finish()
	golden.Assert(t, "text-pass", render(t, Text, pass))
}

func TestTextColour(t *testing.T) {
	defer func() { color.NoColor = true }()
	color.NoColor = false
	out := string(render(t, Text, sampleResult()))
	if !strings.Contains(out, "\x1b[31;1mBLOCK") {
		t.Errorf("no colour when enabled:\n%q", out[:200])
	}
	color.NoColor = true
	if out := string(render(t, Text, sampleResult())); strings.Contains(out, "\x1b[") {
		t.Errorf("escape codes with colour off")
	}
}

func TestJUnitParses(t *testing.T) {
	var doc junitSuites
	if err := xml.Unmarshal(render(t, JUnit, sampleResult()), &doc); err != nil {
		t.Fatal(err)
	}
	s := doc.Suites[0]
	// 1 unobserved type, 5 findings, 1 rule without findings.
	if s.Failures != 2 || s.Errors != 1 || s.Skipped != 1 || s.Tests != len(s.Cases) || s.Tests != 7 {
		t.Errorf("suite counts: failures %d errors %d skipped %d tests %d cases %d", s.Failures, s.Errors, s.Skipped, s.Tests, len(s.Cases))
	}
}

// TestSARIFRequiredProperties checks every property SARIF 2.1.0's schema
// requires at each level driftgate writes.
func TestSARIFRequiredProperties(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(render(t, SARIF, sampleResult()), &doc); err != nil {
		t.Fatal(err)
	}
	require := func(obj any, where string, keys ...string) map[string]any {
		m, ok := obj.(map[string]any)
		if !ok {
			t.Fatalf("%s is not an object", where)
		}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Errorf("%s lacks required %q", where, k)
			}
		}
		return m
	}
	require(doc, "sarifLog", "version", "runs")
	if doc["version"] != "2.1.0" {
		t.Errorf("version %v", doc["version"])
	}
	run := require(doc["runs"].([]any)[0], "run", "tool")
	driver := require(require(run["tool"], "tool", "driver")["driver"], "toolComponent", "name")
	for i, r := range driver["rules"].([]any) {
		require(r, "reportingDescriptor "+string(rune('0'+i)), "id")
	}
	results := run["results"].([]any)
	if len(results) != 5 {
		t.Errorf("%d results", len(results))
	}
	for _, r := range results {
		res := require(r, "result", "message")
		require(res["message"], "message", "text")
		for _, l := range res["locations"].([]any) {
			for _, ll := range require(l, "location", "logicalLocations")["logicalLocations"].([]any) {
				require(ll, "logicalLocation", "fullyQualifiedName")
			}
		}
		if s, ok := res["suppressions"]; ok {
			require(s.([]any)[0], "suppression", "kind")
		}
	}
	for _, inv := range run["invocations"].([]any) {
		require(inv, "invocation", "executionSuccessful")
	}
}

func TestGitHubEscapes(t *testing.T) {
	out := string(render(t, GitHub, sampleResult()))
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(line, "::") {
			t.Errorf("not a workflow command: %q", line)
		}
	}
	if !strings.Contains(out, "::error title=driftgate workload-spec%3A shop/Deployment.apps/web::") {
		t.Errorf("title not escaped:\n%s", out)
	}
}

func TestValidate(t *testing.T) {
	if err := Validate("yaml"); err == nil || !strings.Contains(err.Error(), "text") {
		t.Errorf("Validate(yaml) = %v", err)
	}
}

func TestLineDiff(t *testing.T) {
	dev := "a\nb\nc\nd\ne\nf\n"
	prod := "a\nb\nC\nd\ne\nf\ng\n"
	got, ok := lineDiff(dev, prod)
	want := []string{"  b", "- c", "+ C", "  d", "  ...", "  f", "+ g"}
	if diff := cmp.Diff(want, got); diff != "" || !ok {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, ok := lineDiff("one line", "another"); ok {
		t.Error("single-line strings should render whole")
	}
	if _, ok := lineDiff("a\nb", int64(3)); ok {
		t.Error("a non-string should render whole")
	}
}
