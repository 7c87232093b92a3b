package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/internal/textsafe/textsafetest"
)

// fileURL is the file:// URL of path.
func fileURL(path string) string { return "file://" + filepath.ToSlash(path) }

// publishManifests publishes the snapshot of a manifests folder under
// prefix (a URL) and returns the object's name under it.
func publishManifests(t *testing.T, dir, prefix string, extra ...string) string {
	t.Helper()
	r := runCLI(t, append([]string{"snapshot", "--from-manifests", dir, "-o", prefix}, extra...)...)
	if r.code != exitPass || !strings.Contains(r.stderr, "driftgate: published "+prefix+"/") {
		t.Fatalf("snapshot -o %s: exit %d\n%s", prefix, r.code, r.stderr)
	}
	_, name, _ := strings.Cut(r.stderr, "driftgate: published "+prefix+"/")
	name, _, _ = strings.Cut(name, ";")
	return name
}

// TestSnapshotPublishAndDiffURLs: snapshot -o file://PREFIX publishes, diff
// reads two prefixes through their latest pointers, and the result names
// the objects read.
func TestSnapshotPublishAndDiffURLs(t *testing.T) {
	t.Parallel()
	same := strings.ReplaceAll(appYAML, "IMAGE", "1")
	dev, prod := twoEnvs(t, strings.ReplaceAll(appYAML, "IMAGE", "2"), same)
	bucket := t.TempDir()
	devURL, prodURL := fileURL(bucket)+"/team/dev", fileURL(bucket)+"/team/prod"
	devObj := publishManifests(t, dev, devURL)
	prodObj := publishManifests(t, prod, prodURL)
	for _, p := range []string{"team/dev/latest", "team/dev/" + devObj, "team/prod/latest", "team/prod/" + prodObj} {
		if _, err := os.Stat(filepath.Join(bucket, p)); err != nil {
			t.Error(err)
		}
	}
	r := runCLI(t, "diff", devURL, prodURL, "-o", "json")
	if r.code != exitBlocked {
		t.Fatalf("diff: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var res drift.Result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.Dev.Location != devURL+"/"+devObj || res.Prod.Location != prodURL+"/"+prodObj || len(res.Findings) != 1 {
		t.Errorf("dev %s, prod %s, %d findings", res.Dev.Location, res.Prod.Location, len(res.Findings))
	}
	// The object itself, and prod against itself.
	if r := runCLI(t, "diff", prodURL+"/"+prodObj, prodURL); r.code != exitPass {
		t.Errorf("prod object against prod latest: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestURLBadInput: what goes wrong with a snapshot in object storage is
// exit 2, naming the bucket and key, never a pass.
func TestURLBadInput(t *testing.T) {
	t.Parallel()
	same := strings.ReplaceAll(appYAML, "IMAGE", "1")
	dev, prod := twoEnvs(t, same, same)
	bucket := t.TempDir()
	prodURL := fileURL(bucket) + "/prod"
	obj := publishManifests(t, prod, prodURL)
	edited := fileURL(bucket) + "/edited"
	publishManifests(t, prod, edited)
	entries, _ := os.ReadDir(filepath.Join(bucket, "edited"))
	for _, e := range entries {
		if e.Name() != "latest" {
			writeTestFile(t, filepath.Join(bucket, "edited", e.Name()), "replaced")
		}
	}
	small := filepath.Join(bucket, "small")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no latest", []string{"diff", dev, fileURL(bucket) + "/nothing"}, "prod: opening " + fileURL(bucket) + "/nothing: not found"},
		{"latest names a missing object", []string{"diff", dev, fileURL(bucket) + "/missing"}, fileURL(bucket) + "/missing/latest names"},
		{"object replaced", []string{"diff", dev, edited}, "partly written or replaced"},
		{"over --max-snapshot-size", []string{"diff", dev, prodURL, "--max-snapshot-size", "100"}, "raise the limit with --max-snapshot-size"},
		{"credentials in the URL", []string{"diff", dev, "s3://AKIA:hunter2@bucket/prod"}, "the URL holds credentials"},
		{"mem", []string{"diff", dev, "mem://bucket/prod"}, `scheme "mem" is not supported`},
		{"--keep with a file", []string{"snapshot", "--from-manifests", prod, "-o", small, "--keep", "2"}, "--keep prunes snapshots published under a URL prefix"},
		{"-o an object URL", []string{"snapshot", "--from-manifests", prod, "-o", prodURL + "/x.json.gz"}, "names an object: publish to a prefix"},
	}
	// latest of "missing" names an object that is not there.
	if err := os.MkdirAll(filepath.Join(bucket, "missing"), 0o755); err != nil {
		t.Fatal(err)
	}
	latest, err := os.ReadFile(filepath.Join(bucket, "prod", "latest"))
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(bucket, "missing", "latest"), string(latest))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.args...)
			if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, tt.want) || r.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 saying %q", r.code, r.stdout, r.stderr, tt.want)
			}
			if strings.Contains(r.stderr, "hunter2") {
				t.Errorf("stderr shows the URL's password: %s", r.stderr)
			}
		})
	}
	_ = obj
}

