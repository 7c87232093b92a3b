package drift

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/driftgate/driftgate/internal/jsonx"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenObjects are API objects as an API server sends them: several
// kinds, a Secret, managed fields of a deploy tool and of a manual
// manager, an owner, unicode and escapes in strings, numbers of every
// shape, nested lists.
const goldenObjects = `[
{"apiVersion": "v1", "kind": "ConfigMap",
 "metadata": {"name": "app-config", "namespace": "payments", "uid": "u-1", "resourceVersion": "42",
  "labels": {"app.kubernetes.io/managed-by": "Helm", "tier": "back<end>"},
  "annotations": {"meta.helm.sh/release-name": "payments", "note": "café \u2028 line\tsep \"quoted\" \\ back & amp"},
  "managedFields": [
   {"manager": "helm", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
    "fieldsV1": {"f:data": {".": {}, "f:a.yaml": {}}, "f:metadata": {"f:labels": {"f:tier": {}}}}},
   {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
    "fieldsV1": {"f:data": {"f:b.yaml": {}}}}
  ]},
 "data": {"a.yaml": "key: value\nlist:\n  - 1\n  - 2\n", "b.yaml": "日本語 \u00e9 \u0001 <tag>", "empty": ""}},
{"apiVersion": "v1", "kind": "Secret",
 "metadata": {"name": "db", "namespace": "payments",
  "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"kind\":\"Secret\"}"},
  "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "v1",
   "fieldsV1": {"f:data": {"f:password": {}, "f:user": {}}}}]},
 "type": "Opaque", "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4="}},
{"apiVersion": "apps/v1", "kind": "Deployment",
 "metadata": {"name": "web", "namespace": "payments", "generation": 7,
  "labels": {"app.kubernetes.io/managed-by": "argocd", "argocd.argoproj.io/instance": "web"},
  "managedFields": [{"manager": "argocd-controller", "operation": "Apply", "apiVersion": "apps/v1",
   "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {}}}},
   {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status", "apiVersion": "apps/v1",
   "fieldsV1": {"f:status": {"f:replicas": {}}}}]},
 "spec": {"replicas": 3, "ratio": 0.5, "big": 9007199254740993, "neg": -12, "tiny": 1e-7, "huge": 1.5e300,
  "whole": 2.0, "exp": 1E3, "zero": 0, "negzero": -0.0,
  "template": {"spec": {"containers": [
   {"name": "web", "image": "registry.example.com/web:1.2.3", "args": ["--flag=a", "--other", ""],
    "env": [{"name": "DB_PASSWORD", "value": "s3cret"}, {"name": "MODE", "value": "prod"}],
    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
    "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}}},
   {"name": "side", "image": "side:latest", "command": [["nested", ["deeper", 1, true, null]], {}], "stdin": false}
  ]}}},
 "status": {"replicas": 3}},
{"apiVersion": "apps/v1", "kind": "ReplicaSet",
 "metadata": {"name": "web-5d8f", "namespace": "payments",
  "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "u-9", "controller": true}]},
 "spec": {"replicas": 3}},
{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
 "metadata": {"name": "deny-all", "namespace": "payments", "labels": {}},
 "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": []}},
{"apiVersion": "v1", "kind": "Namespace",
 "metadata": {"name": "payments", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}},
 "spec": {"finalizers": ["kubernetes"]}},
{"apiVersion": "example.com/v1beta1", "kind": "Widget",
 "metadata": {"name": "w\u00fcrfel", "namespace": "payments",
  "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "app-config", "uid": "u-1"}]},
 "spec": {"size": 12345678901234567890, "list": [1, 2.25, "three", [4, [5]], {"six": 6}]}}
]`

// goldenSnapshot is a small but representative snapshot, built as Collect
// builds one.
func goldenSnapshot(t *testing.T) *Snapshot {
	t.Helper()
	n := NewNormalizer([]byte("golden-key"))
	s := newSnapshot(SourceCluster, Scope{Namespaces: []string{"payments"}, Exclude: DefaultExcludes}, n,
		time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	s.Metadata.Context = "prod-cluster"
	s.Metadata.Server = "https://prod.example.com:6443"
	s.Metadata.ServerVersion = "v1.36.3"
	s.Metadata.ToolVersion = "v1.2.3-golden"
	dec := json.NewDecoder(bytes.NewReader([]byte(goldenObjects)))
	dec.UseNumber()
	var items []map[string]any
	if err := dec.Decode(&items); err != nil {
		t.Fatal(err)
	}
	for _, item := range items {
		canonicalNumbers(item)
		o, fold, err := n.Normalize(item)
		if err != nil {
			t.Fatal(err)
		}
		if fold {
			s.Metadata.Folded++
			continue
		}
		s.Objects = append(s.Objects, o)
	}
	s.Resources = []ResourceType{
		{Version: "v1", Kind: "ConfigMap", Resource: "configmaps", Namespaced: true},
		{Version: "v1", Kind: "Secret", Resource: "secrets", Namespaced: true},
		{Group: "apps", Version: "v1", Kind: "Deployment", Resource: "deployments", Namespaced: true},
		{Version: "v1", Kind: "Namespace", Resource: "namespaces"},
	}
	s.Unobserved = []Unobserved{
		{ResourceType: ResourceType{Group: "metrics.k8s.io", Version: "v1beta1", Kind: "*", Resource: "*"},
			Reason: "API group discovery failed: the server is currently unable to handle the request"},
		{ResourceType: ResourceType{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role", Resource: "roles", Namespaced: true},
			Namespace: "payments", Reason: `forbidden: roles.rbac.authorization.k8s.io is forbidden: User "ci" cannot list <roles> & "more"`},
	}
	return s
}

// TestSnapshotFileGolden holds the snapshot file format to the bytes
// driftgate writes: the same snapshot is written byte for byte as the
// golden files (plain and gzipped), whether its objects are held as
// values or as the JSON CollectOptions.ForWriting keeps, and the golden
// files load back as that snapshot.
func TestSnapshotFileGolden(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("testdata", t.Name())
	for _, name := range []string{"snapshot.json", "snapshot.json.gz"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			golden := filepath.Join(dir, name)
			for _, forWriting := range []bool{false, true} {
				s := goldenSnapshot(t)
				if forWriting {
					enc := &jsonx.Writer{}
					for i := range s.Objects {
						s.Objects[i].encode(enc)
						if s.Objects[i].Encoded == nil {
							t.Fatalf("%s not kept as JSON", s.Objects[i].ID())
						}
					}
				}
				path := filepath.Join(t.TempDir(), name)
				if err := s.Save(path); err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if *update && !forWriting {
					if err := os.MkdirAll(dir, 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("forWriting=%v: Save wrote %d bytes that differ from %s (%d bytes); run with -update only for an intended format change",
						forWriting, len(got), golden, len(want))
				}
			}
			want := goldenSnapshot(t)
			if err := want.Seal(); err != nil {
				t.Fatal(err)
			}
			loaded, err := LoadSnapshot(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, loaded); diff != "" {
				t.Errorf("golden file loads as (-want +loaded):\n%s", diff)
			}
		})
	}
}
