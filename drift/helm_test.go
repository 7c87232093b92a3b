package drift

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// helmSecretValue is in every release payload the tests make; it must never
// reach a snapshot.
const helmSecretValue = "hunter2-db-password"

// helmPayload encodes a release as Helm's storage driver does: base64 of
// gzip of JSON.
func helmPayload(t *testing.T, name string, rev int, status, chartVersion string) string {
	t.Helper()
	rel := map[string]any{
		"name": name, "namespace": "shop", "version": rev,
		"info":     map[string]any{"status": status, "description": "Upgrade complete"},
		"chart":    map[string]any{"metadata": map[string]any{"name": "web", "version": chartVersion, "appVersion": "2.4.1"}, "values": map[string]any{"image": "web"}},
		"config":   map[string]any{"dbPassword": helmSecretValue},
		"manifest": "apiVersion: v1\nkind: Secret\nstringData: {password: " + helmSecretValue + "}\n",
	}
	js, err := json.Marshal(rel)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(js)
	zw.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// helmSecret is a release revision in the Secret driver's form.
func helmSecret(t *testing.T, name string, rev int, status, chartVersion string) string {
	t.Helper()
	payload := base64.StdEncoding.EncodeToString([]byte(helmPayload(t, name, rev, status, chartVersion)))
	return fmt.Sprintf(`apiVersion: v1
kind: Secret
type: helm.sh/release.v1
metadata:
  name: sh.helm.release.v1.%[1]s.v%[2]d
  namespace: shop
  labels: {owner: helm, name: %[1]s, status: %[3]s, version: "%[2]d", modifiedAt: "17%[2]d"}
data:
  release: %[4]s
`, name, rev, status, payload)
}

// helmConfigMap is a release revision in the ConfigMap driver's form.
func helmConfigMap(t *testing.T, name string, rev int, status, chartVersion string) string {
	t.Helper()
	return fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: sh.helm.release.v1.%[1]s.v%[2]d
  namespace: shop
  labels: {owner: helm, name: %[1]s, status: %[3]s, version: "%[2]d"}
data:
  release: %[4]s
`, name, rev, status, helmPayload(t, name, rev, status, chartVersion))
}

func snapshotOf(t *testing.T, key string, docs ...string) *Snapshot {
	t.Helper()
	path := writeFile(t, t.TempDir(), "m.yaml", strings.Join(docs, "---\n"))
	s, err := SnapshotFromManifests([]string{path}, ManifestOptions{Normalizer: NewNormalizer([]byte(key))})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ids(s *Snapshot) []string {
	var out []string
	for _, o := range s.Objects {
		out = append(out, o.ID().String())
	}
	return out
}

func TestHelmReleaseHistoryIsOneObject(t *testing.T) {
	t.Parallel()
	for _, driver := range []struct {
		name string
		make func(*testing.T, string, int, string, string) string
	}{{"secret", helmSecret}, {"configmap", helmConfigMap}} {
		t.Run(driver.name, func(t *testing.T) {
			t.Parallel()
			dev := snapshotOf(t, "k",
				driver.make(t, "web", 1, "superseded", "1.0.0"),
				driver.make(t, "web", 2, "failed", "1.1.0"),
				driver.make(t, "web", 3, "deployed", "1.2.0"))
			prod := snapshotOf(t, "k",
				driver.make(t, "web", 5, "superseded", "1.0.0"),
				driver.make(t, "web", 6, "superseded", "1.1.0"),
				driver.make(t, "web", 7, "deployed", "1.2.0"))
			kind := map[string]string{"secret": "Secret", "configmap": "ConfigMap"}[driver.name]
			want := []string{"shop/" + kind + "/sh.helm.release.v1.web"}
			if diff := cmp.Diff(want, ids(dev)); diff != "" {
				t.Errorf("dev objects (-want +got):\n%s", diff)
			}
			if dev.Metadata.Folded != 2 {
				t.Errorf("dev folded %d revisions, want 2", dev.Metadata.Folded)
			}
			assertPairsEqual(t, dev, prod)
			meta := dev.Objects[0].Object["metadata"].(map[string]any)
			wantMeta := map[string]any{
				"name": "sh.helm.release.v1.web", "namespace": "shop",
				"labels":      map[string]any{"owner": "helm", "name": "web", "status": "deployed"},
				"annotations": map[string]any{HelmChartAnnotation: "web-1.2.0", HelmAppVersionAnnotation: "2.4.1"},
			}
			if diff := cmp.Diff(wantMeta, meta); diff != "" {
				t.Errorf("metadata (-want +got):\n%s", diff)
			}

			// No byte of any payload reaches the encoded snapshot.
			for _, s := range []*Snapshot{dev, prod} {
				var buf bytes.Buffer
				if err := s.Encode(&buf); err != nil {
					t.Fatal(err)
				}
				enc := buf.String()
				for _, leak := range []string{helmSecretValue, "Upgrade complete", "dbPassword", `"release"`} {
					if strings.Contains(enc, leak) {
						t.Errorf("encoded snapshot holds %q", leak)
					}
				}
			}
		})
	}
}

func TestHelmChartVersionDiffers(t *testing.T) {
	t.Parallel()
	dev := snapshotOf(t, "", helmSecret(t, "web", 3, "deployed", "1.3.0"))
	prod := snapshotOf(t, "", helmSecret(t, "web", 7, "deployed", "1.2.0"))
	pairs := PairObjects(dev, prod, Mapping{})
	if len(pairs) != 1 || pairs[0].Dev == nil || pairs[0].Prod == nil {
		t.Fatalf("want one pair, got %v", pairs)
	}
	got := DiffFields(pairs[0].Dev.Object, pairs[0].Prod.Object)
	if len(got) != 1 || !strings.Contains(got[0].Path, HelmChartAnnotation) {
		t.Errorf("want one difference, the chart annotation; got %v", got)
	}
}

func TestHelmReleaseInFlightKeepsItsRevision(t *testing.T) {
	t.Parallel()
	s := snapshotOf(t, "", helmSecret(t, "web", 3, "deployed", "1.2.0"), helmSecret(t, "web", 4, "pending-upgrade", "1.3.0"))
	want := []string{"shop/Secret/sh.helm.release.v1.web", "shop/Secret/sh.helm.release.v1.web.v4"}
	if diff := cmp.Diff(want, ids(s)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if _, ok := s.Objects[1].Object["data"]; ok {
		t.Errorf("pending revision keeps its payload: %v", s.Objects[1].Object)
	}
}

func TestHelmReleaseUndecodableKeptAsSecret(t *testing.T) {
	t.Parallel()
	for name, release := range map[string]string{
		"not base64":     "!!!",
		"not gzip json":  base64.StdEncoding.EncodeToString([]byte(base64.StdEncoding.EncodeToString([]byte("not json")))),
		"name mismatch":  base64.StdEncoding.EncodeToString([]byte(helmPayload(t, "other", 3, "deployed", "1.0.0"))),
		"corrupted gzip": base64.StdEncoding.EncodeToString([]byte(base64.StdEncoding.EncodeToString([]byte{0x1f, 0x8b, 0x08, 0, 1, 2}))),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			doc := fmt.Sprintf(`apiVersion: v1
kind: Secret
type: helm.sh/release.v1
metadata: {name: sh.helm.release.v1.web.v3, namespace: shop, labels: {owner: helm, name: web, status: deployed, version: "3"}}
data: {release: %q}
`, release)
			s := snapshotOf(t, "", doc)
			if diff := cmp.Diff([]string{"shop/Secret/sh.helm.release.v1.web.v3"}, ids(s)); diff != "" {
				t.Fatalf("objects (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]any{"release": Redacted}, s.Objects[0].Object["data"]); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
		})
	}
}

// An ordinary Secret named like a release, without Helm's type, is not one.
func TestHelmReleaseNeedsItsType(t *testing.T) {
	t.Parallel()
	doc := strings.Replace(helmSecret(t, "web", 3, "deployed", "1.2.0"), "type: helm.sh/release.v1", "type: Opaque", 1)
	s := snapshotOf(t, "", doc)
	if diff := cmp.Diff([]string{"shop/Secret/sh.helm.release.v1.web.v3"}, ids(s)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
}
