package main

import (
	"context"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/fixtures/testbed"
)

// TestDiffHelmRenderedForLiveServer: a chart compared with a live cluster
// is rendered for that cluster: .Capabilities.KubeVersion is the test
// bed's server version and .Capabilities.APIVersions what it serves, so
// the chart's output matches what the cluster runs.
func TestDiffHelmRenderedForLiveServer(t *testing.T) {
	bed := testbed.Need(t)
	ctx := context.Background()
	sv, err := bed.Prod.Clientset.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if sv.GitVersion == chartutil.DefaultCapabilities.KubeVersion.Version {
		t.Fatalf("the test bed runs Helm's default version %s: the test could not tell them apart", sv.GitVersion)
	}
	ns := bed.Namespace(t, nil)
	// What the chart's cluster-info template gives on this server,
	// written by hand and deployed to prod.
	live := `apiVersion: v1
kind: ConfigMap
metadata: {name: shop-cluster-info}
data:
  kubeVersion: "` + sv.GitVersion + `"
  networkPolicyAPI: "true"
`
	if err := bed.Prod.Apply(ctx, []byte(live), ns, testbed.ManagerArgoCD, testbed.ServerSideApply); err != nil {
		t.Fatal(err)
	}

	r := runCLI(t, "diff", "helm:"+shopChart, "context:prod", "--kubeconfig", bed.Kubeconfig, "-n", ns, "--release-namespace", ns, "-o", "json")
	res := decodeResult(t, r)
	if r.code == exitCouldNoCheck {
		t.Fatalf("could not check:\n%s%s", r.stdout, r.stderr)
	}
	for _, f := range res.Findings {
		if f.Object.Name == "shop-cluster-info" {
			t.Errorf("the chart was not rendered for the live server: %s %s %+v", f.Kind, f.Object, f.Fields)
		}
	}
	var missing []string
	for _, f := range res.Findings {
		if f.Kind == drift.FindingMissingInDev || f.Kind == drift.FindingExtraInDev {
			missing = append(missing, f.Object.Kind+"/"+f.Object.Name)
		}
	}
	if len(missing) == 0 {
		t.Errorf("the chart's other objects, absent from prod, gave no finding: the comparison proves nothing\n%s", r.stdout)
	}
	want := "dev: helm:" + shopChart + " rendered for Kubernetes " + sv.GitVersion + " (.Capabilities.KubeVersion), the server version of the other side (" + sv.GitVersion + ")"
	found := false
	for _, n := range res.Notes {
		found = found || n == want
	}
	if !found {
		t.Errorf("notes do not say which version the chart was rendered for:\n%s\nwant %q", strings.Join(res.Notes, "\n"), want)
	}
}
