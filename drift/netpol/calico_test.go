package netpol

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// calicoDoc writes a Calico policy document: a NetworkPolicy of namespace
// ns, or a GlobalNetworkPolicy when ns is empty, with the given spec (YAML,
// as policyDoc takes it).
func calicoDoc(ns, name, spec string) string {
	return calicoKindDoc("projectcalico.org/v3", ns, name, spec)
}

// calicoKindDoc is calicoDoc for any apiVersion.
func calicoKindDoc(apiVersion, ns, name, spec string) string {
	spec = strings.ReplaceAll(strings.TrimPrefix(spec, "\n"), "\n", "\n  ")
	if ns == "" {
		return fmt.Sprintf("---\napiVersion: %s\nkind: GlobalNetworkPolicy\nmetadata: {name: %q}\nspec:\n  %s\n", apiVersion, name, spec)
	}
	return fmt.Sprintf("---\napiVersion: %s\nkind: NetworkPolicy\nmetadata: {name: %q, namespace: %q}\nspec:\n  %s\n", apiVersion, name, ns, spec)
}

// tierDoc writes a Calico Tier.
func tierDoc(name string, order int, defaultAction string) string {
	return fmt.Sprintf("---\napiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: %q}\nspec: {order: %d, defaultAction: %s}\n", name, order, defaultAction)
}

// withServiceAccount sets a Deployment's service account.
func withServiceAccount(dep map[string]any, sa string) map[string]any {
	tmpl := dep["spec"].(map[string]any)["template"].(map[string]any)
	tmpl["spec"].(map[string]any)["serviceAccountName"] = sa
	return dep
}

// serviceAccount makes a ServiceAccount with labels written "k=v,k=v".
func serviceAccount(ns, name, saLabels string) map[string]any {
	obj := namespace(name, saLabels)
	obj["kind"] = "ServiceAccount"
	obj["metadata"].(map[string]any)["namespace"] = ns
	return obj
}

