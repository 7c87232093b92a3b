package netpol

import (
	"fmt"
	"slices"
	"testing"
)

// These tests came from a review of the model: a condition the model cannot
// decide, shadowed by a Deny on one side only; Calico's tie-break by name;
// and hostile values in every field of every API.

// failsOpen reports whether CompareAll says nothing that stops the deploy:
// no block difference and no undecided that is not merely stricter.
func failsOpen(diffs []Difference, und []Undecided) bool {
	for _, d := range diffs {
		if d.Severity.String() == "block" {
			return false
		}
	}
	for _, x := range und {
		if !x.Stricter {
			return false
		}
	}
	return true
}

// An undecidable allowance (domain names) that prod shadows with a Deny and
// dev does not: dev lets traffic to the domain out, prod does not. The text
// of the condition is equal on both sides, so it must not be ignored just
// because the text matches.
func TestUndecidedConditionShadowedByDeny(t *testing.T) {
	t.Parallel()
	objs := []map[string]any{deployment("x", "a", "pod=a")}
	tests := []struct {
		name      string
		dev, prod string
	}{
		{
			name: "Cilium: prod denies world, which wins over its toFQDNs allow",
			prod: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
egressDeny: [{toEntities: [world]}]
egress:
- toFQDNs: [{matchName: api.example.com}]
- toEntities: [cluster]`),
			dev: cnpDoc("x", "p", `
endpointSelector: {matchLabels: {pod: a}}
egress:
- toFQDNs: [{matchName: api.example.com}]
- toEntities: [cluster]`),
		},
		{
			name: "Calico: prod's Deny comes before its Allow to a Service, dev's after",
			prod: calicoDoc("x", "p", `
selector: pod == 'a'
types: [Egress]
egress:
- action: Deny
- action: Allow
  destination: {services: {name: api, namespace: x}}`),
			dev: calicoDoc("x", "p", `
selector: pod == 'a'
types: [Egress]
egress:
- action: Allow
  destination: {services: {name: api, namespace: x}}
- action: Deny`),
		},
		{
			name: "ClusterNetworkPolicy: prod's Deny is at a higher precedence than its domain Accept, dev's at a lower one",
			prod: cnpV1beta1Doc("deny", `
tier: Admin
priority: 10
subject: {namespaces: {}}
egress: [{action: Deny, to: [{networks: [0.0.0.0/0]}]}]`) + cnpV1beta1Doc("fqdn", `
tier: Admin
priority: 30
subject: {namespaces: {}}
egress: [{action: Accept, to: [{domainNames: [api.example.com]}]}]`),
			dev: cnpV1beta1Doc("deny", `
tier: Admin
priority: 50
subject: {namespaces: {}}
egress: [{action: Deny, to: [{networks: [0.0.0.0/0]}]}]`) + cnpV1beta1Doc("fqdn", `
tier: Admin
priority: 30
subject: {namespaces: {}}
egress: [{action: Accept, to: [{domainNames: [api.example.com]}]}]`),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			diffs, und := CompareAll(mustBuild(t, objs, tc.dev), mustBuild(t, objs, tc.prod))
			if failsOpen(diffs, und) {
				t.Errorf("dev lets a condition through that prod shadows, yet nothing blocks: diffs %+v, undecided %+v", diffs, und)
			}
		})
	}
}

// Every value of a valid policy of each API replaced by a value of another
// type (or removed) must give an error or a model, never a panic.
func TestBuildHostileValuesEveryAPI(t *testing.T) {
	t.Parallel()
	docs := cnpV1beta1Doc("c", `
tier: Admin
priority: 10
subject: {pods: {namespaceSelector: {matchLabels: {a: b}}, podSelector: {matchExpressions: [{key: k, operator: In, values: [v]}]}}}
ingress: [{action: Pass, from: [{namespaces: {}}], protocols: [{tcp: {destinationPort: {range: {start: 1, end: 5}}}}, {destinationNamedPort: http}]}]
egress: [{action: Accept, to: [{networks: [10.0.0.0/8]}, {domainNames: [a.example.com]}, {nodes: {}}]}]`) +
		anpDoc("a", `
priority: 3
subject: {namespaces: {}}
egress: [{action: Allow, to: [{pods: {namespaceSelector: {}, podSelector: {}}}], ports: [{portNumber: {port: 80, protocol: TCP}}, {namedPort: http}, {portRange: {start: 1, end: 3}}]}]`) +
		banpDoc(`
subject: {namespaces: {}}
ingress: [{action: Deny, from: [{namespaces: {matchLabels: {x: z}}}]}]`) +
		tierDoc("sec", 100, "Pass") +
		calicoDoc("", "g", `
tier: sec
order: 5
selector: has(app) && app in {'a', 'b'}
namespaceSelector: all()
serviceAccountSelector: role == 'x'
types: [Ingress, Egress]
ingress:
- action: Allow
  protocol: TCP
  source: {nets: [10.0.0.0/8], notNets: [10.1.0.0/16], selector: app == 'a', namespaceSelector: global(), ports: [80, "1:5", http], serviceAccounts: {names: [sa], selector: x == 'y'}}
  destination: {ports: [443], notPorts: [444], selector: "!has(z)"}
  http: {methods: [GET], paths: [{exact: /}]}
egress:
- action: Pass
  notProtocol: UDP
  destination: {services: {name: api, namespace: x}}
- action: Log
- action: Deny
  ipVersion: 4
  protocol: ICMP
  icmp: {type: 8, code: 0}`) +
		cnpDoc("x", "c", `
endpointSelector: {matchLabels: {"k8s:app": a}, matchExpressions: [{key: b, operator: NotIn, values: [c]}]}
enableDefaultDeny: {ingress: false}
ingress:
- fromEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": ns2}}]
  toPorts: [{ports: [{port: "80", protocol: TCP, endPort: 90}], rules: {http: [{method: GET}]}}]
ingressDeny:
- fromCIDRSet: [{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}]
egress:
- toFQDNs: [{matchPattern: "*.example.com"}]
  toPorts: [{ports: [{port: "53", protocol: ANY}], rules: {dns: [{matchPattern: "*"}]}}]
- toEntities: [world, cluster, host]
- icmps: [{fields: [{type: 8}]}]`) +
		"---\napiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: cc}\nspecs:\n- nodeSelector: {}\n  ingress: [{fromEntities: [cluster]}]\n- endpointSelector: {}\n  egressDeny: [{toCIDR: [192.0.2.0/24]}]\n"
	base := yamlObjects(t, docs)
	objs := []map[string]any{deployment("x", "a", "app=a", ContainerPort{Port: 80, Name: "http", Protocol: "TCP"}), namespace("x", "a=b")}
	if _, err := Build(append(slices.Clone(objs), base...)); err != nil {
		t.Fatalf("the unmutated policies do not build: %v", err)
	}
	replacements := []any{nil, "s", float64(-1), float64(1e30), true, map[string]any{}, []any{}, []any{nil}, map[string]any{"": nil}}
	var walk func(v any, set func(any), path string)
	count := 0
	try := func(path string) {
		count++
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s: panic: %v", path, r)
			}
		}()
		env, err := Build(append(slices.Clone(objs), base...))
		if err == nil {
			base0 := mustBuild(t, objs, "")
			CompareAll(env, base0)
			CompareAll(base0, env)
		}
	}
	walk = func(v any, set func(any), path string) {
		for ri, r := range replacements {
			set(r)
			try(fmt.Sprintf("%s=%d", path, ri))
		}
		set(v)
		switch v := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				orig := v[k]
				walk(orig, func(x any) { v[k] = x }, path+"."+k)
				delete(v, k)
				try(path + "." + k + " deleted")
				v[k] = orig
			}
		case []any:
			for i := range v {
				walk(v[i], func(x any) { v[i] = x }, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	for i := range base {
		walk(map[string]any(base[i]), func(x any) {
			if m, ok := x.(map[string]any); ok {
				base[i] = m
			} else {
				base[i] = map[string]any{"kind": x}
			}
		}, fmt.Sprintf("doc%d", i))
	}
	t.Logf("%d mutations", count)
}

// Calico policies of equal order run by name (Felix's policy sorter breaks
// ties by name; calico.go says so too). The model breaks ties by id, whose
// API prefix puts every GlobalNetworkPolicy before every NetworkPolicy, so a
// GlobalNetworkPolicy Deny named after the NetworkPolicy Allow still wins.
// Here prod's Deny sorts first by name and dev's last: dev allows what prod
// denies, and nothing blocks.
func TestCalicoEqualOrderTieByName(t *testing.T) {
	t.Parallel()
	objs := []map[string]any{deployment("x", "a", "pod=a"), deployment("x", "b", "pod=b")}
	allow := calicoDoc("x", "allow", `
order: 100
selector: pod == 'a'
types: [Egress]
egress: [{action: Allow}]`)
	deny := func(name string) string {
		return calicoDoc("", name, `
order: 100
selector: pod == 'a'
types: [Egress]
egress: [{action: Deny}]`)
	}
	dev := mustBuild(t, objs, deny("z-deny")+allow)
	prod := mustBuild(t, objs, deny("a-deny")+allow)
	diffs, und := CompareAll(dev, prod)
	if failsOpen(diffs, und) {
		t.Errorf("dev runs allow before z-deny, prod runs a-deny before allow, yet nothing blocks: %+v %+v", diffs, und)
	}
}
