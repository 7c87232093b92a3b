package compare

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftgate/driftgate/drift"
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
	old := filepath.Join(t.TempDir(), "old.json")
	if err := s.Save(old); err != nil {
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
