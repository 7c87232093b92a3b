package compare

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/driftgate/driftgate/drift/output"
	"github.com/driftgate/driftgate/rules"
)

// determinismSide writes a side whose lists differ from the other side's in
// ways with several equal-cost edit scripts (insertions, duplicates,
// reordered keyed items), with findings of every kind.
func determinismSide(t *testing.T, args, env, ports, extra string) string {
	t.Helper()
	dir := t.TempDir()
	doc := `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      tolerations: [{key: a, operator: Exists}, {key: b, operator: Exists}]
      containers:
      - name: app
        image: nginx:1.27
        args: [` + args + `]
        env: [` + env + `]
        ports: [` + ports + `]
      - {name: sidecar, image: busybox, args: [a, a, b, a]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {a: "1", b: "2"}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]
` + extra
	if err := os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The same inputs give byte-identical output in every format, every run:
// Evaluate and every renderer run 20 times each and are compared.
func TestOutputIsDeterministic(t *testing.T) {
	t.Parallel()
	sets, err := rules.Load([]string{"builtin"})
	if err != nil {
		t.Fatal(err)
	}
	dev := determinismSide(t, "x, y, x, z, x", "{name: B, value: '2'}, {name: A, value: '1'}, {name: C, value: '9'}",
		"{containerPort: 8080}, {containerPort: 53, protocol: UDP}, {containerPort: 53, protocol: TCP}",
		"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: debug, namespace: shop}\ndata: {x: y}\n")
	prod := determinismSide(t, "x, z, x, y, y, x", "{name: A, value: '1'}, {name: B, value: '3'}",
		"{containerPort: 53, protocol: TCP}, {containerPort: 8080, protocol: TCP}, {containerPort: 53, protocol: UDP}",
		"  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}]}]\n")
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	first := map[string][]byte{}
	for run := range 20 {
		res, err := Run(context.Background(), Environment{Name: "dev", Source: dev}, Environment{Name: "prod", Source: prod},
			Options{RuleSets: sets, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		if run == 0 && len(res.Findings) < 3 {
			t.Fatalf("the inputs give %d findings: too few to show anything", len(res.Findings))
		}
		for _, format := range output.Formats {
			var b bytes.Buffer
			if err := output.Render(&b, format, res, output.Options{}); err != nil {
				t.Fatal(err)
			}
			if run == 0 {
				first[format] = b.Bytes()
			} else if !bytes.Equal(first[format], b.Bytes()) {
				t.Fatalf("run %d: -o %s differs from run 0:\n%s\n---\n%s", run, format, first[format], b.Bytes())
			}
		}
	}
}
