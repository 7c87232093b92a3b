package netpol

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/driftgate/driftgate/drift"
)

// genSpec sizes a generated environment.
type genSpec struct {
	namespaces, perNS, policiesPerNS int
}

var (
	tiers  = []string{"web", "api", "db", "cache", "batch"}
	teams  = []string{"payments", "search", "platform"}
	blocks = []string{"10.0.0.0/8", "10.20.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "0.0.0.0/0", "2001:db8::/32"}
)

// generate makes a cluster shaped like a real one: every namespace has a
// default deny and a DNS allowance, then policies of the common kinds with
// random selectors, peers and ports. The same seed gives the same objects.
func generate(seed uint64, g genSpec) []map[string]any {
	r := rand.New(rand.NewPCG(seed, 7))
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	objs := clusterDNS()
	objs = append(objs, namespace("kube-system", ""))
	for n := range g.namespaces {
		ns := fmt.Sprintf("ns%d", n)
		objs = append(objs, namespace(ns, "team="+teams[n%len(teams)]+",env=prod"))
		for i := range g.perNS {
			tier := tiers[i%len(tiers)]
			ports := []ContainerPort{{Name: "http", Port: int32(8080 + i%4)}, {Name: "metrics", Port: 9090}}
			if tier == "db" {
				ports = append(ports, ContainerPort{Name: "sql", Port: 5432})
			}
			if tier == "cache" {
				ports = append(ports, ContainerPort{Name: "memcache", Port: 11211, Protocol: "UDP"})
			}
			objs = append(objs, deployment(ns, fmt.Sprintf("app%d", i), fmt.Sprintf("app=app%d,tier=%s,canary=%t", i, tier, r.IntN(10) == 0), ports...))
		}
		objs = append(objs, yamlPolicy(ns, "default-deny", map[string]any{
			"podSelector": map[string]any{}, "policyTypes": []any{"Ingress", "Egress"},
		}), yamlPolicy(ns, "allow-dns", map[string]any{
			"podSelector": map[string]any{}, "policyTypes": []any{"Egress"},
			"egress": []any{map[string]any{
				"to": []any{map[string]any{
					"namespaceSelector": matchLabels(metadataNameLabel, "kube-system"),
					"podSelector":       matchLabels("k8s-app", "kube-dns"),
				}},
				"ports": []any{port("UDP", 53.0), port("TCP", "dns-tcp")},
			}},
		}))
		for p := range g.policiesPerNS - 2 {
			spec := map[string]any{"podSelector": randomSelector(r, g.perNS)}
			peers := func() []any {
				var out []any
				for range 1 + r.IntN(2) {
					switch r.IntN(5) {
					case 0:
						out = append(out, map[string]any{"podSelector": randomSelector(r, g.perNS)})
					case 1:
						out = append(out, map[string]any{"namespaceSelector": matchLabels("team", pick(teams))})
					case 2:
						out = append(out, map[string]any{"namespaceSelector": matchLabels("team", pick(teams)), "podSelector": matchLabels("tier", pick(tiers))})
					case 3:
						b := map[string]any{"cidr": pick(blocks)}
						if b["cidr"] == "10.0.0.0/8" && r.IntN(2) == 0 {
							b["except"] = []any{"10.20.0.0/16"}
						}
						out = append(out, map[string]any{"ipBlock": b})
					}
				}
				return out // case 4 may leave it empty: every peer
			}
			ports := func() []any {
				var out []any
				for range r.IntN(3) {
					switch r.IntN(5) {
					case 0:
						out = append(out, port("TCP", "http"))
					case 1:
						out = append(out, port("TCP", float64(443)))
					case 2:
						pp := port("TCP", float64(8000+r.IntN(100)))
						pp["endPort"] = float64(8100 + r.IntN(100))
						out = append(out, pp)
					case 3:
						out = append(out, port("UDP", "memcache"))
					case 4:
						out = append(out, port(pick([]string{"SCTP", "UDP"}), float64(5000)))
					}
				}
				return out
			}
			rules := func(dir string) []any {
				var out []any
				for range 1 + r.IntN(2) {
					rl := map[string]any{}
					if ps := peers(); ps != nil {
						rl[dir] = ps
					}
					if ps := ports(); ps != nil {
						rl["ports"] = ps
					}
					out = append(out, rl)
				}
				return out
			}
			switch r.IntN(3) {
			case 0:
				spec["ingress"] = rules("from")
			case 1:
				spec["egress"] = rules("to")
				spec["policyTypes"] = []any{"Egress"}
			default:
				spec["ingress"] = rules("from")
				spec["egress"] = rules("to")
			}
			objs = append(objs, yamlPolicy(ns, fmt.Sprintf("p%d", p), spec))
		}
	}
	return objs
}

// perturb makes the drift a real dev has, one change in every `every`
// objects: policies gone, pods relabelled or serving a named port on another
// number, and one namespace's egress opened wide.
func perturb(seed uint64, every int, objs []map[string]any) []map[string]any {
	r := rand.New(rand.NewPCG(seed, 11))
	var out []map[string]any
	for _, o := range objs {
		if o["kind"] == "NetworkPolicy" && r.IntN(every) == 0 {
			continue
		}
		if o["kind"] == "Deployment" && r.IntN(every) == 0 {
			if r.IntN(2) == 0 {
				o = deployment(namespaceOf(o), nameOf(o), "app=relabelled,tier=web")
			} else {
				o = deployment(namespaceOf(o), nameOf(o), "app=moved,tier=api",
					ContainerPort{Name: "http", Port: 9999}, ContainerPort{Name: "memcache", Port: 11211, Protocol: "UDP"})
			}
		}
		out = append(out, o)
	}
	return append(out, yamlPolicy("ns0", "dev-open-egress", map[string]any{
		"podSelector": map[string]any{}, "policyTypes": []any{"Egress"},
		"egress": []any{map[string]any{"to": []any{map[string]any{"ipBlock": map[string]any{"cidr": "0.0.0.0/0"}}}}},
	}))
}

func yamlPolicy(ns, name string, spec map[string]any) map[string]any {
	return map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     spec,
	}
}

