package render

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/driftgate/driftgate/drift"
)

const (
	fixtureChart = "../../fixtures/render/chart/shop"
	fixtureDir   = "../../fixtures/render/chart"
	fixtureKust  = "../../fixtures/render/kustomize"
)

// ids lists the rendered objects as namespace/Kind/name.
func ids(ms []drift.Manifest) []string {
	var out []string
	for _, m := range ms {
		meta, _ := m.Object["metadata"].(map[string]any)
		ns, _ := meta["namespace"].(string)
		name, _ := meta["name"].(string)
		out = append(out, ns+"/"+m.Object["kind"].(string)+"/"+name)
	}
	return out
}

func find(t *testing.T, ms []drift.Manifest, kind, name string) map[string]any {
	t.Helper()
	for _, m := range ms {
		meta, _ := m.Object["metadata"].(map[string]any)
		if m.Object["kind"] == kind && meta["name"] == name {
			return m.Object
		}
	}
	t.Fatalf("no %s %s in %v", kind, name, ids(ms))
	return nil
}

func TestHelmManifestsFixture(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		values string
		want   []string
	}{
		{"values-dev.yaml", []string{
			"/CustomResourceDefinition/carts.shop.example.com",
			"shop/ConfigMap/shop-cluster-info", "kube-system/ConfigMap/coredns",
			"shop/Deployment/checkout", "shop/Service/checkout", "shop/Secret/payments",
		}},
		{"values-prod.yaml", []string{
			"/CustomResourceDefinition/carts.shop.example.com",
			"shop/ConfigMap/shop-cluster-info", "kube-system/ConfigMap/coredns",
			"shop/Deployment/checkout", "shop/Service/checkout",
			"shop/NetworkPolicy/default-deny-egress", "shop/NetworkPolicy/allow-dns",
			"shop/Secret/payments",
		}},
	} {
		t.Run(tc.values, func(t *testing.T) {
			t.Parallel()
			r, err := HelmManifests(Helm{Chart: fixtureChart, Values: []string{filepath.Join(fixtureDir, tc.values)}, Namespace: "shop"}, Capabilities{})
			if err != nil {
				t.Fatal(err)
			}
			// The CRD of crds/ comes first, as helm install creates it
			// first; the test pod and NOTES.txt are left out.
			if diff := cmp.Diff(tc.want, ids(r.Manifests)); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "1 helm test resources left out") {
				t.Errorf("notes: %q", r.Notes)
			}
			dep := find(t, r.Manifests, "Deployment", "checkout")
			labels := dep["metadata"].(map[string]any)["labels"].(map[string]any)
			if labels["app.kubernetes.io/instance"] != DefaultReleaseName {
				t.Errorf("release name: %v", labels)
			}
		})
	}
}

func TestHelmValuesOrder(t *testing.T) {
	t.Parallel()
	// Later files win, --set wins over files, as helm template -f -f --set.
	r, err := HelmManifests(Helm{Chart: fixtureChart,
		Values: []string{filepath.Join(fixtureDir, "values-prod.yaml"), filepath.Join(fixtureDir, "values-dev.yaml")},
		Set:    []string{"dns.cache=77", "replicas=5"}}, Capabilities{})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(ids(r.Manifests), "default/NetworkPolicy/default-deny-egress") {
		t.Errorf("the later values file did not win: %v", ids(r.Manifests))
	}
	cm := find(t, r.Manifests, "ConfigMap", "coredns")
	if c := cm["data"].(map[string]any)["Corefile"].(string); !strings.Contains(c, "cache 77") {
		t.Errorf("--set did not win: %s", c)
	}
	if got := find(t, r.Manifests, "Deployment", "checkout")["spec"].(map[string]any)["replicas"]; got != "5" && got != 5 && got != int64(5) {
		// ReadManifestBytes keeps numbers as json.Number.
		if s, ok := got.(interface{ String() string }); !ok || s.String() != "5" {
			t.Errorf("replicas %v (%T)", got, got)
		}
	}
}

