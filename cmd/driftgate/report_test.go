package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// manifestReportConfig writes a driftgate.yaml with one report pair of
// the scenario fixtures' identical manifest folders, and returns its path.
func manifestReportConfig(t *testing.T) string {
	t.Helper()
	scen, err := filepath.Abs(filepath.Join("..", "..", "fixtures", "scenarios", "base", "both"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "driftgate.yaml")
	writeTestFile(t, cfg, `apiVersion: driftgate.dev/v1alpha1
kind: Config
environments:
  dev: {manifests: `+scen+`}
  prod: {manifests: `+scen+`}
report:
  pairs: [{name: shop, dev: dev, prod: prod}]
  history: ./history
incidents:
  dir: ./incidents
`)
	return cfg
}

// TestReportPush: --push sends the run's metrics to the Pushgateway after
// the files are written; a push that fails exits 2 naming the host, never
// the credentials in the URL; a bad --push fails before any comparison.
func TestReportPush(t *testing.T) {
	t.Parallel()
	var pushes atomic.Int32
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.URL.Path == "/metrics/job/driftgate/instance/nightly" {
			pushes.Add(1)
			return
		}
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
	}))
	t.Cleanup(ok.Close)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "full", http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	creds := func(u string) string { return strings.Replace(u, "http://", "http://bot:s3cret@", 1) }

	tests := []struct {
		name        string
		args        []string
		wantCode    int
		wantStderr  string
		wantWritten bool
	}{
		{"pushed", []string{"--push", creds(ok.URL), "--push-grouping", "instance=nightly"}, exitPass, "", true},
		{"server error", []string{"--push", creds(failing.URL)}, exitCouldNoCheck, "Pushgateway at " + strings.TrimPrefix(failing.URL, "http://"), true},
		{"unreachable", []string{"--push", creds(closed.URL)}, exitCouldNoCheck, "Pushgateway at " + strings.TrimPrefix(closed.URL, "http://"), true},
		{"not http", []string{"--push", "ftp://bot:s3cret@gw"}, exitCouldNoCheck, "invalid Pushgateway URL", false},
		{"grouping without push", []string{"--push-grouping", "instance=x"}, exitCouldNoCheck, "--push-grouping needs --push", false},
		{"grouping a metric label", []string{"--push", ok.URL, "--push-grouping", "pair=x"}, exitCouldNoCheck, "grouping label pair is a label of the metrics", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := manifestReportConfig(t)
			out := filepath.Join(filepath.Dir(cfg), "out")
			r := runCLI(t, append([]string{"report", "--config", cfg, "--out", out}, tt.args...)...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("exit %d, want %d; stderr %q, want %q", r.code, tt.wantCode, r.stderr, tt.wantStderr)
			}
			if strings.Contains(r.stderr+r.stdout, "s3cret") {
				t.Errorf("the output shows the URL's credentials:\n%s%s", r.stdout, r.stderr)
			}
			_, err := os.Stat(filepath.Join(out, "report.prom"))
			if written := err == nil; written != tt.wantWritten {
				t.Errorf("report.prom written %v, want %v", written, tt.wantWritten)
			}
		})
	}
	// After the parallel subtests, before the servers close.
	t.Cleanup(func() {
		if n := pushes.Load(); n != 1 {
			t.Errorf("%d pushes reached the Pushgateway, want 1", n)
		}
	})
}
