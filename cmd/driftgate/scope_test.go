package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftgate/driftgate/drift"
)

// Comparing nothing is exit 2, never a pass, and says what was empty.
func TestDiffNothingInScopeIsCouldNotCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	folder := func(name string, files map[string]string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		for f, content := range files {
			writeTestFile(t, filepath.Join(p, f), content)
		}
		return p
	}
	app := strings.ReplaceAll(appYAML, "IMAGE", "1")
	helm := strings.Replace(app, "namespace: shop", "labels: {app.kubernetes.io/managed-by: Helm}", 1)
	emptyDev, emptyProd := folder("empty-dev", nil), folder("empty-prod", nil)
	junk := folder("junk", map[string]string{"app.yaml.bak": app, "notes.txt": app, "comments.yaml": "# rendered: nothing\n---\n# nothing\n"})
	shop := folder("shop", map[string]string{"app.yaml": app})
	helmOut := folder("helm", map[string]string{"app.yaml": helm})
	noRules := filepath.Join(dir, "none.yaml")
	writeTestFile(t, noRules, "apiVersion: driftgate.dev/v1alpha1\nkind: RuleSet\nrules: []\n")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"two empty folders", []string{"diff", emptyDev, emptyProd}, []string{"nothing in scope on dev: 0 objects", "nothing in scope on prod: 0 objects"}},
		{"only .bak, .txt and comments", []string{"diff", junk, junk}, []string{"nothing in scope on prod: 0 objects"}},
		{"a namespace on neither side", []string{"diff", shop, shop, "-n", "paymnts"}, []string{"nothing in scope on prod: 0 objects in namespaces [paymnts]"}},
		{"helm output without namespaces", []string{"diff", helmOut, helmOut, "-n", "payments"},
			[]string{"nothing in scope on dev: 0 objects in namespaces [payments] (a manifest without metadata.namespace is in namespace default)"}},
		{"a rule set without rules", []string{"diff", shop, shop, "--rules", noRules}, []string{"the rule set has no rules (" + noRules + ")"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, tt.args...)
			if r.code != exitCouldNoCheck {
				t.Errorf("exit %d, want %d\n%s%s", r.code, exitCouldNoCheck, r.stdout, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, "could not check: ") || !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			r = runCLI(t, append(tt.args, "-o", "json")...)
			var res drift.Result
			if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
				t.Fatalf("%v\n%s", err, r.stdout)
			}
			if r.code != exitCouldNoCheck || res.Verdict != drift.VerdictCouldNotCheck || len(res.Unchecked) == 0 {
				t.Errorf("-o json: exit %d, verdict %s, unchecked %q", r.code, res.Verdict, res.Unchecked)
			}
		})
	}
	// The same folders with something in them pass, and say what they compared.
	r := runCLI(t, "diff", shop, shop, "-n", "shop")
	if r.code != exitPass || !strings.Contains(r.stdout, "compared 1 dev and 1 prod objects under ") {
		t.Errorf("shop against itself: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// A waiver broader than one object, or of a rule no rule set has, is
// warned of on stderr whatever the format; a rule pattern is refused.
func TestDiffWarnsOfBroadWaivers(t *testing.T) {
	t.Parallel()
	app := strings.ReplaceAll(appYAML, "IMAGE", "1")
	dev, prod := twoEnvs(t, app, app)
	dir := t.TempDir()
	head := "apiVersion: driftgate.dev/v1alpha1\nkind: RuleSet\nwaivers:\n"
	broad := filepath.Join(dir, "broad.yaml")
	writeTestFile(t, broad, head+"- {rule: workload-spec, object: \"*\", reason: r, owner: mallory, expires: 2099-12-31}\n- {rule: workload-specs, object: shop/Deployment.apps/web, reason: r, owner: o, expires: 2099-12-31}\n")
	r := runCLI(t, "diff", dev, prod, "--rules", "builtin", "--rules", broad, "-o", "json")
	for _, w := range []string{
		"driftgate: warning: waiver at " + broad + `:4 accepts rule workload-spec on every object matching "*" until 2099-12-31 (owner mallory)`,
		"driftgate: warning: waiver at " + broad + `:5 names rule "workload-specs", which no rule set has`,
	} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, `"notes": [`) || !strings.Contains(r.stdout, "not one object") {
		t.Errorf("the result's notes lack the warning:\n%s", r.stdout)
	}
	star := filepath.Join(dir, "star.yaml")
	writeTestFile(t, star, head+"- {rule: \"*\", object: shop/Deployment.apps/web, reason: r, owner: o, expires: 2099-12-31}\n")
	r = runCLI(t, "diff", dev, prod, "--rules", "builtin", "--rules", star)
	if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, star+`:4:10: waiver rule "*" is a pattern, not a rule id`) {
		t.Errorf("rule: \"*\": exit %d\n%s", r.code, r.stderr)
	}
}
