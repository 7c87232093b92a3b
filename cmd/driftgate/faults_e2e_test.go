package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/driftgate/driftgate/fixtures/testbed"
)

// fillConfigMaps creates n ConfigMaps in ns, concurrently.
func fillConfigMaps(t *testing.T, c *testbed.Cluster, ns string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%04d", i)}, Data: map[string]string{"k": strings.Repeat("v", 512)}}
			if _, err := c.Clientset.CoreV1().ConfigMaps(ns).Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestAPIServerStoppedMidSnapshot stops prod's API server while a snapshot
// is paging through it: exit 2, a message naming the server, no file.
func TestAPIServerStoppedMidSnapshot(t *testing.T) {
	testbed.Need(t) // fails, naming the make target, when the binaries are missing
	bed, err := testbed.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer bed.Stop()
	for _, c := range bed.Clusters() {
		if err := c.CreateNamespace(context.Background(), "load", nil); err != nil {
			t.Fatal(err)
		}
	}
	fillConfigMaps(t, bed.Prod, "load", 600)
	proxy, err := testbed.NewProxy(bed.Prod.Config)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.Delay.Store(int64(2 * time.Millisecond))
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := bed.WriteKubeconfig(kubeconfig, nil, proxy.Config(bed.Prod.Config)); err != nil {
		t.Fatal(err)
	}
	// Stop the server once the snapshot is well into the pages.
	stopped := make(chan error, 1)
	go func() {
		for proxy.Sent.Load() < 200_000 {
			time.Sleep(5 * time.Millisecond)
		}
		stopped <- bed.Prod.Stop()
	}()
	dir := t.TempDir()
	out := filepath.Join(dir, "prod.json")
	r := runCLI(t, "snapshot", "--kubeconfig", kubeconfig, "--context", "prod", "-n", "load", "--chunk-size", "5", "--concurrency", "1", "-o", out)
	select {
	case err := <-stopped:
		if err != nil {
			t.Logf("stopping prod: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the snapshot finished (exit %d) before the server was stopped; it should take longer", r.code)
	}
	t.Logf("user sees (exit %d): %s", r.code, r.stderr)
	if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, "cannot reach the API server at "+proxy.Config(bed.Prod.Config).Host) {
		t.Fatalf("exit %d, stderr %q; want 2 naming the server", r.code, r.stderr)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("a partial snapshot was left behind: %v", entries)
	}
}

// TestSlowAPIServerTimesOut puts a delay in front of dev's API server.
func TestSlowAPIServerTimesOut(t *testing.T) {
	bed := testbed.Need(t)
	proxy, err := testbed.NewProxy(bed.Dev.Config)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.Delay.Store(int64(1500 * time.Millisecond))
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := bed.WriteKubeconfig(kubeconfig, proxy.Config(bed.Dev.Config), nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "dev.json")
	start := time.Now()
	r := runCLI(t, "snapshot", "--kubeconfig", kubeconfig, "--context", "dev", "--request-timeout", "1s", "-o", out)
	t.Logf("user sees (exit %d): %s", r.code, r.stderr)
	if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, "did not answer in time (timed out; raise --request-timeout") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("took %s: the timeout did not bound the wait", took)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a snapshot file was written")
	}
}

// TestUnavailableAggregatedAPI registers an APIService whose backend does
// not exist: its group cannot be discovered, which is exit 2 with the reason.
func TestUnavailableAggregatedAPI(t *testing.T) {
	bed := testbed.Need(t)
	ctx := context.Background()
	ns := bed.Namespace(t, nil)
	apiservice := []byte(`apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1alpha1.faults.driftgate.dev}
spec:
  group: faults.driftgate.dev
  version: v1alpha1
  groupPriorityMinimum: 100
  versionPriority: 100
  insecureSkipTLSVerify: true
  service: {namespace: ` + ns + `, name: nowhere, port: 443}
`)
	if err := bed.Dev.Apply(ctx, apiservice, "", testbed.ManagerArgoCD, testbed.ServerSideApply); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := bed.Dev.Delete(context.Background(), apiservice, ""); err != nil {
			t.Error(err)
		}
	})
	out := filepath.Join(t.TempDir(), "dev.json")
	var r result
	err := testbed.WaitFor(timeout(t, 30*time.Second), func(context.Context) (bool, error) {
		r = runCLI(t, "snapshot", "--kubeconfig", bed.Kubeconfig, "--context", "dev", "-n", ns, "-o", out)
		return r.code == exitCouldNoCheck, nil
	})
	t.Logf("user sees (exit %d): %s", r.code, r.stderr)
	if err != nil || !strings.Contains(r.stderr, "faults.driftgate.dev") || !strings.Contains(r.stderr, "discovery failed") {
		t.Fatalf("exit %d, stderr %q: want 2 naming the unavailable group", r.code, r.stderr)
	}
	s := loadSnapshot(t, out)
	found := false
	for _, u := range s.Unobserved {
		found = found || u.Group == "faults.driftgate.dev"
	}
	if !found {
		t.Errorf("unobserved: %+v", s.Unobserved)
	}
}

