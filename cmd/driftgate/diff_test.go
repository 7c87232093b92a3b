package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftgate/driftgate/drift"
)

// twoEnvs writes dev and prod manifest folders and returns their paths.
func twoEnvs(t *testing.T, dev, prod string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{"dev": dev, "prod": prod} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, filepath.Join(dir, name, "app.yaml"), content)
	}
	return filepath.Join(dir, "dev"), filepath.Join(dir, "prod")
}

const appYAML = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  template:
    spec:
      containers: [{name: app, image: "web:IMAGE"}]
`

func TestDiffManifestsExitCodes(t *testing.T) {
	t.Parallel()
	same := strings.ReplaceAll(appYAML, "IMAGE", "1")
	dev, prod := twoEnvs(t, same, same)
	if r := runCLI(t, "diff", dev, prod); r.code != exitPass || !strings.Contains(r.stdout, "pass: dev reproduces prod") {
		t.Errorf("same: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	dev, prod = twoEnvs(t, strings.ReplaceAll(appYAML, "IMAGE", "2"), same)
	r := runCLI(t, "diff", dev, prod, "-o", "json")
	if r.code != exitBlocked {
		t.Fatalf("changed: exit %d\n%s", r.code, r.stderr)
	}
	var res drift.Result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.Schema != drift.ResultSchema || len(res.Findings) != 1 || res.Findings[0].Fields[0].Path != "spec.template.spec.containers[name=app].image" {
		t.Errorf("result: %+v", res)
	}
	// Snapshot files compare the same as the manifests they came from.
	devSnap := filepath.Join(t.TempDir(), "dev.json.gz")
	if r := runCLI(t, "snapshot", "--from-manifests", dev, "-o", devSnap); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := runCLI(t, "diff", devSnap, prod); r.code != exitBlocked || !strings.Contains(r.stdout, `dev:  "web:2"`) {
		t.Errorf("snapshot against manifests: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestDiffBadInput(t *testing.T) {
	t.Parallel()
	same := strings.ReplaceAll(appYAML, "IMAGE", "1")
	dev, prod := twoEnvs(t, same, same)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		writeTestFile(t, p, content)
		return p
	}
	head := "apiVersion: driftgate.dev/v1alpha1\nkind: RuleSet\nrules:\n"
	malformed := write("malformed.yaml", head+"- id: a\n  description: d\n\tcheck: presence\n")
	unknown := write("unknown.yaml", head+"- {id: a, description: d, check: presence, severity: block, sevrity: warn}\n")
	celErr := write("cel.yaml", head+"- id: a\n  description: d\n  check: cel\n  severity: block\n  expression: 'dev.spec ==== prod.spec'\n")
	badManifest := write("bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n   namespace: y\n")
	corrupt := write("corrupt.json", `{"apiVersion": "driftgate.dev/v1alpha1", "kind": "Snapshot", "metadata": {`)
	missing := filepath.Join(dir, "missing.yaml")
	tests := []struct {
		name string
		args []string
		want string
	}{
		// libyaml names the line where the scalar the tab interrupts began.
		{"malformed rules", []string{"diff", dev, prod, "--rules", malformed}, malformed + ":5: found a tab character"},
		{"unknown key", []string{"diff", dev, prod, "--rules", unknown}, unknown + `:4:61: unknown key "sevrity"`},
		{"cel syntax error", []string{"diff", dev, prod, "--rules", celErr}, celErr + ":8:27: rule a: CEL: Syntax error"},
		{"missing rules file", []string{"diff", dev, prod, "--rules", missing}, "reading rules: open " + missing},
		{"missing environment", []string{"diff", missing, prod}, "dev: " + missing + ": no such snapshot, manifest file or folder"},
		{"bad manifest", []string{"diff", badManifest, prod}, badManifest + ":5"},
		{"corrupt snapshot", []string{"diff", corrupt, prod}, "snapshot " + corrupt + ": snapshot is corrupt"},
		{"bad format", []string{"diff", dev, prod, "-o", "yaml"}, `unknown output format "yaml"`},
		{"bad defaults-from", []string{"diff", dev, prod, "--defaults-from", "prod"}, `defaults-from "prod": want context:NAME or none`},
		{"one argument", []string{"diff", dev}, "diff takes DEV and PROD; only helm:CHART may stand alone"},
		{"three arguments", []string{"diff", dev, prod, dev}, "accepts between 1 and 2 arg(s), received 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.args...)
			if r.code != exitCouldNoCheck {
				t.Errorf("exit %d, want %d", r.code, exitCouldNoCheck)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q lacks %q", r.stderr, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
		})
	}
}

func TestDiffUnobservedIsCouldNotCheck(t *testing.T) {
	t.Parallel()
	same := strings.ReplaceAll(appYAML, "IMAGE", "1")
	dev, prod := twoEnvs(t, same, same)
	s, err := drift.SnapshotFromManifests([]string{prod}, drift.ManifestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Unobserved = []drift.Unobserved{{ResourceType: drift.ResourceType{Version: "v1", Kind: "Secret", Resource: "secrets", Namespaced: true}, Reason: "forbidden: cannot list secrets"}}
	snap := filepath.Join(t.TempDir(), "prod.json")
	if err := s.Save(snap); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "diff", dev, snap)
	if r.code != exitCouldNoCheck || !strings.Contains(r.stdout, "COULD NOT CHECK") || !strings.Contains(r.stdout, "prod: Secret: forbidden") {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestRulesCommands(t *testing.T) {
	t.Parallel()
	if r := runCLI(t, "rules", "list"); r.code != 0 || !strings.Contains(r.stdout, "workload-spec") || !strings.Contains(r.stdout, "secret-keys") {
		t.Errorf("list: %+v", r)
	}
	if r := runCLI(t, "rules", "explain", "workload-replicas"); r.code != 0 || !strings.Contains(r.stdout, "- rule: workload-replicas") {
		t.Errorf("explain: %+v", r)
	}
	if r := runCLI(t, "rules", "explain", "nope"); r.code != exitCouldNoCheck || !strings.Contains(r.stderr, `no rule "nope"`) {
		t.Errorf("explain unknown: %+v", r)
	}
	good := filepath.Join(t.TempDir(), "good.yaml")
	writeTestFile(t, good, "apiVersion: driftgate.dev/v1alpha1\nkind: RuleSet\nrules:\n- {id: a, description: d, check: presence, severity: warn}\n")
	if r := runCLI(t, "rules", "lint", good); r.code != 0 || !strings.Contains(r.stdout, "1 rules, 0 waivers, ok") {
		t.Errorf("lint: %+v", r)
	}
}

// TestDiffHostileFiles: a side that is a symlink to a folder is compared
// (not read as empty), skipped files are named in the notes, and a device
// or a gzip bomb is could-not-check naming the file and what to do.
func TestDiffHostileFiles(t *testing.T) {
	t.Parallel()
	dev, prod := twoEnvs(t, strings.ReplaceAll(appYAML, "IMAGE", "2"), strings.ReplaceAll(appYAML, "IMAGE", "1"))
	dir := t.TempDir()
	devLink := filepath.Join(dir, "dev-link")
	if err := os.Symlink(dev, devLink); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	writeTestFile(t, filepath.Join(prod, "old.yaml.bak"), "kind: whatever")
	r := runCLI(t, "diff", devLink, prod)
	if r.code != exitBlocked || !strings.Contains(r.stdout, `dev:  "web:2"`) {
		t.Errorf("dev as a symlink to a folder: exit %d, want %d (blocked)\n%s%s", r.code, exitBlocked, r.stdout, r.stderr)
	}
	if want := "prod: manifests " + prod + ": 1 skipped, not ending in .yaml, .yml or .json: " + filepath.Join(prod, "old.yaml.bak"); !strings.Contains(r.stdout, want) {
		t.Errorf("output lacks the note %q:\n%s", want, r.stdout)
	}

	zero := filepath.Join(dir, "zero.yaml")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	// A gzip file of 64 KiB that inflates to 64 MiB, over a 1 MiB limit.
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	zw.Write(bytes.Repeat([]byte(" "), 64<<20))
	zw.Close()
	bomb := filepath.Join(dir, "bomb.json.gz")
	writeTestFile(t, bomb, member.String())
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"link to /dev/zero", []string{"diff", zero, prod}, "dev: " + zero + ": is a device, not a regular file"},
		{"gzip bomb", []string{"diff", dev, bomb, "--max-snapshot-size", "1Mi"}, "snapshot " + bomb + ": snapshot is larger than the limit: it inflates to more than 1Mi of JSON; if it is a real snapshot, raise the limit with --max-snapshot-size"},
		{"bad size", []string{"diff", dev, prod, "--max-snapshot-size", "lots"}, `invalid --max-snapshot-size "lots"`},
	}
	if _, err := os.Stat("/dev/zero"); err != nil {
		tests = tests[1:]
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.args...)
			if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, want %d; stderr %q lacks %q", r.code, exitCouldNoCheck, r.stderr, tt.want)
			}
		})
	}
}

// TestRulesCommandsEscapeRuleFiles: a rule file is text someone else wrote;
// `rules list` and `rules explain` print its escape sequences, bidi
// overrides and line breaks as escapes, never as they are.
func TestRulesCommandsEscapeRuleFiles(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "hostile.yaml")
	writeTestFile(t, f, "apiVersion: driftgate.dev/v1alpha1\nkind: RuleSet\nrules:\n"+
		`- {id: a, description: "clear\u001b[2Jscreen \u202eevil\nFAKE ROW", check: presence, severity: warn, explain: "line\u001b]0;title\u0007"}`+"\n")
	for _, args := range [][]string{{"rules", "list", "--rules", f}, {"rules", "explain", "a", "--rules", f}} {
		r := runCLI(t, args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
		for _, raw := range []string{"\x1b", "\u202e", "\a"} {
			if strings.Contains(r.stdout, raw) {
				t.Errorf("%v printed %q as it is:\n%s", args, raw, r.stdout)
			}
		}
		if !strings.Contains(r.stdout, `\x1b[2J`) {
			t.Errorf("%v: the escape is not shown escaped:\n%s", args, r.stdout)
		}
	}
	if r := runCLI(t, "rules", "list", "--rules", f); strings.Contains(r.stdout, "\nFAKE ROW") {
		t.Errorf("a description's line break made a row of its own:\n%s", r.stdout)
	}
}
