package netpol

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/driftgate/driftgate/drift"
)

// realData is the shared corpus of third-party manifests (see its
// SOURCES.txt files). It lives outside the repository, so tests skip cleanly
// where it is absent.
const realData = "../../../shared/realdata"

// realDataDir returns a corpus directory or skips the test.
func realDataDir(t *testing.T, sub string) string {
	t.Helper()
	dir := filepath.Join(realData, sub)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("real data not available: %v", err)
	}
	return dir
}

// microservicesDemo reads the Online Boutique workloads, which the
// microservices-demo policies were written for.
func microservicesDemo(t *testing.T) []map[string]any {
	t.Helper()
	dir := realDataDir(t, "workloads/microservices-demo/kubernetes-manifests")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s: %v", dir, err)
	}
	var objs []map[string]any
	for _, f := range files {
		objs = append(objs, readObjects(t, f)...)
	}
	return objs
}

// TestRealPolicies loads every real policy file next to real and synthetic
// workloads: each must build, every upstream NetworkPolicy and Calico policy
// in it must be kept (Cilium's have tests of their own), and an environment
// compared with an independently
// built copy of itself must give no finding.
func TestRealPolicies(t *testing.T) {
	t.Parallel()
	dir := realDataDir(t, "networkpolicies")
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".json")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 40 {
		t.Fatalf("found %d policy files in %s, want the whole corpus", len(files), dir)
	}
	workloads := slices.Concat(microservicesDemo(t), dnsObjects(),
		[]map[string]any{
			deployment("default", "db", "role=db", ContainerPort{Name: "redis", Port: 6379}),
			deployment("default", "web", "app=web,role=frontend,access=true"),
			deployment("default", "foo", "app=foo"),
			deployment("demo", "porter", "app=porter"),
			deployment("demo", "nginx", "app=nginx", ContainerPort{Port: 80}),
		})
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		t.Run(rel, func(t *testing.T) {
			t.Parallel()
			objs := readObjects(t, f)
			upstream := 0
			for _, o := range objs {
				if o["kind"] == "NetworkPolicy" && o["apiVersion"] == "networking.k8s.io/v1" {
					upstream++
				}
				if (o["kind"] == "NetworkPolicy" || o["kind"] == "GlobalNetworkPolicy") && calicoGroup(apiGroup(o)) {
					upstream++
				}
			}
			build := func() *Environment {
				env, err := Build(slices.Concat(workloads, readObjects(t, f)))
				if err != nil {
					t.Fatalf("Build: %v", err)
				}
				return env
			}
			a, b := build(), build()
			kept := 0
			for _, p := range a.policies {
				if p.api == apiNetworkPolicy || p.api == apiCalicoNetworkPolicy || p.api == apiCalicoGlobalNetworkPolicy {
					kept++
				}
			}
			if kept != upstream {
				t.Errorf("kept %d NetworkPolicies and Calico policies, want the %d upstream ones", kept, upstream)
			}
			if got := Compare(a, b); len(got) != 0 {
				t.Errorf("compared with itself: %d differences, want none; first: %+v", len(got), got[0])
			}
		})
	}
}

// TestRealMicroservicesDemo compares Online Boutique with its upstream
// policies (prod) against the same workloads without them (dev): every
// difference is a block, and a few are checked by hand.
func TestRealMicroservicesDemo(t *testing.T) {
	t.Parallel()
	objs := microservicesDemo(t)
	dir := realDataDir(t, "networkpolicies/microservices-demo")
	files, _ := filepath.Glob(filepath.Join(dir, "network-policy-*.yaml"))
	var policies []map[string]any
	for _, f := range files {
		policies = append(policies, readObjects(t, f)...)
	}
	dev, err := Build(objs)
	if err != nil {
		t.Fatal(err)
	}
	prod, err := Build(slices.Concat(objs, policies))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(prod.Workloads()); got != 12 {
		t.Errorf("Online Boutique has %d workloads, want 12", got)
	}
	got := Compare(dev, prod)
	byPair := map[string]Difference{}
	for _, d := range got {
		if d.Severity != drift.SeverityBlock {
			t.Errorf("dev without policies can only be more open, got %+v", d)
		}
		byPair[d.Source.String()+" -> "+d.Destination.String()+" "+d.Direction] = d
	}
	want := map[string]Difference{
		// Only frontend and checkoutservice may call the cart, on its port.
		"default/Deployment/frontend -> default/Deployment/cartservice ingress": {
			Severity: "block", Direction: "ingress",
			Source:      Endpoint{Namespace: "default", Kind: "Deployment", Name: "frontend"},
			Destination: Endpoint{Namespace: "default", Kind: "Deployment", Name: "cartservice"},
			Port:        "any except TCP/7070", ProdPolicies: []string{"default/cartservice", "default/deny-all"},
		},
		"default/Deployment/loadgenerator -> default/Deployment/cartservice ingress": {
			Severity: "block", Direction: "ingress",
			Source:      Endpoint{Namespace: "default", Kind: "Deployment", Name: "loadgenerator"},
			Destination: Endpoint{Namespace: "default", Kind: "Deployment", Name: "cartservice"},
			Port:        "any", ProdPolicies: []string{"default/cartservice", "default/deny-all"},
		},
	}
	for k, w := range want {
		if diff := cmp.Diff(w, byPair[k], ignoreMessage); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
	// frontend is allowed everything in and out, so the internet reaching
	// it is no finding, while reaching the cart from outside is.
	if d, ok := byPair["0.0.0.0/0 -> default/Deployment/frontend ingress"]; ok {
		t.Errorf("unexpected finding for open frontend: %+v", d)
	}
	if _, ok := byPair["0.0.0.0/0 -> default/Deployment/cartservice ingress"]; !ok {
		t.Errorf("missing finding for the internet reaching the cart")
	}
	if got := Compare(prod, prod); len(got) != 0 {
		t.Errorf("prod compared with itself: %d differences, want none", len(got))
	}
}
