package netpol

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ignoreMessage leaves the sentence to TestCompareMessage so the tables
// compare the structured fields.
var ignoreMessage = cmpopts.IgnoreFields(Difference{}, "Message")

// Endpoints of the probe fixture as Compare reports them.
var (
	epXA = Endpoint{Namespace: "x", Kind: "Deployment", Name: "a"}
	epXB = Endpoint{Namespace: "x", Kind: "Deployment", Name: "b"}
	epYA = Endpoint{Namespace: "y", Kind: "Deployment", Name: "a"}
	epYB = Endpoint{Namespace: "y", Kind: "Deployment", Name: "b"}
	epV4 = Endpoint{CIDR: "0.0.0.0/0"}
	epV6 = Endpoint{CIDR: "::/0"}
)

// TestCompareEquivalent lists policy sets written differently that allow the
// same connections: none may give a finding.
func TestCompareEquivalent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		dev, prod string
		devExtra  []map[string]any
	}{
		{
			name: "rules reordered",
			dev: policyDoc("x", "p", `
podSelector: {matchLabels: {pod: a}}
ingress:
- {from: [{podSelector: {matchLabels: {pod: b}}}], ports: [{port: 80}]}
- {from: [{namespaceSelector: {matchLabels: {ns: "y"}}}], ports: [{port: 81, protocol: UDP}]}`),
			prod: policyDoc("x", "p", `
podSelector: {matchLabels: {pod: a}}
ingress:
- {from: [{namespaceSelector: {matchLabels: {ns: "y"}}}], ports: [{port: 81, protocol: UDP}]}
- {from: [{podSelector: {matchLabels: {pod: b}}}], ports: [{port: 80}]}`),
		},
		{
			name: "matchLabels and matchExpressions In",
			dev: policyDoc("x", "p", `
podSelector: {matchLabels: {pod: a}}
ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]`),
			prod: policyDoc("x", "p", `
podSelector: {matchExpressions: [{key: pod, operator: In, values: [a]}]}
ingress: [{from: [{podSelector: {matchExpressions: [{key: pod, operator: In, values: [b]}]}}]}]`),
		},
		{
			name: "duplicate peers",
			dev: policyDoc("x", "p", `
podSelector: {matchLabels: {pod: a}}
ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]`),
			prod: policyDoc("x", "p", `
podSelector: {matchLabels: {pod: a}}
ingress:
- from:
  - podSelector: {matchLabels: {pod: b}}
  - podSelector: {matchLabels: {pod: b}}
- from:
  - podSelector: {matchLabels: {pod: b}}`),
		},
		{
			name: "ports merged in one rule or split over two",
			dev: policyDoc("x", "p", `
podSelector: {}
ingress: [{from: [{podSelector: {}}], ports: [{port: 80}, {port: 443}]}]`),
			prod: policyDoc("x", "p", `
podSelector: {}
ingress:
- {from: [{podSelector: {}}], ports: [{port: 443}]}
- {from: [{podSelector: {}}], ports: [{port: 80}]}`),
		},
		{
			name: "named port and its number",
			dev: policyDoc("x", "p", `
podSelector: {matchLabels: {pod: a}}
ingress: [{ports: [{port: serve-80-tcp}, {port: serve-81-udp, protocol: UDP}]}]`),
			prod: policyDoc("x", "p", `
podSelector: {matchLabels: {pod: a}}
ingress: [{ports: [{port: 80}, {port: 81, protocol: UDP}]}]`),
		},
		{
			name: "policyTypes written out or defaulted",
			dev: policyDoc("x", "p", `
podSelector: {matchLabels: {pod: a}}
ingress: [{from: [{podSelector: {}}]}]
egress: [{to: [{podSelector: {}}]}]`),
			prod: policyDoc("x", "p", `
podSelector: {matchLabels: {pod: a}}
policyTypes: [Ingress, Egress]
ingress: [{from: [{podSelector: {}}]}]
egress: [{to: [{podSelector: {}}]}]`),
		},
		{
			name: "one policy or two with different names",
			dev: policyDoc("x", "all-in-one", `
podSelector: {}
policyTypes: [Ingress, Egress]
ingress: [{from: [{podSelector: {}}]}]`),
			prod: policyDoc("x", "deny-all", `
podSelector: {}
policyTypes: [Ingress, Egress]`) + policyDoc("x", "same-namespace", `
podSelector: {}
ingress: [{from: [{podSelector: {}}]}]`),
		},
		{
			name: "a port range and the same ports listed",
			dev: policyDoc("x", "p", `
podSelector: {}
ingress: [{ports: [{port: 5000, endPort: 5002}]}]`),
			prod: policyDoc("x", "p", `
podSelector: {}
ingress: [{ports: [{port: 5001}, {port: 5000, protocol: TCP}, {port: 5002}]}]`),
		},
		{
			name: "ipBlock except and the equivalent smaller block",
			dev: policyDoc("x", "p", `
podSelector: {}
policyTypes: [Egress]
egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.128.0.0/9]}}]}]`),
			prod: policyDoc("x", "p", `
podSelector: {}
policyTypes: [Egress]
egress: [{to: [{ipBlock: {cidr: 10.0.0.0/9}}]}]`),
		},
		{
			name: "empty from list and absent from",
			dev: policyDoc("x", "p", `
podSelector: {}
ingress: [{from: [], ports: []}]`),
			prod: policyDoc("x", "p", `
podSelector: {}
ingress: [{}]`),
		},
		{
			name: "empty namespaceSelector with or without an empty podSelector",
			dev: policyDoc("x", "p", `
podSelector: {}
ingress: [{from: [{namespaceSelector: {}}]}]`),
			prod: policyDoc("x", "p", `
podSelector: {}
ingress: [{from: [{namespaceSelector: {}, podSelector: {}}]}]`),
		},
		{
			name:     "a workload only dev has is out of scope",
			dev:      policyDoc("x", "deny", `{podSelector: {matchLabels: {pod: c}}}`),
			devExtra: []map[string]any{deployment("x", "c", "pod=c")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dev := mustBuild(t, append(probeObjects(), tc.devExtra...), tc.dev)
			prod := mustBuild(t, probeObjects(), tc.prod)
			if got := Compare(dev, prod); len(got) != 0 {
				t.Errorf("Compare found %d differences, want none:\n%s", len(got), cmp.Diff([]Difference(nil), got))
			}
			// The opposite direction must agree, or one side is read wrongly.
			if got := Compare(prod, dev); len(got) != 0 {
				t.Errorf("Compare(prod, dev) found %d differences, want none:\n%s", len(got), cmp.Diff([]Difference(nil), got))
			}
		})
	}
}