func matchLabels(k, v string) map[string]any {
	return map[string]any{"matchLabels": map[string]any{k: v}}
}

func port(proto string, p any) map[string]any {
	return map[string]any{"protocol": proto, "port": p}
}

// randomSelector selects one app, a tier, or uses an expression.
func randomSelector(r *rand.Rand, perNS int) map[string]any {
	switch r.IntN(4) {
	case 0:
		return matchLabels("app", fmt.Sprintf("app%d", r.IntN(perNS)))
	case 1:
		return matchLabels("tier", tiers[r.IntN(len(tiers))])
	case 2:
		return map[string]any{"matchExpressions": []any{map[string]any{
			"key": "tier", "operator": "In", "values": []any{tiers[r.IntN(len(tiers))], tiers[r.IntN(len(tiers))]},
		}}}
	default:
		return map[string]any{"matchExpressions": []any{map[string]any{"key": "canary", "operator": "NotIn", "values": []any{"true"}}}}
	}
}

// reference answers "may src reach dst on proto/port" by reading the policy
// rules directly, one connection at a time: the definition, with none of
// Compare's bitsets, atoms, caches or skipped pairs.
type reference struct {
	env *Environment
}

// refEndpoint is a workload or one address of an external atom.
type refEndpoint struct {
	w    *Workload
	addr netip.Addr
}

func (r reference) allowed(src, dst refEndpoint, proto string, port int32) bool {
	return r.side(src, dst, true, proto, port) && r.side(dst, src, false, proto, port)
}

// side checks pod's egress (towards peer) or ingress (from peer), walking
// the policies in evaluation order as each API documents it: tier by tier,
// the first matching rule decides, Pass skips to the next tier, a tier that
// selected the pod and denies by default denies, and the rest is allowed.
func (r reference) side(pod, peer refEndpoint, egress bool, proto string, port int32) bool {
	if pod.w == nil {
		return true
	}
	dst := peer
	if !egress {
		dst = pod
	}
	ps := r.env.policies
	for start := 0; start < len(ps); {
		end := start
		for end < len(ps) && ps[end].tier.name == ps[start].tier.name {
			end++
		}
		deny, passed := false, false
		for _, p := range ps[start:end] {
			on, open, rules := p.ingress, p.ingressOpen, p.ingressRules
			if egress {
				on, open, rules = p.egress, p.egressOpen, p.egressRules
			}
			if !on || !r.selects(&p.subject, *pod.w) {
				continue
			}
			if !p.tier.pass && !open {
				deny = true
			}
			if passed {
				continue
			}
			for _, rl := range rules {
				if rl.action == actionLog || rl.local != nil && !r.selects(rl.local, *pod.w) {
					continue
				}
				if !r.peerIn(rl.peers, peer, true) || r.peerIn(rl.notPeers, peer, false) {
					continue
				}
				if !portIn(rl.ports, dst, proto, port, true) || portIn(rl.notPorts, dst, proto, port, false) {
					continue
				}
				switch rl.action {
				case actionAllow:
					return true
				case actionDeny:
					return false
				}
				passed = true
				break
			}
		}
		if !passed && deny {
			return false
		}
		start = end
	}
	return true
}

// selects reports whether workload w is in s.
func (r reference) selects(s *selection, w Workload) bool {
	if s.namespace != "" && w.Namespace != s.namespace {
		return false
	}
	if s.namespaces != nil && !s.namespaces.Matches(r.env.namespaceLabelsOf(w.Namespace)) {
		return false
	}
	t := r.env.target(&w)
	return s.matches(&t)
}

