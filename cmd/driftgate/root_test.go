package main

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftgate/driftgate/drift"
)

func TestFlagAndInputErrorsExit2(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	writeTestFile(t, kubeconfig, "apiVersion: v1\nkind: Config\ncontexts: [{name: dev, context: {cluster: dev}}]\nclusters: [{name: dev, cluster: {server: 'https://127.0.0.1:1'}}]\n")
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"unknown flag", []string{"snapshot", "--bogus"}, "unknown flag: --bogus"},
		{"unknown command", []string{"snapshoot"}, `unknown command "snapshoot"`},
		{"snapshot without -o", []string{"snapshot"}, "-o FILE is required"},
		{"bad chunk size", []string{"snapshot", "-o", "x.json", "--chunk-size", "0"}, "--chunk-size and --concurrency must be positive"},
		{"bad colour", []string{"--color", "sometimes", "version"}, `invalid --color "sometimes"`},
		{"missing manifests", []string{"snapshot", "--from-manifests", missing, "-o", "-"}, missing},
		{"missing kubeconfig", []string{"snapshot", "--kubeconfig", missing, "-o", "x.json"}, "loading kubeconfig: stat " + missing},
		{"missing context", []string{"snapshot", "--kubeconfig", kubeconfig, "--context", "nope", "-o", "x.json"}, `context "nope" not found in kubeconfig (have [dev])`},
		{"unreachable cluster", []string{"snapshot", "--kubeconfig", kubeconfig, "--context", "dev", "-o", "x.json"}, "cannot reach the API server at https://127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.args...)
			if r.code != exitCouldNoCheck {
				t.Errorf("exit %d, want %d", r.code, exitCouldNoCheck)
			}
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", r.stderr, tt.wantStderr)
			}
			if strings.Count(r.stderr, "error:") != 1 {
				t.Errorf("error printed %d times: %q", strings.Count(r.stderr, "error:"), r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := runCLI(t, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "driftgate ") || r.stderr != "" {
		t.Errorf("version: %+v", r)
	}
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want int
	}{
		{nil, exitPass},
		{silentExit(exitBlocked, errors.New("blocked")), exitBlocked},
		{fmt.Errorf("wrapped: %w", silentExit(exitBlocked, errors.New("blocked"))), exitBlocked},
		{errors.New("anything else"), exitCouldNoCheck},
		{&drift.InputError{File: "f", Line: 1, Msg: "bad"}, exitCouldNoCheck},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestSnapshotFromManifestsToStdout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "m.yaml")
	writeTestFile(t, path, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\ndata: {k: v}\n")
	r := runCLI(t, "snapshot", "--from-manifests", path, "-o", "-")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	s, err := drift.DecodeSnapshot(strings.NewReader(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Objects) != 1 || s.Metadata.Source != drift.SourceManifests {
		t.Errorf("snapshot: %+v", s)
	}
}

func TestProgressOnlyOnATerminal(t *testing.T) {
	t.Parallel()
	for _, tty := range []bool{true, false} {
		var buf bytes.Buffer
		p := newProgress(&buf, tty)
		p.Update(drift.Progress{TypesDone: 3, Types: 10, Objects: 42})
		p.Done()
		got := buf.String()
		if tty && !strings.Contains(got, "3/10 resource types, 42 objects") {
			t.Errorf("tty: progress %q", got)
		}
		if !tty && got != "" {
			t.Errorf("no tty: progress %q, want nothing", got)
		}
	}
}
