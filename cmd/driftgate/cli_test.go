package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/driftgate/driftgate/fixtures/testbed"
)

func TestMain(m *testing.M) {
	// Tests that need a real process (to kill it) run this binary as driftgate.
	if os.Getenv("DRIFTGATE_TEST_AS_MAIN") == "1" {
		streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
		ctx, stop := interruptContext()
		code := run(ctx, streams, os.Args[1:])
		stop()
		os.Exit(code)
	}
	os.Exit(testbed.Main(m))
}

// result is what one run of the CLI produced.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs driftgate in-process with buffers for streams (no TTY).
func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: bytes.NewReader(nil), Out: &out, ErrOut: &errOut}
	code := run(context.Background(), streams, args)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// liveConfig writes a driftgate.yaml in a new directory with environments
// dev and prod on the test bed's clusters, scoped to ns, followed by extra
// (more top-level keys), and returns its path.
func liveConfig(t *testing.T, kubeconfig, ns, extra string) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "driftgate.yaml")
	writeTestFile(t, cfg, `apiVersion: driftgate.dev/v1alpha1
kind: Config
environments:
  dev: {context: dev, kubeconfig: `+kubeconfig+`}
  prod: {context: prod, kubeconfig: `+kubeconfig+`}
scope:
  namespaces: [`+ns+`]
`+extra)
	return cfg
}

// TestKubectlPluginName: installed as kubectl-driftgate, help and usage
// name the command the user typed, `kubectl driftgate`.
func TestKubectlPluginName(t *testing.T) {
	t.Parallel()
	for argv0, want := range map[string]string{
		"/usr/local/bin/kubectl-driftgate": "kubectl driftgate",
		"kubectl-drift_gate":               "kubectl drift-gate",
		"kubectl-drift-gate":               "kubectl drift gate",
		"driftgate":                        "",
		"kubectl-":                         "",
	} {
		if got := pluginName(argv0); got != want {
			t.Errorf("pluginName(%q) = %q, want %q", argv0, got, want)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	plugin := filepath.Join(t.TempDir(), "kubectl-driftgate")
	if err := os.Symlink(self, plugin); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(plugin, "--help")
	cmd.Env = append(os.Environ(), "DRIFTGATE_TEST_AS_MAIN=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"kubectl driftgate [command]", `Use "kubectl driftgate [command] --help"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("help as a kubectl plugin lacks %q:\n%s", want, out)
		}
	}
}