// TestCompareFindings lists policy sets that differ in what they allow,
// with the differences stated by hand.
func TestCompareFindings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		devObjs, prodObjs   []map[string]any
		devPolicy, prodPoly string
		want                []Difference
	}{
		{
			name: "identical policy text over differently labelled pods",
			devObjs: []map[string]any{
				namespace("x", "ns=x"), deployment("x", "a", "pod=a"), deployment("x", "b", "pod=b,role=frontend"),
			},
			prodObjs: []map[string]any{
				namespace("x", "ns=x"), deployment("x", "a", "pod=a"), deployment("x", "b", "pod=b"),
			},
			devPolicy: frontendOnly,
			prodPoly:  frontendOnly,
			want: []Difference{{
				Severity: "block", Direction: "ingress", Source: epXB, Destination: epXA, Port: "any",
				DevPolicies: []string{"x/a-from-frontend"}, ProdPolicies: []string{"x/a-from-frontend"},
			}},
		},
		{
			name: "identical policy text over differently labelled namespaces",
			devObjs: []map[string]any{
				namespace("x", "ns=x"), namespace("y", "team=payments"), deployment("x", "a", "pod=a"), deployment("y", "b", "pod=b"),
			},
			prodObjs: []map[string]any{
				namespace("x", "ns=x"), namespace("y", "team=search"), deployment("x", "a", "pod=a"), deployment("y", "b", "pod=b"),
			},
			devPolicy: paymentsOnly,
			prodPoly:  paymentsOnly,
			want: []Difference{{
				Severity: "block", Direction: "ingress", Source: epYB, Destination: epXA, Port: "any",
				DevPolicies: []string{"x/a-from-payments"}, ProdPolicies: []string{"x/a-from-payments"},
			}},
		},
		{
			name: "dev stricter is a warning",
			devPolicy: policyDoc("x", "a-from-b", `
podSelector: {matchLabels: {pod: a}}
ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]`),
			want: []Difference{
				{Severity: "warn", Direction: "ingress", Source: epXA, Destination: epXA, Port: "any", DevPolicies: []string{"x/a-from-b"}},
				{Severity: "warn", Direction: "ingress", Source: epYA, Destination: epXA, Port: "any", DevPolicies: []string{"x/a-from-b"}},
				{Severity: "warn", Direction: "ingress", Source: epYB, Destination: epXA, Port: "any", DevPolicies: []string{"x/a-from-b"}},
				{Severity: "warn", Direction: "ingress", Source: epV4, Destination: epXA, Port: "any", DevPolicies: []string{"x/a-from-b"}},
				{Severity: "warn", Direction: "ingress", Source: epV6, Destination: epXA, Port: "any", DevPolicies: []string{"x/a-from-b"}},
			},
		},
		{
			name:      "egress to 0.0.0.0/0 on dev, only 10.0.0.0/8 on prod",
			devPolicy: egressTo("0.0.0.0/0"),
			prodPoly:  egressTo("10.0.0.0/8"),
			want: []Difference{{
				Severity: "block", Direction: "egress", Source: epXA,
				Destination: Endpoint{CIDR: "0.0.0.0/0", Except: []string{"10.0.0.0/8"}}, Port: "any",
				DevPolicies: []string{"x/out"}, ProdPolicies: []string{"x/out"},
			}},
		},
		{
			name:      "ipBlock except on prod only",
			devPolicy: egressTo("10.0.0.0/8"),
			prodPoly:  egressTo("10.0.0.0/8", "10.1.0.0/16"),
			want: []Difference{{
				Severity: "block", Direction: "egress", Source: epXA,
				Destination: Endpoint{CIDR: "10.1.0.0/16"}, Port: "any",
				DevPolicies: []string{"x/out"}, ProdPolicies: []string{"x/out"},
			}},
		},
		{
			name: "separate peers on dev, one combined peer on prod",
			devPolicy: policyDoc("x", "p", `
podSelector: {matchLabels: {pod: a}}
ingress:
- from:
  - namespaceSelector: {matchLabels: {ns: "y"}}
  - podSelector: {matchLabels: {pod: b}}`),
			prodPoly: policyDoc("x", "p", `
podSelector: {matchLabels: {pod: a}}
ingress:
- from:
  - namespaceSelector: {matchLabels: {ns: "y"}}
    podSelector: {matchLabels: {pod: b}}`),
			want: []Difference{
				{Severity: "block", Direction: "ingress", Source: epXB, Destination: epXA, Port: "any", DevPolicies: []string{"x/p"}, ProdPolicies: []string{"x/p"}},
				{Severity: "block", Direction: "ingress", Source: epYA, Destination: epXA, Port: "any", DevPolicies: []string{"x/p"}, ProdPolicies: []string{"x/p"}},
			},
		},
		{
			name:      "wider endPort range on dev",
			devPolicy: fromBOnPorts("{port: 5000, endPort: 5010}"),
			prodPoly:  fromBOnPorts("{port: 5000, endPort: 5005}"),
			want: []Difference{{
				Severity: "block", Direction: "ingress", Source: epXB, Destination: epXA, Port: "TCP/5006-5010",
				DevPolicies: []string{"x/p"}, ProdPolicies: []string{"x/p"},
			}},
		},
		{
			name:      "SCTP on dev where prod has UDP",
			devPolicy: fromBOnPorts("{port: 53, protocol: SCTP}"),
			prodPoly:  fromBOnPorts("{port: 53, protocol: UDP}"),
			want: []Difference{
				{Severity: "block", Direction: "ingress", Source: epXB, Destination: epXA, Port: "SCTP/53", DevPolicies: []string{"x/p"}, ProdPolicies: []string{"x/p"}},
				{Severity: "warn", Direction: "ingress", Source: epXB, Destination: epXA, Port: "UDP/53", DevPolicies: []string{"x/p"}, ProdPolicies: []string{"x/p"}},
			},
		},
		{
			name:      "ports that differ the same way are one finding",
			devPolicy: fromBOnPorts("{port: 80}, {port: 443}, {port: 8443}, {port: 53, protocol: UDP}"),
			prodPoly:  fromBOnPorts("{port: 8443}"),
			want: []Difference{{
				Severity: "block", Direction: "ingress", Source: epXB, Destination: epXA, Port: "TCP/80, TCP/443, UDP/53",
				DevPolicies: []string{"x/p"}, ProdPolicies: []string{"x/p"},
			}},
		},
		{
			name: "prod denies at egress before ingress, naming the policies that allow the differing ports",
			devPolicy: policyDoc("x", "web", `
podSelector: {matchLabels: {pod: b}}
policyTypes: [Egress]
egress: [{ports: [{port: 80}]}]`) + policyDoc("x", "tls", `
podSelector: {matchLabels: {pod: b}}
policyTypes: [Egress]
egress: [{ports: [{port: 443}]}]`),
			prodPoly: policyDoc("x", "deny-egress", `
podSelector: {matchLabels: {pod: b}}
policyTypes: [Egress]
egress: [{ports: [{port: 80}], to: [{podSelector: {}}]}]`) + policyDoc("x", "deny-ingress", `
podSelector: {matchLabels: {pod: a}}`),
			// In prod x/b may send TCP 80 to pods of x only, and x/a accepts
			// nothing; in dev x/b sends TCP 80 and 443 anywhere. Where prod's
			// egress already refuses, the finding is egress; where egress lets
			// it out and x/a's ingress refuses, it is ingress.
			want: func() []Difference {
				web := []string{"x/tls", "x/web"}
				denyE, denyI := []string{"x/deny-egress"}, []string{"x/deny-ingress"}
				out := []Difference{
					{Severity: "block", Direction: "ingress", Source: epXA, Destination: epXA, Port: "any", ProdPolicies: denyI},
					{Severity: "block", Direction: "egress", Source: epXB, Destination: epXA, Port: "TCP/443", DevPolicies: []string{"x/tls"}, ProdPolicies: denyE},
					{Severity: "block", Direction: "ingress", Source: epXB, Destination: epXA, Port: "TCP/80", ProdPolicies: denyI},
					{Severity: "block", Direction: "egress", Source: epXB, Destination: epXB, Port: "TCP/443", DevPolicies: []string{"x/tls"}, ProdPolicies: denyE},
				}
				for _, dst := range []Endpoint{epYA, epYB, epV4, epV6} {
					out = append(out, Difference{Severity: "block", Direction: "egress", Source: epXB, Destination: dst, Port: "TCP/80, TCP/443", DevPolicies: web, ProdPolicies: denyE})
				}
				for _, src := range []Endpoint{epYA, epYB, epV4, epV6} {
					out = append(out, Difference{Severity: "block", Direction: "ingress", Source: src, Destination: epXA, Port: "any", ProdPolicies: denyI})
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
			got := Compare(mustBuild(t, devObjs, tc.devPolicy), mustBuild(t, prodObjs, tc.prodPoly))
			if diff := cmp.Diff(tc.want, got, ignoreMessage); diff != "" {
				t.Errorf("Compare (-want +got):\n%s", diff)
			}
		})
	}
}

