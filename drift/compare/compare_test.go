package compare

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/blobstore"
	"github.com/driftgate/driftgate/rules"
)

const deploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: app, image: "web:IMAGE"}]
`

func manifestDir(t *testing.T, tag string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(strings.ReplaceAll(deploymentYAML, "IMAGE", tag)), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRunManifests(t *testing.T) {
	t.Parallel()
	sets, err := rules.Load([]string{"builtin"})
	if err != nil {
		t.Fatal(err)
	}
	dev, prod := manifestDir(t, "2"), manifestDir(t, "1")
	res, err := Run(context.Background(), Environment{Name: "dev", Source: dev}, Environment{Name: "prod", Source: prod}, Options{RuleSets: sets})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != drift.VerdictBlocked || res.Dev.Location != dev || res.Prod.Location != prod || res.Dev.Digest == "" || res.Dev.Digest == res.Prod.Digest {
		t.Errorf("verdict %s, dev %+v, prod %+v", res.Verdict, res.Dev, res.Prod)
	}
}

func TestLoadRefusals(t *testing.T) {
	t.Parallel()
	dir := manifestDir(t, "1")
	s, err := drift.SnapshotFromManifests([]string{dir}, drift.ManifestOptions{Now: time.Now().Add(-3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	old := filepath.Join(tmp, "old.json")
	if err := s.Save(old); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(old)
	if err != nil {
		t.Fatal(err)
	}
	// The capture time edited to pass --max-age, and a file as written
	// before the integrity digest: neither is trusted for its age.
	edited := filepath.Join(tmp, "edited.json")
	year := time.Now().Add(-3 * time.Hour).Format("2006")
	if err := os.WriteFile(edited, bytes.Replace(raw, []byte(`"capturedAt": "`+year), []byte(`"capturedAt": "2099`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	unsealed := filepath.Join(tmp, "unsealed.json")
	if err := os.WriteFile(unsealed, regexp.MustCompile(`,\s*"integrity": "[^"]*"`).ReplaceAll(raw, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := drift.SnapshotFromManifests([]string{dir}, drift.ManifestOptions{Now: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	future := filepath.Join(tmp, "future.json")
	if err := f.Save(future); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		source string
		maxAge time.Duration
		want   string // "" for no error
	}{
		{"within max age", old, 4 * time.Hour, ""},
		{"no max age", old, 0, ""},
		{"too old", old, time.Hour, "prod: snapshot " + old + " was captured 3h0m0s ago"},
		{"edited capture time", edited, 4 * time.Hour, "snapshot " + edited + ": snapshot is corrupt or was edited: the metadata (capturedAt 2099-"},
		{"no integrity digest", unsealed, 4 * time.Hour, "prod: snapshot " + unsealed + " has no integrity digest over its capture time"},
		{"no integrity digest, no max age", unsealed, 0, ""},
		{"captured in the future", future, 4 * time.Hour, "prod: snapshot " + future + " was captured 1h0m0s in the future"},
		{"no such file", filepath.Join(dir, "nope"), 0, "prod: " + filepath.Join(dir, "nope") + ": no such snapshot"},
		{"empty context", "context:", 0, `prod: "context:" names no context`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, loc, err := Load(context.Background(), Environment{Name: "prod", Source: tt.source}, Options{MaxAge: tt.maxAge})
			switch {
			case tt.want == "" && (err != nil || loc != tt.source):
				t.Errorf("location %q, error %v", loc, err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestRunDefaultsNotes checks what a manifests side says about server
// defaults when no server can give them: the run goes on, compared as written.
func TestRunDefaultsNotes(t *testing.T) {
	t.Parallel()
	dir := manifestDir(t, "1")
	s, err := drift.SnapshotFromManifests([]string{dir}, drift.ManifestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(t.TempDir(), "prod.json")
	if err := s.Save(snap); err != nil {
		t.Fatal(err)
	}
	unreachable := func(string, string) (*rest.Config, string, error) {
		return &rest.Config{Host: "https://127.0.0.1:1", Timeout: 5 * time.Second}, "gone", nil
	}
	const notApplied = "server defaults not applied to the dev manifests: manifests compared as written; fields the API server would default may show as drift "
	tests := []struct {
		name, prod, from string
		want             []string
	}{
		{"both manifests", dir, "", nil},
		{"prod snapshot", snap, "", []string{notApplied + "(prod is a snapshot file and no cluster was named to take them from (--defaults-from context:NAME))"}},
		{"none", snap, DefaultsNone, []string{notApplied + "(--defaults-from none)"}},
		{"unreachable", snap, "context:gone", []string{notApplied + "(context:gone could not be reached: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := Run(context.Background(), Environment{Name: "dev", Source: dir}, Environment{Name: "prod", Source: tt.prod},
				Options{DefaultsFrom: tt.from, RESTConfig: unreachable})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Notes) != len(tt.want) {
				t.Fatalf("notes %q, want %q", res.Notes, tt.want)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(res.Notes[i], w) {
					t.Errorf("note %q, want it to start with %q", res.Notes[i], w)
				}
			}
		})
	}
}

// TestRunRedactsOldSnapshotFiles compares two snapshot files written as a
// version that did not yet redact numeric env values, password flags and
// URL passwords would have: the values must not reach the result (and so
// no finding, output, record or hook), and a note says they were redacted.
func TestRunRedactsOldSnapshotFiles(t *testing.T) {
	t.Parallel()
	sets, err := rules.Load([]string{"builtin"})
	if err != nil {
		t.Fatal(err)
	}
	raw := map[string][]any{"dev": {int64(918273), "dev-arg-s3cr3t", "dev-url-s3cr3t"}, "prod": {int64(564738), "prod-arg-s3cr3t", "prod-url-s3cr3t"}}
	path := map[string]string{}
	for side, values := range raw {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(strings.ReplaceAll(deploymentYAML, "IMAGE", "1")), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := drift.SnapshotFromManifests([]string{dir}, drift.ManifestOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Put back what an older version kept.
		spec := s.Objects[0].Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
		c := spec["containers"].([]any)[0].(map[string]any)
		c["env"] = []any{map[string]any{"name": "DB_PASSWORD", "value": values[0]}, map[string]any{"name": "REDIS_URL", "value": "redis://:" + values[2].(string) + "@redis"}}
		c["args"] = []any{"--password=" + values[1].(string)}
		path[side] = filepath.Join(dir, side+".json")
		if err := s.Save(path[side]); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Run(context.Background(), Environment{Name: "dev", Source: path["dev"]}, Environment{Name: "prod", Source: path["prod"]}, Options{RuleSets: sets, DigestKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("DB_PASSWORD")) || res.Verdict != drift.VerdictBlocked {
		t.Fatalf("verdict %s; the env values should differ as digests: %s", res.Verdict, b)
	}
	for _, values := range raw {
		for _, v := range values {
			if s := fmt.Sprint(v); bytes.Contains(b, []byte(s)) {
				t.Errorf("the result holds %q from an old snapshot file", s)
			}
		}
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "redacted on reading") {
		t.Errorf("no note says the files held values redacted on reading: %q", res.Notes)
	}

	// The same files in object storage are loaded whole, redacted,
	// spooled (sealed anew) and streamed: the result still shows the
	// digests of the objects read, as the in-memory comparison does.
	bucket := "file://" + filepath.ToSlash(t.TempDir())
	url := map[string]string{}
	for side, p := range path {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		url[side] = bucket + "/" + side
		if _, err := blobstore.Publish(context.Background(), url[side], time.Now(), data, 0); err != nil {
			t.Fatal(err)
		}
	}
	dev, prod := Environment{Name: "dev", Source: url["dev"]}, Environment{Name: "prod", Source: url["prod"]}
	want := inMemoryAndRun(t, dev, prod, Options{RuleSets: sets, DigestKey: []byte("k")})
	if want.Dev.Digest != res.Dev.Digest || want.Prod.Digest != res.Prod.Digest {
		t.Errorf("digests: from the bucket %s, %s; from the files %s, %s", want.Dev.Digest, want.Prod.Digest, res.Dev.Digest, res.Prod.Digest)
	}
}