// peerIn reports whether e is one of peers; an absent list is every
// endpoint when absent is true.
func (r reference) peerIn(peers []peer, e refEndpoint, absent bool) bool {
	if peers == nil {
		return absent
	}
	for _, pe := range peers {
		if e.w == nil {
			if pe.world || pe.block != nil && pe.block.cidr.Contains(e.addr) && !slices.ContainsFunc(pe.block.except, func(x netip.Prefix) bool { return x.Contains(e.addr) }) {
				return true
			}
			continue
		}
		if pe.workloads != nil && r.selects(pe.workloads, *e.w) {
			return true
		}
	}
	return false
}

// portIn reports whether proto/port towards dst is one of specs; an absent
// list is every port when absent is true.
func portIn(specs []portSpec, dst refEndpoint, proto string, port int32, absent bool) bool {
	if specs == nil {
		return absent
	}
	for _, s := range specs {
		if s.protocol != proto {
			continue
		}
		if s.name == "" {
			if s.lo <= port && port <= s.hi {
				return true
			}
			continue
		}
		if dst.w != nil && slices.ContainsFunc(dst.w.Ports, func(cp ContainerPort) bool {
			return cp.Name == s.name && cp.Protocol == proto && cp.Port == port
		}) {
			return true
		}
	}
	return false
}

// atomAddress returns an address inside the atom: the first one not taken by
// a nested prefix.
func atomAddress(a cidrAtom) netip.Addr {
	addr := a.prefix.Addr()
	for _, ex := range a.except {
		if ex.Contains(addr) {
			addr = lastAddr(ex).Next()
		}
	}
	return addr
}

// TestCompareMatchesReference checks Compare against the reference on
// generated environments, connection by connection: every port atom of every
// pair must be a block exactly when dev allows it and prod does not, and a
// warning in the opposite case.
func TestCompareMatchesReference(t *testing.T) {
	t.Parallel()
	for seed := range uint64(10) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			objs := generate(seed, genSpec{namespaces: 3, perNS: 8, policiesPerNS: 8})
			prod := mustBuild(t, objs, "")
			dev := mustBuild(t, perturb(seed, 6, generate(seed, genSpec{namespaces: 3, perNS: 8, policiesPerNS: 8})), "")
			checkAgainstReference(t, dev, prod)
		})
	}
}

// checkAgainstReference compares Compare's findings with the reference's
// answer for every port atom of every pair.
func checkAgainstReference(t *testing.T, dev, prod *Environment) {
	t.Helper()
	u := newUniverse(dev, prod)
	got := map[string]string{}
	for _, d := range Compare(dev, prod) {
		got[d.Source.String()+" -> "+d.Destination.String()+" "+d.Severity.String()] += d.Port + ";"
	}
	endpoint := func(env *Environment, i int) refEndpoint {
		if i < u.n {
			return refEndpoint{w: &env.workloads[env.byKey[u.keys[i]]]}
		}
		return refEndpoint{addr: atomAddress(u.atoms[i-u.n])}
	}
	want := map[string]string{}
	rd, rp := reference{dev}, reference{prod}
	for s := range u.endpoints {
		for d := range u.endpoints {
			if s >= u.n && d >= u.n {
				continue
			}
			block, warn := newBitset(u.ports.bits), newBitset(u.ports.bits)
			for p, proto := range protocols {
				for i, start := range u.ports.starts[p] {
					a := rd.allowed(endpoint(dev, s), endpoint(dev, d), proto, start)
					b := rp.allowed(endpoint(prod, s), endpoint(prod, d), proto, start)
					// An atom must answer the same at both ends.
					end := u.ports.atomEnd(p, i)
					if a != rd.allowed(endpoint(dev, s), endpoint(dev, d), proto, end) {
						t.Fatalf("port atom %s/%d-%d is not uniform", proto, start, end)
					}
					switch {
					case a && !b:
						block.set(u.ports.off[p] + i)
					case b && !a:
						warn.set(u.ports.off[p] + i)
					}
				}
			}
			key := u.eps[s].String() + " -> " + u.eps[d].String()
			if !block.empty() {
				want[key+" block"] = u.ports.format(block)
			}
			if !warn.empty() {
				want[key+" warn"] = u.ports.format(warn)
			}
		}
	}
	// Compare may split a pair's ports into an egress and an ingress
	// finding; rejoin them before comparing.
	for k, v := range got {
		got[k] = rejoin(u, v)
	}
	if len(want) == 0 {
		t.Fatal("generated environments do not differ; the test would prove nothing")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Compare vs reference (-want +got):\n%s", diff)
	}
}

// rejoin merges "ports;ports;" from split findings into one formatted set.
func rejoin(u *universe, s string) string {
	b := newBitset(u.ports.bits)
	for _, part := range strings.Split(strings.TrimSuffix(s, ";"), ";") {
		b.or(u.ports.parse(part))
	}
	return u.ports.format(b)
}