var frontendOnly = policyDoc("x", "a-from-frontend", `
podSelector: {matchLabels: {pod: a}}
ingress: [{from: [{podSelector: {matchLabels: {role: frontend}}}]}]`)

var paymentsOnly = policyDoc("x", "a-from-payments", `
podSelector: {matchLabels: {pod: a}}
ingress: [{from: [{namespaceSelector: {matchLabels: {team: payments}}}]}]`)

// egressTo lets x/a reach only cidr minus except.
func egressTo(cidr string, except ...string) string {
	ex := ""
	if len(except) > 0 {
		ex = fmt.Sprintf(", except: [%s]", except[0])
	}
	return policyDoc("x", "out", fmt.Sprintf(`
podSelector: {matchLabels: {pod: a}}
policyTypes: [Egress]
egress: [{to: [{ipBlock: {cidr: %s%s}}]}]`, cidr, ex))
}

// fromBOnPorts lets x/a accept only x/b on the given ports entries.
func fromBOnPorts(ports string) string {
	return policyDoc("x", "p", fmt.Sprintf(`
podSelector: {matchLabels: {pod: a}}
ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}], ports: [%s]}]`, ports))
}

// dnsObjects adds cluster DNS to the probe fixture, found through the
// kube-dns Service as in a real cluster.
func dnsObjects() []map[string]any {
	return append(probeObjects(), clusterDNS()...)
}

