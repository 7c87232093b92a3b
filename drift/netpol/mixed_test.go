package netpol

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// generateMixed is generate with policies of every API the model reads
// added in each namespace: Admin and Baseline tier ClusterNetworkPolicies,
// a BaselineAdminNetworkPolicy, Calico policies in two tiers and Cilium
// policies with deny rules. Actions, peers and ports are random, so every
// precedence rule is exercised against the reference.
func generateMixed(seed uint64, g genSpec, extraPerNS int) []map[string]any {
	r := rand.New(rand.NewPCG(seed, 13))
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	objs := generate(seed, g)
	objs = append(objs,
		map[string]any{"apiVersion": "projectcalico.org/v3", "kind": "Tier", "metadata": map[string]any{"name": "security"}, "spec": map[string]any{"order": 100.0}},
		map[string]any{"apiVersion": "projectcalico.org/v3", "kind": "Tier", "metadata": map[string]any{"name": "platform"}, "spec": map[string]any{"order": 200.0, "defaultAction": "Pass"}},
		map[string]any{
			"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "BaselineAdminNetworkPolicy",
			"metadata": map[string]any{"name": "default"},
			"spec": map[string]any{
				"subject": map[string]any{"namespaces": matchLabels("team", "search")},
				"ingress": []any{map[string]any{"name": "deny-others", "action": "Deny", "from": []any{map[string]any{"namespaces": matchLabels("team", "payments")}}}},
			},
		})
	cnpActions := []string{"Accept", "Deny", "Pass"}
	calicoActions := []string{"Allow", "Deny", "Pass", "Log"}
	for n := range g.namespaces {
		ns := fmt.Sprintf("ns%d", n)
		for i := range extraPerNS {
			name := fmt.Sprintf("x%d-%d", n, i)
			switch r.IntN(4) {
			case 0: // a ClusterNetworkPolicy of either tier
				tier := pick([]string{"Admin", "Baseline"})
				peer := func() map[string]any {
					switch r.IntN(3) {
					case 0:
						return map[string]any{"namespaces": matchLabels("team", pick(teams))}
					case 1:
						return map[string]any{"pods": map[string]any{"namespaceSelector": map[string]any{}, "podSelector": matchLabels("tier", pick(tiers))}}
					}
					return map[string]any{"networks": []any{pick(blocks[:4])}}
				}
				act := pick(cnpActions)
				if tier == "Baseline" && act == "Pass" {
					act = "Deny"
				}
				rule := map[string]any{"action": act, "to": []any{peer()}}
				if r.IntN(2) == 0 {
					rule["protocols"] = []any{map[string]any{"tcp": map[string]any{"destinationPort": map[string]any{"number": float64(443)}}}}
				}
				spec := map[string]any{
					"tier": tier, "priority": float64(r.IntN(50)),
					"subject": map[string]any{"pods": map[string]any{"namespaceSelector": matchLabels(metadataNameLabel, ns), "podSelector": matchLabels("tier", pick(tiers))}},
				}
				if r.IntN(2) == 0 {
					spec["egress"] = []any{rule}
				} else {
					if _, ok := rule["to"].([]any)[0].(map[string]any)["networks"]; ok {
						rule["to"] = []any{map[string]any{"namespaces": map[string]any{}}}
					}
					rule["from"] = rule["to"]
					delete(rule, "to")
					spec["ingress"] = []any{rule}
				}
				objs = append(objs, map[string]any{
					"apiVersion": "policy.networking.k8s.io/v1beta1", "kind": "ClusterNetworkPolicy",
					"metadata": map[string]any{"name": name}, "spec": spec,
				})
			case 1, 2: // a Calico policy in one of three tiers
				tier := pick([]string{"default", "security", "platform"})
				entity := func() map[string]any {
					switch r.IntN(3) {
					case 0:
						return map[string]any{"selector": fmt.Sprintf("tier == '%s'", pick(tiers))}
					case 1:
						return map[string]any{"nets": []any{pick(blocks[:4])}}
					}
					return map[string]any{"namespaceSelector": fmt.Sprintf("team == '%s'", pick(teams)), "selector": "all()"}
				}
				rule := map[string]any{"action": pick(calicoActions)}
				if r.IntN(2) == 0 {
					rule["protocol"] = "TCP"
					rule["destination"] = map[string]any{"ports": []any{float64(443), "8000:8100"}}
				}
				spec := map[string]any{"tier": tier, "order": float64(r.IntN(3) * 100), "selector": fmt.Sprintf("tier == '%s'", pick(tiers))}
				if r.IntN(2) == 0 {
					if d, ok := rule["destination"].(map[string]any); ok {
						for k, v := range entity() {
							d[k] = v
						}
					} else {
						rule["destination"] = entity()
					}
					spec["egress"] = []any{rule}
					spec["types"] = []any{"Egress"}
				} else {
					rule["source"] = entity()
					spec["ingress"] = []any{rule}
					spec["types"] = []any{"Ingress"}
				}
				pname := name
				if tier != "default" {
					pname = tier + "." + name
				}
				objs = append(objs, map[string]any{
					"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy",
					"metadata": map[string]any{"name": pname, "namespace": ns}, "spec": spec,
				})
			default: // a Cilium policy, with deny rules or without
				peer := func() map[string]any {
					switch r.IntN(3) {
					case 0:
						return map[string]any{"toEndpoints": []any{matchLabels("tier", pick(tiers))}}
					case 1:
						return map[string]any{"toCIDR": []any{pick(blocks[:4])}}
					}
					return map[string]any{"toEndpoints": []any{matchLabels("k8s:io.kubernetes.pod.namespace", fmt.Sprintf("ns%d", r.IntN(g.namespaces)))}}
				}
				rule := peer()
				if r.IntN(2) == 0 {
					rule["toPorts"] = []any{map[string]any{"ports": []any{map[string]any{"port": "443", "protocol": "TCP"}}}}
				}
				spec := map[string]any{"endpointSelector": matchLabels("tier", pick(tiers))}
				if r.IntN(2) == 0 {
					spec["egressDeny"] = []any{rule}
				} else {
					spec["egress"] = []any{rule}
				}
				objs = append(objs, map[string]any{
					"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
					"metadata": map[string]any{"name": name, "namespace": ns}, "spec": spec,
				})
			}
		}
	}
	return objs
}

