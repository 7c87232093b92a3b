package main

import (
	"context"
	"strings"
	"testing"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/fixtures"
	"github.com/driftgate/driftgate/fixtures/testbed"
)

// seedEgress is the seed incident (prod isolates the shop's egress and lets
// it resolve names only, dev has neither) written once in each policy API
// the model reads. {ns} is the shop's namespace.
var seedEgress = []struct {
	api, policy, manifest string
}{
	{"networkpolicy", "{ns}/default-deny-egress", `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-egress}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
      podSelector: {matchLabels: {k8s-app: kube-dns}}
    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]`},
	{"clusternetworkpolicy", "ClusterNetworkPolicy seed-{ns}", `
apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: seed-{ns}}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: "{ns}"}}}
  egress:
  - name: dns
    action: Accept
    to: [{pods: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}}]
    protocols: [{udp: {destinationPort: {number: 53}}}, {tcp: {destinationPort: {number: 53}}}]
  - name: everything-else
    action: Deny
    to: [{networks: [0.0.0.0/0]}]`},
	{"calico", "Calico GlobalNetworkPolicy seed-{ns}", `
apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata: {name: seed-{ns}}
spec:
  namespaceSelector: kubernetes.io/metadata.name == '{ns}'
  types: [Egress]
  egress:
  - action: Allow
    protocol: UDP
    destination: {namespaceSelector: kubernetes.io/metadata.name == 'kube-system', selector: k8s-app == 'kube-dns', ports: [53]}
  - action: Allow
    protocol: TCP
    destination: {namespaceSelector: kubernetes.io/metadata.name == 'kube-system', selector: k8s-app == 'kube-dns', ports: [53]}`},
	{"cilium", "CiliumNetworkPolicy {ns}/seed", `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: seed}
spec:
  endpointSelector: {}
  egress:
  - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}]
    toPorts: [{ports: [{port: "53", protocol: UDP}, {port: "53", protocol: TCP}]}]`},
}

// TestIncidentProdOnlyEgressEveryAPI is TestIncidentProdOnlyEgressPolicy with
// the seed written in each policy API: each blocks with the same findings,
// port for port (DNS differs only off port 53), naming its policy.
func TestIncidentProdOnlyEgressEveryAPI(t *testing.T) {
	bed := netpolBed(t)
	for _, seed := range seedEgress {
		t.Run(seed.api, func(t *testing.T) {
			ctx := context.Background()
			ns := bed.Namespace(t, nil)
			if err := fixtures.Plant(ctx, bed, "base", ns); err != nil {
				t.Fatal(err)
			}
			manifest := []byte(strings.ReplaceAll(seed.manifest, "{ns}", ns))
			if err := bed.Prod.Apply(ctx, manifest, ns, testbed.ManagerArgoCD, testbed.ServerSideApply); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := bed.Prod.Delete(context.Background(), manifest, ns); err != nil {
					t.Errorf("cleanup: %v", err)
				}
			})
			code, res := diffJSON(t, bed, ns, "kube-system")
			if code != exitBlocked {
				t.Fatalf("exit %d, want %d; unchecked %q, findings:\n%s", code, exitBlocked, res.Unchecked, describeFindings(res))
			}
			policy := strings.ReplaceAll(seed.policy, "{ns}", ns)
			subjects := map[string]bool{}
			for _, f := range findingsOf(t, res, "network-policy") {
				subjects[f.Object.String()] = true
				if f.Severity != drift.SeverityBlock || !strings.Contains(f.Message, "dev allows egress traffic that prod denies") ||
					!strings.Contains(f.Message, policy) {
					t.Errorf("finding does not name the cause %q: %+v", policy, f)
				}
				dns := false
				for _, d := range f.Fields {
					if strings.Contains(d.Path, "kube-system/Deployment/coredns") {
						dns = true
						if d.Dev != "allowed on any except TCP/53, UDP/53" {
							t.Errorf("DNS egress should differ only off port 53: %+v", d)
						}
					}
				}
				if !dns {
					t.Errorf("no DNS destination in %+v", f.Fields)
				}
			}
			for _, w := range []string{"checkout", "payments"} {
				if !subjects[ns+"/Deployment.apps/"+w] {
					t.Errorf("no network-policy finding for %s: %v", w, subjects)
				}
			}
			for _, f := range res.Findings {
				if f.Rule != "network-policy" {
					t.Errorf("only the network-policy rule should speak: %s %s %s: %s", f.Rule, f.Kind, f.Object, f.Message)
				}
			}
		})
	}
}
