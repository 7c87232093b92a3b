package drift

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	obj, err := decodeDocument([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		key      string
		want     string // the normalized object, YAML
		wantProv Provenance
		wantFold bool
	}{
		{
			name: "volatile metadata and status dropped",
			in: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  uid: 1234
  resourceVersion: "99"
  generation: 4
  creationTimestamp: "2024-01-01T00:00:00Z"
  selfLink: /apis/apps/v1/x
  generateName: web-
  labels: {app: web}
  annotations:
    deployment.kubernetes.io/revision: "7"
    team: payments
spec: {replicas: 2}
status: {readyReplicas: 2}`,
			want: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
  annotations: {team: payments}
spec: {replicas: 2}`,
		},
		{
			name: "last-applied body dropped, its presence kept",
			in: `apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"data":{"k":"v"}}'
data: {k: v}`,
			want:     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}",
			wantProv: Provenance{LastApplied: true},
		},
		{
			name: "secret values without a key",
			in: `apiVersion: v1
kind: Secret
metadata: {name: s, namespace: a}
type: Opaque
data: {password: aHVudGVyMg==}
stringData: {token: plain-token}`,
			want: `apiVersion: v1
kind: Secret
metadata: {name: s, namespace: a}
type: Opaque
data: {password: "(redacted)", token: "(redacted)"}`,
		},
		{
			name: "secret values with a key are digested",
			key:  "k",
			in: `apiVersion: v1
kind: Secret
metadata: {name: s, namespace: a}
data: {password: aHVudGVyMg==}`,
			// HMAC-SHA256("k", "hunter2"), computed independently with Python's hmac module
			want: `apiVersion: v1
kind: Secret
metadata: {name: s, namespace: a}
data: {password: "hmac-sha256:0cd9cde64b418f83ab6358d5fa0fb2b0264ba58b97196e7a99d4b6317f0169c5"}`,
		},
		{
			name: "secret-looking env values redacted, others kept",
			in: `apiVersion: batch/v1
kind: CronJob
metadata: {name: c, namespace: a}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: c
            env:
            - {name: DB_PASSWORD, value: hunter2}
            - {name: api_token, value: abc}
            - {name: LOG_LEVEL, value: debug}
            - {name: FROM_SECRET, valueFrom: {secretKeyRef: {name: s, key: k}}}`,
			want: `apiVersion: batch/v1
kind: CronJob
metadata: {name: c, namespace: a}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: c
            env:
            - {name: DB_PASSWORD, value: "(redacted)"}
            - {name: api_token, value: "(redacted)"}
            - {name: LOG_LEVEL, value: debug}
            - {name: FROM_SECRET, valueFrom: {secretKeyRef: {name: s, key: k}}}`,
		},
		{
			name: "node keeps parity facts only",
			in: `apiVersion: v1
kind: Node
metadata:
  name: n1
  labels: {kubernetes.io/arch: amd64, topology.kubernetes.io/zone: eu-1a, kubernetes.io/hostname: n1, node.kubernetes.io/instance-type: m5.large}
  annotations: {node.alpha.kubernetes.io/ttl: "0"}
spec: {podCIDR: 10.0.0.0/24}
status:
  addresses: [{type: InternalIP, address: 10.1.1.1}]
  nodeInfo: {kubeletVersion: v1.36.3, kernelVersion: 6.1.0, osImage: Debian, containerRuntimeVersion: containerd://2.0, architecture: amd64, operatingSystem: linux, machineID: abc, bootID: def}`,
			want: `apiVersion: v1
kind: Node
metadata:
  name: n1
  labels: {kubernetes.io/arch: amd64, topology.kubernetes.io/zone: eu-1a, node.kubernetes.io/instance-type: m5.large}
nodeInfo: {kubeletVersion: v1.36.3, kernelVersion: 6.1.0, osImage: Debian, containerRuntimeVersion: containerd://2.0, architecture: amd64, operatingSystem: linux}`,
		},
		{
			name: "pod of a replicaset folds into its owner",
			in: `apiVersion: v1
kind: Pod
metadata:
  name: web-abc
  namespace: a
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-6d, uid: u1, controller: true}]`,
			wantFold: true,
			wantProv: Provenance{Owner: &OwnerRef{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-6d", Controller: true}},
		},
		{
			name: "ownerless pod stays, owner uid dropped elsewhere",
			in: `apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: a}
spec: {containers: [{name: c, image: busybox}]}
status: {phase: Running}`,
			want: "apiVersion: v1\nkind: Pod\nmetadata: {name: debug, namespace: a}\nspec: {containers: [{name: c, image: busybox}]}",
		},
		{
			name: "configmap owned by a custom resource stays, owner kept without uid",
			in: `apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: a
  ownerReferences: [{apiVersion: example.com/v1, kind: App, name: x, uid: u2, controller: true}]`,
			want:     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: a, ownerReferences: [{apiVersion: example.com/v1, kind: App, name: x, controller: true}]}",
			wantProv: Provenance{Owner: &OwnerRef{APIVersion: "example.com/v1", Kind: "App", Name: "x", Controller: true}},
		},
		{
			name: "managed fields become managers; manual ones keep leaf paths",
			in: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: a
  labels: {app.kubernetes.io/managed-by: Helm}
  managedFields:
  - manager: helm
    operation: Update
    time: "2024-01-01T00:00:00Z"
    fieldsType: FieldsV1
    fieldsV1: {"f:metadata": {"f:labels": {"f:app.kubernetes.io/managed-by": {}}}, "f:spec": {"f:replicas": {}}}
  - manager: kubectl-edit
    operation: Update
    fieldsType: FieldsV1
    fieldsV1: {"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:image": {}}}}}}}
  - manager: kube-controller-manager
    operation: Update
    subresource: status
    fieldsV1: {"f:status": {"f:replicas": {}}}`,
			want: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: a, labels: {app.kubernetes.io/managed-by: Helm}}",
			wantProv: Provenance{
				Managers: []Manager{
					{Manager: "helm", Operation: "Update", Fields: []string{"metadata", "spec"}},
					{Manager: "kubectl-edit", Operation: "Update", Fields: []string{"spec"}, Paths: []string{"spec.template.spec.containers[name=app].image"}},
					{Manager: "kube-controller-manager", Operation: "Update", Subresource: "status", Fields: []string{"status"}},
				},
				DeployTool: map[string]string{"app.kubernetes.io/managed-by": "Helm"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := NewNormalizer([]byte(tt.key))
			o, fold, err := n.Normalize(decode(t, tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if fold != tt.wantFold {
				t.Fatalf("fold = %v, want %v", fold, tt.wantFold)
			}
			if diff := cmp.Diff(tt.wantProv, o.Provenance); diff != "" {
				t.Errorf("provenance (-want +got):\n%s", diff)
			}
			if fold {
				return
			}
			if diff := cmp.Diff(decode(t, tt.want), o.Object); diff != "" {
				t.Errorf("object (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNormalizeRejectsObjectsWithoutIdentity(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`{"kind":"ConfigMap","metadata":{"name":"x"}}`, `{"apiVersion":"v1","kind":"ConfigMap"}`, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}`} {
		var obj map[string]any
		if err := json.Unmarshal([]byte(in), &obj); err != nil {
			t.Fatal(err)
		}
		if _, _, err := NewNormalizer(nil).Normalize(obj); err == nil {
			t.Errorf("%s: want an error", in)
		}
	}
}

func TestSecretDigestKeyID(t *testing.T) {
	t.Parallel()
	if got := NewNormalizer(nil).SecretDigest(); got != "none" {
		t.Errorf("no key: %q", got)
	}
	a, b := NewNormalizer([]byte("a")).SecretDigest(), NewNormalizer([]byte("b")).SecretDigest()
	if a == b || !strings.HasPrefix(a, "hmac-sha256:") || strings.Contains(a, "a:") {
		t.Errorf("key ids %q and %q should differ and not reveal the key", a, b)
	}
}
