package netpol

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// cnpDoc writes a CiliumNetworkPolicy of namespace ns with the given spec,
// formatted like policyDoc.
func cnpDoc(ns, name, spec string) string {
	spec = strings.ReplaceAll(strings.TrimPrefix(spec, "\n"), "\n", "\n  ")
	return fmt.Sprintf("---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: %q, namespace: %q}\nspec:\n  %s\n", name, ns, spec)
}

// ccnpDoc writes a CiliumClusterwideNetworkPolicy with the given spec.
func ccnpDoc(name, spec string) string {
	spec = strings.ReplaceAll(strings.TrimPrefix(spec, "\n"), "\n", "\n  ")
	return fmt.Sprintf("---\napiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: %q}\nspec:\n  %s\n", name, spec)
}

// TestCiliumConnectivity pins Cilium's semantics on the probe fixture, one
// policy set at a time; every pair not listed is allowed on any port.
func TestCiliumConnectivity(t *testing.T) {
	t.Parallel()
	all := []string{xa, xb, ya, yb, v4, v6}
	tests := []struct {
		name     string
		policies string
		want     map[string]string
	}{
		{
			name: "fromEndpoints stays in the policy's namespace",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
ingress: [{fromEndpoints: [{matchLabels: {pod: b}}]}]`),
			want: from(xa, "none", xa, ya, yb, v4, v6),
		},
		{
			name: "fromEndpoints naming the namespace label reaches across namespaces",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
ingress: [{fromEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": "y", "k8s:pod": b}}]}]`),
			want: from(xa, "none", xa, xb, ya, v4, v6),
		},
		{
			name: "fromEndpoints by namespace labels selects in every namespace they match",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
ingress: [{fromEndpoints: [{matchLabels: {io.cilium.k8s.namespace.labels.ns: "y"}}]}]`),
			want: from(xa, "none", xa, xb, v4, v6),
		},
		{
			name: "an empty fromEndpoints selector is the policy's namespace",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
ingress: [{fromEndpoints: [{}]}]`),
			want: from(xa, "none", ya, yb, v4, v6),
		},
		{
			name: "a clusterwide policy's empty fromEndpoints selector is every pod",
			policies: ccnpDoc("p", `
endpointSelector: {matchLabels: {pod: a}}
ingress: [{fromEndpoints: [{}]}]`),
			want: merge(from(xa, "none", v4, v6), from(ya, "none", v4, v6)),
		},
		{
			name: "a clusterwide policy selecting by namespace label",
			policies: ccnpDoc("p", `
endpointSelector: {matchLabels: {io.cilium.k8s.namespace.labels.ns: "x"}}
ingress: [{}]`),
			want: merge(from(xa, "none", all...), from(xb, "none", all...)),
		},
		{
			name: "the endpointSelector's namespace match is the policy's own",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {"k8s:io.kubernetes.pod.namespace": "y", pod: a}}
