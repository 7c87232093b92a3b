package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/incident"
	"github.com/driftgate/driftgate/fixtures"
	"github.com/driftgate/driftgate/fixtures/testbed"
)

// diffJSON runs driftgate diff on the two test-bed clusters over namespaces
// and returns the exit code and result.
func diffJSON(t *testing.T, bed *testbed.Bed, namespaces ...string) (int, drift.Result) {
	t.Helper()
	args := []string{"diff", "context:dev", "context:prod", "--kubeconfig", bed.Kubeconfig, "-o", "json"}
	for _, ns := range namespaces {
		args = append(args, "-n", ns)
	}
	r := runCLI(t, args...)
	var res drift.Result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("exit %d, output is not JSON: %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	return r.code, res
}

// plantBase deploys the shared shop to both clusters in a namespace of the
// test's own and checks that the clean state passes.
func plantBase(t *testing.T, bed *testbed.Bed) string {
	t.Helper()
	ns := bed.Namespace(t, map[string]string{"pod-security.kubernetes.io/enforce": "baseline"})
	if err := fixtures.Plant(context.Background(), bed, "base", ns); err != nil {
		t.Fatal(err)
	}
	if code, res := diffJSON(t, bed, ns, "kube-system"); code != exitPass || len(res.Findings) != 0 {
		t.Fatalf("the same state on both clusters should pass: exit %d, findings %+v", code, res.Findings)
	}
	return ns
}

// findingsOf returns the findings of one rule, failing when there are none.
func findingsOf(t *testing.T, res drift.Result, rule string) []drift.Finding {
	t.Helper()
	var out []drift.Finding
	for _, f := range res.Findings {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s finding; findings: %+v", rule, res.Findings)
	}
	return out
}

func TestIncidentProdOnlyEgressPolicy(t *testing.T) {
	bed := testbed.Need(t)
	ns := plantBase(t, bed)
	if err := fixtures.Plant(context.Background(), bed, "egress", ns); err != nil {
		t.Fatal(err)
	}
	code, res := diffJSON(t, bed, ns, "kube-system")
	if code != exitBlocked {
		t.Fatalf("exit %d, want %d", code, exitBlocked)
	}
	fs := findingsOf(t, res, "network-policy")
	subjects := map[string]bool{}
	for _, f := range fs {
		subjects[f.Object.String()] = true
		if f.Severity != drift.SeverityBlock || !strings.Contains(f.Message, "dev allows egress traffic that prod denies") ||
			!strings.Contains(f.Message, ns+"/default-deny-egress") {
			t.Errorf("finding does not name the cause: %+v", f)
		}
		dnsAllowed := false
		for _, d := range f.Fields {
			if strings.Contains(d.Path, "kube-system/Deployment/coredns") {
				dnsAllowed = true
				if d.Dev != "allowed on any except TCP/53, UDP/53" {
					t.Errorf("DNS egress should differ only off port 53: %+v", d)
				}
			}
		}
		if !dnsAllowed {
			t.Errorf("no DNS destination in %+v", f.Fields)
		}
	}
	for _, w := range []string{"checkout", "payments"} {
		if !subjects[ns+"/Deployment.apps/"+w] {
			t.Errorf("no network-policy finding for %s: %v", w, subjects)
		}
	}
	for _, f := range res.Findings {
		if f.Rule == "missing-in-dev" && f.Object.Kind == "NetworkPolicy" {
			t.Errorf("policies should be judged by traffic, not presence: %+v", f)
		}
	}
}

func TestIncidentDNSCacheAndNodeLocal(t *testing.T) {
	bed := testbed.Need(t)
	ctx := context.Background()
	ns := plantBase(t, bed)
	t.Cleanup(func() {
		// kube-system is shared by the package's tests: put it back.
		if err := fixtures.Unplant(ctx, bed, "dns"); err != nil {
			t.Error(err)
		}
		if err := fixtures.Plant(ctx, bed, "base", ns); err != nil {
			t.Error(err)
		}
	})
	if err := fixtures.Plant(ctx, bed, "dns", ns); err != nil {
		t.Fatal(err)
	}
	code, res := diffJSON(t, bed, ns, "kube-system")
	if code != exitBlocked {
		t.Fatalf("exit %d, want %d", code, exitBlocked)
	}
	var corefile, nodeLocal *drift.Finding
	for _, f := range findingsOf(t, res, "dns") {
		switch f.Object.String() {
		case "kube-system/ConfigMap/coredns":
			corefile = &f
		case "kube-system/DaemonSet.apps/node-local-dns":
			nodeLocal = &f
		}
	}
	if corefile == nil || nodeLocal == nil {
		t.Fatalf("want findings on the coredns ConfigMap and the node-local-dns DaemonSet: %+v", res.Findings)
	}
	got := map[string][2]any{}
	for _, d := range corefile.Fields {
		got[d.Path] = [2]any{d.Dev, d.Prod}
	}
	for path, want := range map[string][2]any{
		"data.Corefile > .:53 > cache > success > ttl": {"30", "300"},
		"data.Corefile > .:53 > cache > denial > ttl":  {"30", "300"},
		"data.Corefile > .:53 > forward > upstreams":   {"/etc/resolv.conf", "10.96.0.53 10.96.1.53"},
	} {
		if got[path] != want {
			t.Errorf("%s: got %v, want %v", path, got[path], want)
		}
	}
	if !strings.Contains(nodeLocal.Message, "NodeLocal DNSCache runs only in prod") || nodeLocal.Severity != drift.SeverityBlock {
		t.Errorf("node-local finding: %+v", nodeLocal)
	}
	for _, f := range res.Findings {
		if f.Rule == "configmap-data" {
			t.Errorf("the Corefile should be compared semantically, not as text: %+v", f)
		}
	}
}

func TestIncidentLeftoversOnDev(t *testing.T) {
	bed := testbed.Need(t)
	ns := plantBase(t, bed)
	if err := fixtures.Plant(context.Background(), bed, "leftover", ns); err != nil {
		t.Fatal(err)
	}
	code, res := diffJSON(t, bed, ns, "kube-system")
	if code != exitBlocked {
		t.Fatalf("exit %d, want %d", code, exitBlocked)
	}
	byObject := map[string]drift.Finding{}
	for _, f := range findingsOf(t, res, "leftovers") {
		byObject[f.Object.String()] = f
	}
	debug, ok := byObject[ns+"/Deployment.apps/checkout-debug"]
	if !ok || debug.Kind != drift.FindingExtraInDev || !strings.Contains(debug.Message, "made by hand (kubectl-create)") {
		t.Errorf("checkout-debug: %+v", debug)
	}
	edited, ok := byObject[ns+"/Deployment.apps/payments"]
	if !ok || edited.Kind != drift.FindingChanged || !strings.Contains(edited.Message, "kubectl-edit (update) set spec.template.spec.containers[name=payments].image") {
		t.Fatalf("payments: %+v", edited)
	}
	if len(edited.Fields) != 1 || edited.Fields[0].Dev != "registry.example.com/shop/payments:1.9.1-hotfix" || edited.Fields[0].Prod != "registry.example.com/shop/payments:1.9.0" {
		t.Errorf("payments fields: %+v", edited.Fields)
	}
	if len(byObject) != 2 {
		t.Errorf("leftover findings beyond the two planted: %v", byObject)
	}
}

func TestOverrideCreatesEventInProd(t *testing.T) {
	bed := testbed.Need(t)
	ctx := context.Background()
	ns := plantBase(t, bed)
	if err := fixtures.Plant(ctx, bed, "leftover", ns); err != nil {
		t.Fatal(err)
	}
	cfg := liveConfig(t, bed.Kubeconfig, ns, `override:
  allowedBy: ['group:system:masters']
incidents:
  dir: ./incidents
  hooks:
  - {type: kubernetes-event, environment: prod, required: true}
`)
	r := runCLI(t, "gate", "--config", cfg, "--override", goodReason, "--ticket", "INC-3", "--override-by", "alice")
	if r.code != exitPass {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	recs, err := (&incident.Store{Dir: filepath.Join(filepath.Dir(cfg), "incidents")}).List()
	if err != nil || len(recs) != 1 {
		t.Fatalf("records: %v %v", recs, err)
	}
	ev, err := bed.Prod.Clientset.EventsV1().Events(ns).Get(ctx, strings.ToLower(recs[0].ID), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("no Event for %s in prod's %s: %v", recs[0].ID, ns, err)
	}
	if ev.Reason != "GateOverridden" || ev.Type != "Warning" || ev.ReportingController != "driftgate.dev/gate" ||
		ev.Regarding.Namespace != ns || !strings.Contains(ev.Note, recs[0].ID) || !strings.Contains(ev.Note, "INC-3") {
		t.Errorf("event: %+v", ev)
	}
	if _, err := bed.Dev.Clientset.EventsV1().Events(ns).Get(ctx, strings.ToLower(recs[0].ID), metav1.GetOptions{}); err == nil {
		t.Errorf("the Event went to dev too")
	}
}
