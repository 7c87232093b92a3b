package drift

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// clusterWithDeployment is what a cluster holds after deploying the web
// Deployment: the names of its children are the cluster's own.
func clusterWithDeployment(rsHash, podSuffix, sliceSuffix, tokenSuffix, volSuffix string) []string {
	return []string{
		`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: web}
      annotations: {kubectl.kubernetes.io/restartedAt: "2026-11-2` + podSuffix[:1] + `T10:00:00Z"}
    spec: {containers: [{name: app, image: web:1}]}
`,
		`apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-` + rsHash + `
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, controller: true, uid: u1}]
spec: {template: {spec: {containers: [{name: app, image: web:1}]}}}
`,
		`apiVersion: v1
kind: Pod
metadata:
  name: web-` + rsHash + `-` + podSuffix + `
  generateName: web-` + rsHash + `-
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-` + rsHash + `, controller: true, uid: u2}]
spec: {containers: [{name: app, image: web:1}]}
`,
		`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-` + sliceSuffix + `
  generateName: web-
  namespace: shop
  ownerReferences: [{apiVersion: v1, kind: Service, name: web, controller: true, uid: u3}]
addressType: IPv4
endpoints: [{addresses: [10.0.0.` + podSuffix[:1] + `]}]
`,
		`apiVersion: v1
kind: ServiceAccount
metadata: {name: builder, namespace: shop}
secrets: [{name: builder-token-` + tokenSuffix + `}]
`,
		`apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata:
  name: builder-token-` + tokenSuffix + `
  namespace: shop
  annotations: {kubernetes.io/service-account.name: builder, kubernetes.io/service-account.uid: uid-` + tokenSuffix + `}
  labels: {kubernetes.io/legacy-token-last-used: "2026-11-2` + podSuffix[:1] + `"}
data: {token: dG9r, ca.crt: Y2E=, namespace: c2hvcA==}
`,
		`apiVersion: v1
kind: Pod
metadata: {name: static-web, namespace: shop}
spec:
  containers: [{name: app, image: web:1, volumeMounts: [{name: kube-api-access-` + volSuffix + `, mountPath: /var/run/secrets/kubernetes.io/serviceaccount}]}]
  volumes: [{name: kube-api-access-` + volSuffix + `, projected: {sources: [{serviceAccountToken: {path: token}}]}}]
`,
	}
}

func TestGeneratedNamesPairAcrossClusters(t *testing.T) {
	t.Parallel()
	dev := snapshotOf(t, "", clusterWithDeployment("5d4f8b7c9", "x2b4k", "q8r2z", "7hzvd", "mn4pq")...)
	prod := snapshotOf(t, "", clusterWithDeployment("6c9d7f5b4", "9vlwp", "t5m7x", "b2c4d", "zx9w2")...)
	want := []string{
		"shop/Pod/static-web", "shop/Secret/builder-token", "shop/ServiceAccount/builder",
		"shop/Deployment.apps/web",
	}
	if diff := cmp.Diff(want, ids(dev)); diff != "" {
		t.Errorf("dev objects (-want +got):\n%s", diff)
	}
	if dev.Metadata.Folded != 3 {
		t.Errorf("folded %d, want 3 (ReplicaSet, Pod, EndpointSlice)", dev.Metadata.Folded)
	}
	// Token values differ per cluster (and without a key are
	// redacted); everything else is equal.
	assertPairsEqual(t, dev, prod)
}

func TestOwnerlessPodStaysDevOnly(t *testing.T) {
	t.Parallel()
	// kubectl run: no owner; the name is the user's.
	run := `apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: shop
  managedFields: [{manager: kubectl-run, operation: Update, fieldsV1: {"f:spec": {"f:containers": {}}}}]
spec:
  containers: [{name: debug, image: busybox, volumeMounts: [{name: kube-api-access-x7k2p, mountPath: /var/run/secrets/kubernetes.io/serviceaccount}]}]
  volumes: [{name: kube-api-access-x7k2p, projected: {sources: []}}]
`
	// A Pod with a generated name but no controller is not a child either.
	generated := `apiVersion: v1
kind: Pod
metadata: {name: job-x7k2p, generateName: job-, namespace: shop}
spec: {containers: [{name: c, image: busybox}]}
`
	dev := snapshotOf(t, "", run, generated)
	prod := snapshotOf(t, "")
	var devOnly []string
	for _, p := range PairObjects(dev, prod, Mapping{}) {
		if p.Prod == nil {
			devOnly = append(devOnly, p.ID.String())
		}
	}
	if diff := cmp.Diff([]string{"shop/Pod/debug", "shop/Pod/job-x7k2p"}, devOnly); diff != "" {
		t.Errorf("dev-only objects (-want +got):\n%s", diff)
	}
}

