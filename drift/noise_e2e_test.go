package drift

import (
	"context"
	"encoding/base64"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/driftgate/driftgate/fixtures/testbed"
)

// createLive creates the object in manifest on c as manager and returns it
// as the API server stored it (with its generated name and uid).
func createLive(ctx context.Context, t *testing.T, c *testbed.Cluster, ns, manager, manifest string) *unstructured.Unstructured {
	t.Helper()
	objs, err := testbed.DecodeYAML([]byte(manifest))
	if err != nil || len(objs) != 1 {
		t.Fatalf("decoding %q: %v", manifest, err)
	}
	ri, err := c.Resource(ctx, objs[0], ns)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ri.Create(ctx, objs[0], metav1.CreateOptions{FieldManager: manager})
	if err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	return out
}

func ownerRef(o *unstructured.Unstructured) string {
	return fmt.Sprintf("[{apiVersion: %s, kind: %s, name: %s, uid: %s, controller: true}]", o.GetAPIVersion(), o.GetKind(), o.GetName(), o.GetUID())
}

// TestClusterNoiseIsNotDriftLive deploys the same things to both clusters of
// the test bed the way controllers and Helm would (revisions, generated
// names, a rollout restart on dev only) and expects no difference, except
// the Pod created by hand on dev.
func TestClusterNoiseIsNotDriftLive(t *testing.T) {
	bed := testbed.Need(t)
	ctx := context.Background()
	ns := bed.Namespace(t, nil)
	for i, c := range bed.Clusters() {
		revisions := [][2]any{{1, "superseded"}, {2, "deployed"}}
		if c == bed.Prod {
			revisions = [][2]any{{5, "superseded"}, {6, "failed"}, {7, "deployed"}}
		}
		for _, r := range revisions {
			payload := base64.StdEncoding.EncodeToString([]byte(helmPayload(t, "web", r[0].(int), r[1].(string), "1.2.0")))
			createLive(ctx, t, c, ns, "helm", fmt.Sprintf(`apiVersion: v1
kind: Secret
type: helm.sh/release.v1
metadata: {name: sh.helm.release.v1.web.v%d, labels: {owner: helm, name: web, status: %s, version: "%d"}}
data: {release: %s}
`, r[0], r[1], r[0], payload))
		}
		createLive(ctx, t, c, ns, "helm", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default}\n")
		createLive(ctx, t, c, ns, "helm", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: builder}\n")
		createLive(ctx, t, c, ns, "kube-controller-manager", `apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata: {generateName: builder-token-, annotations: {kubernetes.io/service-account.name: builder}}
`)
		deploy := createLive(ctx, t, c, ns, "helm", `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: web:1}]}
`)
		hash := []string{"5d4f8b7c9", "6c9d7f5b4"}[i]
		rs := createLive(ctx, t, c, ns, "kube-controller-manager", fmt.Sprintf(`apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web-%s, labels: {app: web, pod-template-hash: %s}, ownerReferences: %s}
spec:
  selector: {matchLabels: {app: web, pod-template-hash: %s}}
  template:
    metadata: {labels: {app: web, pod-template-hash: %s}}
    spec: {containers: [{name: app, image: web:1}]}
`, hash, hash, ownerRef(deploy), hash, hash))
		createLive(ctx, t, c, ns, "kube-controller-manager", fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {generateName: %s-, labels: {app: web}, ownerReferences: %s}
spec: {containers: [{name: app, image: web:1}]}
`, rs.GetName(), ownerRef(rs)))
		// Ownerless on both sides: it pairs by its own name. (The bed runs
		// no ServiceAccount admission, so no kube-api-access-xxxxx volume.)
		createLive(ctx, t, c, ns, "helm", "apiVersion: v1\nkind: Pod\nmetadata: {name: standalone}\nspec: {containers: [{name: app, image: web:1}]}\n")
		svc := createLive(ctx, t, c, ns, "helm", "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {clusterIP: None, selector: {app: web}, ports: [{port: 80}]}\n")
		createLive(ctx, t, c, ns, "endpointslice-controller.k8s.io", fmt.Sprintf(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {generateName: web-, labels: {kubernetes.io/service-name: web}, ownerReferences: %s}
addressType: IPv4
endpoints: []
`, ownerRef(svc)))
	}
	// Only dev was restarted, and only dev has a Pod made by hand.
	if err := bed.Dev.Edit(ctx, schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, ns, "web", "kubectl-rollout", func(u *unstructured.Unstructured) error {
		return unstructured.SetNestedField(u.Object, "2026-11-29T10:00:00Z", "spec", "template", "metadata", "annotations", RestartedAtAnnotation)
	}); err != nil {
		t.Fatal(err)
	}
	createLive(ctx, t, bed.Dev, ns, "kubectl-run", "apiVersion: v1\nkind: Pod\nmetadata: {name: debug}\nspec: {containers: [{name: debug, image: busybox}]}\n")

	collect := func(c *testbed.Cluster) *Snapshot {
		s, err := Collect(ctx, c.Config, CollectOptions{Scope: Scope{Namespaces: []string{ns}}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	dev, prod := collect(bed.Dev), collect(bed.Prod)
	var devOnly []string
	for _, p := range PairObjects(dev, prod, Mapping{}) {
		switch {
		case p.Prod == nil:
			devOnly = append(devOnly, p.ID.String())
		case p.Dev == nil:
			t.Errorf("%s is in prod only", p.ID)
		default:
			if d := DiffFields(p.Dev.Object, p.Prod.Object); len(d) > 0 {
				t.Errorf("%s differs: %v", p.ID, d)
			}
			for _, m := range p.Dev.Provenance.Managers {
				if m.Manager == "kubectl-rollout" {
					t.Errorf("%s keeps the kubectl-rollout manager: %v", p.ID, m)
				}
			}
		}
	}
	if want := ns + "/Pod/debug"; len(devOnly) != 1 || devOnly[0] != want {
		t.Errorf("dev-only objects %v, want [%s]", devOnly, want)
	}
}