// TestCompareMatchesReferenceMixed is TestCompareMatchesReference with every
// policy API at once.
func TestCompareMatchesReferenceMixed(t *testing.T) {
	t.Parallel()
	for seed := range uint64(10) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			g := genSpec{namespaces: 3, perNS: 8, policiesPerNS: 6}
			prod := mustBuild(t, generateMixed(seed, g, 6), "")
			dev := mustBuild(t, perturb(seed, 5, generateMixed(seed, g, 6)), "")
			apis := map[api]bool{}
			for _, p := range prod.policies {
				apis[p.api] = true
			}
			if len(apis) < 4 {
				t.Fatalf("generated policies of %d APIs, want a mix", len(apis))
			}
			checkAgainstReference(t, dev, prod)
		})
	}
}

// BenchmarkCompareMixed is BenchmarkCompare/drift with 500 policies of
// mixed APIs: per namespace 15 NetworkPolicies (the default deny and DNS
// allowance among them) and 10 of the other APIs, over the same 2,000
// workloads.
func BenchmarkCompareMixed(b *testing.B) {
	g := genSpec{namespaces: 20, perNS: 100, policiesPerNS: 15}
	prod := mustBuild(b, generateMixed(1, g, 10), "")
	if n, w := len(prod.policies), len(prod.workloads); n < 500 || w < 2000 {
		b.Fatalf("generated %d policies over %d workloads, want 500 over 2,000", n, w)
	}
	dev := mustBuild(b, perturb(1, 50, generateMixed(1, g, 10)), "")
	var findings int
	for b.Loop() {
		findings = len(Compare(dev, prod))
	}
	b.ReportMetric(float64(findings), "findings")
}

// BenchmarkBuildMixed measures reading the objects of BenchmarkCompareMixed.
func BenchmarkBuildMixed(b *testing.B) {
	objs := generateMixed(1, genSpec{namespaces: 20, perNS: 100, policiesPerNS: 15}, 10)
	for b.Loop() {
		if _, err := Build(objs); err != nil {
			b.Fatal(err)
		}
	}
}