// parse reads format's output back, for tests.
func (ps *portSpace) parse(s string) bitset {
	b := newBitset(ps.bits)
	if s == "any" {
		copy(b, ps.full)
		return b
	}
	rest, neg := strings.CutPrefix(s, "any except ")
	for _, item := range strings.Split(rest, ", ") {
		proto, nums, _ := strings.Cut(item, "/")
		var lo, hi int32
		if n, _ := fmt.Sscanf(nums, "%d-%d", &lo, &hi); n < 2 {
			hi = lo
		}
		ps.setRange(b, proto, lo, hi)
	}
	if neg {
		full := slices.Clone(ps.full)
		full.andNot(b)
		return full
	}
	return b
}

// TestCompareSymmetric checks that swapping the environments swaps block and
// warn and nothing else, on a larger generated cluster.
func TestCompareSymmetric(t *testing.T) {
	t.Parallel()
	g := genSpec{namespaces: 6, perNS: 30, policiesPerNS: 10}
	prod := mustBuild(t, generate(42, g), "")
	dev := mustBuild(t, perturb(42, 20, generate(42, g)), "")
	forward, backward := Compare(dev, prod), Compare(prod, dev)
	if len(forward) == 0 {
		t.Fatal("generated environments do not differ")
	}
	swap := map[drift.Severity]drift.Severity{drift.SeverityBlock: drift.SeverityWarn, drift.SeverityWarn: drift.SeverityBlock}
	for i := range backward {
		b := &backward[i]
		b.Severity = swap[b.Severity]
		b.DevPolicies, b.ProdPolicies = b.ProdPolicies, b.DevPolicies
	}
	if diff := cmp.Diff(sortDiffs(forward), sortDiffs(backward), ignoreMessage); diff != "" {
		t.Errorf("Compare(dev, prod) vs swapped Compare(prod, dev) (-forward +backward):\n%s", diff)
	}
	again := Compare(dev, prod)
	if diff := cmp.Diff(forward, again); diff != "" {
		t.Errorf("Compare is not deterministic (-first +second):\n%s", diff)
	}
}

// sortDiffs orders differences by their rendered fields.
func sortDiffs(ds []Difference) []Difference {
	out := slices.Clone(ds)
	slices.SortFunc(out, func(a, b Difference) int {
		ka := a.Source.String() + "|" + a.Destination.String() + "|" + a.Severity.String() + "|" + a.Direction
		kb := b.Source.String() + "|" + b.Destination.String() + "|" + b.Severity.String() + "|" + b.Direction
		return strings.Compare(ka, kb)
	})
	return out
}

// BenchmarkCompare measures Compare on 2,000 workloads and 500 policies in
// 20 namespaces, every pod isolated both ways:
//   - drift: dev lost some policies and relabelled some pods, and one
//     namespace opened its egress (about 160,000 findings);
//   - every-source-changed: dev adds one egress allowance to every pod, so no
//     pair can be skipped, while the findings stay few.
func BenchmarkCompare(b *testing.B) {
	g := genSpec{namespaces: 20, perNS: 100, policiesPerNS: 25}
	prod := mustBuild(b, generate(1, g), "")
	if n, w := len(prod.policies), len(prod.workloads); n != 500 || w < 2000 {
		b.Fatalf("generated %d policies over %d workloads, want 500 over 2,000", n, w)
	}
	drift := mustBuild(b, perturb(1, 50, generate(1, g)), "")
	objs := generate(1, g)
	for n := range g.namespaces {
		objs = append(objs, yamlPolicy(fmt.Sprintf("ns%d", n), "test-net", map[string]any{
			"podSelector": map[string]any{}, "policyTypes": []any{"Egress"},
			"egress": []any{map[string]any{
				"to":    []any{map[string]any{"ipBlock": map[string]any{"cidr": "192.0.2.0/24"}}},
				"ports": []any{port("TCP", 7.0)},
			}},
		}))
	}
	everySource := mustBuild(b, objs, "")
	for _, bc := range []struct {
		name string
		dev  *Environment
	}{{"drift", drift}, {"every-source-changed", everySource}} {
		b.Run(bc.name, func(b *testing.B) {
			var findings int
			for b.Loop() {
				findings = len(Compare(bc.dev, prod))
			}
			b.ReportMetric(float64(findings), "findings")
		})
	}
}

// BenchmarkBuild measures reading the same 2,000 workloads and 500 policies.
func BenchmarkBuild(b *testing.B) {
	objs := generate(1, genSpec{namespaces: 20, perNS: 100, policiesPerNS: 25})
	for b.Loop() {
		if _, err := Build(objs); err != nil {
			b.Fatal(err)
		}
	}
}