// clusterDNS is CoreDNS and the kube-dns Service that selects it.
func clusterDNS() []map[string]any {
	return []map[string]any{
		deployment("kube-system", "coredns", "k8s-app=kube-dns",
			ContainerPort{Name: "dns", Port: 53, Protocol: "UDP"},
			ContainerPort{Name: "dns-tcp", Port: 53, Protocol: "TCP"},
			ContainerPort{Name: "metrics", Port: 9153}),
		map[string]any{
			"apiVersion": "v1", "kind": "Service",
			"metadata": map[string]any{"name": "kube-dns", "namespace": "kube-system"},
			"spec": map[string]any{
				"selector": map[string]any{"k8s-app": "kube-dns"},
				"ports": []any{
					map[string]any{"name": "dns", "port": 53.0, "protocol": "UDP", "targetPort": 53.0},
					map[string]any{"name": "dns-tcp", "port": 53.0, "protocol": "TCP", "targetPort": 53.0},
				},
			},
		},
	}
}

// defaultDenyWithDNS is the common prod lockdown: namespace x may only
// resolve names.
var defaultDenyWithDNS = policyDoc("x", "default-deny-egress", `
podSelector: {}
policyTypes: [Egress]`) + policyDoc("x", "allow-dns", `
podSelector: {}
policyTypes: [Egress]
egress:
- to:
  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
    podSelector: {matchLabels: {k8s-app: kube-dns}}
  ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]`)