func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestMissingKubeconfigContext points the config at a context the
// kubeconfig does not have.
func TestMissingKubeconfigContext(t *testing.T) {
	bed := testbed.Need(t)
	cfg := filepath.Join(t.TempDir(), "driftgate.yaml")
	writeTestFile(t, cfg, "apiVersion: driftgate.dev/v1alpha1\nkind: Config\nenvironments:\n  dev: {context: staging, kubeconfig: "+bed.Kubeconfig+"}\n  prod: {context: prod, kubeconfig: "+bed.Kubeconfig+"}\n")
	r := runCLI(t, "gate", "--config", cfg)
	t.Logf("user sees (exit %d): %s", r.code, r.stderr)
	if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, `dev: context "staging" not found in kubeconfig (have [dev prod])`) {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestCRDVersionRemovedBetweenDiscoveryAndList stops serving a CRD's
// version after discovery found it and before it is listed.
func TestCRDVersionRemovedBetweenDiscoveryAndList(t *testing.T) {
	bed := testbed.Need(t)
	ctx := context.Background()
	crd := []byte(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.faults.driftgate.dev}
spec:
  group: faults.driftgate.dev
  names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}
  scope: Cluster
  versions:
  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
  - {name: v1beta1, served: true, storage: false, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
`)
	for _, c := range bed.Clusters() {
		if err := c.Apply(ctx, crd, "", testbed.ManagerArgoCD, testbed.ServerSideApply); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, c := range bed.Clusters() {
			_ = c.Delete(context.Background(), crd, "")
		}
	})
	gadget := []byte("apiVersion: faults.driftgate.dev/v1\nkind: Gadget\nmetadata: {name: g1}\n")
	if err := bed.Dev.Apply(ctx, gadget, "", testbed.ManagerArgoCD, testbed.ServerSideApply); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bed.Dev.Delete(context.Background(), gadget, "") })
	unserve := func() error {
		return bed.Dev.Edit(ctx, schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}, "", "gadgets.faults.driftgate.dev", "kubectl-edit",
			func(u *unstructured.Unstructured) error {
				versions, _, _ := unstructured.NestedSlice(u.Object, "spec", "versions")
				for _, v := range versions {
					if v.(map[string]any)["name"] == "v1" {
						v.(map[string]any)["served"] = false
					}
				}
				return unstructured.SetNestedSlice(u.Object, versions, "spec", "versions")
			})
	}
	ns := bed.Namespace(t, nil)
	got, err := collectWithHook(t, bed, ns, "/apis/faults.driftgate.dev/v1/gadgets", func() {
		if err := unserve(); err != nil {
			t.Error(err)
			return
		}
		// Wait until the API server has stopped serving v1.
		_ = testbed.WaitFor(timeout(t, 20*time.Second), func(ctx context.Context) (bool, error) {
			_, err := bed.Dev.Dynamic.Resource(schema.GroupVersionResource{Group: "faults.driftgate.dev", Version: "v1", Resource: "gadgets"}).List(ctx, metav1.ListOptions{})
			return apierrors.IsNotFound(err), nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, u := range got.Unobserved {
		t.Logf("recorded as unobserved: %s: %s", u.GroupKind(), u.Reason)
		if u.Kind == "Gadget" {
			found = true
			if !strings.Contains(u.Reason, "not found (was the resource or its version removed since discovery?)") {
				t.Errorf("reason: %s", u.Reason)
			}
		}
	}
	if !found {
		t.Errorf("Gadget not unobserved: %+v", got.Unobserved)
	}
}