func TestLegacyTokenNameNeedsItsServiceAccount(t *testing.T) {
	t.Parallel()
	// A token Secret created by hand keeps its chosen name, even one that
	// looks generated for another account.
	s := snapshotOf(t, "", `apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata: {name: deployer-token-7hzvd, namespace: shop, annotations: {kubernetes.io/service-account.name: builder}}
`, `apiVersion: v1
kind: Secret
type: Opaque
metadata: {name: builder-token-7hzvd, namespace: shop, annotations: {kubernetes.io/service-account.name: builder}}
`)
	want := []string{"shop/Secret/builder-token-7hzvd", "shop/Secret/deployer-token-7hzvd"}
	if diff := cmp.Diff(want, ids(s)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
}

func TestRolloutRestartIsNotDrift(t *testing.T) {
	t.Parallel()
	in := `apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
  namespace: shop
  managedFields:
  - manager: kubectl-rollout
    operation: Update
    fieldsV1: {"f:spec": {"f:jobTemplate": {"f:spec": {"f:template": {"f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/restartedAt": {}}}}}}}}
  - manager: kubectl-edit
    operation: Update
    fieldsV1: {"f:spec": {"f:template": {"f:metadata": {"f:annotations": {"f:kubectl.kubernetes.io/restartedAt": {}, "f:team": {}}}}}}
spec:
  template:
    metadata: {annotations: {kubectl.kubernetes.io/restartedAt: "2026-11-29T10:00:00Z", team: a}}
  jobTemplate:
    spec:
      template:
        metadata: {annotations: {kubectl.kubernetes.io/restartedAt: "2026-11-29T10:00:00Z"}}
        spec: {containers: [{name: c, image: report:1}]}
`
	o, _, err := NewNormalizer(nil).Normalize(decode(t, in))
	if err != nil {
		t.Fatal(err)
	}
	want := decode(t, `apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: shop}
spec:
  template:
    metadata: {annotations: {team: a}}
  jobTemplate:
    spec:
      template:
        metadata: {}
        spec: {containers: [{name: c, image: report:1}]}
`)
	if diff := cmp.Diff(want, o.Object); diff != "" {
		t.Errorf("object (-want +got):\n%s", diff)
	}
	// The manager that only restarted is gone; the one that also edited stays.
	var managers []string
	for _, m := range o.Provenance.Managers {
		managers = append(managers, m.Manager+": "+strings.Join(m.Paths, ","))
	}
	if diff := cmp.Diff([]string{"kubectl-edit: spec.template.metadata.annotations.team"}, managers); diff != "" {
		t.Errorf("managers (-want +got):\n%s", diff)
	}
}

func TestRenamedTwinsFoldAlike(t *testing.T) {
	t.Parallel()
	token := func(suffix, ca string) string {
		return `apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata: {name: builder-token-` + suffix + `, namespace: shop, annotations: {kubernetes.io/service-account.name: builder}}
data: {ca.crt: ` + ca + `}
`
	}
	a := snapshotOf(t, "k", token("7hzvd", "YQ=="), token("b2c4d", "Yg=="))
	b := snapshotOf(t, "k", token("x9zw2", "Yg=="), token("q8r2z", "YQ=="))
	if diff := cmp.Diff([]string{"shop/Secret/builder-token"}, ids(a)); diff != "" {
		t.Fatalf("objects (-want +got):\n%s", diff)
	}
	if a.Metadata.Folded != 1 {
		t.Errorf("folded %d, want 1", a.Metadata.Folded)
	}
	if diff := cmp.Diff(a.Objects[0].Object, b.Objects[0].Object); diff != "" {
		t.Errorf("the kept twin depends on order (-a +b):\n%s", diff)
	}
	objs, folded := foldTwins([]Object{b.Objects[0], a.Objects[0], {Kind: "ConfigMap", Name: "x"}})
	if len(objs) != 2 || folded != 1 {
		t.Errorf("foldTwins kept %d, folded %d; want 2, 1", len(objs), folded)
	}
}