// TestCompareDefaultDenyWithDNS checks the headline scenario: prod locks
// namespace x down to DNS, dev has no policy. Every other connection out of x
// is a block on egress naming both prod policies; DNS itself is no finding.
func TestCompareDefaultDenyWithDNS(t *testing.T) {
	t.Parallel()
	dev := mustBuild(t, dnsObjects(), "")
	prod := mustBuild(t, dnsObjects(), defaultDenyWithDNS)
	dns := Endpoint{Namespace: "kube-system", Kind: "Deployment", Name: "coredns", DNS: true}
	var want []Difference
	for _, src := range []Endpoint{epXA, epXB} {
		for _, dst := range []Endpoint{dns, epXA, epXB, epYA, epYB, epV4, epV6} {
			port := "any"
			if dst.DNS {
				port = "any except TCP/53, UDP/53"
			}
			want = append(want, Difference{
				Severity: "block", Direction: "egress", Source: src, Destination: dst, Port: port,
				ProdPolicies: []string{"x/allow-dns", "x/default-deny-egress"},
			})
		}
	}
	got := Compare(dev, prod)
	if diff := cmp.Diff(want, got, ignoreMessage); diff != "" {
		t.Errorf("Compare (-want +got):\n%s", diff)
	}
	// With DNS allowed on both sides, what remains is the rest of the
	// lockdown, and no DNS finding at all.
	devDNSOnly := mustBuild(t, dnsObjects(), defaultDenyWithDNS)
	if got := Compare(devDNSOnly, prod); len(got) != 0 {
		t.Errorf("same lockdown on both sides: got %d differences, want none: %+v", len(got), got)
	}
}

