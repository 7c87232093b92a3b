package netpol

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Endpoint names in the probe-style fixture: namespaces x and y, pods a and b
// in each, and the external atoms every environment has.
const (
	xa = "x/Deployment/a"
	xb = "x/Deployment/b"
	ya = "y/Deployment/a"
	yb = "y/Deployment/b"
	v4 = "0.0.0.0/0"
	v6 = "::/0"
)

// probeObjects is a small dual-stack cluster in the spirit of the upstream
// conformance probe: pods a serve TCP 80 and UDP 81 under names, pods b serve
// the same TCP name on 8080, so a named port resolves differently per
// destination. A dual-stack Service makes external IPv6 an endpoint.
func probeObjects() []map[string]any {
	aPorts := []ContainerPort{{Name: "serve-80-tcp", Port: 80}, {Name: "serve-81-udp", Port: 81, Protocol: "UDP"}}
	bPorts := []ContainerPort{{Name: "serve-80-tcp", Port: 8080}}
	return []map[string]any{
		namespace("x", "ns=x"),
		namespace("y", "ns=y"),
		deployment("x", "a", "pod=a", aPorts...),
		deployment("x", "b", "pod=b", bPorts...),
		deployment("y", "a", "pod=a", aPorts...),
		deployment("y", "b", "pod=b", bPorts...),
		dualStackService("x", "web"),
	}
}

func dualStackService(ns, name string) map[string]any {
	return map[string]any{
		"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     map[string]any{"ipFamilies": []any{"IPv4", "IPv6"}, "selector": map[string]any{"pod": "a"}},
	}
}

// from maps every source to dst with the same allowed ports.
func from(dst, ports string, srcs ...string) map[string]string {
	out := map[string]string{}
	for _, s := range srcs {
		out[s+" -> "+dst] = ports
	}
	return out
}

// to maps src to every destination with the same allowed ports.
func to(src, ports string, dsts ...string) map[string]string {
	out := map[string]string{}
	for _, d := range dsts {
		out[src+" -> "+d] = ports
	}
	return out
}

