package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/driftgate/driftgate/drift"
)

// snap builds a snapshot from YAML documents, normalized as a real one is.
func snap(t *testing.T, docs ...string) *drift.Snapshot {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "m.yaml")
	if err := os.WriteFile(p, []byte(strings.Join(docs, "\n---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := drift.SnapshotFromManifests([]string{p}, drift.ManifestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ruleSet(t *testing.T, src string) *RuleSet {
	t.Helper()
	rs, err := Parse("test.yaml", []byte("apiVersion: driftgate.dev/v1alpha1\nkind: RuleSet\n"+src))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// summary renders findings compactly for comparison: severity rule object kind [paths].
func summary(fs []drift.Finding) []string {
	var out []string
	for _, f := range fs {
		s := f.Severity.String() + " " + f.Rule + " " + f.Object.String() + " " + f.Kind
		for _, d := range f.Fields {
			s += " " + d.Path
		}
		if f.Waiver != nil {
			s += " (waived)"
		}
		out = append(out, s)
	}
	return out
}

const (
	webProd = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {tier: front}}
spec:
  replicas: 5
  template:
    spec:
      containers:
      - name: app
        image: web:1.2
        env: [{name: API_URL, value: "https://api.example.com"}]
        resources: {limits: {cpu: "1", memory: 256Mi}}`
	webDev = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop-dev, labels: {tier: front}}
spec:
  replicas: 1
  template:
    spec:
      containers:
      - name: app
        image: web:1.3
        env: [{name: API_URL, value: "https://api.dev.example.com"}]
        resources: {limits: {cpu: 1000m, memory: "268435456"}}`
	cmProd  = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\ndata: {mode: strict}"
	cmDebug = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: debug, namespace: shop-dev}\ndata: {mode: lax}"
	secProd = "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\ndata: {user: YQ==, password: Yg==}"
	secDev  = "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop-dev}\ndata: {user: YQ==}"
)

var mapping = drift.Mapping{
	Namespaces:    map[string]string{"shop-dev": "shop"},
	Substitutions: []drift.Substitution{{Dev: "api.dev.example.com", Prod: "api.example.com"}},
}

func TestEvaluateBuiltin(t *testing.T) {
	t.Parallel()
	builtin, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	dev := snap(t, webDev, cmDebug, secDev)
	prod := snap(t, webProd, cmProd, secProd)
	res, err := Evaluate(dev, prod, []*RuleSet{builtin}, Options{Mapping: mapping})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"block leftovers shop/ConfigMap/debug extra-in-dev",
		"block missing-in-dev shop/ConfigMap/settings missing-in-dev",
		"block secret-keys shop/Secret/db changed",
		"block workload-spec shop/Deployment.apps/web changed spec.template.spec.containers[name=app].image",
		"info workload-replicas shop/Deployment.apps/web changed spec.replicas",
	}
	if diff := cmp.Diff(want, summary(res.Findings)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if res.Verdict != drift.VerdictBlocked || res.Summary != (drift.Summary{Block: 4, Info: 1}) {
		t.Errorf("verdict %s, summary %+v", res.Verdict, res.Summary)
	}
	for _, f := range res.Findings {
		if f.Rule == "secret-keys" && f.Message != "Secret key sets differ: dev has [user], prod has [password, user]" {
			t.Errorf("secret message: %q", f.Message)
		}
	}
}

func TestEvaluateIdenticalPasses(t *testing.T) {
	t.Parallel()
	builtin, _ := Builtin()
	res, err := Evaluate(snap(t, webProd, cmProd, secProd), snap(t, webProd, cmProd, secProd), []*RuleSet{builtin}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != drift.VerdictPass || len(res.Findings) != 0 {
		t.Errorf("verdict %s, findings %v", res.Verdict, summary(res.Findings))
	}
}

func TestEvaluateChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		rules string
		want  []string
	}{
		{"fields with ignore", `rules:
- {id: r, description: d, check: fields, severity: warn, match: {kinds: [Deployment.apps]}, ignore: [spec.replicas, 'spec.template.spec.containers[*].image']}`, nil},
		{"fields with paths", `rules:
- {id: r, description: d, check: fields, severity: warn, match: {kinds: [Deployment]}, paths: [spec.replicas]}`,
			[]string{"warn r shop/Deployment.apps/web changed spec.replicas"}},
		{"match by label selector", `rules:
- {id: r, description: d, check: fields, severity: block, match: {labelSelector: "tier=back"}, paths: [spec]}`, nil},
		{"match by namespace and name globs", `rules:
- {id: r, description: d, check: presence, severity: block, match: {namespaces: ["sh*"], names: ["deb?g"]}}`,
			[]string{"block r shop/ConfigMap/debug extra-in-dev"}},
		{"cel over dev and prod", `rules:
- id: r
  description: same replicas
  check: cel
  expression: 'dev == null || prod == null || dev.spec.replicas == prod.spec.replicas'
  message: '{{ .Object }}: dev runs {{ .Dev.spec.replicas }}, prod {{ .Prod.spec.replicas }}'
  severity: info
  match: {kinds: [Deployment.apps]}`,
			[]string{"info r shop/Deployment.apps/web changed"}},
		{"cel that cannot decide fails closed", `rules:
- {id: r, description: d, check: cel, expression: 'dev.spec.nothing == 1', severity: block, match: {kinds: [Deployment.apps]}}`,
			[]string{"block r shop/Deployment.apps/web changed"}},
	}
	dev := snap(t, webDev, cmDebug)
	prod := snap(t, webProd)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := Evaluate(dev, prod, []*RuleSet{ruleSet(t, tt.rules)}, Options{Mapping: mapping})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, summary(res.Findings)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvaluateCELMessage(t *testing.T) {
	t.Parallel()
	rs := ruleSet(t, `rules:
- id: r
  description: same replicas
  check: cel
  expression: 'dev == null || prod == null || dev.spec.replicas == prod.spec.replicas'
  message: '{{ .Object }}: dev runs {{ .Dev.spec.replicas }}, prod {{ .Prod.spec.replicas }}'
  severity: info`)
	res, _ := Evaluate(snap(t, webDev), snap(t, webProd), []*RuleSet{rs}, Options{Mapping: mapping})
	if len(res.Findings) != 1 || res.Findings[0].Message != "shop/Deployment.apps/web: dev runs 1, prod 5" {
		t.Errorf("findings: %+v", res.Findings)
	}
}

func TestWaivers(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	rs := ruleSet(t, `rules:
- {id: images, description: d, check: fields, severity: block, match: {kinds: [Deployment.apps]}, paths: ['spec.template.spec.containers[*].image']}
- {id: extra, description: d, check: presence, presence: extra, severity: block}
waivers:
- {rule: images, object: "shop/Deployment.apps/web", reason: "canary of 1.3 on dev", owner: alice, expires: 2026-11-22}
- {rule: extra, object: "shop/ConfigMap/*", reason: "debug config", owner: bob, expires: 2026-11-21}
- {rule: images, object: "other/*", reason: "old", owner: carol, expires: 2027-01-01}`)
	res, err := Evaluate(snap(t, webDev, cmDebug), snap(t, webProd), []*RuleSet{rs}, Options{Mapping: mapping, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"block extra shop/ConfigMap/debug extra-in-dev",
		"warn extra Waiver.driftgate.dev/test.yaml:8 waiver",
		"info images Waiver.driftgate.dev/test.yaml:9 waiver",
		"block images shop/Deployment.apps/web changed spec.template.spec.containers[name=app].image (waived)",
	}
	if diff := cmp.Diff(want, summary(res.Findings)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if res.Summary.Waived != 1 || res.Summary.Block != 1 || res.Verdict != drift.VerdictBlocked {
		t.Errorf("summary %+v verdict %s", res.Summary, res.Verdict)
	}
	if !strings.Contains(res.Findings[1].Message, "expired on 2026-11-21") || !strings.Contains(res.Findings[2].Message, "matches no finding") {
		t.Errorf("waiver messages: %q / %q", res.Findings[1].Message, res.Findings[2].Message)
	}
}

func TestUnobservedInScopeCannotPass(t *testing.T) {
	t.Parallel()
	builtin, _ := Builtin()
	prod := snap(t, webProd)
	prod.Unobserved = []drift.Unobserved{{ResourceType: drift.ResourceType{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy", Resource: "networkpolicies", Namespaced: true}, Namespace: "shop", Reason: "forbidden"}}
	res, err := Evaluate(snap(t, webProd), prod, []*RuleSet{builtin}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != drift.VerdictCouldNotCheck || len(res.Unobserved) != 1 {
		t.Errorf("verdict %s unobserved %v", res.Verdict, res.Unobserved)
	}
	elsewhere := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: elsewhere}\ndata: {mode: strict}"
	prod2 := snap(t, webProd, elsewhere)
	prod2.Unobserved = prod.Unobserved
	res, _ = Evaluate(snap(t, webProd, elsewhere), prod2, []*RuleSet{builtin}, Options{Namespaces: []string{"elsewhere"}})
	if res.Verdict != drift.VerdictPass {
		t.Errorf("unobserved outside the namespaces in scope: verdict %s", res.Verdict)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	head := "apiVersion: driftgate.dev/v1alpha1\nkind: RuleSet\nrules:\n"
	tests := []struct {
		name, src string
		line, col int
		msg       string
	}{
		// libyaml reports an unclosed flow sequence at the start of the rule holding it.
		{"malformed yaml", head + "- id: a\n  description: [unclosed\n", 4, 0, "did not find expected"},
		{"unknown key", head + "- id: a\n  description: d\n  check: presence\n  severity: block\n  sevrity: warn\n", 8, 3, `unknown key "sevrity"`},
		{"unknown key in match", head + "- id: a\n  description: d\n  check: presence\n  severity: block\n  match: {kind: [Pod]}\n", 8, 11, `unknown key "kind"`},
		{"cel syntax error", head + "- id: a\n  description: d\n  check: cel\n  severity: block\n  expression: 'dev.spec == = prod'\n", 8, 28, "Syntax error"},
		{"cel syntax error in a block scalar", head + "- id: a\n  description: d\n  check: cel\n  severity: block\n  expression: |\n    dev != null &&\n      prod.spec ==\n", 11, 0, "Syntax error"},
		{"cel wrong type", head + "- id: a\n  description: d\n  check: cel\n  severity: block\n  expression: '1 + 2'\n", 8, 15, "returns int, not bool"},
		{"bad severity", head + "- id: a\n  description: d\n  check: presence\n  severity: fatal\n", 7, 13, `unknown severity "fatal"`},
		{"duplicate id", head + "- {id: a, description: d, check: presence, severity: block}\n- {id: a, description: d, check: presence, severity: block}\n", 5, 8, "already used at line 4"},
		{"waiver without expiry", head + "- {id: a, description: d, check: presence, severity: block}\nwaivers:\n- {rule: a, object: x, reason: r, owner: o}\n", 6, 3, "no expires"},
		{"bad date", head + "waivers:\n- {rule: a, object: x, reason: r, owner: o, expires: tomorrow}\n", 0, 0, `invalid date "tomorrow"`},
		{"wrong kind", "apiVersion: v1\nkind: ConfigMap\n", 1, 1, "not a rule set"},
		{"bad path", head + "- {id: a, description: d, check: fields, severity: block, paths: ['spec[0]']}\n", 4, 67, "use [*]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("rules.yaml", []byte(tt.src))
			var ie *drift.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("want an InputError, got %v", err)
			}
			if ie.File != "rules.yaml" || (tt.line > 0 && ie.Line != tt.line) || (tt.col > 0 && ie.Column != tt.col) {
				t.Errorf("at %s:%d:%d, want rules.yaml:%d:%d (%v)", ie.File, ie.Line, ie.Column, tt.line, tt.col, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("%v lacks %q", err, tt.msg)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load([]string{"builtin", "/nonexistent/rules.yaml"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/rules.yaml") {
		t.Errorf("want an error naming the file, got %v", err)
	}
}
