package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/fixtures/testbed"
)

// Distinctive values planted in Secrets and env; none may reach a snapshot.
var plantedSecrets = []string{
	"dg-data-value-7c1f0e",
	"dg-stringdata-value-93ab22",
	"dg-lastapplied-value-5d7e91",
	"dg-env-password-value-4f00c3",
}

func secretManifest() string {
	b64 := base64.StdEncoding.EncodeToString([]byte(plantedSecrets[0]))
	return `apiVersion: v1
kind: Secret
metadata:
  name: db
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"apiVersion":"v1","kind":"Secret","stringData":{"password":"` + plantedSecrets[2] + `"}}'
type: Opaque
data:
  password: ` + b64 + `
stringData:
  token: ` + plantedSecrets[1] + `
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: registry.example.com/api:1.4.2
        ports: [{name: http, containerPort: 8080}]
        env:
        - {name: DB_PASSWORD, value: ` + plantedSecrets[3] + `}
        - {name: LOG_LEVEL, value: info}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny}
spec: {podSelector: {}, policyTypes: [Ingress]}
`
}

// assertNoSecretValues fails when any planted value, plain or base64, is in data.
func assertNoSecretValues(t *testing.T, what string, data []byte) {
	t.Helper()
	for _, v := range plantedSecrets {
		for _, form := range []string{v, base64.StdEncoding.EncodeToString([]byte(v)), base64.RawStdEncoding.EncodeToString([]byte(v))} {
			if bytes.Contains(data, []byte(form)) {
				t.Errorf("%s contains the secret value %q (as %q)", what, v, form)
			}
		}
	}
}

func plantSnapshotScenario(t *testing.T, bed *testbed.Bed) string {
	t.Helper()
	ctx := context.Background()
	ns := bed.Namespace(t, map[string]string{"pod-security.kubernetes.io/enforce": "baseline"})
	// Cluster-scoped objects are shared by every test of the package: the CRD
	// goes to both clusters, and what only dev gets is removed afterwards.
	for _, c := range bed.Clusters() {
		if err := c.ApplyManifest(ctx, "calico-gnp-crd.yaml", "", testbed.ManagerArgoCD, testbed.ServerSideApply); err != nil {
			t.Fatal(err)
		}
	}
	gnp := []byte("apiVersion: crd.projectcalico.org/v1\nkind: GlobalNetworkPolicy\nmetadata: {name: " + ns + "-deny-egress}\nspec: {selector: all(), types: [Egress]}\n")
	if err := bed.Dev.Apply(ctx, gnp, "", testbed.ManagerArgoCD, testbed.ServerSideApply); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := bed.Dev.Delete(context.Background(), gnp, ""); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	if err := bed.Dev.Apply(ctx, []byte(secretManifest()), ns, testbed.ManagerKubectlCreate, testbed.Create); err != nil {
		t.Fatal(err)
	}
	return ns
}