func TestHelmCapabilities(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name             string
		caps             Capabilities
		wantKube, netpol string
	}{
		{"server version known", Capabilities{KubeVersion: "v1.36.3", APIVersions: []string{"v1", "networking.k8s.io/v1", "networking.k8s.io/v1/NetworkPolicy"}}, "v1.36.3", "true"},
		{"git version with a suffix", Capabilities{KubeVersion: "v1.31.2+k3s1"}, "v1.31.2", ""},
		{"server without the API", Capabilities{KubeVersion: "v1.30.0", APIVersions: []string{"v1"}}, "v1.30.0", "false"},
		{"unknown: helm's default", Capabilities{}, chartutil.DefaultCapabilities.KubeVersion.Version, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := HelmManifests(Helm{Chart: fixtureChart}, tc.caps)
			if err != nil {
				t.Fatal(err)
			}
			data := find(t, r.Manifests, "ConfigMap", "shop-cluster-info")["data"].(map[string]any)
			if data["kubeVersion"] != tc.wantKube || r.KubeVersion != tc.wantKube {
				t.Errorf("kubeVersion %v (reported %s), want %s", data["kubeVersion"], r.KubeVersion, tc.wantKube)
			}
			if tc.netpol != "" && data["networkPolicyAPI"] != tc.netpol {
				t.Errorf("APIVersions.Has: %v, want %s", data["networkPolicyAPI"], tc.netpol)
			}
		})
	}
}

func TestHelmDeterministic(t *testing.T) {
	t.Parallel()
	h := Helm{Chart: fixtureChart, Values: []string{filepath.Join(fixtureDir, "values-prod.yaml")}}
	first, err := HelmManifests(h, Capabilities{})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		again, err := HelmManifests(h, Capabilities{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, again); diff != "" {
			t.Fatalf("two renders differ:\n%s", diff)
		}
	}
}

