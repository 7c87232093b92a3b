package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/driftgate/driftgate/drift"
)

const (
	shopChart  = "../../fixtures/render/chart/shop"
	shopValues = "../../fixtures/render/chart"
	shopKust   = "../../fixtures/render/kustomize/overlays"
)

// findingRules lists the rules of res's findings, sorted and compacted.
func findingRules(res drift.Result) []string {
	var out []string
	for _, f := range res.Findings {
		out = append(out, f.Rule)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func decodeResult(t *testing.T, r result) drift.Result {
	t.Helper()
	var res drift.Result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("exit %d: %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	return res
}

// TestDiffRenderedNoCluster is the pre-merge use: a chart with dev and
// prod values, and kustomize overlays, compared with no cluster at all.
func TestDiffRenderedNoCluster(t *testing.T) {
	t.Parallel()
	devValues, prodValues := filepath.Join(shopValues, "values-dev.yaml"), filepath.Join(shopValues, "values-prod.yaml")
	for _, tc := range []struct {
		name      string
		args      []string
		code      int
		wantRules []string
	}{
		{"one chart, values per side", []string{"helm:" + shopChart, "--values-dev", devValues, "--values-prod", prodValues}, exitBlocked, []string{"dns", "network-policy"}},
		{"two charts", []string{"helm:" + shopChart, "helm:" + shopChart, "--values-dev", devValues, "--values-prod", prodValues}, exitBlocked, []string{"dns", "network-policy"}},
		{"set per side", []string{"helm:" + shopChart, "--values", devValues, "--set-prod", "networkPolicy.egress=true"}, exitBlocked, []string{"network-policy"}},
		{"equal values", []string{"helm:" + shopChart, "--values-dev", prodValues, "--values-prod", prodValues}, exitPass, nil},
		{"kustomize overlays", []string{"kustomize:" + filepath.Join(shopKust, "dev"), "kustomize:" + filepath.Join(shopKust, "prod")}, exitBlocked, []string{"network-policy"}},
		{"same overlay", []string{"kustomize:" + filepath.Join(shopKust, "prod"), "kustomize:" + filepath.Join(shopKust, "prod")}, exitPass, nil},
		{"kustomize against a chart", []string{"kustomize:" + filepath.Join(shopKust, "prod"), "helm:" + shopChart, "--values", prodValues, "--release-namespace", "shop", "-n", "shop"}, exitBlocked, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, append([]string{"diff", "-o", "json"}, tc.args...)...)
			res := decodeResult(t, r)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", r.code, tc.code, r.stdout, r.stderr)
			}
			if tc.wantRules != nil || tc.code == exitPass {
				if got := findingRules(res); !slices.Equal(got, tc.wantRules) {
					t.Errorf("rules %v, want %v\n%s", got, tc.wantRules, r.stdout)
				}
			}
			if tc.code == exitBlocked && slices.Contains(tc.wantRules, "network-policy") {
				found := false
				for _, f := range res.Findings {
					found = found || f.Rule == "network-policy" && f.Severity == drift.SeverityBlock
				}
				if !found {
					t.Errorf("no blocking network-policy finding: %+v", res.Findings)
				}
			}
		})
	}
}

// TestDiffHelmSecretValuesNeverShown: a chart renders a Secret from
// values; whatever the format, neither side's value is printed.
func TestDiffHelmSecretValuesNeverShown(t *testing.T) {
	t.Parallel()
	secrets := []string{"dev-key-7f3a9c", "prod-key-41d2e8"}
	for _, format := range []string{"text", "json", "markdown", "sarif", "junit", "github"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, "diff", "helm:"+shopChart, "--values-dev", filepath.Join(shopValues, "values-dev.yaml"),
				"--values-prod", filepath.Join(shopValues, "values-prod.yaml"), "-o", format, "-v")
			if r.code != exitBlocked {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			for _, s := range secrets {
				if strings.Contains(r.stdout+r.stderr, s) {
					t.Errorf("secret value %q printed in %s output", s, format)
				}
			}
		})
	}
	// That the Secret is there, its value kept only as a digest, is
	// drift/compare's TestLoadHelmRedactsSecrets.
}

