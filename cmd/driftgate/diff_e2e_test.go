package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/fixtures/testbed"
)

// realdata returns a file under ../shared/realdata, skipping when it is absent.
func realdata(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "realdata", rel))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real-world manifests not present: %v", err)
	}
	return p
}

func TestDiffRealWorkloadsOnBothClusters(t *testing.T) {
	bed := testbed.Need(t)
	ctx := context.Background()
	files := []string{
		realdata(t, "workloads/microservices-demo/release/kubernetes-manifests.yaml"),
		realdata(t, "workloads/k8s-examples-cassandra/cassandra-statefulset.yaml"),
		realdata(t, "workloads/k8s-examples-cassandra/cassandra-service.yaml"),
	}
	ns := bed.Namespace(t, nil)
	for _, c := range bed.Clusters() {
		for _, f := range files {
			if err := c.ApplyFile(ctx, f, ns, testbed.ManagerArgoCD, testbed.ServerSideApply); err != nil {
				t.Fatal(err)
			}
		}
	}

	r := runCLI(t, "diff", "context:dev", "context:prod", "--kubeconfig", bed.Kubeconfig, "-n", ns, "-o", "json")
	if r.code != exitPass {
		t.Fatalf("identical deployments: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var res drift.Result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 || res.Verdict != drift.VerdictPass {
		t.Fatalf("identical deployments gave findings: %+v", res.Findings)
	}
	if res.Dev.Objects < 40 || res.Dev.Digest == res.Prod.Digest && res.Dev.Objects == 0 {
		t.Errorf("compared only %d objects", res.Dev.Objects)
	}

	err := bed.Dev.Edit(ctx, schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, ns, "frontend", testbed.ManagerKubectlEdit,
		func(u *unstructured.Unstructured) error {
			containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
			containers[0].(map[string]any)["image"] = "example.com/frontend:hotfix"
			return unstructured.SetNestedSlice(u.Object, containers, "spec", "template", "spec", "containers")
		})
	if err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "diff", "context:dev", "context:prod", "--kubeconfig", bed.Kubeconfig, "-n", ns, "-o", "json")
	if r.code != exitBlocked {
		t.Fatalf("changed image: exit %d, want %d\n%s", r.code, exitBlocked, r.stderr)
	}
	res = drift.Result{}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Findings {
		for _, d := range f.Fields {
			got = append(got, f.Severity.String()+" "+f.Rule+" "+f.Object.String()+" "+d.Path+" "+d.DevString())
			if prod, _ := d.Prod.(string); !strings.Contains(prod, "microservices-demo/frontend:") {
				t.Errorf("prod value %q is not the manifest's image", d.Prod)
			}
		}
	}
	// Exactly that path, seen two ways: the spec differs, and kubectl-edit changed it by hand.
	want := []string{
		"block leftovers " + ns + "/Deployment.apps/frontend spec.template.spec.containers[name=server].image \"example.com/frontend:hotfix\"",
		"block workload-spec " + ns + "/Deployment.apps/frontend spec.template.spec.containers[name=server].image \"example.com/frontend:hotfix\"",
	}
	if diff := cmp.Diff(want, got); diff != "" || len(res.Findings) != 2 {
		t.Errorf("findings (-want +got):\n%s\nall: %+v", diff, res.Findings)
	}
}