// writeChart writes a chart named broken with the given templates.
func writeChart(t *testing.T, templates map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "broken")
	files := map[string]string{"Chart.yaml": "apiVersion: v2\nname: broken\nversion: 0.1.0\n", "values.yaml": "name: x\n"}
	for name, body := range templates {
		files[filepath.Join("templates", name)] = body
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestHelmErrors(t *testing.T) {
	t.Parallel()
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
	for _, tc := range []struct {
		name      string
		templates map[string]string
		values    string // a values file's content, when set
		is        error
		want      []string
		wantLine  int
	}{
		{
			name:      "lookup needs a cluster",
			templates: map[string]string{"cm.yaml": cm + "data:\n  token: {{ (lookup \"v1\" \"Secret\" \"kube-system\" \"token\").data }}\n"},
			is:        ErrNeedsCluster,
			want:      []string{"broken/templates/cm.yaml:5:", "lookup", "context:NAME"},
		},
		{
			name:      "lookup in a condition",
			templates: map[string]string{"cm.yaml": "{{- if not (lookup \"v1\" \"Namespace\" \"\" \"x\") }}\n" + cm + "{{- end }}\n"},
			is:        ErrNeedsCluster,
			want:      []string{"broken/templates/cm.yaml:1:"},
		},
		{
			name:      "getHostByName needs the network",
			templates: map[string]string{"cm.yaml": cm + "data:\n  ip: {{ getHostByName \"db.example.com\" }}\n"},
			is:        ErrNeedsNetwork,
			want:      []string{"broken/templates/cm.yaml:5 calls getHostByName"},
		},
		{
			name:      "template parse error",
			templates: map[string]string{"cm.yaml": cm + "data:\n  a: {{ .Values.name \n"},
			want:      []string{"broken/templates/cm.yaml:5"},
		},
		{
			name:      "fail from the chart",
			templates: map[string]string{"cm.yaml": cm + "{{ fail \"set name\" }}\n"},
			want:      []string{"broken/templates/cm.yaml:4:", "set name"},
		},
		{
			name:      "rendered output is not YAML",
			templates: map[string]string{"cm.yaml": cm + "data:\n  a: [unclosed\n"},
			want:      []string{"templates/cm.yaml:5", "in the rendered output", "--show-only templates/cm.yaml"},
			wantLine:  5,
		},
		{
			name:      "values file is not YAML",
			templates: map[string]string{"cm.yaml": cm},
			values:    "a: 1\nb: [\n",
			want:      []string{"values.yaml:"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := Helm{Chart: writeChart(t, tc.templates)}
			if tc.values != "" {
				v := filepath.Join(t.TempDir(), "values.yaml")
				if err := os.WriteFile(v, []byte(tc.values), 0o644); err != nil {
					t.Fatal(err)
				}
				h.Values = []string{v}
			}
			_, err := HelmManifests(h, Capabilities{})
			if err == nil {
				t.Fatal("rendered")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error is not %v: %v", tc.is, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			var ie *drift.InputError
			if tc.wantLine > 0 && (!errors.As(err, &ie) || ie.Line != tc.wantLine) {
				t.Errorf("want an input error at line %d: %#v", tc.wantLine, err)
			}
		})
	}
}

func TestHelmMissingDependency(t *testing.T) {
	t.Parallel()
	dir := writeChart(t, map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"})
	chartYAML := "apiVersion: v2\nname: broken\nversion: 0.1.0\ndependencies:\n- name: redis\n  version: 1.0.0\n  repository: https://charts.example.com\n"
	if err := os.WriteFile(filepath.Join(dir, "Chart.yaml"), []byte(chartYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := HelmManifests(Helm{Chart: dir}, Capabilities{})
	if err == nil || !strings.Contains(err.Error(), "missing in charts/: redis") {
		t.Errorf("error %v", err)
	}
}

func TestKustomizeOverlays(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		overlay string
		want    []string
	}{
		{"dev", []string{"shop/Deployment/checkout", "shop/Service/checkout"}},
		{"prod", []string{"shop/Deployment/checkout", "shop/Service/checkout", "shop/NetworkPolicy/default-deny-egress", "shop/NetworkPolicy/allow-dns"}},
	} {
		t.Run(tc.overlay, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(fixtureKust, "overlays", tc.overlay)
			r, err := KustomizeManifests(dir)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, ids(r.Manifests)); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			labels := find(t, r.Manifests, "Deployment", "checkout")["metadata"].(map[string]any)["labels"].(map[string]any)
			if labels["app.kubernetes.io/part-of"] != "shop" {
				t.Errorf("base's labels not applied: %v", labels)
			}
			again, err := KustomizeManifests(dir)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(r, again); diff != "" {
				t.Errorf("two builds differ:\n%s", diff)
			}
		})
	}
}

func TestKustomizeErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		files map[string]string
		is    error
		want  []string
	}{
		{
			name:  "remote base",
			files: map[string]string{"kustomization.yaml": "resources:\n- shop.yaml\n- github.com/example/shop//base?ref=v1\n", "shop.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"},
			is:    ErrNeedsNetwork,
			want:  []string{"kustomization.yaml:3:", "github.com/example/shop//base?ref=v1", "vendor it"},
		},
		{
			name:  "remote file in a local base",
			files: map[string]string{"kustomization.yaml": "resources:\n- base\n", "base/kustomization.yaml": "resources:\n- https://example.com/shop.yaml\n"},
			is:    ErrNeedsNetwork,
			want:  []string{"base/kustomization.yaml:2:"},
		},
		{
			name:  "file outside the root",
			files: map[string]string{"app/kustomization.yaml": "resources:\n- ../secret.yaml\n", "secret.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"},
			want:  []string{"security; file", "is not in or below"},
		},
		{
			name:  "broken resource",
			files: map[string]string{"kustomization.yaml": "resources:\n- shop.yaml\n", "shop.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [a\n"},
			want:  []string{"shop.yaml"},
		},
		{
			name:  "helm inflation is off",
			files: map[string]string{"kustomization.yaml": "helmCharts:\n- name: redis\n  repo: https://charts.example.com\n"},
			want:  []string{"enable-helm"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			for name, body := range tc.files {
				p := filepath.Join(root, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			dir := root
			if _, ok := tc.files["app/kustomization.yaml"]; ok {
				dir = filepath.Join(root, "app")
			}
			_, err := KustomizeManifests(dir)
			if err == nil {
				t.Fatal("built")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error is not %v: %v", tc.is, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestKustomizeRemoteFiles: kustomize's loader fetches any file it loads
// (a patch, a generator's file, a replacement, the OpenAPI schema, a
// builtin transformer's or generator's config) over http(s) when the path
// is a URL, whatever the load restrictions say: each must be refused
// before the build, and nothing fetched.
func TestKustomizeRemoteFiles(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: fetched}\n")
	}))
	defer srv.Close()
	url := srv.URL + "/remote.yaml"
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
	}{
		{"patches path", map[string]string{"kustomization.yaml": "resources:\n- cm.yaml\npatches:\n- path: " + url + "\n"}},
		{"patchesStrategicMerge", map[string]string{"kustomization.yaml": "resources:\n- cm.yaml\npatchesStrategicMerge:\n- " + url + "\n"}},
		{"patchesJson6902 path", map[string]string{"kustomization.yaml": "resources:\n- cm.yaml\npatchesJson6902:\n- target: {version: v1, kind: ConfigMap, name: a}\n  path: " + url + "\n"}},
		{"configMapGenerator files", map[string]string{"kustomization.yaml": "configMapGenerator:\n- name: g\n  files:\n  - key=" + url + "\n"}},
		{"secretGenerator envs", map[string]string{"kustomization.yaml": "secretGenerator:\n- name: g\n  envs:\n  - " + url + "\n"}},
		{"replacements path", map[string]string{"kustomization.yaml": "resources:\n- cm.yaml\nreplacements:\n- path: " + url + "\n"}},
		{"openapi path", map[string]string{"kustomization.yaml": "resources:\n- cm.yaml\nopenapi:\n  path: " + url + "\n"}},
		{"transformer config", map[string]string{
			"kustomization.yaml": "resources:\n- cm.yaml\ntransformers:\n- patch.yaml\n",
			"patch.yaml":         "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\npath: " + url + "\n",
		}},
		{"in a component", map[string]string{
			"kustomization.yaml":      "resources:\n- cm.yaml\ncomponents:\n- comp\n",
			"comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- path: " + url + "\n",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			tc.files["cm.yaml"] = cm
			for name, body := range tc.files {
				p := filepath.Join(root, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before := hits.Load()
			_, err := KustomizeManifests(root)
			if hits.Load() != before {
				t.Errorf("kustomize fetched %s", url)
			}
			if !errors.Is(err, ErrNeedsNetwork) {
				t.Errorf("error is not %v: %v", ErrNeedsNetwork, err)
			}
		})
	}
}

// TestHelmSymlinkOutside: Helm's loader follows symbolic links, so a
// chart could carry a link to any file on the machine running the gate
// and render it with .Files.Get into a ConfigMap that the report shows.
// A link that leaves the chart's directory is refused.
func TestHelmSymlinkOutside(t *testing.T) {
	t.Parallel()
	secret := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(secret, []byte("s3cr3t-from-the-runner"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, link := range []string{"files/token", "templates/sub/token"} {
		t.Run(link, func(t *testing.T) {
			t.Parallel()
			dir := writeChart(t, map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  x: {{ .Files.Get \"" + link + "\" | quote }}\n"})
			p := filepath.Join(dir, link)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(secret, p); err != nil {
				t.Fatal(err)
			}
			r, err := HelmManifests(Helm{Chart: dir}, Capabilities{})
			if err == nil {
				t.Fatalf("rendered: %v", r.Manifests)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("the error shows the file: %v", err)
			}
		})
	}
	// A link inside the chart stays allowed.
	dir := writeChart(t, map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  x: {{ .Files.Get \"files/b\" | quote }}\n"})
	if err := os.MkdirAll(filepath.Join(dir, "files"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "files", "a"), []byte("inside"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a", filepath.Join(dir, "files", "b")); err != nil {
		t.Fatal(err)
	}
	r, err := HelmManifests(Helm{Chart: dir}, Capabilities{})
	if err != nil {
		t.Fatal(err)
	}
	if got := find(t, r.Manifests, "ConfigMap", "a")["data"].(map[string]any)["x"]; got != "inside" {
		t.Errorf("x = %v", got)
	}
}

// TestHelmHooksAtRest: a hook helm deletes once it succeeds is not held by
// a cluster at rest, so it is left out (with a note) rather than reported
// as missing from the live side; hooks helm keeps (its default
// before-hook-creation, or no policy) stay.
func TestHelmHooksAtRest(t *testing.T) {
	t.Parallel()
	job := func(name, ann string) string {
		return "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: " + name + "\n  annotations:\n" + ann +
			"spec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: m, image: migrate}]\n"
	}
	chart := writeChart(t, map[string]string{
		"migrate.yaml": job("migrate", "    helm.sh/hook: pre-upgrade,pre-install\n    helm.sh/hook-delete-policy: before-hook-creation, hook-succeeded\n"),
		"seed.yaml":    job("seed", "    helm.sh/hook: post-install\n"),
		"keep.yaml":    job("keep", "    helm.sh/hook: post-install\n    helm.sh/hook-delete-policy: before-hook-creation\n"),
		"cm.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n",
	})
	r, err := HelmManifests(Helm{Chart: chart, Namespace: "shop"}, Capabilities{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"shop/ConfigMap/plain", "shop/Job/keep", "shop/Job/seed"}, ids(r.Manifests), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "1 hook resources left out (helm.sh/hook-delete-policy hook-succeeded") || !strings.Contains(r.Notes[0], "migrate.yaml") {
		t.Errorf("notes: %q", r.Notes)
	}
}
