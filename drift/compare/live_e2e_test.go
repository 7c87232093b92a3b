package compare

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/output"
	"github.com/driftgate/driftgate/fixtures/testbed"
	"github.com/driftgate/driftgate/rules"
)

// liveShop is what both clusters run: a workload, its Service, a policy,
// config and a Secret.
const liveShop = `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, labels: {app: api}}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: registry.example/api:1.4.2, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: api}
spec: {selector: {app: api}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-ingress}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 8080}]}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: api-config}
data: {LOG_LEVEL: info}
`

// Both sides live: each cluster is captured to a spooled snapshot and the
// two are compared as they stream past, with the in-memory comparison's
// result byte for byte in every format; an expected cluster that is not
// the one captured is refused in the same words either way.
func TestStreamingLiveMatchesInMemory(t *testing.T) {
	bed := testbed.Need(t)
	ctx := context.Background()
	ns := bed.Namespace(t, nil)
	for _, c := range bed.Clusters() {
		if err := c.Apply(ctx, []byte(liveShop), ns, testbed.ManagerArgoCD, testbed.ServerSideApply); err != nil {
			t.Fatal(err)
		}
	}
	// Dev drifts: another image, config only it has, a Secret's value;
	// prod has a second policy dev lacks.
	devOnly := `apiVersion: v1
kind: ConfigMap
metadata: {name: debug}
data: {TRACE: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: api-token}
stringData: {token: dev-value-never-shown}
---
` + strings.SplitN(strings.Replace(liveShop, "api:1.4.2", "api:1.5.0-rc1", 1), "---\n", 2)[0]
	if err := bed.Dev.Apply(ctx, []byte(devOnly), ns, testbed.ManagerKubectlEdit, testbed.ServerSideApply); err != nil {
		t.Fatal(err)
	}
	prodOnly := `apiVersion: v1
kind: Secret
metadata: {name: api-token}
stringData: {token: prod-value-never-shown}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
`
	if err := bed.Prod.Apply(ctx, []byte(prodOnly), ns, testbed.ManagerArgoCD, testbed.ServerSideApply); err != nil {
		t.Fatal(err)
	}
	builtin, err := rules.Load([]string{"builtin"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	opts := Options{
		RuleSets: builtin,
		Scope:    drift.Scope{Namespaces: []string{ns}},
		Now:      func() time.Time { return now },
		RESTConfig: func(name, _ string) (*rest.Config, string, error) {
			for _, c := range bed.Clusters() {
				if c.Name == name {
					return c.Config, name, nil
				}
			}
			return nil, "", errors.New("no such context " + name)
		},
	}
	dev, prod := Environment{Name: "dev", Source: "context:dev"}, Environment{Name: "prod", Source: "context:prod"}
	want, err := runInMemory(ctx, dev, prod, opts, [2]*streamSide{})
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Findings) < 3 || want.Verdict != drift.VerdictBlocked {
		t.Fatalf("%d findings, verdict %s: the clusters show too little", len(want.Findings), want.Verdict)
	}
	streamed, err := streamOnly(t, dev, prod, opts)
	if err != nil {
		t.Fatalf("not streamed: %v", err)
	}
	got, err := Run(ctx, dev, prod, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range []*drift.Result{streamed, got} {
		gotOut := sameOutputs(t, want, res)
		for _, f := range output.Formats {
			for _, secret := range []string{"dev-value-never-shown", "prod-value-never-shown"} {
				if bytes.Contains(gotOut[f], []byte(secret)) {
					t.Errorf("-o %s shows a Secret's value", f)
				}
			}
		}
	}
	if got.Dev.Location != "context:dev" || got.Prod.ServerVersion == "" || got.Dev.Objects != want.Dev.Objects {
		t.Errorf("sides: %+v %+v", got.Dev, got.Prod)
	}

	// A folder of manifests against prod, given prod's server defaults:
	// loaded whole (each object is defaulted by a dry-run), spooled and
	// streamed beside the live side.
	dir := t.TempDir()
	manifests := strings.ReplaceAll(strings.ReplaceAll(liveShop, "replicas: 2", "replicas: 3"), "metadata: {name: api-config}", "metadata: {name: api-config, namespace: "+ns+"}")
	manifests = strings.ReplaceAll(manifests, "metadata: {name: api, labels: {app: api}}", "metadata: {name: api, namespace: "+ns+", labels: {app: api}}")
	manifests = strings.ReplaceAll(manifests, "metadata: {name: api}", "metadata: {name: api, namespace: "+ns+"}")
	manifests = strings.ReplaceAll(manifests, "metadata: {name: api-ingress}", "metadata: {name: api-ingress, namespace: "+ns+"}")
	if err := os.WriteFile(filepath.Join(dir, "shop.yaml"), []byte(manifests), 0o644); err != nil {
		t.Fatal(err)
	}
	folder := Environment{Name: "dev", Source: dir}
	want, err = runInMemory(ctx, folder, prod, opts, [2]*streamSide{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(want.Notes, func(n string) bool {
		return strings.Contains(n, "server defaults applied to 4 of 4 dev manifest objects")
	}) {
		t.Fatalf("notes %q: the manifests were not defaulted by prod", want.Notes)
	}
	if len(want.Findings) == 0 {
		t.Fatal("manifests against prod: no findings")
	}
	if streamed, err = streamOnly(t, folder, prod, opts); err != nil {
		t.Fatalf("not streamed: %v", err)
	}
	sameOutputs(t, want, streamed)

	// A cluster other than the one expected.
	other := prod
	other.Cluster = &drift.ClusterIdentity{UID: "00000000-0000-0000-0000-000000000000"}
	_, memErr := runInMemory(ctx, dev, other, opts, [2]*streamSide{})
	_, runErr := Run(ctx, dev, other, opts)
	if !errors.Is(runErr, drift.ErrOtherCluster) || memErr == nil || runErr.Error() != memErr.Error() {
		t.Errorf("other cluster:\n streamed:  %v\n in memory: %v", runErr, memErr)
	}
	if !strings.Contains(runErr.Error(), "prod (context prod)") {
		t.Errorf("other cluster: %v does not name the side", runErr)
	}
}
