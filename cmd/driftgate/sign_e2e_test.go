package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/driftgate/driftgate/fixtures/testbed"
)

// TestSignedSnapshotFromTheTestBed: prod, snapshotted live and signed,
// names its cluster by the kube-system uid the API server gives; a gate
// reading dev live trusts it, and refuses it when the config expects
// another cluster, as it refuses a live side that is not the expected one.
func TestSignedSnapshotFromTheTestBed(t *testing.T) {
	bed := testbed.Need(t)
	ctx := context.Background()
	ns := bed.Namespace(t, nil)
	uid := func(c *testbed.Cluster) string {
		n, err := c.Clientset.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return string(n.UID)
	}
	prodUID, devUID := uid(bed.Prod), uid(bed.Dev)
	keys := t.TempDir()
	priv, pub, _ := keyPair(t, keys, "prod")
	out := filepath.Join(t.TempDir(), "prod.json.gz")
	r := runCLI(t, "snapshot", "--kubeconfig", bed.Kubeconfig, "--context", "prod", "-n", ns, "--sign-key", priv, "--environment", "prod", "-o", out)
	if r.code != 0 || !strings.Contains(r.stderr, "kube-system uid "+prodUID) {
		t.Fatalf("snapshot: exit %d: %s", r.code, r.stderr)
	}
	s := loadSnapshot(t, out)
	if s.Metadata.Cluster == nil || s.Metadata.Cluster.UID != prodUID || s.Metadata.Cluster.Server != bed.Prod.Config.Host || s.Signature == nil {
		t.Fatalf("cluster %+v, signature %v; want uid %s server %s", s.Metadata.Cluster, s.Signature, prodUID, bed.Prod.Config.Host)
	}
	tests := []struct {
		name, env string
		code      int
		msg       string
	}{
		{"trusted, no cluster expected", "  prod: {snapshot: " + out + ", trust: " + pub + "}\n", exitPass, ""},
		{"trusted, prod's cluster expected", "  prod: {snapshot: " + out + ", trust: " + pub + ", cluster: {uid: " + prodUID + "}}\n", exitPass, ""},
		{"trusted, dev's cluster expected", "  prod: {snapshot: " + out + ", trust: " + pub + ", cluster: {uid: " + devUID + "}}\n", exitCouldNoCheck, "not the expected cluster: the snapshot is of " + bed.Prod.Config.Host},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "driftgate.yaml")
			writeTestFile(t, cfg, "apiVersion: driftgate.dev/v1alpha1\nkind: Config\nenvironments:\n  dev: {context: dev, kubeconfig: "+bed.Kubeconfig+", cluster: {uid: "+devUID+"}}\n"+tt.env+"scope: {namespaces: ["+ns+"]}\n")
			r := runCLI(t, "gate", "--config", cfg, "--max-age", "1h")
			// Trusted, the comparison runs: the shared bed's cluster-scoped
			// objects, which other tests change at the same time, may make
			// it block, but never could-not-check.
			code := r.code
			if tt.code == exitPass && code == exitBlocked {
				code = exitPass
			}
			if code != tt.code || !strings.Contains(r.stderr, tt.msg) || tt.code == exitPass && strings.Contains(r.stderr, "not trusted") {
				t.Errorf("exit %d, want %d; stderr %q, want it to say %q", r.code, tt.code, r.stderr, tt.msg)
			}
		})
	}
	t.Run("live side is not the expected cluster", func(t *testing.T) {
		cfg := liveConfig(t, bed.Kubeconfig, ns, "")
		cfg2 := filepath.Join(filepath.Dir(cfg), "expect.yaml")
		writeTestFile(t, cfg2, "apiVersion: driftgate.dev/v1alpha1\nkind: Config\nenvironments:\n  dev: {context: dev, kubeconfig: "+bed.Kubeconfig+"}\n  prod: {context: dev, kubeconfig: "+bed.Kubeconfig+", cluster: {uid: "+prodUID+"}}\nscope: {namespaces: ["+ns+"]}\n")
		r := runCLI(t, "gate", "--config", cfg2)
		if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, "prod (context dev): not the expected cluster: the cluster is "+bed.Dev.Config.Host+" (kube-system uid "+devUID+")") {
			t.Errorf("exit %d; stderr %q", r.code, r.stderr)
		}
	})
}

// TestSignedSnapshotNeedsClusterIdentity: an identity that may not read
// namespaces takes no signed snapshot, and is told what to grant.
func TestSignedSnapshotNeedsClusterIdentity(t *testing.T) {
	bed := testbed.Need(t)
	ctx := context.Background()
	ns := bed.Namespace(t, nil)
	cleanup, err := bed.Prod.GrantReadExcept(ctx, "no-namespaces", schema.GroupResource{Resource: "namespaces"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	cfg, err := bed.Prod.UserConfig("no-namespaces")
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := bed.WriteKubeconfig(kubeconfig, cfg, nil); err != nil {
		t.Fatal(err)
	}
	priv, _, _ := keyPair(t, t.TempDir(), "prod")
	out := filepath.Join(t.TempDir(), "prod.json")
	r := runCLI(t, "snapshot", "--kubeconfig", kubeconfig, "-n", ns, "--sign-key", priv, "--environment", "prod", "-o", out)
	if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, "the kube-system namespace could not be read; grant get on namespaces/kube-system") {
		t.Errorf("exit %d; stderr %q", r.code, r.stderr)
	}
}