func TestDiffRenderedBadInput(t *testing.T) {
	t.Parallel()
	lookupChart := filepath.Join(t.TempDir(), "lookup")
	writeTestFile(t, filepath.Join(t.TempDir(), "x"), "")
	if err := os.MkdirAll(filepath.Join(lookupChart, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(lookupChart, "Chart.yaml"), "apiVersion: v2\nname: lookup\nversion: 0.1.0\n")
	writeTestFile(t, filepath.Join(lookupChart, "templates", "cm.yaml"),
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  {{- with (lookup \"v1\" \"Secret\" .Release.Namespace \"db\") }}\n  password: {{ .data.password }}\n  {{- end }}\n")
	devValues := filepath.Join(shopValues, "values-dev.yaml")
	for _, tc := range []struct {
		name  string
		args  []string
		want  string
		usage bool
	}{
		{"one argument that is not a chart", []string{"kustomize:" + filepath.Join(shopKust, "dev")}, "only helm:CHART may stand alone", true},
		{"one chart without per-side values", []string{"helm:" + shopChart, "--values", devValues}, "compared with itself", true},
		{"values for a side that is not a chart", []string{"helm:" + shopChart, "kustomize:" + filepath.Join(shopKust, "prod"), "--values-prod", devValues}, "--values-prod/--set-prod are for a helm: side, and prod is kustomize:", false},
		{"values with no chart", []string{"kustomize:" + filepath.Join(shopKust, "dev"), "kustomize:" + filepath.Join(shopKust, "prod"), "--values", devValues}, "neither", false},
		{"chart calls lookup", []string{"helm:" + lookupChart, "--set-dev", "a=1"}, "lookup/templates/cm.yaml:5:", false},
		{"no such chart", []string{"helm:./nowhere", "--set-dev", "a=1"}, "helm:./nowhere: not found: give a chart directory or a packaged chart (.tgz)", false},
		{"kustomize on a file", []string{"kustomize:" + devValues, "kustomize:" + devValues}, "not a directory", false},
		{"missing values file", []string{"helm:" + shopChart, "--values-dev", "nowhere.yaml", "--values-prod", devValues}, "nowhere.yaml", false},
		{"bad --set", []string{"helm:" + shopChart, "--set-dev", "a[=1"}, "--set", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, append([]string{"diff"}, tc.args...)...)
			if r.code != exitCouldNoCheck {
				t.Fatalf("exit %d, want %d\n%s%s", r.code, exitCouldNoCheck, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, r.stderr)
			}
			if got := strings.Contains(r.stderr, "--help' for usage"); got != tc.usage {
				t.Errorf("usage line shown: %v, want %v\n%s", got, tc.usage, r.stderr)
			}
		})
	}
}

// TestGateRenderedFromConfig: environments given as helm and kustomize in
// driftgate.yaml, paths relative to it.
func TestGateRenderedFromConfig(t *testing.T) {
	t.Parallel()
	chart, err := filepath.Abs(shopChart)
	if err != nil {
		t.Fatal(err)
	}
	values, _ := filepath.Abs(shopValues)
	kust, _ := filepath.Abs(shopKust)
	for _, tc := range []struct {
		name string
		envs string
		code int
	}{
		{"helm values differ", "dev: {helm: {chart: " + chart + ", values: [" + values + "/values-dev.yaml], namespace: shop}}\n  prod: {helm: {chart: " + chart + ", values: [" + values + "/values-prod.yaml], namespace: shop}}", exitBlocked},
		{"helm set evens them", "dev: {helm: {chart: " + chart + ", values: [" + values + "/values-dev.yaml], set: {networkPolicy.egress: 'true', dns.cache: '300'}}}\n  prod: {helm: {chart: " + chart + ", values: [" + values + "/values-prod.yaml], set: {payments.apiKey: dev-key-7f3a9c}}}", exitPass},
		{"kustomize overlays", "dev: {kustomize: " + kust + "/dev}\n  prod: {kustomize: " + kust + "/prod}", exitBlocked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := filepath.Join(t.TempDir(), "driftgate.yaml")
			writeTestFile(t, cfg, "apiVersion: driftgate.dev/v1alpha1\nkind: Config\nenvironments:\n  "+tc.envs+"\n")
			r := runCLI(t, "gate", "--config", cfg, "-o", "json")
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", r.code, tc.code, r.stdout, r.stderr)
			}
		})
	}
}
