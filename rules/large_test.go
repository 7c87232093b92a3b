package rules

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/internal/memwatch"
)

// largeRuleSetBound is the memory 10,000 rules may take to load and
// evaluate: several times what they need, so only unbounded growth fails.
const largeRuleSetBound = 1 << 30

// TestLargeRuleSet loads a file of 10,000 rules (presence, fields and CEL,
// in equal parts) and evaluates it against a small dev and prod.
func TestLargeRuleSet(t *testing.T) {
	if testing.Short() {
		t.Skip("large input: 10,000 rules")
	}
	const n = 10_000
	var b strings.Builder
	b.WriteString("apiVersion: driftgate.dev/v1alpha1\nkind: RuleSet\nmetadata: {name: large}\nrules:\n")
	for i := range n {
		fmt.Fprintf(&b, "- id: rule-%05d\n  description: generated rule %d\n  match:\n    kinds: [Deployment.apps, ConfigMap]\n    namespaces: ['shop*']\n    labelSelector: 'app in (web, api%d)'\n", i, i, i)
		switch i % 3 {
		case 0:
			b.WriteString("  check: presence\n  presence: missing\n  severity: block\n")
		case 1:
			fmt.Fprintf(&b, "  check: fields\n  paths: ['spec.template.spec.containers[*].image', 'data.k%d']\n  ignore: [spec.replicas]\n  severity: warn\n", i)
		case 2:
			fmt.Fprintf(&b, "  check: cel\n  expression: |\n    dev == null || prod == null ||\n      (has(dev.spec) ? dev.spec.replicas + %d : %d) == (has(prod.spec) ? prod.spec.replicas + %d : %d)\n  message: '{{ .Object }}: rule %d'\n  severity: info\n", i, i, i, i, i)
		}
	}
	path := filepath.Join(t.TempDir(), "large-rules.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	deployment := func(replicas int, tag string) string {
		return fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop, labels: {app: web}}\n"+
			"spec: {replicas: %d, template: {spec: {containers: [{name: app, image: 'web:%s'}]}}}", replicas, tag)
	}
	configMap := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: shop, labels: {app: web}}\ndata: {k1: a}"
	dev := snap(t, deployment(2, "1.3"), configMap)
	prod := snap(t, deployment(3, "1.2"), configMap,
		"apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop, labels: {app: web}}\nspec: {ports: [{port: 80}]}")

	watch := memwatch.Start(10 * time.Millisecond)
	start := time.Now()
	rs, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	loaded := time.Since(start)
	res, err := Evaluate(dev, prod, []*RuleSet{rs}, Options{})
	elapsed := time.Since(start)
	peak := watch.Stop()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d rules (%d KB): loaded in %s, evaluated in %s; %d findings; %s",
		len(rs.Rules), b.Len()>>10, loaded.Round(time.Millisecond), (elapsed - loaded).Round(time.Millisecond), len(res.Findings), peak)
	if len(rs.Rules) != n {
		t.Fatalf("loaded %d rules, want %d", len(rs.Rules), n)
	}
	// Every fields rule (warn) sees the image differ and every CEL rule
	// (info) the replicas; the presence rules (block) find nothing missing,
	// as the Service only prod has is not matched.
	if want := n/3 + n/3; len(res.Findings) != want || res.Verdict != drift.VerdictPass {
		t.Errorf("%d findings, verdict %s; want %d", len(res.Findings), res.Verdict, want)
	}
	if peak.Max() > largeRuleSetBound {
		t.Errorf("10,000 rules took %s; the bound is %s", memwatch.MiB(peak.Max()), memwatch.MiB(largeRuleSetBound))
	}
}

// TestAliasesOfALargeAnchor: a rule file of 50,000 aliases to a rule with
// a 50,000-item list (340 KB) is refused promptly, without checking the
// list once per alias.
func TestAliasesOfALargeAnchor(t *testing.T) {
	t.Parallel()
	const n = 50_000
	src := "apiVersion: driftgate.dev/v1alpha1\nkind: RuleSet\nrules:\n- &r {id: a, description: d, check: presence, severity: block, match: {kinds: [" +
		strings.Repeat("a,", n) + "a]}}\n" + strings.Repeat("- *r\n", n)
	start := time.Now()
	_, err := Parse("aliases.yaml", []byte(src))
	elapsed := time.Since(start)
	var ie *drift.InputError
	if !errors.As(err, &ie) || ie.File != "aliases.yaml" || ie.Line < 1 || !strings.Contains(err.Error(), "excessive aliasing") {
		t.Errorf("want an excessive-aliasing InputError, got %v", err)
	}
	if elapsed > 10*time.Second {
		t.Errorf("took %s", elapsed)
	}
}