ingress: [{}]`),
			want: from(xa, "none", all...),
		},
		{
			name:     "an empty rule isolates and allows nothing",
			policies: cnpDoc("x", "p", `{endpointSelector: {}, ingress: [{}]}`),
			want:     merge(from(xa, "none", all...), from(xb, "none", all...)),
		},
		{
			name:     "an empty rule list does not isolate",
			policies: cnpDoc("x", "p", `{endpointSelector: {}, ingress: []}`),
			want:     map[string]string{},
		},
		{
			name: "a deny-only policy isolates too",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
ingressDeny: [{fromEndpoints: [{matchLabels: {pod: b}}]}]`),
			want: from(xa, "none", all...),
		},
		{
			name: "enableDefaultDeny false denies only what is denied",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
enableDefaultDeny: {ingress: false}
ingressDeny: [{fromEndpoints: [{matchLabels: {pod: b}}]}]`),
			want: from(xa, "none", xb),
		},
		{
			name: "enableDefaultDeny false makes allow rules allow nothing new",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
enableDefaultDeny: {ingress: false, egress: true}
ingress: [{fromEndpoints: [{matchLabels: {pod: b}}]}]`),
			want: map[string]string{},
		},
		{
			name: "deny beats allow in the same policy",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
ingress: [{fromEntities: [all]}]
ingressDeny: [{fromEndpoints: [{matchLabels: {pod: b}}], toPorts: [{ports: [{port: "80", protocol: TCP}]}]}]`),
			want: from(xa, "any except TCP/80", xb),
		},
		{
			name: "entity world is every external address",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
ingress: [{fromEntities: [world]}]`),
			want: from(xa, "none", xa, xb, ya, yb),
		},
		{
			name: "entity cluster is every pod",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
ingress: [{fromEntities: [cluster]}]`),
			want: from(xa, "none", v4, v6),
		},
		{
			name: "entity all is everything",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
egress: [{toEntities: [all]}]`),
			want: map[string]string{},
		},
		{
			name: "entity host is no endpoint of the model",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
egress: [{toEntities: [host, kube-apiserver]}]`),
			want: to(xa, "none", all...),
		},
		{
			name: "toCIDRSet with except",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
egress: [{toCIDRSet: [{cidr: 10.0.0.0/8, except: [10.96.0.0/12]}]}]`),
			want: to(xa, "none", xa, xb, ya, yb, "0.0.0.0/0 except 10.0.0.0/8", "10.96.0.0/12", v6),
		},
		{
			name: "toCIDR does not reach pods",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
egress: [{toCIDR: [0.0.0.0/0]}]`),
			want: to(xa, "none", xa, xb, ya, yb, v6),
		},
		{
			name: "toPorts without peers allows every peer, named ports resolve per pod",
			policies: cnpDoc("x", "p", `
endpointSelector: {}
ingress: [{toPorts: [{ports: [{port: serve-80-tcp}]}]}]`),
			want: merge(from(xa, "TCP/80", all...), from(xb, "TCP/8080", all...)),
		},
		{
			name: "protocol ANY with a port range",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
ingress: [{toPorts: [{ports: [{port: "5000", endPort: 5002, protocol: ANY}]}]}]`),
			want: from(xa, "TCP/5000-5002, UDP/5000-5002, SCTP/5000-5002", all...),
		},
		{
			name: "port 0 is every port of its protocol",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
ingress: [{toPorts: [{ports: [{port: "0", protocol: UDP}]}]}]`),
			want: from(xa, "UDP/1-65535", all...),
		},
		{
			name: "a rule with icmps alone allows nothing the model has",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
ingress: [{icmps: [{fields: [{type: 8}]}]}]`),
			want: from(xa, "none", all...),
		},
		{
			name: "an L7 rule keeps its L4 allow",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
ingress:
- fromEndpoints: [{matchLabels: {pod: b}}]
  toPorts: [{ports: [{port: "80", protocol: TCP}], rules: {http: [{method: GET, path: /public}]}}]`),
			want: merge(from(xa, "none", xa, ya, yb, v4, v6), from(xa, "TCP/80", xb)),
		},
		{
			name: "toFQDNs allows nothing the model has",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
egress: [{toFQDNs: [{matchName: api.example.com}]}]`),
			want: to(xa, "none", all...),
		},
		{
			name: "each entry of specs is a rule of its own",
			policies: `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: x}
specs:
- {endpointSelector: {matchLabels: {pod: a}}, ingress: [{}]}
- {endpointSelector: {matchLabels: {pod: b}}, egress: [{}]}`,
			want: merge(from(xa, "none", all...), to(xb, "none", all...)),
		},
		{
			name: "a reserved label in a peer selector matches no pod",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
ingress: [{fromEndpoints: [{matchLabels: {"reserved:host": ""}}]}]`),
			want: from(xa, "none", all...),
		},
		{
			name: "a requirement that a reserved label is absent holds for every pod",
			policies: cnpDoc("x", "p", `
endpointSelector: {matchExpressions: [{key: "reserved:host", operator: DoesNotExist}]}
ingress: [{}]`),
			want: merge(from(xa, "none", all...), from(xb, "none", all...)),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := connectivity(mustBuild(t, probeObjects(), tc.policies))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("connectivity (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCiliumEquivalent lists Cilium policies written differently, or in
// another API, that allow the same connections: none may give a finding.
func TestCiliumEquivalent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		dev, prod string
	}{
		{
			name: "matchLabels and matchExpressions",
			dev: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
ingress: [{fromEndpoints: [{matchLabels: {pod: b}}]}]`),
			prod: cnpDoc("x", "p", `
endpointSelector: {matchExpressions: [{key: pod, operator: In, values: [a]}]}
ingress: [{fromEndpoints: [{matchExpressions: [{key: "k8s:pod", operator: In, values: [b]}]}]}]`),
		},
		{
			name: "source prefixes k8s and any, or none",
			dev: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {"any:pod": a}}