// TestURLErrorsEscapeAndHideQuery: a URL's path is anyone's text and its
// query may say where and as whom: the error escapes the one and drops
// the other.
func TestURLErrorsEscapeAndHideQuery(t *testing.T) {
	t.Parallel()
	same := strings.ReplaceAll(appYAML, "IMAGE", "1")
	dev, _ := twoEnvs(t, same, same)
	hostile := strings.NewReplacer("/", "_", "#", "%23", "?", "%3F").Replace(hostileText)
	const query = "?region=eu-west-1&endpoint=http://127.0.0.1:1&kmskeyid=SENTINEL"
	for u, want := range map[string]string{
		"s3://bucket/" + hostile + query:                   "not a valid URL",
		"s3://bucket/prod" + query + "&awssdk=v2":          `query parameter "awssdk" is not accepted`,
		"s3://bucket/" + hostile + query + "&x=" + hostile: "not a valid URL",
	} {
		r := runCLI(t, "diff", dev, u)
		if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, want) {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
		if strings.Contains(r.stderr, "SENTINEL") || strings.Contains(r.stderr, "endpoint=") {
			t.Errorf("stderr shows the query: %s", r.stderr)
		}
		textsafetest.AssertTerminalSafe(t, "stderr", r.stderr)
	}
}

// TestKeepFlagValidates: --keep takes 0 or more, with a URL.
func TestKeepFlagValidates(t *testing.T) {
	t.Parallel()
	same := strings.ReplaceAll(appYAML, "IMAGE", "1")
	_, prod := twoEnvs(t, same, same)
	r := runCLI(t, "snapshot", "--from-manifests", prod, "-o", fileURL(t.TempDir())+"/prod", "--keep", "-1")
	if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, "--keep -1: want 0 (keep all) or more") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	name := publishManifests(t, prod, fileURL(t.TempDir())+"/prod", "--keep", "3")
	if name == "" {
		t.Error("no object named")
	}
}

// TestConfigSnapshotURLs: environments.<name>.snapshot takes a URL, for
// gate and for report.
func TestConfigSnapshotURLs(t *testing.T) {
	t.Parallel()
	dev, prod := twoEnvs(t, strings.ReplaceAll(appYAML, "IMAGE", "2"), strings.ReplaceAll(appYAML, "IMAGE", "1"))
	bucket := t.TempDir()
	publishManifests(t, dev, fileURL(bucket)+"/dev")
	publishManifests(t, prod, fileURL(bucket)+"/prod")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "driftgate.yaml")
	writeTestFile(t, cfg, `apiVersion: driftgate.dev/v1alpha1
kind: Config
environments:
  dev: {snapshot: '`+fileURL(bucket)+`/dev'}
  prod: {snapshot: '`+fileURL(bucket)+`/prod'}
  prod-copy: {snapshot: '`+fileURL(bucket)+`/prod'}
report:
  history: ./history
  pairs:
  - {name: shop, dev: dev, prod: prod}
  - {name: same, dev: prod-copy, prod: prod}
`)
	r := runCLI(t, "gate", "--config", cfg)
	if r.code != exitBlocked || !strings.Contains(r.stdout, "blocked: 1 blocking") {
		t.Errorf("gate: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	out := filepath.Join(dir, "report")
	r = runCLI(t, "report", "--config", cfg, "--out", out)
	if r.code != exitBlocked {
		t.Fatalf("report: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "shop") || !strings.Contains(string(md), "same") {
		t.Errorf("report.md lacks a pair:\n%s", md)
	}
}
