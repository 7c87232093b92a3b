package defaults

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"

	"github.com/driftgate/driftgate/drift"
)

// fakeServer is an API server serving v1 configmaps, secrets and
// namespaces: it defaults a ConfigMap's immutable to false and a Secret's
// type to Opaque, knows only the namespaces in namespaces, refuses objects
// labelled deny=rbac as RBAC would, and records the bodies it was sent.
type fakeServer struct {
	namespaces map[string]bool
	mu         sync.Mutex
	sent       []map[string]any
	dryRuns    []string
	paths      []string
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api":
		io.WriteString(w, `{"kind":"APIVersions","versions":["v1"]}`)
		return
	case r.Method == http.MethodGet && r.URL.Path == "/apis":
		io.WriteString(w, `{"kind":"APIGroupList","apiVersion":"v1","groups":[]}`)
		return
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1":
		io.WriteString(w, `{"kind":"APIResourceList","groupVersion":"v1","resources":[
			{"name":"configmaps","namespaced":true,"kind":"ConfigMap","verbs":["create","get","list"]},
			{"name":"secrets","namespaced":true,"kind":"Secret","verbs":["create","get","list"]},
			{"name":"namespaces","namespaced":false,"kind":"Namespace","verbs":["create","get","list"]}]}`)
		return
	case r.Method != http.MethodPost:
		http.NotFound(w, r)
		return
	}
	var obj map[string]any
	if err := json.NewDecoder(r.Body).Decode(&obj); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.sent = append(f.sent, runtime.DeepCopyJSON(obj))
	f.dryRuns = append(f.dryRuns, r.URL.Query().Get("dryRun")+" "+r.URL.Query().Get("fieldManager"))
	f.paths = append(f.paths, r.URL.Path)
	f.mu.Unlock()
	meta := obj["metadata"].(map[string]any)
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/") // api v1 namespaces NS resource
	if len(parts) == 5 && !f.namespaces[parts[3]] {
		status(w, http.StatusNotFound, "NotFound", `namespaces \"`+parts[3]+`\" not found`, `"details":{"name":"`+parts[3]+`","kind":"namespaces"},`)
		return
	}
	if labels, _ := meta["labels"].(map[string]any); labels["deny"] == "rbac" {
		status(w, http.StatusForbidden, "Forbidden", `configmaps is forbidden: User \"ci\" cannot create resource \"configmaps\"`, "")
		return
	}
	name := meta["generateName"].(string) + "x7k2q"
	meta["name"] = name
	delete(meta, "generateName")
	meta["uid"] = "0f0e"
	meta["creationTimestamp"] = "2026-01-01T00:00:00Z"
	meta["managedFields"] = []any{map[string]any{"manager": FieldManager, "operation": "Update"}}
	switch obj["kind"] {
	case "ConfigMap":
		obj["immutable"] = false
	case "Secret":
		obj["type"] = "Opaque"
	case "Namespace":
		meta["labels"] = map[string]any{"kubernetes.io/metadata.name": name}
		obj["spec"] = map[string]any{"finalizers": []any{"kubernetes"}}
	}
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(obj)
}

func status(w http.ResponseWriter, code int, reason, msg, details string) {
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"%s","reason":"%s",%s"code":%d}`, msg, reason, details, code)
}

func manifests(t *testing.T, yaml string) []drift.Manifest {
	t.Helper()
	ms, err := drift.ReadManifestBytes("app.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestApply(t *testing.T) {
	t.Parallel()
	fake := &fakeServer{namespaces: map[string]bool{"default": true, "shop": true}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	ms := manifests(t, `apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: shop, annotations: {team: web}}
