package compare

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/blobstore"
	"github.com/driftgate/driftgate/drift/render"
	"github.com/driftgate/driftgate/drift/sign/signtest"
	"github.com/driftgate/driftgate/rules"
)

// streamOldSnapshot writes, as a version that kept Secret-like values
// would have, a snapshot of a Deployment web in each of namespaces.
func streamOldSnapshot(t *testing.T, namespaces ...string) (string, *drift.Snapshot) {
	t.Helper()
	dir := t.TempDir()
	var y strings.Builder
	for _, ns := range namespaces {
		y.WriteString("---\n" + strings.ReplaceAll(strings.ReplaceAll(deploymentYAML, "IMAGE", "1"), "namespace: shop", "namespace: "+ns))
	}
	if err := os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(y.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := drift.SnapshotFromManifests([]string{dir}, drift.ManifestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range s.Objects {
		if o.Kind != "Deployment" {
			continue
		}
		spec := o.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
		c := spec["containers"].([]any)[0].(map[string]any)
		c["env"] = []any{map[string]any{"name": "DB_PASSWORD", "value": int64(918273)}}
	}
	p := filepath.Join(dir, "old.json")
	if err := s.Save(p); err != nil {
		t.Fatal(err)
	}
	return p, s
}

// A side loaded whole (here a snapshot in object storage written by an
// older version, whose values are redacted on reading) shows the digest
// load gave it, streamed or, when Run falls back to memory, read back from
// its spool (which was sealed anew after redaction). Found by review.
func TestStreamingFallbackKeepsLoadedDigest(t *testing.T) {
	ctx := context.Background()
	sets, err := rules.Load([]string{"builtin"})
	if err != nil {
		t.Fatal(err)
	}
	devPath, devSnap := streamOldSnapshot(t, "shop", "shop-dev")
	prodPath, _ := streamOldSnapshot(t, "shop")
	data, err := os.ReadFile(devPath)
	if err != nil {
		t.Fatal(err)
	}
	bucket := "file://" + filepath.ToSlash(t.TempDir()) + "/dev"
	if _, err := blobstore.Publish(ctx, bucket, devSnap.Metadata.CapturedAt, data, 0); err != nil {
		t.Fatal(err)
	}
	dev, prod := Environment{Name: "dev", Source: bucket}, Environment{Name: "prod", Source: prodPath}
	// shop-dev/web and shop/web are made one: the stream cannot pair them
	// (ErrNotStreamable) and Run compares in memory, from the spools.
	opts := Options{RuleSets: sets, DigestKey: []byte("k"), Mapping: drift.Mapping{Namespaces: map[string]string{"shop-dev": "shop"}}}
	inMemoryAndRun(t, dev, prod, opts)
}

// streamUnstreamableHead writes s as a snapshot file LoadSnapshot reads
// but a stream cannot (its "objects" key first: the head is not as
// driftgate writes it).
func streamUnstreamableHead(t *testing.T, s *drift.Snapshot) string {
	t.Helper()
	if err := s.Seal(); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	// apiVersion and kind first (the file is told a snapshot by them),
	// then the objects, then the metadata and the rest.
	out := []byte(`{"apiVersion":` + string(m["apiVersion"]) + `,"kind":` + string(m["kind"]) + `,"objects":` + string(m["objects"]))
	for _, k := range []string{"metadata", "resources", "unobserved", "digest", "integrity"} {
		if v, ok := m[k]; ok {
			kb, _ := json.Marshal(k)
			out = append(out, ',')
			out = append(out, kb...)
			out = append(out, ':')
			out = append(out, v...)
		}
	}
	out = append(out, '}')
	p := filepath.Join(t.TempDir(), "prod.json")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := drift.LoadSnapshot(p); err != nil {
		t.Fatalf("LoadSnapshot refuses the reordered file: %v", err)
	}
	if st, err := drift.OpenSnapshotStream(p, drift.LoadOptions{}, nil); err == nil {
		if st.Head.Metadata.ServerVersion != "" {
			t.Fatal("the reordered file's head streams: the test shows nothing")
		}
		st.Close()
	}
	return p
}

// A chart is rendered for the other side's server also when that side is
// a snapshot file LoadSnapshot reads but a stream cannot (its head is then
// the loaded file's): the fallback to memory reuses that rendering from
// its spool, so it must be the one the in-memory comparison makes. Found
// by review: it was rendered for Helm's default.
func TestStreamingChartRenderedForUnstreamableFile(t *testing.T) {
	ctx := context.Background()
	pr, err := render.HelmManifests(render.Helm{Chart: shopChart}, render.Capabilities{KubeVersion: "v1.33.1"})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := drift.SnapshotFromManifestObjects([]string{"x"}, pr.Manifests, nil, drift.ManifestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	snap.Metadata.Source = drift.SourceCluster
	snap.Metadata.ServerVersion = "v1.33.1"
	snap.Resources = append(snap.Resources, drift.ResourceType{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy", Resource: "networkpolicies", Namespaced: true})
	file := streamUnstreamableHead(t, snap)
	dev, prod := Environment{Name: "dev", Source: "helm:" + shopChart}, Environment{Name: "prod", Source: file}
	opts := Options{DefaultsFrom: DefaultsNone}
	want, err := runInMemory(ctx, dev, prod, opts, [2]*streamSide{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Run(ctx, dev, prod, opts)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Notes, "\n") != strings.Join(want.Notes, "\n") {
		t.Errorf("notes\n got %q\nwant %q", got.Notes, want.Notes)
	}
	if got.Dev.Digest != want.Dev.Digest {
		t.Errorf("dev (the chart) digest %s, in memory %s: rendered for another server", got.Dev.Digest, want.Dev.Digest)
	}
}

// When both sides are wrong, the error is the one the in-memory
// comparison (load's order) meets first: a stale dev file or one of
// another cluster is refused before prod is read (and a live prod would
// not be captured), and a dev file whose head looks right but that load
// refuses is still reported before prod's error. Found by review: prod's
// error was reported.
func TestStreamingFirstErrorInLoadOrder(t *testing.T) {
	ctx := context.Background()
	devPath, _ := streamOldSnapshot(t, "shop") // captured now
	// A file whose head streams, but whose objects were edited after it
	// was written: only reading it to the end (load) refuses it.
	data, err := os.ReadFile(devPath)
	if err != nil {
		t.Fatal(err)
	}
	edited := filepath.Join(t.TempDir(), "edited.json")
	if err := os.WriteFile(edited, []byte(strings.Replace(string(data), `"web:1"`, `"web:9"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if string(data) == strings.Replace(string(data), `"web:1"`, `"web:9"`, 1) {
		t.Fatal("the edit changed nothing")
	}
	missingURL := "file://" + filepath.ToSlash(t.TempDir()) + "/prod"
	// A live prod that would be captured: RESTConfig counts the attempts.
	captures := 0
	live := func(string, string) (*rest.Config, string, error) {
		captures++
		return nil, "", errors.New("no cluster here")
	}
	for _, tc := range []struct {
		name string
		dev  Environment
		opts Options
		want string
	}{
		// Measured two days on, dev is older than --max-age.
		{"stale dev file", Environment{Name: "dev", Source: devPath}, Options{MaxAge: time.Hour, Now: func() time.Time { return time.Now().Add(48 * time.Hour) }}, "longer than --max-age"},
		{"dev file of another cluster", Environment{Name: "dev", Source: devPath, Cluster: &drift.ClusterIdentity{UID: "00000000-0000-0000-0000-000000000001"}}, Options{}, "not the expected cluster"},
		{"edited dev file", Environment{Name: "dev", Source: edited}, Options{}, "does not match the recorded"},
		{"stale dev file, live prod never captured", Environment{Name: "dev", Source: devPath}, Options{RESTConfig: live, MaxAge: time.Hour, Now: func() time.Time { return time.Now().Add(48 * time.Hour) }}, "longer than --max-age"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prod := Environment{Name: "prod", Source: missingURL}
			if tc.opts.RESTConfig != nil {
				prod.Source = "context:prod"
			}
			_, want := runInMemory(ctx, tc.dev, prod, tc.opts, [2]*streamSide{})
			_, got := Run(ctx, tc.dev, prod, tc.opts)
			if want == nil || got == nil {
				t.Fatalf("errors: in memory %v, Run %v", want, got)
			}
			if got.Error() != want.Error() || !strings.Contains(got.Error(), tc.want) || strings.Contains(got.Error(), "prod") {
				t.Errorf("Run's error\n %v\nin memory\n %v", got, want)
			}
			if captures > 0 {
				t.Errorf("prod was captured %d times before dev's error", captures)
			}
		})
	}
}

// A signed dev file (dev has a trusted key and an expected cluster) whose
// head names another cluster: load refuses it (VerifySignature requires the
// statement's cluster to be the metadata's, and the expected one), so
// neither comparison captures prod. Found by review: check skipped the
// cluster test whenever a key was trusted.
func TestStreamingSignedOtherClusterFileBeforeCapture(t *testing.T) {
	ctx := context.Background()
	key := signtest.NewSigner(t)
	other := drift.ClusterIdentity{Server: prodCluster.Server, UID: "6f1d3c2a-0000-4000-8000-000000000002"}
	s := clusterSnapshot(t, manifestDir(t, "1"), other, time.Now().Add(-time.Minute))
	s.SignWith = &drift.SnapshotSigning{Signer: key, Environment: "dev"}
	devPath := save(t, s, "dev.json")
	captures := 0
	opts := Options{RESTConfig: func(string, string) (*rest.Config, string, error) {
		captures++
		return nil, "", errors.New("no cluster here")
	}}
	dev := Environment{Name: "dev", Source: devPath, Trust: key.Public(), Cluster: &prodCluster}
	prod := Environment{Name: "prod", Source: "context:prod"}
	_, want := runInMemory(ctx, dev, prod, opts, [2]*streamSide{})
	if want == nil || !errors.Is(want, drift.ErrOtherCluster) {
		t.Fatalf("in memory: %v, want ErrOtherCluster", want)
	}
	if captures != 0 {
		t.Fatalf("in memory captured prod")
	}
	_, got := Run(ctx, dev, prod, opts)
	if got == nil || got.Error() != want.Error() {
		t.Errorf("Run's error\n %v\nin memory\n %v", got, want)
	}
	if captures > 0 {
		t.Errorf("prod was captured %d times before dev's (head-visible) other-cluster error", captures)
	}
}

// With a cancelled context, the in-memory comparison loads the dev file
// first and reports its error; so does Run. Found by review: it returned
// the cancellation.
func TestStreamingCancelledFirstFileError(t *testing.T) {
	devPath, _ := streamOldSnapshot(t, "shop")
	data, err := os.ReadFile(devPath)
	if err != nil {
		t.Fatal(err)
	}
	editedData := strings.Replace(string(data), `"web:1"`, `"web:9"`, 1)
	if editedData == string(data) {
		t.Fatal("the edit changed nothing")
	}
	edited := filepath.Join(t.TempDir(), "edited.json")
	if err := os.WriteFile(edited, []byte(editedData), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dev := Environment{Name: "dev", Source: edited}
	prod := Environment{Name: "prod", Source: manifestDir(t, "1")}
	_, want := runInMemory(ctx, dev, prod, Options{}, [2]*streamSide{})
	_, got := Run(ctx, dev, prod, Options{})
	if want == nil || got == nil || got.Error() != want.Error() {
		t.Errorf("Run's error\n %v\nin memory\n %v", got, want)
	}
}
