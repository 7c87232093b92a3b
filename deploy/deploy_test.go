// Package deploy_test checks the manifests in deploy/ against a real API
// server: they apply, their RBAC is what `driftgate rbac` prints, and it is
// enough for a snapshot, and no more than it.
package deploy_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	authv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/config"
	"github.com/driftgate/driftgate/fixtures/testbed"
	"github.com/driftgate/driftgate/internal/golden"
)

func TestMain(m *testing.M) { os.Exit(testbed.Main(m)) }

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// driftgate builds the binary once, to run it as a user would.
func driftgate(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "driftgate-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "driftgate")
		out, err := exec.Command("go", "build", "-o", binary, "github.com/driftgate/driftgate/cmd/driftgate").CombinedOutput()
		if err != nil {
			buildErr = err
			binary = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building driftgate: %v\n%s", buildErr, binary)
	}
	return binary
}

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(driftgate(t), args...)
	cmd.Dir = t.TempDir() // no driftgate.yaml: the defaults, as in deploy/
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

func TestRBACIsWhatDriftgateRBACPrints(t *testing.T) {
	bed := testbed.Need(t)
	code, out, stderr := run(t, "rbac", "--kubeconfig", bed.Kubeconfig, "--context", "prod", "--service-account", "driftgate/driftgate")
	if code != 0 {
		t.Fatalf("driftgate rbac: exit %d: %s", code, stderr)
	}
	// go test ./deploy -update rewrites rbac.yaml from the test bed.
	golden.AssertFile(t, "rbac.yaml", []byte(out))
	for _, verb := range []string{"create", "update", "patch", "delete", "watch", `"*"`} {
		if strings.Contains(out, "- "+verb+"\n") {
			t.Errorf("the reader role grants %s", verb)
		}
	}
	for _, noise := range []string{"events\n", "leases", "endpointslices"} {
		if strings.Contains(out, "- "+noise) {
			t.Errorf("the role grants %s, which is excluded from snapshots", noise)
		}
	}
}

func TestManifestsApplyAndConfigLoads(t *testing.T) {
	bed := testbed.Need(t)
	applyDeploy(t, bed)
	var cm struct {
		Data map[string]string `json:"data"`
	}
	b, err := os.ReadFile("configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &cm); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "driftgate.yaml")
	if err := os.WriteFile(p, []byte(cm.Data["driftgate.yaml"]), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(p)
	if err != nil {
		t.Fatalf("the ConfigMap's driftgate.yaml does not load: %v", err)
	}
	if len(c.Report.Pairs) != 1 || c.Environments["dev"].Kubeconfig != "/etc/driftgate/in-cluster.kubeconfig" {
		t.Errorf("config: %+v", c)
	}
	for _, name := range []string{"driftgate-report", "driftgate-publish"} {
		if _, err := bed.Prod.Clientset.BatchV1().CronJobs("driftgate").Get(context.Background(), name, metav1.GetOptions{}); err != nil {
			t.Errorf("the CronJob %s was not created: %v", name, err)
		}
	}
}

var applyOnce sync.Once

func applyDeploy(t *testing.T, bed *testbed.Bed) {
	t.Helper()
	applyOnce.Do(func() {
		for _, f := range []string{"namespace.yaml", "serviceaccount.yaml", "rbac.yaml", "configmap.yaml", "cronjob.yaml", "publish-cronjob.yaml"} {
			if err := bed.Prod.ApplyFile(context.Background(), f, "", "driftgate-deploy", testbed.ServerSideApply); err != nil {
				t.Fatalf("applying deploy/%s: %v", f, err)
			}
		}
	})
}

// tokenKubeconfig writes a kubeconfig with context prod for the deployed
// ServiceAccount, from a fresh token.
func tokenKubeconfig(t *testing.T, bed *testbed.Bed) string {
	t.Helper()
	tok, err := bed.Prod.Clientset.CoreV1().ServiceAccounts("driftgate").CreateToken(context.Background(), "driftgate",
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &rest.Config{Host: bed.Prod.Config.Host, BearerToken: tok.Status.Token}
	cfg.CAData = bed.Prod.Config.CAData
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := bed.WriteKubeconfig(p, nil, cfg); err != nil {
		t.Fatal(err)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

func TestReaderRoleIsEnoughAndNecessary(t *testing.T) {
	bed := testbed.Need(t)
	ctx := context.Background()
	applyDeploy(t, bed)
	kubeconfig := tokenKubeconfig(t, bed)
	out := filepath.Join(t.TempDir(), "prod.json")
	code, _, stderr := run(t, "snapshot", "--kubeconfig", kubeconfig, "--context", "prod", "-o", out)
	if code != 0 {
		t.Fatalf("snapshot as the deployed ServiceAccount: exit %d: %s", code, stderr)
	}
	s, err := drift.LoadSnapshot(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Unobserved) != 0 || s.Find(drift.ObjectID{Group: "batch", Kind: "CronJob", Namespace: "driftgate", Name: "driftgate-report"}) == nil {
		t.Fatalf("unobserved %v; CronJob found: %v", s.Unobserved, s.Find(drift.ObjectID{Group: "batch", Kind: "CronJob", Namespace: "driftgate", Name: "driftgate-report"}) != nil)
	}

	// Take network policies out of the role: the snapshot must say so and exit 2.
	roles := bed.Prod.Clientset.RbacV1().ClusterRoles()
	role, err := roles.Get(ctx, "driftgate-reader", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	original := role.DeepCopy()
	for i, r := range role.Rules {
		if slices.Contains(r.APIGroups, "networking.k8s.io") {
			role.Rules[i].Resources = slices.DeleteFunc(slices.Clone(r.Resources), func(s string) bool { return s == "networkpolicies" })
		}
	}
	if _, err := roles.Update(ctx, role, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cur, err := roles.Get(context.Background(), "driftgate-reader", metav1.GetOptions{})
		if err == nil {
			cur.Rules = original.Rules
			_, _ = roles.Update(context.Background(), cur, metav1.UpdateOptions{})
		}
	})
	var lastErr string
	err = testbed.WaitFor(withTimeout(t), func(context.Context) (bool, error) {
		code, _, stderr := run(t, "snapshot", "--kubeconfig", kubeconfig, "--context", "prod", "-o", out)
		lastErr = stderr
		return code == 2 && strings.Contains(stderr, "NetworkPolicy.networking.k8s.io: forbidden"), nil
	})
	if err != nil {
		t.Fatalf("with networkpolicies removed from the role, want exit 2 naming NetworkPolicy; last stderr: %s", lastErr)
	}
}

func withTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30e9)
	t.Cleanup(cancel)
	return ctx
}