data: {k: v}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: elsewhere, namespace: not-on-that-server}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: shop}
stringData: {password: hunter2}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: denied, namespace: shop, labels: {deny: rbac}}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: shop}
`)
	out := Apply(context.Background(), &rest.Config{Host: srv.URL}, ms, Options{Workers: 2})

	if out.Err != nil || out.Defaulted != 4 {
		t.Errorf("defaulted %d, err %v; want 4, nil", out.Defaulted, out.Err)
	}
	wantKept := []Kept{
		{"ConfigMap shop/denied", `defaults could not be obtained: forbidden (RBAC needs create on this kind): configmaps is forbidden: User "ci" cannot create resource "configmaps"`},
		{"example.com/Widget shop/w", "kind not served by the server (a CRD not installed there?)"},
	}
	if diff := cmp.Diff(wantKept, out.Kept); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	want := []map[string]any{
		{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "app", "namespace": "shop", "annotations": map[string]any{"team": "web"}},
			"data": map[string]any{"k": "v"}, "immutable": false},
		{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "elsewhere", "namespace": "not-on-that-server"}, "immutable": false},
		{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "creds", "namespace": "shop"},
			"stringData": map[string]any{"password": "hunter2"}, "type": "Opaque"},
		{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "shop", "labels": map[string]any{"kubernetes.io/metadata.name": "shop"}},
			"spec": map[string]any{"finalizers": []any{"kubernetes"}}},
	}
	for i, w := range want {
		if diff := cmp.Diff(w, ms[i].Object); diff != "" {
			t.Errorf("object %d (-want +got):\n%s", i, diff)
		}
	}
	for _, s := range fake.sent {
		if _, ok := s["stringData"]; ok {
			t.Errorf("a Secret's values were sent: %v", s)
		}
		if meta := s["metadata"].(map[string]any); meta["name"] != nil || meta["generateName"] != namePrefix {
			t.Errorf("sent under name %v, generateName %v: want only generateName %s", meta["name"], meta["generateName"], namePrefix)
		}
	}
	if !slices.Contains(fake.paths, "/api/v1/namespaces/default/configmaps") {
		t.Errorf("no retry in default for a namespace the server lacks: %q", fake.paths)
	}
	for _, d := range fake.dryRuns {
		if d != "All "+FieldManager {
			t.Errorf("request with dryRun and fieldManager %q", d)
		}
	}
}

func TestApplyUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	ms := manifests(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n")
	before := ms[0].Object["metadata"]
	out := Apply(context.Background(), &rest.Config{Host: srv.URL}, ms, Options{})
	if out.Err == nil || out.Defaulted != 0 || len(out.Kept) != 0 {
		t.Errorf("outcome %+v: want only Err", out)
	}
	if diff := cmp.Diff(before, ms[0].Object["metadata"]); diff != "" {
		t.Errorf("manifest changed: %s", diff)
	}
}

func TestRestoreService(t *testing.T) {
	t.Parallel()
	written := map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "web"},
		"spec": map[string]any{"type": "NodePort", "ports": []any{map[string]any{"port": int64(80)}, map[string]any{"port": int64(81), "nodePort": int64(30081)}}}}
	res := map[string]any{"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": "driftgate-defaults-x7k2q", "namespace": "default", "uid": "1"},
		"spec": map[string]any{"type": "NodePort", "clusterIP": "10.0.0.7", "clusterIPs": []any{"10.0.0.7"}, "sessionAffinity": "None",
			"ports": []any{map[string]any{"port": int64(80), "nodePort": int64(31999), "protocol": "TCP"}, map[string]any{"port": int64(81), "nodePort": int64(30081), "protocol": "TCP"}}},
		"status": map[string]any{"loadBalancer": map[string]any{}}}
	want := map[string]any{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "web"},
		"spec": map[string]any{"type": "NodePort", "sessionAffinity": "None",
			"ports": []any{map[string]any{"port": int64(80), "protocol": "TCP"}, map[string]any{"port": int64(81), "nodePort": int64(30081), "protocol": "TCP"}}}}
	if diff := cmp.Diff(want, restore(written, res, "driftgate-defaults-x7k2q")); diff != "" {
		t.Errorf("restore (-want +got):\n%s", diff)
	}
}