// merge joins expectation maps.
func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// TestConnectivity pins the semantics of single policy sets against
// connectivity stated by hand: every pair not listed is allowed on any port.
func TestConnectivity(t *testing.T) {
	t.Parallel()
	all := []string{xa, xb, ya, yb, v4, v6}
	tests := []struct {
		name     string
		policies string
		want     map[string]string
	}{
		{
			name: "no policies allow everything",
			want: map[string]string{},
		},
		{
			name:     "default deny ingress isolates every pod of its namespace",
			policies: policyDoc("x", "deny", `{podSelector: {}}`),
			want:     merge(from(xa, "none", all...), from(xb, "none", all...)),
		},
		{
			name: "podSelector peer means the policy's own namespace",
			policies: policyDoc("x", "a-from-b", `
podSelector: {matchLabels: {pod: a}}
ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]`),
			want: from(xa, "none", xa, ya, yb, v4, v6),
		},
		{
			name: "namespaceSelector peer means every pod of the namespaces",
			policies: policyDoc("x", "a-from-y", `
podSelector: {matchLabels: {pod: a}}
ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]}]`),
			want: from(xa, "none", xa, xb, v4, v6),
		},
		{
			name: "namespaceSelector and podSelector in one peer intersect",
			policies: policyDoc("x", "a-from-y-b", `
podSelector: {matchLabels: {pod: a}}
ingress:
- from:
  - namespaceSelector: {matchLabels: {ns: "y"}}
    podSelector: {matchLabels: {pod: b}}`),
			want: from(xa, "none", xa, xb, ya, v4, v6),
		},
		{
			name: "namespaceSelector and podSelector as two peers unite",
			policies: policyDoc("x", "a-from-y-or-b", `
podSelector: {matchLabels: {pod: a}}
ingress:
- from:
  - namespaceSelector: {matchLabels: {ns: "y"}}
  - podSelector: {matchLabels: {pod: b}}`),
			want: from(xa, "none", xa, v4, v6),
		},
		{
			name: "named ingress port resolves against the selected pod",
			policies: policyDoc("x", "web", `
podSelector: {}
ingress: [{ports: [{port: serve-80-tcp}]}]`),
			want: merge(from(xa, "TCP/80", all...), from(xb, "TCP/8080", all...)),
		},
		{
			name: "named port needs the container port's protocol",
			policies: policyDoc("x", "web-udp", `
podSelector: {matchLabels: {pod: a}}
ingress: [{ports: [{port: serve-80-tcp, protocol: UDP}]}]`),
			want: from(xa, "none", all...),
		},
		{
			name: "named egress port resolves against the destination pod",
			policies: policyDoc("x", "out-web", `
podSelector: {matchLabels: {pod: a}}
policyTypes: [Egress]
egress: [{ports: [{port: serve-80-tcp}]}]`),
			want: merge(
				to(xa, "TCP/80", xa, ya),
				to(xa, "TCP/8080", xb, yb),
				to(xa, "none", v4, v6),
			),
		},
		{
			name: "endPort allows a range",
			policies: policyDoc("x", "range", `
podSelector: {matchLabels: {pod: a}}
ingress: [{ports: [{port: 5000, endPort: 5010}]}]`),
			want: from(xa, "TCP/5000-5010", all...),
		},
		{
			name: "protocols are distinct and a port-less entry means every port",
			policies: policyDoc("x", "protos", `
podSelector: {matchLabels: {pod: a}}
ingress: [{ports: [{protocol: SCTP, port: 80}, {protocol: UDP}]}]`),
			want: from(xa, "UDP/1-65535, SCTP/80", all...),
		},
		{
			name: "rules of a direction missing from policyTypes are ignored",
			policies: policyDoc("x", "egress-only", `
podSelector: {matchLabels: {pod: a}}
policyTypes: [Egress]
egress: [{}]
ingress: [{from: [{podSelector: {matchLabels: {pod: nobody}}}]}]`),
			want: map[string]string{},
		},
		{
			name: "egress rules without policyTypes isolate both directions",
			policies: policyDoc("x", "defaulted", `
podSelector: {matchLabels: {pod: a}}
egress: [{to: [{podSelector: {}}]}]`),
			want: merge(from(xa, "none", all...), to(xa, "none", ya, yb, v4, v6)),
		},
		{
			name: "an empty egress list without policyTypes isolates ingress only",
			policies: policyDoc("x", "empty-egress", `
podSelector: {matchLabels: {pod: a}}
egress: []`),
			want: from(xa, "none", all...),
		},
		{
			name: "ipBlock except carves an atom out of the block",
			policies: policyDoc("x", "ten", `
podSelector: {matchLabels: {pod: a}}
policyTypes: [Egress]
egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]}]`),
			// The atoms are 0.0.0.0/0 except 10.0.0.0/8, 10.0.0.0/8 except
			// 10.1.0.0/16, 10.1.0.0/16 and ::/0.
			want: to(xa, "none", xa, xb, ya, yb, "0.0.0.0/0 except 10.0.0.0/8", "10.1.0.0/16", v6),
		},
		{
			name: "ipBlock never matches pods",
			policies: policyDoc("x", "world", `
podSelector: {matchLabels: {pod: a}}
ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}]}]`),
			want: from(xa, "none", xa, xb, ya, yb, v6),
		},
		{
			name: "matchExpressions NotIn and Exists",
			policies: policyDoc("x", "exprs", `
podSelector: {matchExpressions: [{key: pod, operator: NotIn, values: [a]}]}
ingress: [{from: [{podSelector: {matchExpressions: [{key: pod, operator: Exists}]}}]}]`),
			want: from(xb, "none", ya, yb, v4, v6),
		},
		{
			name: "policies selecting a pod unite their rules",
			policies: policyDoc("x", "from-b", `
podSelector: {matchLabels: {pod: a}}
ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}], ports: [{port: 80}]}]`) + policyDoc("x", "from-y", `
podSelector: {matchLabels: {pod: a}}
ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}], ports: [{port: 81, protocol: UDP}]}]`),
			want: merge(
				from(xa, "TCP/80", xb),
				from(xa, "UDP/81", ya, yb),
				from(xa, "none", xa, v4, v6),
			),
		},
		{
			name: "egress and ingress must both allow",
			policies: policyDoc("x", "a-out", `
podSelector: {matchLabels: {pod: a}}
policyTypes: [Egress]
egress: [{to: [{podSelector: {matchLabels: {pod: b}}}]}]`) + policyDoc("x", "b-in", `
podSelector: {matchLabels: {pod: b}}
ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]}]`),
			want: merge(
				to(xa, "none", xa, ya, yb, v4, v6, xb),
				from(xb, "none", xb, v4, v6),
			),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := mustBuild(t, probeObjects(), tc.policies)
			if diff := cmp.Diff(tc.want, connectivity(env)); diff != "" {
				t.Errorf("connectivity (-want +got):\n%s", diff)
			}
		})
	}
}