// TestCalicoConnectivity pins Calico's semantics and precedence against
// connectivity stated by hand on the probe fixture: every pair not listed
// is allowed on any port.
func TestCalicoConnectivity(t *testing.T) {
	t.Parallel()
	all := []string{xa, xb, ya, yb, v4, v6}
	denyFromB := `
selector: pod == 'a'
ingress: [{action: Deny, source: {selector: pod == 'b'}}]`
	tests := []struct {
		name     string
		policies string
		want     map[string]string
	}{
		{
			name: "a policy isolates the pods it selects for ingress only",
			policies: calicoDoc("x", "a-from-b", `
selector: pod == 'a'
ingress: [{action: Allow, source: {selector: pod == 'b'}}]`),
			// A namespaced policy's selector stays in its namespace.
			want: from(xa, "none", xa, ya, yb, v4, v6),
		},
		{
			name: "egress rules alone default types to Egress, so ingress stays open",
			policies: calicoDoc("x", "a-to-b", `
selector: pod == 'a'
egress: [{action: Allow, destination: {selector: pod == 'b'}}]`),
			want: to(xa, "none", xa, ya, yb, v4, v6),
		},
		{
			name: "a crd.projectcalico.org/v1 object without types isolates both directions, as Felix reads it",
			policies: calicoKindDoc("crd.projectcalico.org/v1", "x", "default.a-from-b", `
selector: pod == 'a'
ingress: [{action: Allow, source: {selector: pod == 'b'}}]`),
			want: merge(from(xa, "none", xa, ya, yb, v4, v6), to(xa, "none", xa, xb, ya, yb, v4, v6)),
		},
		{
			name: "types Ingress without rules denies all ingress",
			policies: calicoDoc("", "deny-y", `
namespaceSelector: ns == 'y'
types: [Ingress]`),
			want: merge(from(ya, "none", all...), from(yb, "none", all...)),
		},
		{
			name: "a Deny in a lower-order tier beats an Allow in the default tier",
			policies: tierDoc("security", 100, "Deny") + calicoDoc("", "security.no-y", `
tier: security
selector: pod == 'a'
ingress:
- {action: Deny, source: {namespaceSelector: ns == 'y'}}
- {action: Pass}`) + calicoDoc("", "allow-all", `
selector: pod == 'a'
ingress: [{action: Allow}]`),
			want: merge(from(xa, "none", ya, yb), from(ya, "none", ya, yb)),
		},
		{
			name: "Pass hands over to the next tier, the tier denies the rest",
			policies: tierDoc("security", 100, "Deny") + calicoDoc("", "security.b-to-next", `
tier: security
selector: pod == 'a'
ingress: [{action: Pass, source: {selector: pod == 'b'}}]`) + calicoDoc("", "deny-from-yb", `
selector: pod == 'a'
ingress:
- {action: Deny, source: {selector: pod == 'b', namespaceSelector: ns == 'y'}}
- {action: Allow}`),
			want: merge(from(xa, "none", xa, ya, yb, v4, v6), from(ya, "none", xa, ya, yb, v4, v6)),
		},
		{
			name:     "a tier whose defaultAction is Pass denies only what its rules deny",
			policies: tierDoc("platform", 100, "Pass") + calicoDoc("", "platform.deny-b", "tier: platform\n"+strings.TrimPrefix(denyFromB, "\n")),
			want:     merge(from(xa, "none", xb, yb), from(ya, "none", xb, yb)),
		},
		{
			name:     "the same policy in a tier that denies by default",
			policies: tierDoc("platform", 100, "Deny") + calicoDoc("", "platform.deny-b", "tier: platform\n"+strings.TrimPrefix(denyFromB, "\n")),
			want:     merge(from(xa, "none", all...), from(ya, "none", all...)),
		},
		{
			name: "a lower order decides first within a tier",
			policies: calicoDoc("", "allow-all", `
order: 20
selector: pod == 'a'
ingress: [{action: Allow}]`) + calicoDoc("", "deny-b", "order: 10\n"+strings.TrimPrefix(denyFromB, "\n")),
			want: merge(from(xa, "none", xb, yb), from(ya, "none", xb, yb)),
		},
		{
			name: "a policy without order comes last in its tier",
			policies: calicoDoc("", "allow-all", `
order: 20
selector: pod == 'a'
ingress: [{action: Allow}]`) + calicoDoc("", "deny-b", denyFromB),
			want: map[string]string{},
		},
		{
			name: "Log goes on to the next rule",
			policies: calicoDoc("", "log-then-b", `
selector: pod == 'a'
ingress: [{action: Log}, {action: Allow, source: {selector: pod == 'b'}}]`),
			want: merge(from(xa, "none", xa, ya, v4, v6), from(ya, "none", xa, ya, v4, v6)),
		},
		{
			name: "a NetworkPolicy sits at order 1000: a Calico Deny at 500 wins",
			policies: policyDoc("x", "k8s-allow-all", `
podSelector: {matchLabels: {pod: a}}
ingress: [{}]`) + calicoDoc("x", "deny-b", "order: 500\n"+strings.TrimPrefix(denyFromB, "\n")),
			want: from(xa, "none", xb),
		},
		{
			name: "a NetworkPolicy sits at order 1000: a Calico Deny at 1500 comes too late",
			policies: policyDoc("x", "k8s-allow-all", `
podSelector: {matchLabels: {pod: a}}
ingress: [{}]`) + calicoDoc("x", "deny-b", "order: 1500\n"+strings.TrimPrefix(denyFromB, "\n")),
			want: map[string]string{},
		},
		{
			name: "notSelector alone in a namespaced policy means its namespace minus the selected",
			policies: calicoDoc("x", "not-b", `
selector: pod == 'a'
ingress: [{action: Allow, source: {notSelector: pod == 'b'}}]`),
			want: from(xa, "none", xb, ya, yb, v4, v6),
		},
		{
			name: "notSelector in a global policy excludes from everything",
			policies: calicoDoc("", "not-b", `
selector: pod == 'a'
ingress: [{action: Allow, source: {notSelector: pod == 'b'}}]`),
			want: merge(from(xa, "none", xb, yb), from(ya, "none", xb, yb)),
		},
		{
			name: "nets 0.0.0.0/0 match pods too, notNets take external ranges out",
			policies: calicoDoc("x", "out", `
selector: pod == 'a'
egress: [{action: Allow, destination: {nets: [0.0.0.0/0], notNets: [10.0.0.0/8]}}]`),
			want: to(xa, "none", "10.0.0.0/8", v6),
		},
		{
			name: "other nets match external addresses only",
			policies: calicoDoc("x", "out", `
selector: pod == 'a'
egress: [{action: Allow, destination: {nets: [10.0.0.0/8]}}]`),
			want: to(xa, "none", xa, xb, ya, yb, "0.0.0.0/0 except 10.0.0.0/8", v6),
		},
		{
			name: "notPorts take ports out of the protocol",
			policies: calicoDoc("", "not-80", `
selector: pod == 'a'
ingress: [{action: Allow, protocol: TCP, destination: {notPorts: [80, "1000:2000"]}}]`),
			want: merge(
				from(xa, "TCP/1-79, TCP/81-999, TCP/2001-65535", all...),
				from(ya, "TCP/1-79, TCP/81-999, TCP/2001-65535", all...),
			),
		},
		{
			name: "protocol numbers and notProtocol",
			policies: calicoDoc("", "udp", `
selector: pod == 'a'
ingress: [{action: Allow, protocol: 17}, {action: Allow, notProtocol: TCP, destination: {ports: [serve-80-tcp]}}]`),
			want: merge(from(xa, "UDP/1-65535", all...), from(ya, "UDP/1-65535", all...)),
		},
		{
			name: "a named port without protocol resolves against the destination",
			policies: calicoDoc("x", "named", `
selector: all()
ingress: [{action: Allow, destination: {ports: [serve-80-tcp]}}]`),
			want: merge(from(xa, "TCP/80", all...), from(xb, "TCP/8080", all...)),
		},
		{
			name: "an ICMP-only rule matches nothing of the model",
			policies: calicoDoc("", "icmp", `
selector: pod == 'a'
ingress: [{action: Allow, protocol: ICMP, icmp: {type: 8}}]`),
			want: merge(from(xa, "none", all...), from(ya, "none", all...)),
		},
		{
			name: "a destination selector on an ingress rule restricts the protected pods",
			policies: calicoDoc("", "in", `
selector: all()
ingress: [{action: Allow, destination: {selector: pod == 'b'}}]`),
			want: merge(from(xa, "none", all...), from(ya, "none", all...)),
		},
		{
			name: "Calico's labels: projectcalico.org/namespace on pods, projectcalico.org/name on namespaces",
			policies: calicoDoc("", "deny-x-a", `
selector: projectcalico.org/namespace == 'x' && pod == 'a' && projectcalico.org/orchestrator == 'k8s'
ingress: [{action: Allow, source: {namespaceSelector: projectcalico.org/name == 'y', selector: pcns.ns == 'y'}}]`),
			want: from(xa, "none", xa, xb, v4, v6),
		},
		{
			name: "namespaceSelector global() matches no pod",
			policies: calicoDoc("x", "global-only", `
selector: pod == 'a'
ingress: [{action: Allow, source: {namespaceSelector: global()}}]`),
			want: from(xa, "none", all...),
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

// TestCalicoServiceAccounts checks serviceAccountSelector and a rule's
// serviceAccounts, which see the labels of the pod's ServiceAccount.
func TestCalicoServiceAccounts(t *testing.T) {
	t.Parallel()
	objs := []map[string]any{
		namespace("x", "ns=x"),
		serviceAccount("x", "db", "role=db"),
		serviceAccount("x", "web", "role=web"),
		withServiceAccount(deployment("x", "a", "pod=a"), "web"),
		withServiceAccount(deployment("x", "b", "pod=b"), "db"),
		deployment("x", "c", "pod=c"),
	}
	const (
		a, b, c = "x/Deployment/a", "x/Deployment/b", "x/Deployment/c"
	)
	tests := []struct {
		name     string
		policies string
		want     map[string]string
	}{
		{
			name: "serviceAccountSelector picks the subject",
			policies: calicoDoc("", "db-closed", `
serviceAccountSelector: role == 'db'
types: [Ingress]`),
			want: from(b, "none", a, b, c, v4),
		},
		{
			name: "serviceAccounts names and selector pick the peer",
			policies: calicoDoc("x", "db-from-web", `
selector: pod == 'b'
ingress:
- {action: Allow, source: {serviceAccounts: {names: [web]}}}
- {action: Allow, source: {serviceAccounts: {selector: projectcalico.org/name == 'default'}}}`),
			want: from(b, "none", b, v4),
		},
		{
			name: "projectcalico.org/serviceaccount is a pod label",
			policies: calicoDoc("x", "db-from-web", `
selector: pod == 'b'
ingress: [{action: Allow, source: {selector: projectcalico.org/serviceaccount == 'web' || pcsa.role == 'db'}}]`),
			want: from(b, "none", c, v4),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := mustBuild(t, objs, tc.policies)
			if diff := cmp.Diff(tc.want, connectivity(env)); diff != "" {
				t.Errorf("connectivity (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCalicoNetworkSets checks that rule selectors match NetworkSets and
// GlobalNetworkSets as Calico scopes them, adding their nets as peers.
func TestCalicoNetworkSets(t *testing.T) {
	t.Parallel()
	sets := `
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: corp, labels: {role: corp}}
spec: {nets: [10.0.0.0/8]}
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: partners, namespace: "y", labels: {role: corp}}
spec: {nets: [192.168.0.0/16]}
`
	// External atoms come from the nets that policies use, so each case
	// names its own.
	rest := "0.0.0.0/0 except 10.0.0.0/8, 192.168.0.0/16"
	tests := []struct {
		name     string
		policies string
		want     map[string]string
	}{
		{
			name: "a global policy's selector matches every network set",
			policies: calicoDoc("", "to-corp", `
selector: pod == 'a' && projectcalico.org/namespace == 'x'
egress: [{action: Allow, destination: {selector: role == 'corp'}}]`),
			want: to(xa, "none", xa, xb, ya, yb, rest, v6),
		},
		{
			name: "a namespaced policy's selector matches the network sets of its namespace",
			policies: calicoDoc("y", "to-corp", `
selector: pod == 'a'
egress: [{action: Allow, destination: {selector: role == 'corp'}}]`),
			want: to(ya, "none", xa, xb, ya, yb, "0.0.0.0/0 except 192.168.0.0/16", v6),
		},
		{
			name: "namespaceSelector global() reaches the global network sets",
			policies: calicoDoc("x", "to-corp", `
selector: pod == 'a'
egress: [{action: Allow, destination: {selector: role == 'corp', namespaceSelector: global()}}]`),
			want: to(xa, "none", xa, xb, ya, yb, "0.0.0.0/0 except 10.0.0.0/8", v6),
		},
		{
			name: "namespaceSelector picks namespaced network sets by their namespace's labels",
			policies: calicoDoc("x", "to-y", `
selector: pod == 'a'
egress: [{action: Allow, destination: {namespaceSelector: ns == 'y'}}]`),
			want: to(xa, "none", xa, xb, "0.0.0.0/0 except 192.168.0.0/16", v6),
		},
		{
			name: "rule nets intersect a network set's nets",
			policies: calicoDoc("", "to-corp-part", `
selector: pod == 'a' && projectcalico.org/namespace == 'x'
egress: [{action: Allow, destination: {selector: role == 'corp', nets: [10.1.0.0/16]}}]`),
			want: to(xa, "none", xa, xb, ya, yb, "0.0.0.0/0 except 10.1.0.0/16", v6),
		},
		{
			name: "notSelector takes a network set's nets out",
			policies: calicoDoc("", "not-corp", `
selector: pod == 'a' && projectcalico.org/namespace == 'x'
egress: [{action: Allow, destination: {notSelector: role == 'corp'}}]`),
			want: to(xa, "none", "10.0.0.0/8", "192.168.0.0/16"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := mustBuild(t, probeObjects(), sets+tc.policies)
			if diff := cmp.Diff(tc.want, connectivity(env)); diff != "" {
				t.Errorf("connectivity (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCalicoCompare compares Calico policies across environments: the same
// traffic allowed through different APIs or forms is no finding, the same
// text selecting differently is.
func TestCalicoCompare(t *testing.T) {
	t.Parallel()
	aFromB := calicoDoc("x", "a-from-b", `
selector: role == 'db'
ingress: [{action: Allow, protocol: TCP, source: {selector: pod == 'b'}, destination: {ports: [80]}}]`)
	tests := []struct {
		name              string
		devObjs, prodObjs []map[string]any
		dev, prod         string
		want              []Difference
	}{
		{
			name: "a GlobalNetworkPolicy in prod, the same as a NetworkPolicy in dev",
			dev: policyDoc("x", "a-from-b", `
podSelector: {matchLabels: {pod: a}}
ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}], ports: [{port: 80}]}]`),
			prod: calicoDoc("", "a-from-b", `
selector: pod == 'a' && projectcalico.org/namespace == 'x'
types: [Ingress]
ingress:
- action: Allow
  protocol: TCP
  source: {selector: pod == 'b', namespaceSelector: kubernetes.io/metadata.name == 'x'}
  destination: {ports: [80]}`),
		},
		{
			name: "the projectcalico.org/v3 form in prod, the crd.projectcalico.org/v1 form in dev",
			// Calico stores types defaulted.
			dev: calicoKindDoc("crd.projectcalico.org/v1", "x", "default.a-from-b", `
selector: pod == 'a'
types: [Ingress]
ingress: [{action: Allow, protocol: 6, source: {selector: pod == 'b'}, destination: {ports: ["80:80"]}}]`),
			prod: calicoDoc("x", "a-from-b", `
tier: default
selector: pod == 'a'
types: [Ingress]
ingress: [{action: Allow, protocol: TCP, source: {selector: pod == 'b'}, destination: {ports: [80]}}]`),
		},
		{
			name: "the same Calico text over differently labelled pods",
			devObjs: []map[string]any{
				namespace("x", "ns=x"), deployment("x", "a", "pod=a,role=db"), deployment("x", "b", "pod=b"),
			},
			prodObjs: []map[string]any{
				namespace("x", "ns=x"), deployment("x", "a", "pod=a"), deployment("x", "b", "pod=b"),
			},
			dev:  aFromB,
			prod: aFromB,
			want: []Difference{
				{
					Severity: "warn", Direction: "ingress", Source: epXA, Destination: epXA, Port: "any",
					DevPolicies: []string{"Calico NetworkPolicy x/a-from-b"},
				},
				{
					Severity: "warn", Direction: "ingress", Source: epXB, Destination: epXA, Port: "any except TCP/80",
					DevPolicies: []string{"Calico NetworkPolicy x/a-from-b"},
				},
				{
					Severity: "warn", Direction: "ingress", Source: epV4, Destination: epXA, Port: "any",
					DevPolicies: []string{"Calico NetworkPolicy x/a-from-b"},
				},
			},
		},
		{
			name: "a Calico default deny in prod only",
			prod: calicoDoc("", "deny-x-b", `
selector: pod == 'b'
namespaceSelector: ns == 'x'
types: [Egress]`),
			want: []Difference{
				{Severity: "block", Direction: "egress", Source: epXB, Destination: epXA, Port: "any", ProdPolicies: []string{"Calico GlobalNetworkPolicy deny-x-b"}},
				{Severity: "block", Direction: "egress", Source: epXB, Destination: epXB, Port: "any", ProdPolicies: []string{"Calico GlobalNetworkPolicy deny-x-b"}},
				{Severity: "block", Direction: "egress", Source: epXB, Destination: epV4, Port: "any", ProdPolicies: []string{"Calico GlobalNetworkPolicy deny-x-b"}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			devObjs, prodObjs := tc.devObjs, tc.prodObjs
			if devObjs == nil {
				devObjs = []map[string]any{namespace("x", "ns=x"), deployment("x", "a", "pod=a"), deployment("x", "b", "pod=b")}
			}
			if prodObjs == nil {
				prodObjs = devObjs
			}
			got := Compare(mustBuild(t, devObjs, tc.dev), mustBuild(t, prodObjs, tc.prod))
			if diff := cmp.Diff(tc.want, got, ignoreMessage); diff != "" {
				t.Errorf("Compare (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCalicoPolicyRead checks what a Calico policy is read as: its id, tier
// and order, and that host-only policies become foreign entries.
func TestCalicoPolicyRead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		docs        string
		wantIDs     []string
		wantForeign []string
	}{
		{
			name: "default-tier CRD names lose their default. prefix, other tiers keep theirs",
			docs: tierDoc("security", 100, "Deny") +
				calicoKindDoc("crd.projectcalico.org/v1", "x", "default.allow", "selector: all()") +
				calicoKindDoc("crd.projectcalico.org/v1", "", "security.deny", "tier: security\nselector: all()"),
			wantIDs: []string{"Calico GlobalNetworkPolicy security.deny", "Calico NetworkPolicy x/allow"},
		},
		{
			name: "the name in Calico's metadata annotation wins",
			docs: `
apiVersion: crd.projectcalico.org/v1
kind: GlobalNetworkPolicy
metadata:
  name: default.stored
  annotations: {projectcalico.org/metadata: '{"name":"real-name"}'}
spec: {selector: all()}
`,
			wantIDs: []string{"Calico GlobalNetworkPolicy real-name"},
		},
		{
			name: "preDNAT and doNotTrack policies apply to host endpoints only",
			docs: calicoDoc("", "untracked", `
doNotTrack: true
applyOnForward: true
selector: has(host)
ingress: [{action: Allow}]`) + calicoDoc("", "forwarded", `
applyOnForward: true
selector: all()
ingress: [{action: Allow}]`),
			wantIDs:     []string{"Calico GlobalNetworkPolicy forwarded"},
			wantForeign: []string{"Calico GlobalNetworkPolicy untracked"},
		},
		{
			name: "staged policies are never enforced",
			docs: `
apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: staged}
spec: {selector: all(), types: [Ingress]}
`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := mustBuild(t, nil, tc.docs)
			var ids, foreignIDs []string
			for _, p := range env.policies {
				ids = append(ids, p.id())
			}
			for _, f := range env.foreign {
				foreignIDs = append(foreignIDs, f.id)
				if !f.global {
					t.Errorf("%s: want a global foreign entry", f.id)
				}
			}
			if diff := cmp.Diff(tc.wantIDs, ids); diff != "" {
				t.Errorf("policies (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantForeign, foreignIDs); diff != "" {
				t.Errorf("foreign (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCalicoOpaque checks the conditions the model cannot decide: each is
// named the same way whatever the policy is called, with its effect.
func TestCalicoOpaque(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spec string
		want []opaque
	}{
		{
			name: "http match on an Allow rule",
			spec: `
selector: all()
ingress: [{action: Allow, http: {methods: [POST, GET], paths: [{prefix: /api}, {exact: /health}]}}]`,
			want: []opaque{{what: `Calico Allow ingress only for HTTP methods GET, POST paths exact "/health", prefix "/api"`, effect: effectRestricts}},
		},
		{
			name: "a Service peer",
			spec: `
selector: all()
egress: [{action: Deny, destination: {services: {name: api, namespace: shop}}}]`,
			want: []opaque{{what: "Calico Deny egress to Service shop/api", effect: effectRestricts}},
		},
		{
			name: "source ports",
			spec: `
selector: all()
ingress: [{action: Allow, protocol: TCP, source: {ports: ["1024:65535"]}}]`,
			want: []opaque{{what: "Calico Allow ingress from source ports 1024:65535 except none", effect: effectRestricts}},
		},
		{
			name: "the protected pod's address",
			spec: `
selector: all()
ingress: [{action: Deny, destination: {nets: [10.0.0.0/8]}}]`,
			want: []opaque{{what: "Calico Deny ingress with the protected pod's address in 10.0.0.0/8", effect: effectRestricts}},
		},
		{
			name: "IPv6 towards pods",
			spec: `
selector: all()
egress: [{action: Allow, ipVersion: 6}]`,
			want: []opaque{{what: "Calico Allow egress over IPv6 with pods", effect: effectAllows}},
		},
		{
			name: "a Log rule decides nothing",
			spec: `
selector: all()
ingress: [{action: Log, protocol: TCP, source: {ports: [22]}}]`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := mustBuild(t, nil, calicoDoc("", "p", tc.spec))
			var got []opaque
			for _, p := range env.policies {
				for _, r := range slices.Concat(p.ingressRules, p.egressRules) {
					got = append(got, r.opaque...)
				}
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(opaque{})); diff != "" {
				t.Errorf("opaque (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCalicoErrors feeds objects Calico would refuse, or that the gate
// cannot read safely: each is an error naming the field.
func TestCalicoErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, docs, want string
	}{
		{"tier without a Tier object", calicoDoc("", "security.p", "tier: security"), `spec.tier: tier "security" has no Tier object`},
		{"selector syntax", calicoDoc("", "p", "selector: a ==="), "spec.selector:"},
		{"global() in a policy selector", calicoDoc("", "p", "selector: global()"), "spec.selector:"},
		{"global() mixed into a namespaceSelector", calicoDoc("", "p", "ingress: [{action: Allow, source: {namespaceSelector: global() || a == 'b'}}]"), "spec.ingress[0]: source: namespaceSelector:"},
		{"lowercase action", calicoDoc("x", "p", "ingress: [{action: allow}]"), "spec.ingress[0]: action: allow is not Allow"},
		{"missing action", calicoDoc("x", "p", "egress: [{}]"), "spec.egress[0]: action is required"},
		{"numeric ports without protocol", calicoDoc("x", "p", "ingress: [{action: Allow, destination: {ports: [80]}}]"), "spec.ingress[0]: destination.ports: numeric ports need a protocol"},
		{"ports with ICMP", calicoDoc("x", "p", "ingress: [{action: Allow, protocol: ICMP, destination: {ports: [80]}}]"), "protocol ICMP has no ports"},
		{"port 0", calicoDoc("x", "p", "ingress: [{action: Allow, protocol: TCP, destination: {ports: [0]}}]"), "destination: ports[0]:"},
		{"reversed range", calicoDoc("x", "p", "ingress: [{action: Allow, protocol: TCP, destination: {ports: ['90:80']}}]"), "range ends before it starts"},
		{"unknown protocol", calicoDoc("x", "p", "ingress: [{action: Allow, protocol: tcp}]"), `spec.ingress[0]: protocol: "tcp" is not TCP`},
		{"type given twice", calicoDoc("x", "p", "types: [Ingress, Ingress]"), "spec.types[1]: Ingress is given twice"},
		{"notNets catch-all", calicoDoc("x", "p", "egress: [{action: Allow, destination: {notNets: [0.0.0.0/0]}}]"), "destination: notNets:"},
		{"mixed address families", calicoDoc("x", "p", "egress: [{action: Allow, source: {nets: [10.0.0.0/8]}, destination: {nets: ['::/0']}}]"), "cannot mix IPv4 and IPv6"},
		{"ipVersion against nets", calicoDoc("x", "p", "egress: [{action: Allow, ipVersion: 6, destination: {nets: [10.0.0.0/8]}}]"), "does not match ipVersion 6"},
		{"bad net", calicoDoc("x", "p", "egress: [{action: Allow, destination: {nets: [10.0.0.0/33]}}]"), "destination: nets[0]:"},
		{"preDNAT without applyOnForward", calicoDoc("", "p", "preDNAT: true"), "applyOnForward must be true"},
		{"preDNAT with egress", calicoDoc("", "p", "preDNAT: true\napplyOnForward: true\ntypes: [Egress]"), "preDNAT policy cannot have egress"},
		{"doNotTrack on a namespaced policy", calicoDoc("x", "p", "doNotTrack: true"), "spec: doNotTrack: unknown field"},
		{"unknown rule field", calicoDoc("x", "p", "ingress: [{action: Allow, sourceNets: [10.0.0.0/8]}]"), "spec.ingress[0]: sourceNets: unknown field"},
		{"services in an ingress destination", calicoDoc("x", "p", "ingress: [{action: Allow, destination: {services: {name: api}}}]"), "destination.services: not allowed"},
		{"services without namespace in a global policy", calicoDoc("", "p", "egress: [{action: Allow, destination: {services: {name: api}}}]"), "destination.services: must name the Service's namespace"},
		{"services with a selector", calicoDoc("x", "p", "egress: [{action: Allow, destination: {services: {name: api}, selector: all()}}]"), "cannot be combined with selector"},
		{"http on a Deny rule", calicoDoc("x", "p", "ingress: [{action: Deny, http: {methods: [GET]}}]"), "http: only Allow rules"},
		{"icmp without ICMP", calicoDoc("x", "p", "ingress: [{action: Allow, protocol: TCP, icmp: {type: 8}}]"), "icmp: needs protocol ICMP"},
		{"order not a number", calicoDoc("x", "p", "order: first"), "spec.order: want a number"},
		{"bad Tier", tierDoc("security", 100, "Allow") + calicoDoc("", "p", "tier: security"), `spec.defaultAction: "Allow" is not Deny or Pass`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			objs, err := decodeYAML([]byte(tc.docs))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Build(objs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Build error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestRealCalicoPolicies reads the Calico examples of the shared corpus
// next to workloads they select, and checks what a few of them allow.
func TestRealCalicoPolicies(t *testing.T) {
	t.Parallel()
	dir := realDataDir(t, "networkpolicies/calico")
	workloads := []map[string]any{
		namespace("default", "name=foo"),
		namespace("migration-test", ""),
		withServiceAccount(deployment("default", "customer", "app=customer,bar=x"), "customer"),
		withServiceAccount(deployment("default", "summary", "app=summary"), "summary"),
		withServiceAccount(deployment("default", "database", "app=database"), "database"),
		deployment("migration-test", "web", "app=web,migration-test=true"),
	}
	read := func(name string) *Environment {
		t.Helper()
		env, err := Build(slices.Concat(workloads, readObjects(t, filepath.Join(dir, name))))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return env
	}
	const (
		customer = "default/Deployment/customer"
		summary  = "default/Deployment/summary"
		database = "default/Deployment/database"
		web      = "migration-test/Deployment/web"
	)
	tests := []struct {
		file string
		want map[string]string
	}{
		{
			// The database admits the summary's service account only; the
			// customer's HTTP match is opaque, its L4 part allows all.
			file: "app-policy-demo-30-policy.yaml",
			want: merge(from(summary, "none", summary, database, web, v4), from(database, "none", customer, database, web, v4)),
		},
		{
			// The security tier allows DNS out and denies the rest; in
			// the default tier the web policy (order 500) allows TCP 80
			// and 443 in before the deny-all (order 1000).
			file: "migration-seed-resources.yaml",
			want: merge(
				to(web, "UDP/53", customer, summary, database, v4),
				from(web, "TCP/80, TCP/443", customer, summary, database, v4),
				from(web, "none", web),
			),
		},
		{
			// Selects pods with label bar in namespaces labelled name=foo.
			file: "calicoctl-st-optimize-gnp-split.yaml",
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			env := read(tc.file)
			if len(env.policies) == 0 {
				t.Fatal("no Calico policy read")
			}
			if tc.want == nil {
				return
			}
			if diff := cmp.Diff(tc.want, connectivity(env)); diff != "" {
				t.Errorf("connectivity (-want +got):\n%s", diff)
			}
		})
	}
}

// A cluster running Calico's API server serves each policy as
// projectcalico.org/v3 and stores it as crd.projectcalico.org/v1; a
// snapshot of both holds the policy once, named once in findings.
func TestCalicoServedTwiceReadOnce(t *testing.T) {
	t.Parallel()
	const spec = `
selector: pod == 'a'
types: [Egress]
egress: [{action: Deny}]`
	both := calicoDoc("x", "deny", spec) + calicoKindDoc("crd.projectcalico.org/v1", "x", "default.deny", spec)
	env := mustBuild(t, probeObjects(), both)
	var ids []string
	for _, p := range env.policies {
		ids = append(ids, p.id())
	}
	if want := []string{"Calico NetworkPolicy x/deny"}; !slices.Equal(ids, want) {
		t.Errorf("policies %q, want %q", ids, want)
	}
	for _, d := range Compare(mustBuild(t, probeObjects(), ""), env) {
		if len(d.ProdPolicies) != 1 {
			t.Errorf("prod policies %q, want the policy once", d.ProdPolicies)
		}
	}
}
