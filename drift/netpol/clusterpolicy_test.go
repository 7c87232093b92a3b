package netpol

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// clusterDoc writes a policy.networking.k8s.io document of kind and version
// with the given spec, as policyDoc does for NetworkPolicy.
func clusterDoc(kind, version, name, spec string) string {
	spec = strings.ReplaceAll(strings.TrimPrefix(spec, "\n"), "\n", "\n  ")
	return fmt.Sprintf("---\napiVersion: policy.networking.k8s.io/%s\nkind: %s\nmetadata: {name: %q}\nspec:\n  %s\n", version, kind, name, spec)
}

// cnpV1beta1Doc writes a v1beta1 ClusterNetworkPolicy.
func cnpV1beta1Doc(name, spec string) string {
	return clusterDoc("ClusterNetworkPolicy", "v1beta1", name, spec)
}

// anpDoc writes a v1alpha1 AdminNetworkPolicy.
func anpDoc(name, spec string) string {
	return clusterDoc("AdminNetworkPolicy", "v1alpha1", name, spec)
}

// banpDoc writes the v1alpha1 BaselineAdminNetworkPolicy.
func banpDoc(spec string) string {
	return clusterDoc("BaselineAdminNetworkPolicy", "v1alpha1", "default", spec)
}

// TestClusterPolicyConnectivity pins the semantics and precedence of the
// cluster-wide policy API, alone and with NetworkPolicy, against
// connectivity stated by hand on the probe fixture.
func TestClusterPolicyConnectivity(t *testing.T) {
	t.Parallel()
	all := []string{xa, xb, ya, yb, v4, v6}
	pods := []string{xa, xb, ya, yb}
	tests := []struct {
		name     string
		policies string
		want     map[string]string
	}{
		{
			name: "Admin Deny overrides a NetworkPolicy allow",
			policies: policyDoc("x", "allow-all", `
podSelector: {matchLabels: {pod: a}}
ingress: [{}]`) + cnpV1beta1Doc("deny-from-y", `
tier: Admin
priority: 10
subject: {pods: {namespaceSelector: {matchLabels: {ns: x}}, podSelector: {matchLabels: {pod: a}}}}
ingress: [{action: Deny, from: [{namespaces: {matchLabels: {ns: "y"}}}]}]`),
			want: from(xa, "none", ya, yb),
		},
		{
			name: "Admin Accept overrides a NetworkPolicy default deny",
			policies: policyDoc("x", "deny", `{podSelector: {}}`) + cnpV1beta1Doc("accept-y-b", `
tier: Admin
priority: 10
subject: {namespaces: {matchLabels: {ns: x}}}
ingress:
- action: Accept
  from: [{pods: {namespaceSelector: {matchLabels: {ns: "y"}}, podSelector: {matchLabels: {pod: b}}}}]`),
			want: merge(from(xa, "none", xa, xb, ya, v4, v6), from(xb, "none", xa, xb, ya, v4, v6)),
		},
		{
			name: "Admin Pass hands over to the NetworkPolicy that selects the pod",
			policies: cnpV1beta1Doc("pass-y", `
tier: Admin
priority: 10
subject: {namespaces: {matchLabels: {ns: x}}}
ingress:
- {action: Pass, from: [{namespaces: {matchLabels: {ns: "y"}}}]}
- {action: Deny, from: [{namespaces: {}}]}`) + policyDoc("x", "a-web-from-y", `
podSelector: {matchLabels: {pod: a}}
ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}], ports: [{port: 80}]}]`),
			// x/a: the NetworkPolicy decides what was passed and isolates
			// it from the rest; x/b: passed traffic reaches no other tier.
			want: merge(
				from(xa, "TCP/80", ya, yb),
				from(xa, "none", xa, xb, v4, v6),
				from(xb, "none", xa, xb),
			),
		},
		{
			name: "Admin Pass reaches the Baseline tier where no NetworkPolicy selects the pod",
			policies: cnpV1beta1Doc("pass-y", `
tier: Admin
priority: 10
subject: {namespaces: {matchLabels: {ns: x}}}
ingress: [{action: Pass, from: [{namespaces: {matchLabels: {ns: "y"}}}]}]`) + policyDoc("x", "a-web-from-y", `
podSelector: {matchLabels: {pod: a}}
ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}], ports: [{port: 80}]}]`) + cnpV1beta1Doc("baseline-deny-pods", `
tier: Baseline
priority: 10
subject: {namespaces: {matchLabels: {ns: x}}}
ingress: [{action: Deny, from: [{namespaces: {}}]}]`),
			want: merge(
				from(xa, "TCP/80", ya, yb),
				from(xa, "none", xa, xb, v4, v6),
				from(xb, "none", xa, xb, ya, yb),
			),
		},
		{
			name: "Baseline applies only where no NetworkPolicy selects the pod",
			policies: policyDoc("x", "a-from-all", `
podSelector: {matchLabels: {pod: a}}
ingress: [{}]`) + cnpV1beta1Doc("baseline-deny-y", `
tier: Baseline
priority: 0
subject: {namespaces: {matchLabels: {ns: x}}}
ingress: [{action: Deny, from: [{namespaces: {matchLabels: {ns: "y"}}}]}]`),
			want: from(xb, "none", ya, yb),
		},
		{
			name: "Baseline Accept does not override a NetworkPolicy default deny",
			policies: policyDoc("x", "deny", `{podSelector: {}}`) + banpDoc(`
subject: {namespaces: {}}
ingress: [{action: Allow, from: [{namespaces: {}}]}]`),
			want: merge(from(xa, "none", all...), from(xb, "none", all...)),
		},
		{
			name: "the lower priority value is evaluated first",
			policies: cnpV1beta1Doc("deny-y", `
tier: Admin
priority: 20
subject: {namespaces: {matchLabels: {ns: x}}}
ingress: [{action: Deny, from: [{namespaces: {matchLabels: {ns: "y"}}}]}]`) + cnpV1beta1Doc("web-from-y", `
tier: Admin
priority: 10
subject: {namespaces: {matchLabels: {ns: x}}}
ingress: [{action: Accept, from: [{namespaces: {matchLabels: {ns: "y"}}}], protocols: [{tcp: {destinationPort: {number: 80}}}]}]`),
			want: merge(from(xa, "TCP/80", ya, yb), from(xb, "TCP/80", ya, yb)),
		},
		{
			name: "the same two policies with their priorities swapped",
			policies: cnpV1beta1Doc("deny-y", `
tier: Admin
priority: 5
subject: {namespaces: {matchLabels: {ns: x}}}
ingress: [{action: Deny, from: [{namespaces: {matchLabels: {ns: "y"}}}]}]`) + cnpV1beta1Doc("web-from-y", `
tier: Admin
priority: 10
subject: {namespaces: {matchLabels: {ns: x}}}
ingress: [{action: Accept, from: [{namespaces: {matchLabels: {ns: "y"}}}], protocols: [{tcp: {destinationPort: {number: 80}}}]}]`),
			want: merge(from(xa, "none", ya, yb), from(xb, "none", ya, yb)),
		},
		{
			name: "AdminNetworkPolicy and ClusterNetworkPolicy share the Admin tier by priority",
			policies: anpDoc("deny-y", `
priority: 5
subject: {namespaces: {matchLabels: {ns: x}}}
ingress: [{action: Deny, from: [{namespaces: {matchLabels: {ns: "y"}}}]}]`) + cnpV1beta1Doc("web-from-y", `
tier: Admin
priority: 10
subject: {namespaces: {matchLabels: {ns: x}}}
ingress: [{action: Accept, from: [{namespaces: {matchLabels: {ns: "y"}}}], protocols: [{tcp: {destinationPort: {number: 80}}}]}]`),
			want: merge(from(xa, "none", ya, yb), from(xb, "none", ya, yb)),
		},
		{
			name: "the first matching rule of a policy decides",
			policies: cnpV1beta1Doc("web-then-deny", `
tier: Admin
priority: 10
subject: {namespaces: {matchLabels: {ns: x}}}
ingress:
- {action: Accept, from: [{namespaces: {matchLabels: {ns: "y"}}}], protocols: [{tcp: {destinationPort: {number: 80}}}]}
- {action: Deny, from: [{namespaces: {matchLabels: {ns: "y"}}}]}`),
			want: merge(from(xa, "TCP/80", ya, yb), from(xb, "TCP/80", ya, yb)),
		},
		{
			name: "the same rules written the other way round",
			policies: cnpV1beta1Doc("deny-then-web", `
tier: Admin
priority: 10
subject: {namespaces: {matchLabels: {ns: x}}}
ingress:
- {action: Deny, from: [{namespaces: {matchLabels: {ns: "y"}}}]}
- {action: Accept, from: [{namespaces: {matchLabels: {ns: "y"}}}], protocols: [{tcp: {destinationPort: {number: 80}}}]}`),
			want: merge(from(xa, "none", ya, yb), from(xb, "none", ya, yb)),
		},
		{
			name: "v1beta1 named port, range and number",
			policies: cnpV1beta1Doc("ports", `
tier: Admin
priority: 10
subject: {namespaces: {matchLabels: {ns: x}}}
ingress:
- action: Accept
  from: [{namespaces: {}}]
  protocols:
  - destinationNamedPort: serve-80-tcp
  - tcp: {destinationPort: {range: {start: 5000, end: 5010}}}
  - udp: {destinationPort: {number: 53}}
- {action: Deny, from: [{namespaces: {}}]}`),
			want: merge(from(xa, "TCP/80, TCP/5000-5010, UDP/53", pods...), from(xb, "TCP/5000-5010, TCP/8080, UDP/53", pods...)),
		},
		{
			name: "v1alpha1 namedPort, portRange and portNumber",
			policies: anpDoc("ports", `
priority: 10
subject: {namespaces: {matchLabels: {ns: x}}}
ingress:
- action: Allow
  from: [{namespaces: {}}]
  ports:
  - namedPort: serve-80-tcp
  - portRange: {start: 5000, end: 5010}
  - portNumber: {protocol: UDP, port: 53}
- {action: Deny, from: [{namespaces: {}}]}`),
			want: merge(from(xa, "TCP/80, TCP/5000-5010, UDP/53", pods...), from(xb, "TCP/5000-5010, TCP/8080, UDP/53", pods...)),
		},
		{
			name: "a named port matches the container port under its own protocol",
			policies: anpDoc("udp-name", `
priority: 10
subject: {pods: {namespaceSelector: {matchLabels: {ns: x}}, podSelector: {matchLabels: {pod: a}}}}
ingress:
- {action: Allow, from: [{namespaces: {}}], ports: [{namedPort: serve-81-udp}]}
- {action: Deny, from: [{namespaces: {}}]}`),
			want: from(xa, "UDP/81", pods...),
		},
		{
			name: "networks match external addresses in the CIDR",
			policies: cnpV1beta1Doc("no-ten", `
tier: Admin
priority: 10
subject: {pods: {namespaceSelector: {matchLabels: {ns: x}}, podSelector: {matchLabels: {pod: a}}}}
egress: [{action: Deny, to: [{networks: [10.0.0.0/8]}]}]`),
			want: to(xa, "none", "10.0.0.0/8"),
		},
		{
			name: "a /0 network matches pods too",
			policies: cnpV1beta1Doc("no-v4", `
tier: Admin
priority: 10
subject: {pods: {namespaceSelector: {matchLabels: {ns: x}}, podSelector: {matchLabels: {pod: a}}}}
egress: [{action: Deny, to: [{networks: [0.0.0.0/0]}]}]`),
			want: to(xa, "none", xa, xb, ya, yb, v4),
		},
		{
			name: "passing pod traffic before a /0 network rule spares the pods",
			policies: cnpV1beta1Doc("no-internet", `
tier: Admin
priority: 10
subject: {pods: {namespaceSelector: {matchLabels: {ns: x}}, podSelector: {matchLabels: {pod: a}}}}
egress:
- {action: Pass, to: [{namespaces: {}}]}
- {action: Deny, to: [{networks: [0.0.0.0/0, "::/0"]}]}`),
			want: to(xa, "none", v4, v6),
		},
		{
			name: "BaselineAdminNetworkPolicy rules in order",
			policies: banpDoc(`
subject: {namespaces: {matchLabels: {ns: x}}}
ingress:
- {action: Allow, from: [{pods: {namespaceSelector: {matchLabels: {ns: "y"}}, podSelector: {matchLabels: {pod: a}}}}]}
- {action: Deny, from: [{namespaces: {matchLabels: {ns: "y"}}}]}`),
			want: merge(from(xa, "none", yb), from(xb, "none", yb)),
		},
		{
			name: "AdminNetworkPolicy Allow overrides a NetworkPolicy default deny",
			policies: policyDoc("x", "deny", `{podSelector: {}}`) + anpDoc("monitoring", `
priority: 3
subject: {namespaces: {}}
ingress: [{action: Allow, from: [{pods: {namespaceSelector: {matchLabels: {ns: "y"}}, podSelector: {matchLabels: {pod: a}}}}]}]`),
			want: merge(from(xa, "none", xa, xb, yb, v4, v6), from(xb, "none", xa, xb, yb, v4, v6)),
		},
		{
			name: "a Deny peer of unknown fields fails closed to Deny all",
			policies: cnpV1beta1Doc("future", `
tier: Admin
priority: 10
subject: {pods: {namespaceSelector: {matchLabels: {ns: x}}, podSelector: {matchLabels: {pod: a}}}}
egress: [{action: Deny, to: [{futurePeer: {zone: eu}}], protocols: [{tcp: {destinationPort: {number: 80}}}]}]`),
			want: to(xa, "none", all...),
		},
		{
			name: "a Pass peer of unknown fields fails closed to Deny all",
			policies: policyDoc("x", "a-out", `
podSelector: {matchLabels: {pod: a}}
policyTypes: [Egress]
egress: [{}]`) + cnpV1beta1Doc("future", `
tier: Admin
priority: 10
subject: {pods: {namespaceSelector: {matchLabels: {ns: x}}, podSelector: {matchLabels: {pod: a}}}}
egress: [{action: Pass, to: [{futurePeer: {}}]}]`),
			want: to(xa, "none", all...),
		},
		{
			name: "an Accept peer of unknown fields fails closed to matching nothing",
			policies: policyDoc("x", "a-no-out", `
podSelector: {matchLabels: {pod: a}}
policyTypes: [Egress]`) + cnpV1beta1Doc("future", `
tier: Admin
priority: 10
subject: {pods: {namespaceSelector: {matchLabels: {ns: x}}, podSelector: {matchLabels: {pod: a}}}}
egress: [{action: Accept, to: [{futurePeer: {}}, {namespaces: {}}]}]`),
			want: to(xa, "none", all...),
		},
		{
			name: "a status written by a newer implementation is no concern",
			policies: cnpV1beta1Doc("deny-from-y", `
tier: Admin
priority: 10
subject: {namespaces: {matchLabels: {ns: x}}}
ingress: [{action: Deny, from: [{namespaces: {matchLabels: {ns: "y"}}}]}]`) + `status:
  conditions: [{type: Ready, status: "True", reason: Programmed, message: ok, lastTransitionTime: "2026-01-01T00:00:00Z"}]
  programmedNodes: 3
`,
			want: merge(from(xa, "none", ya, yb), from(xb, "none", ya, yb)),
		},
		{
			name: "ingress has no networks peer, so one fails closed",
			policies: cnpV1beta1Doc("ten-in", `
tier: Admin
priority: 10
subject: {pods: {namespaceSelector: {matchLabels: {ns: x}}, podSelector: {matchLabels: {pod: a}}}}
ingress: [{action: Deny, from: [{networks: [10.0.0.0/8]}]}]`),
			want: from(xa, "none", all...),
		},
		{
			name: "domain names and nodes match no endpoint of the model",
			policies: cnpV1beta1Doc("egress", `
tier: Admin
priority: 10
subject: {pods: {namespaceSelector: {matchLabels: {ns: x}}, podSelector: {matchLabels: {pod: a}}}}
egress:
- {action: Accept, to: [{domainNames: [api.example.com]}, {nodes: {}}]}
- {action: Deny, to: [{networks: [0.0.0.0/0, "::/0"]}]}`),
			want: to(xa, "none", all...),
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

// TestClusterPolicyOpaque checks what the model cannot decide: domainNames
// and nodes peers, and peers of unknown fields, become opaque conditions of
// the subject's chain, worded without the policy's name so equal conditions
// compare equal across environments and API versions.
func TestClusterPolicyOpaque(t *testing.T) {
	t.Parallel()
	const subject = `subject: {pods: {namespaceSelector: {matchLabels: {ns: x}}, podSelector: {matchLabels: {pod: a}}}}`
	tests := []struct {
		name     string
		policies string
		want     []opaque
	}{
		{
			name: "domain names, sorted and lowercased",
			policies: cnpV1beta1Doc("fqdn", `
tier: Admin
priority: 30
`+subject+`
egress: [{action: Accept, to: [{domainNames: [API.example.com., "*.example.com"]}], protocols: [{tcp: {destinationPort: {number: 443}}}]}]`),
			want: []opaque{{what: "Admin tier priority 30 egress[0]: Allow to domain names *.example.com, api.example.com on TCP/443", effect: effectAllows}},
		},
		{
			name: "the same domain names in an AdminNetworkPolicy",
			policies: anpDoc("fqdn", `
priority: 30
`+subject+`
egress: [{action: Allow, to: [{domainNames: ["*.example.com", api.example.com]}], ports: [{portNumber: {port: 443}}]}]`),
			want: []opaque{{what: "Admin tier priority 30 egress[0]: Allow to domain names *.example.com, api.example.com on TCP/443", effect: effectAllows}},
		},
		{
			name: "an older v1alpha1 sameLabels peer, relative to the subject's namespace",
			policies: anpDoc("tenants", `
priority: 7
`+subject+`
egress: [{action: Deny, to: [{namespaces: {notSameLabels: [tenant]}}]}]`),
			want: []opaque{{what: `Admin tier priority 7 egress[0]: Deny to namespaces related to the subject's {"namespaces":{"notSameLabels":["tenant"]}} on any port`, effect: effectRestricts}},
		},
		{
			name: "a Deny to domain names, which the API does not support",
			policies: cnpV1beta1Doc("fqdn", `
tier: Baseline
priority: 1
`+subject+`
egress: [{action: Deny, to: [{domainNames: [example.org]}]}]`),
			want: []opaque{{what: "Baseline tier priority 1 egress[0]: Deny to domain names example.org (the API supports domain names in Accept rules only) on any port", effect: effectRestricts}},
		},
		{
			name: "nodes by label and every node",
			policies: cnpV1beta1Doc("nodes", `
tier: Admin
priority: 75
`+subject+`
egress:
- {action: Accept, to: [{nodes: {matchLabels: {kubernetes.io/os: linux}}}], protocols: [{udp: {destinationPort: {range: {start: 30000, end: 32767}}}}, {tcp: {destinationPort: {number: 10250}}}]}
- {action: Pass, to: [{nodes: {}}]}
- {action: Deny, to: [{namespaces: {}}, {nodes: {matchExpressions: [{key: role, operator: In, values: [infra, control]}]}}]}`),
			want: []opaque{
				{what: "Admin tier priority 75 egress[0]: Allow to nodes kubernetes.io/os=linux on TCP/10250, UDP/30000-32767", effect: effectAllows},
				{what: "Admin tier priority 75 egress[1]: Pass to every node on any port", effect: effectUnknown},
				{what: "Admin tier priority 75 egress[2]: Deny to nodes role in (control,infra) on any port", effect: effectRestricts},
			},
		},
		{
			name: "nodes in the BaselineAdminNetworkPolicy",
			policies: banpDoc(subject + `
egress: [{action: Allow, to: [{nodes: {}}], ports: [{portNumber: {protocol: UDP, port: 53}}]}]`),
			want: []opaque{{what: "Baseline tier egress[0]: Allow to every node on UDP/53", effect: effectAllows}},
		},
		{
			name: "a peer of unknown fields",
			policies: cnpV1beta1Doc("future", `
tier: Admin
priority: 10
`+subject+`
egress: [{action: Pass, to: [{serviceAccounts: {}, zones: [eu]}]}]`),
			want: []opaque{{what: "Admin tier priority 10 egress[0]: Pass to a peer of fields unknown to driftgate (serviceAccounts, zones) on any port, read as Deny all as the API says to fail closed", effect: effectAllows}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := mustBuild(t, probeObjects(), tc.policies)
			u := newUniverse(env)
			c := u.compile(env)
			for _, k := range u.keys {
				var got []opaque
				for _, o := range c.eg[slices.Index(u.keys, k)].opaque {
					got = append(got, o.opaque)
				}
				var want []opaque
				if k == xa {
					want = tc.want
				}
				if diff := cmp.Diff(want, got, cmp.AllowUnexported(opaque{})); diff != "" {
					t.Errorf("opaque conditions of %s's egress (-want +got):\n%s", k, diff)
				}
			}
		})
	}
}

// TestClusterPolicyCompare compares environments through Compare: the same
// text selecting differently blocks, equivalent rewrites in another API or
// version give nothing.
func TestClusterPolicyCompare(t *testing.T) {
	t.Parallel()
	restricted := cnpV1beta1Doc("restricted", `
tier: Admin
priority: 10
subject: {pods: {namespaceSelector: {matchLabels: {env: restricted}}, podSelector: {matchLabels: {pod: a}}}}
ingress: [{action: Deny, from: [{pods: {namespaceSelector: {matchLabels: {ns: "y"}}, podSelector: {matchLabels: {pod: b}}}}]}]`)
	probeWith := func(extra ...map[string]any) []map[string]any { return append(probeObjects(), extra...) }
	tests := []struct {
		name              string
		devObjs, prodObjs []map[string]any
		dev, prod         string
		want              []Difference
	}{
		{
			name:     "the same policy selects a namespace labelled only in prod",
			devObjs:  probeWith(namespace("x", "ns=x")),
			prodObjs: probeWith(namespace("x", "ns=x,env=restricted")),
			dev:      restricted,
			prod:     restricted,
			want: []Difference{{
				Severity: "block", Direction: "ingress", Source: epYB, Destination: epXA, Port: "any",
				ProdPolicies: []string{"ClusterNetworkPolicy restricted"},
			}},
		},
		{
			name: "an Admin Deny in prod, a NetworkPolicy default deny in dev",
			dev: policyDoc("x", "deny-egress", `
podSelector: {}
policyTypes: [Egress]`),
			prod: cnpV1beta1Doc("x-no-egress", `
tier: Admin
priority: 0
subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: x}}}
egress: [{action: Deny, to: [{namespaces: {}}, {networks: [0.0.0.0/0, "::/0"]}]}]`),
		},
		{
			name: "v1alpha1 AdminNetworkPolicy in dev, v1beta1 ClusterNetworkPolicy in prod",
			dev: anpDoc("web", `
priority: 10
subject: {namespaces: {matchLabels: {ns: x}}}
ingress:
- {name: web, action: Allow, from: [{namespaces: {}}], ports: [{portNumber: {port: 80}}, {portRange: {protocol: UDP, start: 5000, end: 5010}}]}
- {action: Pass, from: [{namespaces: {matchLabels: {ns: x}}}]}
- {action: Deny, from: [{namespaces: {}}]}`),
			prod: cnpV1beta1Doc("admin-web", `
tier: Admin
priority: 10
subject: {pods: {namespaceSelector: {matchLabels: {ns: x}}, podSelector: {}}}
ingress:
- action: Accept
  from: [{pods: {namespaceSelector: {}, podSelector: {}}}]
  protocols: [{udp: {destinationPort: {range: {start: 5000, end: 5010}}}}, {tcp: {destinationPort: {number: 80}}}]
- {action: Pass, from: [{namespaces: {matchLabels: {ns: x}}}]}
- {action: Deny, from: [{namespaces: {}}]}`),
		},
		{
			// Releases up to v0.1.4 wrote namespaces and pods peers as
			// {namespaceSelector: ...} and {namespaces: {namespaceSelector}, podSelector}.
			name: "an AdminNetworkPolicy of the older v1alpha1 shape in dev, of the newer in prod",
			dev: anpDoc("isolate", `
priority: 5
subject: {namespaces: {matchLabels: {ns: x}}}
ingress:
- {action: Allow, from: [{pods: {namespaces: {namespaceSelector: {matchLabels: {ns: x}}}, podSelector: {matchLabels: {pod: b}}}}]}
- {action: Deny, from: [{namespaces: {namespaceSelector: {}}}]}`),
			prod: anpDoc("isolate", `
priority: 5
subject: {namespaces: {matchLabels: {ns: x}}}
ingress:
- {action: Allow, from: [{pods: {namespaceSelector: {matchLabels: {ns: x}}, podSelector: {matchLabels: {pod: b}}}}]}
- {action: Deny, from: [{namespaces: {}}]}`),
		},
		{
			name: "v1alpha2 in dev, v1beta1 in prod",
			dev: clusterDoc("ClusterNetworkPolicy", "v1alpha2", "baseline", `
tier: Baseline
priority: 3
subject: {namespaces: {}}
egress: [{action: Deny, to: [{networks: [10.0.0.0/8]}]}]`),
			prod: cnpV1beta1Doc("baseline", `
tier: Baseline
priority: 3
subject: {namespaces: {}}
egress: [{action: Deny, to: [{networks: [10.0.0.0/8]}]}]`),
		},
		{
			name: "BaselineAdminNetworkPolicy in dev, a Baseline ClusterNetworkPolicy in prod",
			dev: banpDoc(`
subject: {namespaces: {matchLabels: {ns: "y"}}}
ingress: [{action: Deny, from: [{namespaces: {matchLabels: {ns: x}}}]}]`),
			prod: cnpV1beta1Doc("baseline", `
tier: Baseline
priority: 500
subject: {namespaces: {matchLabels: {ns: "y"}}}
ingress: [{action: Deny, from: [{namespaces: {matchLabels: {ns: x}}}]}]`),
		},
		{
			name: "a prod-only Admin egress Deny blocks",
			prod: cnpV1beta1Doc("no-egress-to-y", `
tier: Admin
priority: 10
subject: {pods: {namespaceSelector: {matchLabels: {ns: x}}, podSelector: {matchLabels: {pod: a}}}}
egress: [{action: Deny, to: [{namespaces: {matchLabels: {ns: "y"}}}], protocols: [{tcp: {destinationPort: {number: 80}}}]}]`),
			want: []Difference{{
				Severity: "block", Direction: "egress", Source: epXA, Destination: epYA, Port: "TCP/80",
				ProdPolicies: []string{"ClusterNetworkPolicy no-egress-to-y"},
			}, {
				Severity: "block", Direction: "egress", Source: epXA, Destination: epYB, Port: "TCP/80",
				ProdPolicies: []string{"ClusterNetworkPolicy no-egress-to-y"},
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			devObjs, prodObjs := tc.devObjs, tc.prodObjs
			if devObjs == nil {
				devObjs = probeObjects()
			}
			if prodObjs == nil {
				prodObjs = probeObjects()
			}
			dev := mustBuild(t, devObjs, tc.dev)
			prod := mustBuild(t, prodObjs, tc.prod)
			if diff := cmp.Diff(tc.want, Compare(dev, prod), ignoreMessage); diff != "" {
				t.Errorf("Compare (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClusterPolicyErrors lists objects the API server (the CRD schema and
// its CEL rules) would reject, or that this version cannot read: each is an
// error naming the field, never a policy read some other way.
func TestClusterPolicyErrors(t *testing.T) {
	t.Parallel()
	const subject = "subject: {namespaces: {}}\n"
	admin := func(rules string) string { return cnpV1beta1Doc("p", "tier: Admin\npriority: 1\n"+subject+rules) }
	egress := func(to string) string { return admin("egress: [{action: Deny, to: [" + to + "]}]") }
	tooMany := func(n int, item string) string { return strings.TrimSuffix(strings.Repeat(item+", ", n), ", ") }
	tests := []struct {
		name, doc, want string
	}{
		{"unsupported version", clusterDoc("ClusterNetworkPolicy", "v1", "p", "tier: Admin"), "apiVersion policy.networking.k8s.io/v1 is not supported"},
		{"AdminNetworkPolicy of v1beta1", clusterDoc("AdminNetworkPolicy", "v1beta1", "p", "priority: 1"), "want v1alpha1"},
		{"missing name", clusterDoc("ClusterNetworkPolicy", "v1beta1", "", "tier: Admin\npriority: 1\n"+subject), "metadata.name is missing"},
		{"missing tier", cnpV1beta1Doc("p", "priority: 1\n"+subject), "spec.tier: required"},
		{"unknown tier", cnpV1beta1Doc("p", "tier: Developer\npriority: 1\n"+subject), `spec.tier: "Developer" is not Admin or Baseline`},
		{"missing priority", cnpV1beta1Doc("p", "tier: Admin\n"+subject), "spec.priority: required"},
		{"priority above 1000", cnpV1beta1Doc("p", "tier: Admin\npriority: 1001\n"+subject), "spec.priority: 1001 is outside 0 to 1000"},
		{"negative priority", anpDoc("p", "priority: -1\n"+subject), "spec.priority: -1 is outside"},
		{"no subject", cnpV1beta1Doc("p", "tier: Admin\npriority: 1"), "spec.subject: exactly one of namespaces, pods must be set, none is"},
		{"two subjects", cnpV1beta1Doc("p", "tier: Admin\npriority: 1\nsubject: {namespaces: {}, pods: {podSelector: {}}}"), "spec.subject: exactly one of namespaces, pods must be set, not namespaces and pods"},
		{"pods subject without podSelector", cnpV1beta1Doc("p", "tier: Admin\npriority: 1\nsubject: {pods: {namespaceSelector: {}}}"), "spec.subject.pods.podSelector: required"},
		{"v1alpha1 pods subject without namespaceSelector", anpDoc("p", "priority: 1\nsubject: {pods: {podSelector: {}}}"), "spec.subject.pods.namespaceSelector: required"},
		{"bad selector operator", cnpV1beta1Doc("p", "tier: Admin\npriority: 1\nsubject: {namespaces: {matchExpressions: [{key: a, operator: Near}]}}"), "spec.subject.namespaces:"},
		{"unknown action", admin("ingress: [{action: Drop, from: [{namespaces: {}}]}]"), `spec.ingress[0].action: "Drop" is not one of Accept, Deny, Pass`},
		{"missing action", admin("ingress: [{from: [{namespaces: {}}]}]"), "spec.ingress[0].action: required"},
		{"Allow in a ClusterNetworkPolicy", admin("ingress: [{action: Allow, from: [{namespaces: {}}]}]"), "spec.ingress[0].action: \"Allow\" is not Accept, Deny or Pass"},
		{"Accept in an AdminNetworkPolicy", anpDoc("p", "priority: 1\n"+subject+"ingress: [{action: Accept, from: [{namespaces: {}}]}]"), "spec.ingress[0].action: \"Accept\" is not Allow, Deny or Pass"},
		{"Pass in the BaselineAdminNetworkPolicy", banpDoc(subject + "egress: [{action: Pass, to: [{namespaces: {}}]}]"), "spec.egress[0].action: Pass is not allowed"},
		{"BaselineAdminNetworkPolicy not named default", clusterDoc("BaselineAdminNetworkPolicy", "v1alpha1", "mine", subject), `metadata.name: "mine" is not allowed`},
		{"rule without peers", admin("ingress: [{action: Deny}]"), "spec.ingress[0].from: required, with at least one peer"},
		{"rule with an empty peer list", admin("egress: [{action: Deny, to: []}]"), "spec.egress[0].to: required"},
		{"26 rules in a ClusterNetworkPolicy", admin("ingress: [" + tooMany(26, "{action: Deny, from: [{namespaces: {}}]}") + "]"), "spec.ingress: 26 rules, at most 25 allowed"},
		{"101 rules in an AdminNetworkPolicy", anpDoc("p", "priority: 1\n"+subject+"egress: ["+tooMany(101, "{action: Deny, to: [{namespaces: {}}]}")+"]"), "spec.egress: 101 rules, at most 100 allowed"},
		{"26 peers in a ClusterNetworkPolicy rule", egress(tooMany(26, "{namespaces: {}}")), "spec.egress[0].to: 26 peers, at most 25 allowed"},
		{"rule name over 100 characters", admin("ingress: [{name: " + strings.Repeat("n", 101) + ", action: Deny, from: [{namespaces: {}}]}]"), "spec.ingress[0].name: 101 characters"},
		{"empty peer", egress("{}"), "spec.egress[0].to[0]: exactly one of namespaces, pods, nodes, networks, domainNames must be set, none is"},
		{"peer left null, as in the tenant user story", admin("ingress: [{action: Pass, from: [{namespaces: null}]}]"), "spec.ingress[0].from[0]: exactly one of namespaces, pods must be set, none is"},
		{"two fields in one peer", egress("{namespaces: {}, networks: [10.0.0.0/8]}"), "spec.egress[0].to[0]: exactly one of namespaces, pods, nodes, networks, domainNames must be set, not namespaces and networks"},
		{"known and unknown field in one peer", egress("{namespaces: {}, zones: [eu]}"), "spec.egress[0].to[0].zones: unknown field"},
		{"older namespaces peer with a selector and sameLabels", anpDoc("p", "priority: 1\n"+subject+"ingress: [{action: Pass, from: [{namespaces: {namespaceSelector: {}, sameLabels: [tenant]}}]}]"), "spec.ingress[0].from[0].namespaces: exactly one of namespaceSelector, sameLabels, notSameLabels must be set"},
		{"typo in spec", admin("egres: []"), "spec.egres: unknown field"},
		{"pods peer without podSelector", egress("{pods: {namespaceSelector: {}}}"), "spec.egress[0].to[0].pods.podSelector: required"},
		{"not a CIDR", egress("{networks: [10.0.0.0]}"), `spec.egress[0].to[0].networks[0]: "10.0.0.0" is not a CIDR`},
		{"CIDR with host bits", egress("{networks: [10.0.0.1/8]}"), `spec.egress[0].to[0].networks[0]: "10.0.0.1/8" has host bits set (write 10.0.0.0/8)`},
		{"CIDR with leading zeros", egress("{networks: [010.0.0.0/8]}"), "is not a CIDR"},
		{"CIDR listed twice", egress("{networks: [10.0.0.0/8, 10.0.0.0/8]}"), `networks[1]: "10.0.0.0/8" is listed twice`},
		{"empty networks", egress("{networks: []}"), "spec.egress[0].to[0].networks: must list at least one"},
		{"26 networks", egress("{networks: [" + tooMany(26, "10.0.0.0/8") + "]}"), "spec.egress[0].to[0].networks: 26 CIDRs, at most 25 allowed"},
		{"bad domain name", admin("egress: [{action: Accept, to: [{domainNames: [\"api.*.example.com\"]}]}]"), `spec.egress[0].to[0].domainNames[0]: "api.*.example.com" is not a domain name`},
		{"single-label domain name", admin("egress: [{action: Accept, to: [{domainNames: [localhost]}]}]"), `"localhost" is not a domain name`},
		{"named port towards networks", admin("egress: [{action: Accept, to: [{networks: [10.0.0.0/8]}], protocols: [{destinationNamedPort: http}]}]"), "spec.egress[0].to[0]: a networks peer cannot be combined with named ports"},
		{"v1alpha1 named port towards nodes", anpDoc("p", "priority: 1\n"+subject+"egress: [{action: Allow, to: [{nodes: {}}], ports: [{namedPort: http}]}]"), "spec.egress[0].to[0]: a nodes peer cannot be combined with named ports"},
		{"empty protocols", admin("egress: [{action: Deny, to: [{namespaces: {}}], protocols: []}]"), "spec.egress[0].protocols: must list at least one"},
		{"protocol entry with nothing set", admin("egress: [{action: Deny, to: [{namespaces: {}}], protocols: [{}]}]"), "spec.egress[0].protocols[0]: exactly one of tcp, udp, sctp, destinationNamedPort must be set, none is"},
		{"tcp and udp in one protocol entry", admin("egress: [{action: Deny, to: [{namespaces: {}}], protocols: [{tcp: {destinationPort: {number: 1}}, udp: {destinationPort: {number: 1}}}]}]"), "not tcp and udp"},
		{"tcp without a port", admin("egress: [{action: Deny, to: [{namespaces: {}}], protocols: [{tcp: {}}]}]"), "spec.egress[0].protocols[0].tcp.destinationPort: required"},
		{"number and range", admin("egress: [{action: Deny, to: [{namespaces: {}}], protocols: [{sctp: {destinationPort: {number: 1, range: {start: 1, end: 2}}}}]}]"), "spec.egress[0].protocols[0].sctp.destinationPort: exactly one of number, range must be set"},
		{"port out of range", admin("egress: [{action: Deny, to: [{namespaces: {}}], protocols: [{udp: {destinationPort: {number: 65536}}}]}]"), "spec.egress[0].protocols[0].udp.destinationPort.number: 65536 is outside 1-65535"},
		{"range start not below end", admin("egress: [{action: Deny, to: [{namespaces: {}}], protocols: [{tcp: {destinationPort: {range: {start: 80, end: 80}}}}]}]"), "spec.egress[0].protocols[0].tcp.destinationPort.range: start 80 must be less than end 80"},
		{"v1alpha1 empty ports", anpDoc("p", "priority: 1\n"+subject+"egress: [{action: Deny, to: [{namespaces: {}}], ports: []}]"), "spec.egress[0].ports: must list at least one"},
		{"v1alpha1 two fields in a port", anpDoc("p", "priority: 1\n"+subject+"egress: [{action: Deny, to: [{namespaces: {}}], ports: [{namedPort: http, portNumber: {port: 80}}]}]"), "spec.egress[0].ports[0]: exactly one of portNumber, namedPort, portRange must be set, not portNumber and namedPort"},
		{"v1alpha1 unknown protocol", anpDoc("p", "priority: 1\n"+subject+"egress: [{action: Deny, to: [{namespaces: {}}], ports: [{portNumber: {protocol: ICMP, port: 1}}]}]"), `spec.egress[0].ports[0].portNumber.protocol: "ICMP" is not TCP, UDP or SCTP`},
		{"v1alpha1 port zero", anpDoc("p", "priority: 1\n"+subject+"egress: [{action: Deny, to: [{namespaces: {}}], ports: [{portNumber: {protocol: TCP}}]}]"), "spec.egress[0].ports[0].portNumber.port: 0 is outside 1-65535"},
		{"v1alpha1 reversed range", anpDoc("p", "priority: 1\n"+subject+"egress: [{action: Deny, to: [{namespaces: {}}], ports: [{portRange: {start: 90, end: 80}}]}]"), "spec.egress[0].ports[0].portRange: start 90 must be less than end 80"},
		{"v1alpha1 empty named port", anpDoc("p", "priority: 1\n"+subject+"egress: [{action: Deny, to: [{namespaces: {}}], ports: [{namedPort: \"\"}]}]"), "spec.egress[0].ports[0].namedPort: empty"},
		{"priority not an integer", cnpV1beta1Doc("p", "tier: Admin\npriority: high\n"+subject), "decoding:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Build(yamlObjects(t, tc.doc))
			if err == nil {
				t.Fatalf("Build succeeded, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Build error:\n%v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

// TestClusterPolicyExamples reads policies shaped like the API's own
// examples and conformance manifests (written for these tests): every one
// must read, in the tier and order the API gives it, with what the model
// cannot decide kept as opaque conditions, and a few connections are
// checked by hand.
func TestClusterPolicyExamples(t *testing.T) {
	t.Parallel()
	objs := []map[string]any{
		namespace("shop", "app=shop,tenant=blue"),
		namespace("monitoring", ""),
		namespace("kube-system", ""),
		namespace("vault", "security=restricted"),
		deployment("shop", "backend", "tier=backend"),
		deployment("shop", "db", "app=db", ContainerPort{Name: "postgres", Port: 5432}),
		deployment("monitoring", "prometheus", "app=prometheus"),
		deployment("kube-system", "coredns", "k8s-app=kube-dns", ContainerPort{Name: "dns", Port: 53, Protocol: "UDP"}, ContainerPort{Name: "dns-tcp", Port: 53}),
		deployment("vault", "vault", "app=vault", ContainerPort{Port: 8200}),
	}
	policies := readObjects(t, "testdata/TestClusterPolicyExamples/policies.yaml")
	env, err := Build(append(objs, policies...))
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	var got []string
	for _, p := range env.policies {
		opaque := 0
		for _, r := range append(p.ingressRules, p.egressRules...) {
			opaque += len(r.opaque)
		}
		got = append(got, fmt.Sprintf("%s: %s %v, %d ingress and %d egress rules, %d opaque", p.id(), p.tier.name, p.order, len(p.ingressRules), len(p.egressRules), opaque))
	}
	want := []string{
		"ClusterNetworkPolicy restricted-namespaces: kube-admin 10, 1 ingress and 0 egress rules, 0 opaque",
		"AdminNetworkPolicy database-guard: kube-admin 20, 2 ingress and 1 egress rules, 0 opaque",
		"ClusterNetworkPolicy cluster-wide-allow: kube-admin 30, 1 ingress and 1 egress rules, 0 opaque",
		"ClusterNetworkPolicy backend-egress-allowlist: kube-admin 70, 0 ingress and 5 egress rules, 2 opaque",
		"ClusterNetworkPolicy delegate-tenant-traffic: kube-admin 90, 1 ingress and 1 egress rules, 0 opaque",
		"ClusterNetworkPolicy zero-trust-default: kube-baseline 10, 1 ingress and 1 egress rules, 0 opaque",
		"BaselineAdminNetworkPolicy default: kube-baseline +Inf, 1 ingress and 3 egress rules, 1 opaque",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("policies in evaluation order (-want +got):\n%s", diff)
	}
	conn := connectivity(env)
	for pair, want := range map[string]string{
		// Only the backend reaches the database, on its port: the Admin
		// tier passes its pod traffic on, and the Baseline allows it.
		"shop/Deployment/backend -> shop/Deployment/db": "TCP/5432",
		"vault/Deployment/vault -> shop/Deployment/db":  "none",
		// The vault namespace takes nothing from unrestricted namespaces,
		// not even monitoring, which a later Admin policy accepts
		// everywhere else, past the Baseline's ingress deny.
		"monitoring/Deployment/prometheus -> vault/Deployment/vault":  "none",
		"monitoring/Deployment/prometheus -> shop/Deployment/backend": "any",
		"vault/Deployment/vault -> shop/Deployment/backend":           "none",
		// The backend's egress allowlist: managed Postgres, nothing else.
		"shop/Deployment/backend -> 10.20.0.0/16":                                      "TCP/5432-5433",
		"shop/Deployment/backend -> 0.0.0.0/0 except 10.20.0.0/16, 169.254.169.254/32": "none",
		// No internet by the Baseline, and the database never reaches the
		// metadata service; kube-system is left out of the Baseline.
		"vault/Deployment/vault -> 0.0.0.0/0 except 10.20.0.0/16, 169.254.169.254/32":         "none",
		"shop/Deployment/db -> 169.254.169.254/32":                                            "none",
		"kube-system/Deployment/coredns -> 0.0.0.0/0 except 10.20.0.0/16, 169.254.169.254/32": "any",
	} {
		got, ok := conn[pair]
		if !ok {
			got = "any"
		}
		if got != want {
			t.Errorf("%s: allowed %s, want %s", pair, got, want)
		}
	}
	twin, err := Build(append(objs, readObjects(t, "testdata/TestClusterPolicyExamples/policies.yaml")...))
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if got := Compare(env, twin); len(got) != 0 {
		t.Errorf("compared with itself: %d differences, want none; first: %+v", len(got), got[0])
	}
}
