package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/driftgate/driftgate/drift/config"
)

// TestInit: init writes a driftgate.yaml that loads, names the contexts
// whose names say dev and prod exactly as the kubeconfig spells them,
// never replaces a file without --force, and writes to stdout with -.
func TestInit(t *testing.T) {
	t.Parallel()
	dev, prod := "staging: x # not a comment", "prod\n\"eu\" \\ \u202e"
	kc := writeKubeconfig(t, "minikube", dev, prod, "dev-${HOME}")
	dir := t.TempDir()
	path := filepath.Join(dir, "driftgate.yaml")

	r := runCLI(t, "init", "--kubeconfig", kc, "--config", path)
	if r.code != exitPass {
		t.Fatalf("init: exit %d\n%s", r.code, r.stderr)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatalf("the written file does not load: %v", err)
	}
	want := map[string]config.Environment{"dev": {Context: dev, Kubeconfig: kc}, "prod": {Context: prod, Kubeconfig: kc}}
	if diff := cmp.Diff(want, c.Environments); diff != "" {
		t.Errorf("environments (-want +got):\n%s", diff)
	}
	if !strings.Contains(r.stdout, `dev is context "staging: x # not a comment", prod is context "prod\n\"eu\" \\ \u202e"`) {
		t.Errorf("stdout must say what was guessed, escaped: %q", r.stdout)
	}
	if !strings.Contains(r.stderr, `left out context "dev-${HOME}": its name holds ${...}`) {
		t.Errorf("stderr must say which context was left out: %q", r.stderr)
	}
	written, _ := os.ReadFile(path)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm()&0o600 != 0o600 {
		t.Errorf("mode: %v %v", fi, err)
	}

	// The file exists: refused without --force, replaced with it.
	other := writeKubeconfig(t, "kind-dev", "kind-prod")
	r = runCLI(t, "init", "--kubeconfig", other, "--config", path)
	if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, "exists: init does not replace it; add --force") {
		t.Errorf("over an existing file: exit %d, %q", r.code, r.stderr)
	}
	if now, _ := os.ReadFile(path); string(now) != string(written) {
		t.Error("init changed an existing file without --force")
	}
	if r = runCLI(t, "init", "--kubeconfig", other, "--config", path, "--force"); r.code != exitPass {
		t.Fatalf("--force: exit %d\n%s", r.code, r.stderr)
	}
	if c, err := config.Load(path); err != nil || c.Environments["dev"].Context != "kind-dev" || c.Environments["prod"].Context != "kind-prod" {
		t.Errorf("after --force: %v %+v", err, c)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the folder holds %d entries, want only driftgate.yaml (no temporary file left)", len(entries))
	}

	// - writes the file to stdout and nothing to the folder.
	r = runCLI(t, "init", "--kubeconfig", other, "--config", "-")
	if r.code != exitPass {
		t.Fatalf("--config -: exit %d\n%s", r.code, r.stderr)
	}
	if c, err := config.Parse("driftgate.yaml", []byte(r.stdout)); err != nil || c.Environments["prod"].Context != "kind-prod" {
		t.Errorf("stdout is not the config: %v\n%s", err, r.stdout)
	}
}

func TestInitBadInput(t *testing.T) {
	t.Parallel()
	broken := filepath.Join(t.TempDir(), "kubeconfig")
	writeTestFile(t, broken, "apiVersion: v1\nkind: Config\ncontexts: {not: [a list\n")
	out := filepath.Join(t.TempDir(), "driftgate.yaml")
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"broken kubeconfig", []string{"--kubeconfig", broken, "--config", out}, "loading kubeconfig"},
		{"missing kubeconfig", []string{"--kubeconfig", filepath.Join(t.TempDir(), "none"), "--config", out}, "loading kubeconfig"},
		{"force to stdout", []string{"--config", "-", "--force"}, "--force replaces a file"},
		{"arguments", []string{"extra"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, append([]string{"init"}, tt.args...)...)
			if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("exit %d, want 2; stderr %q, want %q", r.code, r.stderr, tt.wantStderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a failed init wrote the file")
			}
		})
	}
}