egress: [{toEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": "y"}}]}]`),
			prod: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
egress: [{toEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: "y"}}]}]`),
		},
		{
			name: "a CiliumNetworkPolicy and the NetworkPolicy it rewrites",
			dev: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
ingress:
- fromEndpoints: [{matchLabels: {pod: b}}]
  toPorts: [{ports: [{port: "80", protocol: TCP}]}]
- fromCIDRSet: [{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}]`),
			prod: policyDoc("x", "p", `
podSelector: {matchLabels: {pod: a}}
ingress:
- from: [{podSelector: {matchLabels: {pod: b}}}]
  ports: [{port: 80}]
- from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]`),
		},
		{
			name: "a clusterwide policy confined to a namespace and a namespaced one",
			dev: ccnpDoc("p", `
endpointSelector: {matchLabels: {io.kubernetes.pod.namespace: "x", pod: a}}
egress: [{toEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: "x"}}]}]`),
			prod: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
egress: [{toEndpoints: [{}]}]`),
		},
		{
			name: "a default-allow policy and no policy",
			dev:  "",
			prod: cnpDoc("x", "p", `
endpointSelector: {}
enableDefaultDeny: {ingress: false, egress: false}
ingress: [{fromEndpoints: [{}]}]
egress: [{toEntities: [world]}]`),
		},
		{
			name: "toCIDR and toCIDRSet without except",
			dev: cnpDoc("x", "p", `
endpointSelector: {}
egress: [{toCIDR: [192.0.2.0/24]}]`),
			prod: cnpDoc("x", "p", `
endpointSelector: {}
egress: [{toCIDRSet: [{cidr: 192.0.2.0/24}]}]`),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dev := mustBuild(t, probeObjects(), tc.dev)
			prod := mustBuild(t, probeObjects(), tc.prod)
			if got := Compare(dev, prod); len(got) != 0 {
				t.Errorf("Compare found %d differences, want none:\n%s", len(got), cmp.Diff([]Difference(nil), got))
			}
			if got := Compare(prod, dev); len(got) != 0 {
				t.Errorf("Compare(prod, dev) found %d differences, want none:\n%s", len(got), cmp.Diff([]Difference(nil), got))
			}
		})
	}
}

// TestCiliumFindings states by hand the differences of Cilium policy sets.
func TestCiliumFindings(t *testing.T) {
	t.Parallel()
	allowAll := policyDoc("x", "allow-all", `
podSelector: {matchLabels: {pod: a}}
ingress: [{}]`)
	denyB := cnpDoc("x", "deny-b", `
endpointSelector: {matchLabels: {pod: a}}
ingress: [{fromEndpoints: [{matchLabels: {pod: b}}]}]
ingressDeny: [{fromEndpoints: [{matchLabels: {pod: b}}]}]`)
	fromFrontend := cnpDoc("x", "a-from-frontend", `
endpointSelector: {matchLabels: {pod: a}}
ingress: [{fromEndpoints: [{matchLabels: {role: frontend}}]}]`)
	tests := []struct {
		name              string
		devObjs, prodObjs []map[string]any
		dev, prod         string
		want              []Difference
	}{
		{
			name: "an ingressDeny beats a NetworkPolicy allow and a Cilium allow",
			dev:  allowAll,
			prod: allowAll + denyB,
			want: []Difference{{
				Severity: "block", Direction: "ingress", Source: epXB, Destination: epXA, Port: "any",
				DevPolicies: []string{"x/allow-all"}, ProdPolicies: []string{"CiliumNetworkPolicy x/deny-b"},
			}},
		},
		{
			name: "the same text over differently labelled pods",
			devObjs: []map[string]any{
				namespace("x", "ns=x"), deployment("x", "a", "pod=a"), deployment("x", "b", "pod=b,role=frontend"),
			},
			prodObjs: []map[string]any{
				namespace("x", "ns=x"), deployment("x", "a", "pod=a"), deployment("x", "b", "pod=b"),
			},
			dev:  fromFrontend,
			prod: fromFrontend,
			want: []Difference{{
				Severity: "block", Direction: "ingress", Source: epXB, Destination: epXA, Port: "any",
				DevPolicies:  []string{"CiliumNetworkPolicy x/a-from-frontend"},
				ProdPolicies: []string{"CiliumNetworkPolicy x/a-from-frontend"},
			}},
		},
		{
			name: "the same clusterwide text over differently labelled namespaces",
			devObjs: []map[string]any{
				namespace("x", "ns=x"), namespace("y", "team=payments"), deployment("x", "a", "pod=a"), deployment("y", "b", "pod=b"),
			},
			prodObjs: []map[string]any{
				namespace("x", "ns=x"), namespace("y", "team=search"), deployment("x", "a", "pod=a"), deployment("y", "b", "pod=b"),
			},
			dev: ccnpDoc("from-payments", `
endpointSelector: {matchLabels: {pod: a}}
ingress: [{fromEndpoints: [{matchLabels: {io.cilium.k8s.namespace.labels.team: payments}}]}]`),
			prod: ccnpDoc("from-payments", `
endpointSelector: {matchLabels: {pod: a}}
ingress: [{fromEndpoints: [{matchLabels: {io.cilium.k8s.namespace.labels.team: payments}}]}]`),
			want: []Difference{{
				Severity: "block", Direction: "ingress", Source: epYB, Destination: epXA, Port: "any",
				DevPolicies:  []string{"CiliumClusterwideNetworkPolicy from-payments"},
				ProdPolicies: []string{"CiliumClusterwideNetworkPolicy from-payments"},
			}},
		},
		{
			name: "a prod-only egress deny",
			prod: cnpDoc("x", "no-internet", `
endpointSelector: {}
enableDefaultDeny: {egress: false}
egressDeny: [{toEntities: [world]}]`),
			want: func() []Difference {
				var out []Difference
				for _, src := range []Endpoint{epXA, epXB} {
					for _, dst := range []Endpoint{epV4, epV6} {
						out = append(out, Difference{
							Severity: "block", Direction: "egress", Source: src, Destination: dst, Port: "any",
							ProdPolicies: []string{"CiliumNetworkPolicy x/no-internet"},
						})
					}
				}
				return out
			}(),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			devObjs, prodObjs := tc.devObjs, tc.prodObjs
			if devObjs == nil {
				devObjs, prodObjs = probeObjects(), probeObjects()
			}
			got := Compare(mustBuild(t, devObjs, tc.dev), mustBuild(t, prodObjs, tc.prod))
			if diff := cmp.Diff(tc.want, got, ignoreMessage); diff != "" {
				t.Errorf("Compare (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCiliumDenyMessage pins how a finding reads when a Cilium deny decides.
func TestCiliumDenyMessage(t *testing.T) {
	t.Parallel()
	dev := mustBuild(t, probeObjects(), "")
	prod := mustBuild(t, probeObjects(), cnpDoc("x", "deny-b", `
endpointSelector: {matchLabels: {pod: a}}
enableDefaultDeny: {ingress: false}
ingressDeny: [{fromEndpoints: [{matchLabels: {pod: b}}]}]`))
	var got []string
	for _, d := range Compare(dev, prod) {
		got = append(got, d.Message)
	}
	want := []string{"dev allows x/Deployment/b to reach x/Deployment/a on any port, but prod denies it at ingress: " +
		"policy CiliumNetworkPolicy x/deny-b denies it, while in dev no ingress policy selects x/Deployment/a"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

// opaqueOf lists the undecidable conditions of workload w's chain in one
// direction, as "policy: effect: text".
func opaqueOf(env *Environment, w string, egress bool) []string {
	u := newUniverse(env)
	c := u.compile(env)
	i := slices.Index(u.keys, w)
	if i < 0 {
		return []string{"no workload " + w}
	}
	ch := c.in[i]
	if egress {
		ch = c.eg[i]
	}
	var out []string
	for _, o := range ch.opaque {
		out = append(out, fmt.Sprintf("%s: %s: %s", o.policy, [...]string{"unknown", "allows", "restricts"}[o.effect], o.what))
	}
	return out
}

// TestCiliumOpaque checks what the model cannot decide is kept as text that
// does not depend on the policy's name, with the effect it can have.
func TestCiliumOpaque(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		policies string
		egress   bool
		want     []string
	}{
		{
			name: "toFQDNs widen an allow, with their ports",
			policies: cnpDoc("x", "fqdn", `
endpointSelector: {matchLabels: {pod: a}}
egress:
- toFQDNs: [{matchName: API.example.com.}, {matchPattern: "*.example.org"}]
  toPorts: [{ports: [{port: "443", protocol: TCP}]}]`),
			egress: true,
			want:   []string{"CiliumNetworkPolicy x/fqdn: allows: Allow egress to domain names api.example.com, pattern *.example.org on TCP/443"},
		},
		{
			name: "an L7 rule narrows its allow",
			policies: cnpDoc("x", "l7", `
endpointSelector: {matchLabels: {pod: a}}
ingress:
- fromEndpoints: [{matchLabels: {pod: b}}]
  toPorts: [{ports: [{port: "80", protocol: TCP}], rules: {http: [{method: GET, path: /public}]}}]`),
			want: []string{`CiliumNetworkPolicy x/l7: restricts: Allow ingress from {"fromEndpoints":[{"matchLabels":{"pod":"b"}}]} on TCP/80 only for http rules {"http":[{"method":"GET","path":"/public"}]}`},
		},
		{
			name: "entities the model has no endpoint for narrow a deny",
			policies: cnpDoc("x", "deny-host", `
endpointSelector: {matchLabels: {pod: a}}
egressDeny: [{toEntities: [remote-node, host, host]}]`),
			egress: true,
			want:   []string{"CiliumNetworkPolicy x/deny-host: restricts: Deny egress to entities host, remote-node on any port"},
		},
		{
			name: "CIDR groups and required labels",
			policies: cnpDoc("x", "groups", `
endpointSelector: {matchLabels: {pod: a}}
ingress:
- fromCIDRSet: [{cidrGroupRef: office}]
- fromRequires: [{matchLabels: {env: prod}}]`),
			want: []string{
				`CiliumNetworkPolicy x/groups: allows: Allow ingress from CIDR groups {"cidrGroupRef":"office"} on any port`,
				`CiliumNetworkPolicy x/groups: restricts: Allow ingress requiring fromRequires [{"matchLabels":{"env":"prod"}}]`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := opaqueOf(mustBuild(t, probeObjects(), tc.policies), xa, tc.egress)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("opaque conditions (-want +got):\n%s", diff)
			}
			// Renamed, the policy keeps the same texts.
			renamed := strings.Replace(tc.policies, "name: \"", "name: \"renamed-", 1)
			again := opaqueOf(mustBuild(t, probeObjects(), renamed), xa, tc.egress)
			if diff := cmp.Diff(texts(got), texts(again)); diff != "" {
				t.Errorf("texts change with the name (-want +got):\n%s", diff)
			}
		})
	}
}

// texts strips the policy from opaqueOf's lines.
func texts(lines []string) []string {
	var out []string
	for _, l := range lines {
		_, rest, _ := strings.Cut(l, ": ")
		out = append(out, rest)
	}
	return out
}

// TestCiliumHostPolicy: a host policy applies to no pod; it is kept as a
// global foreign entry compared by text, and nothing of it reaches the pods.
func TestCiliumHostPolicy(t *testing.T) {
	t.Parallel()
	env := mustBuild(t, probeObjects(), ccnpDoc("lock-down", `
description: "nodes only"
nodeSelector: {matchLabels: {role: worker}}
ingress: [{fromEntities: [remote-node]}, {fromCIDR: [192.168.33.0/24], toPorts: [{ports: [{port: "22", protocol: TCP}]}]}]`))
	if len(env.policies) != 0 {
		t.Errorf("host policy read as %d pod policies, want none", len(env.policies))
	}
	want := []foreign{{
		id: "CiliumClusterwideNetworkPolicy lock-down", ingress: true, global: true,
		what: `Cilium host policy {"ingress":[{"fromEntities":["remote-node"]},{"fromCIDR":["192.168.33.0/24"],"toPorts":[{"ports":[{"port":"22","protocol":"TCP"}]}]}],"nodeSelector":{"matchLabels":{"role":"worker"}}}`,
	}}
	if diff := cmp.Diff(want, env.foreign, cmp.AllowUnexported(foreign{}, selection{})); diff != "" {
		t.Errorf("foreign (-want +got):\n%s", diff)
	}
	// Read twice, the later object wins and is not counted twice.
	twice := mustBuild(t, probeObjects(), ccnpDoc("lock-down", `{nodeSelector: {}, egress: [{}]}`)+ccnpDoc("lock-down", `{nodeSelector: {}, egress: [{}]}`))
	if len(twice.foreign) != 1 {
		t.Errorf("the same host policy twice gave %d foreign entries, want 1", len(twice.foreign))
	}
}

// TestCiliumErrors lists objects Cilium or the API server would reject: each
// is an error naming the field, never a silent skip.
func TestCiliumErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, policy, want string
	}{
		{"no spec", "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: x}\n", "spec or specs is required"},
		{"no selector", cnpDoc("x", "p", `{ingress: [{}]}`), "spec: one of endpointSelector or nodeSelector is required"},
		{"both selectors", ccnpDoc("p", `{endpointSelector: {}, nodeSelector: {}, ingress: [{}]}`), "spec: endpointSelector and nodeSelector are mutually exclusive"},
		{"nodeSelector in a namespaced policy", cnpDoc("x", "p", `{nodeSelector: {}, ingress: [{}]}`), "spec.nodeSelector: only a CiliumClusterwideNetworkPolicy may select nodes"},
		{"no rule section", cnpDoc("x", "p", `{endpointSelector: {}}`), "spec: one of ingress, ingressDeny, egress or egressDeny is required"},
		{"two kinds of peer in one rule", cnpDoc("x", "p", `{endpointSelector: {}, ingress: [{fromEndpoints: [{}], fromCIDR: [10.0.0.0/8]}]}`), "spec.ingress[0]: fromEndpoints and fromCIDR cannot be combined in one rule"},
		{"bad CIDR", cnpDoc("x", "p", `{endpointSelector: {}, egress: [{toCIDR: [10.0.0.0/33]}]}`), `spec.egress[0].toCIDR[0]: "10.0.0.0/33" is not a CIDR`},
		{"except outside the CIDR", cnpDoc("x", "p", `{endpointSelector: {}, egress: [{toCIDRSet: [{cidr: 10.0.0.0/8, except: [11.0.0.0/16]}]}]}`), "spec.egress[0].toCIDRSet[0].except[0]: 11.0.0.0/16 is not inside 10.0.0.0/8"},
		{"CIDR and group in one entry", cnpDoc("x", "p", `{endpointSelector: {}, egress: [{toCIDRSet: [{cidr: 10.0.0.0/8, cidrGroupRef: g}]}]}`), "spec.egress[0].toCIDRSet[0]: exactly one of cidr, cidrGroupRef or cidrGroupSelector is required"},
		{"port out of range", cnpDoc("x", "p", `{endpointSelector: {}, ingress: [{toPorts: [{ports: [{port: "70000"}]}]}]}`), `spec.ingress[0].toPorts[0].ports[0].port: "70000" is neither a port number nor a port name`},
		{"endPort out of range", cnpDoc("x", "p", `{endpointSelector: {}, ingress: [{toPorts: [{ports: [{port: "80", endPort: 70000}]}]}]}`), "spec.ingress[0].toPorts[0].ports[0].endPort: 70000 is outside 0-65535"},
		{"unknown protocol", cnpDoc("x", "p", `{endpointSelector: {}, ingress: [{toPorts: [{ports: [{port: "80", protocol: ICMP}]}]}]}`), `spec.ingress[0].toPorts[0].ports[0].protocol: "ICMP" is not TCP, UDP, SCTP or ANY`},
		{"unknown entity", cnpDoc("x", "p", `{endpointSelector: {}, egress: [{toEntities: [internet]}]}`), `spec.egress[0].toEntities[0]: unsupported entity "internet"`},
		{"misspelt field", cnpDoc("x", "p", `{endpointSelector: {}, ingress: [{fromEndpoint: [{}]}]}`), `spec.ingress[0]: unknown field "fromEndpoint"`},
		{"DNS rules on ingress", cnpDoc("x", "p", `{endpointSelector: {}, ingress: [{toPorts: [{ports: [{port: "53", protocol: UDP}], rules: {dns: [{matchPattern: "*"}]}}]}]}`), "spec.ingress[0].toPorts[0].rules.dns: DNS rules are not allowed on ingress"},
		{"HTTP rules on UDP", cnpDoc("x", "p", `{endpointSelector: {}, ingress: [{toPorts: [{ports: [{port: "80", protocol: UDP}], rules: {http: [{}]}}]}]}`), "spec.ingress[0].toPorts[0].ports[0].protocol: L7 rules apply to TCP only (except DNS rules)"},
		{"toFQDNs in a deny rule", cnpDoc("x", "p", `{endpointSelector: {}, egressDeny: [{toFQDNs: [{matchName: a.example}]}]}`), `spec.egressDeny[0]: unknown field "toFQDNs"`},
		{"icmps with toPorts", cnpDoc("x", "p", `{endpointSelector: {}, ingress: [{icmps: [{}], toPorts: [{ports: [{port: "80"}]}]}]}`), "spec.ingress[0]: icmps and toPorts cannot be combined in one rule"},
		{"bad selector operator", cnpDoc("x", "p", `{endpointSelector: {matchExpressions: [{key: a, operator: Equals, values: [b]}]}, ingress: [{}]}`), `spec.endpointSelector.matchExpressions[0].operator: "Equals" is not In, NotIn, Exists or DoesNotExist`},
		{"bad FQDN", cnpDoc("x", "p", `{endpointSelector: {}, egress: [{toFQDNs: [{matchName: "a b"}]}]}`), `spec.egress[0].toFQDNs[0].matchName: "a b" is not a DNS name`},
		{"bad enableDefaultDeny", cnpDoc("x", "p", `{endpointSelector: {}, enableDefaultDeny: {ingress: "no"}, ingress: [{}]}`), "spec.enableDefaultDeny.ingress: want true or false, got string"},
		{"bad entry of specs", "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: x}\nspecs: [{endpointSelector: {}, ingress: [{}]}, {endpointSelector: {}, egress: [{toCIDR: [bad]}]}]\n", `specs[1].egress[0].toCIDR[0]: "bad" is not a CIDR`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Build(append(probeObjects(), yamlObjects(t, tc.policy)...))
			if err == nil {
				t.Fatalf("Build accepted the policy, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Build error = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestCiliumRealPolicies reads the Cilium examples of the shared corpus next
// to workloads they were written for: each builds, equals an independent copy
// of itself, and the host policy, FQDN and L7 examples keep what the model
// cannot decide.
func TestCiliumRealPolicies(t *testing.T) {
	t.Parallel()
	dir := realDataDir(t, "networkpolicies/cilium")
	workloads := slices.Concat(clusterDNS(), []map[string]any{
		namespace("default", ""),
		deployment("default", "leia", "name=leia"),
		deployment("default", "luke", "name=luke"),
		deployment("default", "web", "id=web-server", ContainerPort{Port: 8181}),
		deployment("default", "goodclient", "id=goodclient"),
		deployment("default", "badclient", "id=badclient"),
		deployment("default", "mediabot", "org=empire,class=mediabot"),
		deployment("default", "backend", "role=backend"),
		deployment("default", "frontend", "role=frontend"),
		deployment("default", "svc", "app=myService"),
		deployment("default", "test", "app=test-app"),
	})
	tests := []struct {
		file string
		// foreign and opaque count what is kept as text.
		foreign, opaque int
		// want is connectivity on the file's own workloads, or nil.
		want map[string]string
	}{
		{file: "clusterwide-clusterscope-policy.yaml", want: from("default/Deployment/leia", "none",
			"default/Deployment/backend", "default/Deployment/badclient", "default/Deployment/frontend", "default/Deployment/goodclient",
			"default/Deployment/leia", "default/Deployment/mediabot", "default/Deployment/svc", "default/Deployment/test", "default/Deployment/web",
			"kube-system/Deployment/coredns", v4)},
		{file: "getting-started-dns-matchname.yaml", opaque: 2},
		{file: "getting-started-l7-policy.yaml", opaque: 1},
		{file: "host-lock-down-dev-vms.yaml", foreign: 1},
		{file: "kubedns-policy.yaml"},
		{file: "l3-cidr.yaml"},
		{file: "l3-fqdn.yaml", opaque: 1},
		{file: "l3-simple-l3.yaml", want: from("default/Deployment/backend", "none",
			"default/Deployment/backend", "default/Deployment/badclient", "default/Deployment/goodclient", "default/Deployment/leia",
			"default/Deployment/luke", "default/Deployment/mediabot", "default/Deployment/svc", "default/Deployment/test", "default/Deployment/web",
			"kube-system/Deployment/coredns", v4)},
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) != len(tests) {
		t.Errorf("found %d Cilium examples in %s, the table covers %d", len(files), dir, len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			build := func() *Environment {
				env, err := Build(slices.Concat(workloads, readObjects(t, filepath.Join(dir, tc.file))))
				if err != nil {
					t.Fatalf("Build: %v", err)
				}
				return env
			}
			a, b := build(), build()
			if got := Compare(a, b); len(got) != 0 {
				t.Errorf("compared with itself: %d differences, want none; first: %+v", len(got), got[0])
			}
			if len(a.foreign) != tc.foreign {
				t.Errorf("%d foreign entries, want %d", len(a.foreign), tc.foreign)
			}
			opaque := 0
			for _, p := range a.policies {
				for _, r := range slices.Concat(p.ingressRules, p.egressRules) {
					opaque += len(r.opaque)
				}
			}
			if opaque != tc.opaque {
				t.Errorf("%d opaque conditions, want %d", opaque, tc.opaque)
			}
			if tc.want != nil {
				if diff := cmp.Diff(tc.want, connectivity(a)); diff != "" {
					t.Errorf("connectivity (-want +got):\n%s", diff)
				}
			}
		})
	}
}