// TestCompareMessage pins the sentence a reader sees for one finding.
func TestCompareMessage(t *testing.T) {
	t.Parallel()
	dev := mustBuild(t, dnsObjects(), "")
	prod := mustBuild(t, dnsObjects(), defaultDenyWithDNS)
	var got []string
	for _, d := range Compare(dev, prod) {
		if d.Source.String() == epXA.String() && (d.Destination.DNS || d.Destination.CIDR == "0.0.0.0/0") {
			got = append(got, d.Message)
		}
	}
	want := []string{
		"dev allows x/Deployment/a to reach kube-system/Deployment/coredns (cluster DNS) on any except TCP/53, UDP/53, " +
			"but prod denies it at egress: x/Deployment/a is isolated there by policies x/allow-dns, x/default-deny-egress " +
			"and no rule allows it, while in dev no egress policy selects x/Deployment/a",
		"dev allows x/Deployment/a to reach external 0.0.0.0/0 on any port, " +
			"but prod denies it at egress: x/Deployment/a is isolated there by policies x/allow-dns, x/default-deny-egress " +
			"and no rule allows it, while in dev no egress policy selects x/Deployment/a",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}

	// The warning reads the other way round and names the allowing policy.
	got = nil
	for _, d := range Compare(mustBuild(t, probeObjects(), fromBOnPorts("{port: 80}")), mustBuild(t, probeObjects(), fromBOnPorts("{port: 80}, {port: 443}"))) {
		got = append(got, d.Message)
	}
	want = []string{"prod allows x/Deployment/b to reach x/Deployment/a on TCP/443, but dev denies it at ingress: " +
		"x/Deployment/a is isolated there by policy x/p and no rule allows it, while in prod policy x/p allows it"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warn message (-want +got):\n%s", diff)
	}
}

// TestCompareNil treats a missing environment as nothing to compare.
func TestCompareNil(t *testing.T) {
	t.Parallel()
	env := mustBuild(t, probeObjects(), "")
	if got := Compare(nil, env); got != nil {
		t.Errorf("Compare(nil, env) = %v, want nil", got)
	}
	if got := Compare(env, nil); got != nil {
		t.Errorf("Compare(env, nil) = %v, want nil", got)
	}
}

// TestIPv6OnlyWhenUsed: external IPv6 is an endpoint only in environments
// that use IPv6 (a dual-stack Service or an IPv6 ipBlock); on an IPv4-only
// cluster it would repeat every external finding for traffic no pod can send.
func TestIPv6OnlyWhenUsed(t *testing.T) {
	t.Parallel()
	ipv4Only := func() []map[string]any {
		var out []map[string]any
		for _, o := range probeObjects() {
			if o["kind"] != "Service" {
				out = append(out, o)
			}
		}
		return out
	}
	denyEgress := policyDoc("x", "deny", `{podSelector: {}, policyTypes: [Egress]}`)
	externals := func(ds []Difference) []string {
		var out []string
		for _, d := range ds {
			if d.Destination.CIDR != "" && d.Source.String() == epXA.String() {
				out = append(out, d.Destination.String())
			}
		}
		return out
	}
	got := externals(Compare(mustBuild(t, ipv4Only(), ""), mustBuild(t, ipv4Only(), denyEgress)))
	if diff := cmp.Diff([]string{"0.0.0.0/0"}, got); diff != "" {
		t.Errorf("IPv4-only (-want +got):\n%s", diff)
	}
	v6Block := denyEgress + policyDoc("y", "v6", `
podSelector: {}
egress: [{to: [{ipBlock: {cidr: "2001:db8::/32"}}]}]`)
	got = externals(Compare(mustBuild(t, ipv4Only(), ""), mustBuild(t, ipv4Only(), v6Block)))
	if diff := cmp.Diff([]string{"0.0.0.0/0", "::/0 except 2001:db8::/32", "2001:db8::/32"}, got); diff != "" {
		t.Errorf("with an IPv6 ipBlock (-want +got):\n%s", diff)
	}
}
