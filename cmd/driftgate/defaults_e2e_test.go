package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/fixtures/testbed"
)

// defaultsManifests are written as a user writes them: nothing the API
// server defaults is spelled out. NS is the namespace, IMAGE the image.
const defaultsManifests = `apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: NS}
data: {app.conf: "port=8080"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: IMAGE
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /healthz, port: 8080}}
        volumeMounts: [{name: config, mountPath: /etc/web}]
      volumes:
      - name: config
        configMap: {name: web-config}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: NS}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: NS-check}
webhooks:
- name: check.NS.example.com
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Ignore
  clientConfig: {url: "https://127.0.0.1:1/validate"}
  rules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}]
`

func writeDefaultsManifests(t *testing.T, ns, image string) (string, []byte) {
	t.Helper()
	data := []byte(strings.NewReplacer("NS", ns, "IMAGE", image).Replace(defaultsManifests))
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, data
}

// TestDiffManifestsTakesDefaultsFromProd compares manifests as written with
// the cluster they were applied to: the server's defaults must not show as
// drift, a real change must.
func TestDiffManifestsTakesDefaultsFromProd(t *testing.T) {
	bed := testbed.Need(t)
	ctx := context.Background()
	ns := bed.Namespace(t, nil)
	dir, data := writeDefaultsManifests(t, ns, "example.com/web:1.0")
	if err := bed.Prod.Apply(ctx, data, ns, testbed.ManagerArgoCD, testbed.ServerSideApply); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bed.Prod.Delete(context.Background(), data, ns) })

	diff := func(t *testing.T, dev string, extra ...string) drift.Result {
		t.Helper()
		args := append([]string{"diff", dev, "context:prod", "--kubeconfig", bed.Kubeconfig, "-n", ns, "-o", "json"}, extra...)
		r := runCLI(t, args...)
		var res drift.Result
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			t.Fatalf("exit %d: %v\n%s%s", r.code, err, r.stdout, r.stderr)
		}
		return res
	}
	changed := func(res drift.Result) []string {
		var out []string
		for _, f := range res.Findings {
			if f.Kind == drift.FindingChanged {
				for _, d := range f.Fields {
					out = append(out, f.Object.String()+" "+d.Path)
				}
			}
		}
		return out
	}
	hasNote := func(res drift.Result, prefix string) bool {
		for _, n := range res.Notes {
			if strings.HasPrefix(n, prefix) {
				return true
			}
		}
		return false
	}

	t.Run("as deployed", func(t *testing.T) {
		res := diff(t, dir)
		if c := changed(res); len(c) != 0 {
			t.Errorf("server defaults show as drift: %v\nnotes: %q", c, res.Notes)
		}
		for _, f := range res.Findings {
			if n := f.Object.Name; n == "web" || n == "web-config" || n == ns+"-check" {
				t.Errorf("manifest object not paired with its live one: %s %s", f.Kind, f.Object)
			}
		}
		if !hasNote(res, "server defaults applied to 4 of 4 dev manifest objects: taken from context:prod") {
			t.Errorf("notes do not say where the defaults came from: %q", res.Notes)
		}
	})
	t.Run("changed image", func(t *testing.T) {
		dir, _ := writeDefaultsManifests(t, ns, "example.com/web:2.0")
		res := diff(t, dir)
		c := changed(res)
		if len(c) != 1 || !strings.Contains(c[0], "image") {
			t.Errorf("want only the image changed, got %v", c)
		}
	})
	t.Run("without defaults", func(t *testing.T) {
		res := diff(t, dir, "--defaults-from", "none")
		if len(changed(res)) == 0 {
			t.Errorf("manifests as written matched the live objects: the test proves nothing")
		}
		if !hasNote(res, "server defaults not applied to the dev manifests") {
			t.Errorf("notes: %q", res.Notes)
		}
	})
	t.Run("unreachable defaults server", func(t *testing.T) {
		res := diff(t, dir, "--defaults-from", "context:gone", "--kubeconfig", unreachableKubeconfig(t, bed.Kubeconfig))
		if !hasNote(res, "server defaults not applied to the dev manifests: manifests compared as written; fields the API server would default may show as drift (context:gone could not be reached") {
			t.Errorf("notes: %q", res.Notes)
		}
		if len(changed(res)) == 0 {
			t.Errorf("no drift without defaults")
		}
	})
}

// unreachableKubeconfig is the kubeconfig at path plus a context "gone"
// whose server nothing listens on.
func unreachableKubeconfig(t *testing.T, path string) string {
	t.Helper()
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kc.Clusters["gone"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	kc.AuthInfos["gone"] = &clientcmdapi.AuthInfo{Token: "none"}
	kc.Contexts["gone"] = &clientcmdapi.Context{Cluster: "gone", AuthInfo: "gone"}
	out := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, out); err != nil {
		t.Fatal(err)
	}
	return out
}