func loadSnapshot(t *testing.T, path string) *drift.Snapshot {
	t.Helper()
	s, err := drift.LoadSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSnapshotLiveCluster(t *testing.T) {
	bed := testbed.Need(t)
	ns := plantSnapshotScenario(t, bed)
	out := filepath.Join(t.TempDir(), "dev.json.gz")

	r := runCLI(t, "snapshot", "--kubeconfig", bed.Kubeconfig, "--context", "dev", "-n", ns, "-o", out)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if r.stdout != "" || r.stderr != "" {
		t.Errorf("snapshot should be quiet off a terminal; stdout %q stderr %q", r.stdout, r.stderr)
	}
	s := loadSnapshot(t, out)
	if s.Metadata.Context != "dev" || s.Metadata.ServerVersion != testbed.KubernetesVersion || s.Metadata.Source != drift.SourceCluster {
		t.Errorf("metadata: %+v", s.Metadata)
	}
	for _, id := range []drift.ObjectID{
		{Kind: "Secret", Namespace: ns, Name: "db"},
		{Group: "apps", Kind: "Deployment", Namespace: ns, Name: "api"},
		{Group: "networking.k8s.io", Kind: "NetworkPolicy", Namespace: ns, Name: "default-deny"},
		{Kind: "Namespace", Name: ns},
		{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition", Name: "globalnetworkpolicies.crd.projectcalico.org"},
		{Group: "crd.projectcalico.org", Kind: "GlobalNetworkPolicy", Name: ns + "-deny-egress"},
	} {
		if s.Find(id) == nil {
			t.Errorf("snapshot lacks %s", id)
		}
	}
	if o := s.Find(drift.ObjectID{Kind: "Namespace", Name: "default"}); o != nil {
		t.Errorf("namespace outside -n scope captured: %s", o.ID())
	}
	secret := s.Find(drift.ObjectID{Kind: "Secret", Namespace: ns, Name: "db"})
	if secret != nil {
		data, _ := secret.Object["data"].(map[string]any)
		var keys []string
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if diff := cmp.Diff([]string{"password", "token"}, keys); diff != "" {
			t.Errorf("secret keys (-want +got):\n%s", diff)
		}
		if !secret.Provenance.LastApplied {
			t.Errorf("secret's last-applied annotation not recorded as present")
		}
	}
	dep := s.Find(drift.ObjectID{Group: "apps", Kind: "Deployment", Namespace: ns, Name: "api"})
	if dep != nil && (len(dep.Provenance.Managers) != 1 || dep.Provenance.Managers[0].Manager != "kubectl-create") {
		t.Errorf("deployment managers: %+v", dep.Provenance.Managers)
	}
	raw := gunzipFile(t, out)
	assertNoSecretValues(t, "the snapshot", raw)
	// The one uid kept is the cluster's own, in the metadata, which names
	// the cluster (kube-system's uid): no object's.
	if s.Metadata.Cluster == nil || s.Metadata.Cluster.UID == "" {
		t.Fatalf("metadata.cluster: %+v", s.Metadata.Cluster)
	}
	objects := bytes.Replace(raw, []byte(`"uid": "`+s.Metadata.Cluster.UID+`"`), nil, 1)
	for _, volatile := range []string{`"uid"`, `"resourceVersion"`, `"creationTimestamp"`, `"managedFields"`} {
		if bytes.Contains(objects, []byte(volatile)) {
			t.Errorf("snapshot keeps volatile field %s", volatile)
		}
	}
}

func TestSnapshotWithKeyedDigestsComparesValuesWithoutKeepingThem(t *testing.T) {
	bed := testbed.Need(t)
	ns := plantSnapshotScenario(t, bed)
	t.Setenv("DRIFTGATE_DIGEST_KEY", "test-key")
	out := filepath.Join(t.TempDir(), "dev.json")
	if r := runCLI(t, "snapshot", "--kubeconfig", bed.Kubeconfig, "--context", "dev", "-n", ns, "-o", out); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	raw, _ := os.ReadFile(out)
	assertNoSecretValues(t, "the keyed snapshot", raw)
	s := loadSnapshot(t, out)
	data := s.Find(drift.ObjectID{Kind: "Secret", Namespace: ns, Name: "db"}).Object["data"].(map[string]any)
	if v, _ := data["password"].(string); !strings.HasPrefix(v, "hmac-sha256:") {
		t.Errorf("password kept as %q, want a keyed digest", v)
	}
	if !strings.HasPrefix(s.Metadata.SecretDigest, "hmac-sha256:") {
		t.Errorf("metadata.secretDigest = %q", s.Metadata.SecretDigest)
	}
}

func TestSnapshotRecordsForbiddenTypesAsUnobserved(t *testing.T) {
	bed := testbed.Need(t)
	ctx := context.Background()
	ns := plantSnapshotScenario(t, bed)
	cleanup, err := bed.Dev.GrantReadExcept(ctx, "no-netpol", schema.GroupResource{Group: "networking.k8s.io", Resource: "networkpolicies"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	cfg, err := bed.Dev.UserConfig("no-netpol")
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := bed.WriteKubeconfig(kubeconfig, cfg, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "dev.json")

	r := runCLI(t, "snapshot", "--kubeconfig", kubeconfig, "-n", ns, "-o", out)
	if r.code != exitCouldNoCheck {
		t.Fatalf("exit %d, want %d; stderr: %s", r.code, exitCouldNoCheck, r.stderr)
	}
	if !strings.Contains(r.stderr, "NetworkPolicy.networking.k8s.io") || !strings.Contains(r.stderr, "forbidden") {
		t.Errorf("stderr does not name the forbidden type: %s", r.stderr)
	}
	s := loadSnapshot(t, out)
	var unobserved []string
	for _, u := range s.Unobserved {
		unobserved = append(unobserved, u.GroupKind()+" "+u.Namespace)
		if !strings.Contains(u.Reason, "forbidden") {
			t.Errorf("reason %q does not say forbidden", u.Reason)
		}
	}
	if diff := cmp.Diff([]string{"NetworkPolicy.networking.k8s.io " + ns}, unobserved); diff != "" {
		t.Errorf("unobserved (-want +got):\n%s", diff)
	}
	if s.Find(drift.ObjectID{Group: "apps", Kind: "Deployment", Namespace: ns, Name: "api"}) == nil {
		t.Errorf("readable types missing from the snapshot")
	}
}

// capturedAt matches the capture time and the integrity digest over it:
// all that differs between two snapshots of one state.
var capturedAt = regexp.MustCompile(`"(capturedAt|integrity)": "[^"]*"`)

func TestSnapshotIsDeterministic(t *testing.T) {
	bed := testbed.Need(t)
	ns := plantSnapshotScenario(t, bed)
	dir := t.TempDir()
	var files [2][]byte
	for i := range files {
		out := filepath.Join(dir, "s"+string(rune('a'+i))+".json")
		if r := runCLI(t, "snapshot", "--kubeconfig", bed.Kubeconfig, "--context", "dev", "-n", ns, "-o", out); r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		files[i] = capturedAt.ReplaceAll(b, []byte(`"$1": "masked"`))
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Errorf("two snapshots of the same state differ beyond capture time:\n%s", cmp.Diff(string(files[0]), string(files[1])))
	}
}

func TestSnapshotFromKubectlDumpEqualsLive(t *testing.T) {
	bed := testbed.Need(t)
	ns := plantSnapshotScenario(t, bed)
	dir := t.TempDir()
	live := filepath.Join(dir, "live.json")
	if r := runCLI(t, "snapshot", "--kubeconfig", bed.Kubeconfig, "--context", "dev", "-n", ns, "-o", live); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	ls := loadSnapshot(t, live)
	var types []string
	for _, rt := range ls.Resources {
		if rt.Namespaced {
			types = append(types, strings.ToLower(rt.Resource)+strings.TrimSuffix("."+rt.Group, "."))
		}
	}
	dump := filepath.Join(dir, "dump.yaml")
	cmd := exec.Command(bed.Kubectl(), "--kubeconfig", bed.Kubeconfig, "--context", "dev",
		"get", strings.Join(types, ","), "-n", ns, "-o", "yaml", "--show-managed-fields")
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl get: %v", err)
	}
	if err := os.WriteFile(dump, b, 0o644); err != nil {
		t.Fatal(err)
	}
	offline := filepath.Join(dir, "offline.json")
	if r := runCLI(t, "snapshot", "--from-manifests", dump, "-o", offline); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	off := loadSnapshot(t, offline)
	var want []drift.Object
	for _, o := range ls.Objects {
		if o.Namespace == ns {
			want = append(want, o)
		}
	}
	t.Logf("comparing %d objects of %d types", len(want), len(types))
	if len(want) < 3 {
		t.Fatalf("only %d live objects in %s", len(want), ns)
	}
	if diff := cmp.Diff(want, off.Objects); diff != "" {
		t.Errorf("offline snapshot of kubectl's dump differs from the live one (-live +offline):\n%s", diff)
	}
}

func gunzipFile(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
