package netpol

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"

	"k8s.io/apimachinery/pkg/labels"
)

// universe is the shared frame both environments are evaluated in: the
// endpoints (common workloads, then external atoms) and the port atoms.
type universe struct {
	// keys are the common workloads' keys, sorted; endpoint i < n is keys[i].
	keys []string
	n    int
	// atoms are the external endpoints n, n+1, ...
	atoms []cidrAtom
	// endpoints is n + len(atoms).
	endpoints int
	ports     portSpace
	// named numbers the (protocol, name) pairs policies use as named ports.
	named map[namedPort]int
	// grantIDs interns compiled rules by content across environments.
	grantIDs map[string]int
	// eps and desc describe every endpoint for findings and their messages.
	eps  []Endpoint
	desc []string
}

// namedPort is a named policy port, which matches a container port with the
// same name and protocol.
type namedPort struct{ protocol, name string }

// newUniverse collects endpoints and atoms from all environments, so every
// environment's policies are evaluated against the same atoms.
func newUniverse(envs ...*Environment) *universe {
	u := &universe{named: map[namedPort]int{}, grantIDs: map[string]int{}}
	for _, w := range envs[0].workloads {
		k := w.key()
		if !slices.ContainsFunc(envs[1:], func(e *Environment) bool { _, ok := e.byKey[k]; return !ok }) {
			u.keys = append(u.keys, k)
		}
	}
	u.n = len(u.keys)

	// The whole IPv4 space is always an atom; the IPv6 space only when some
	// environment uses IPv6 (a Service family or an IPv6 ipBlock, added
	// below), since on an IPv4-only cluster no pod can reach it anyway.
	prefixes := map[netip.Prefix]bool{netip.MustParsePrefix("0.0.0.0/0"): true}
	for _, e := range envs {
		if e.ipv6 {
			prefixes[netip.MustParsePrefix("::/0")] = true
		}
	}
	boundaries := map[string]map[int32]bool{}
	addBoundary := func(proto string, port int32) {
		if boundaries[proto] == nil {
			boundaries[proto] = map[int32]bool{}
		}
		boundaries[proto][port] = true
	}
	for _, e := range envs {
		for _, p := range e.policies {
			for _, r := range slices.Concat(p.ingressRules, p.egressRules) {
				for _, pe := range r.peers {
					if pe.block != nil {
						prefixes[pe.block.cidr] = true
						if pe.block.cidr.Addr().Is6() {
							prefixes[netip.MustParsePrefix("::/0")] = true
						}
						for _, ex := range pe.block.except {
							prefixes[ex] = true
						}
					}
				}
				for _, ps := range r.ports {
					if ps.name != "" {
						np := namedPort{ps.protocol, ps.name}
						if _, ok := u.named[np]; !ok {
							u.named[np] = len(u.named)
						}
						continue
					}
					addBoundary(ps.protocol, ps.lo)
					addBoundary(ps.protocol, ps.hi+1)
				}
			}
		}
	}
	// A named port resolves to one number per destination, which must be an
	// atom of its own to be compared exactly.
	for _, e := range envs {
		for _, k := range u.keys {
			for _, cp := range e.workloads[e.byKey[k]].Ports {
				if _, ok := u.named[namedPort{cp.Protocol, cp.Name}]; ok && cp.Name != "" {
					addBoundary(cp.Protocol, cp.Port)
					addBoundary(cp.Protocol, cp.Port+1)
				}
			}
		}
	}
	u.atoms = cidrAtoms(prefixes)
	u.endpoints = u.n + len(u.atoms)
	u.ports = newPortSpace(boundaries)

	u.eps = make([]Endpoint, u.endpoints)
	for i, k := range u.keys {
		w := envs[0].workloads[envs[0].byKey[k]]
		ep := Endpoint{Namespace: w.Namespace, Kind: w.Kind, Name: w.Name}
		for _, e := range envs {
			ep.DNS = ep.DNS || e.dns[k]
		}
		u.eps[i] = ep
	}
	for i, a := range u.atoms {
		ep := Endpoint{CIDR: a.prefix.String()}
		for _, ex := range a.except {
			ep.Except = append(ep.Except, ex.String())
		}
		u.eps[u.n+i] = ep
	}
	u.desc = make([]string, u.endpoints)
	for i, ep := range u.eps {
		u.desc[i] = ep.describe()
	}
	return u
}

// compiled is one environment evaluated in a universe: which policies select
// each workload and, per rule, which endpoints and ports it allows.
type compiled struct {
	u *universe
	// ids are the policies' namespace/name, by policy index.
	ids []string
	// egIso and inIso say whether workload i is isolated for the direction.
	egIso, inIso []bool
	// eg and in hold the grants of the policies selecting workload i.
	eg, in [][]*grant
	// egGrants and inGrants hold the same grants' interned ids, sorted and
	// unique, so two environments can be compared without evaluating.
	egGrants, inGrants [][]int
	// egPols and inPols name the policies isolating workload i.
	egPols, inPols [][]string
	// named holds each workload's container ports that named policy ports
	// resolve to, sorted.
	named [][]namedBit
}

// grant is a compiled rule: it allows peers on ports (plus named ports
// resolved against the destination). A nil peers means every endpoint.
type grant struct {
	policy int
	// id is equal for grants that allow exactly the same, in either
	// environment.
	id    int
	peers bitset
	ports bitset
	named []int
}

// namedBit maps a named-port id to the port atom it resolves to.
type namedBit struct{ id, bit int }

// compile evaluates env's selectors and rules over the universe's endpoints.
// Selectors run once per policy or peer and namespace, never per pair.
func (u *universe) compile(env *Environment) *compiled {
	c := &compiled{
		u:        u,
		ids:      make([]string, len(env.policies)),
		egIso:    make([]bool, u.n),
		inIso:    make([]bool, u.n),
		eg:       make([][]*grant, u.n),
		in:       make([][]*grant, u.n),
		egGrants: make([][]int, u.n),
		inGrants: make([][]int, u.n),
		egPols:   make([][]string, u.n),
		inPols:   make([][]string, u.n),
		named:    make([][]namedBit, u.n),
	}
	for pi, p := range env.policies {
		c.ids[pi] = p.id()
	}
	wl := make([]labels.Set, u.n)
	byNS := map[string][]int{}
	for i, k := range u.keys {
		w := &env.workloads[env.byKey[k]]
		wl[i] = w.Labels
		byNS[w.Namespace] = append(byNS[w.Namespace], i)
		for _, cp := range w.Ports {
			if id, ok := u.named[namedPort{cp.Protocol, cp.Name}]; ok && cp.Name != "" {
				if b := u.ports.bit(cp.Protocol, cp.Port); b >= 0 {
					c.named[i] = append(c.named[i], namedBit{id, b})
				}
			}
		}
		slices.SortFunc(c.named[i], func(a, b namedBit) int { return cmp.Or(cmp.Compare(a.id, b.id), cmp.Compare(a.bit, b.bit)) })
		c.named[i] = slices.Compact(c.named[i])
	}
	namespaces := make([]string, 0, len(byNS))
	for ns := range byNS {
		namespaces = append(namespaces, ns)
	}
	slices.Sort(namespaces)

	// Identical peers recur across policies (the DNS peer above all), so
	// their endpoint sets are computed once.
	peerCache := map[string]bitset{}
	peerSet := func(ns string, pe peer) bitset {
		key := ns + "\x00" + selString(pe.pods) + "\x00" + selString(pe.namespaces)
		if pe.block != nil {
			key = fmt.Sprint(pe.block.cidr, pe.block.except)
		}
		if b, ok := peerCache[key]; ok {
			return b
		}
		b := newBitset(u.endpoints)
		switch {
		case pe.block != nil:
			for a, atom := range u.atoms {
				if atom.inBlock(pe.block) {
					b.set(u.n + a)
				}
			}
		case pe.namespaces == nil:
			for _, i := range byNS[ns] {
				if pe.pods.Matches(wl[i]) {
					b.set(i)
				}
			}
		default:
			for _, other := range namespaces {
				if !pe.namespaces.Matches(env.namespaceLabelsOf(other)) {
					continue
				}
				for _, i := range byNS[other] {
					if pe.pods == nil || pe.pods.Matches(wl[i]) {
						b.set(i)
					}
				}
			}
		}
		peerCache[key] = b
		return b
	}
	compileRules := func(pi int, p *policy, rules []rule) []*grant {
		out := make([]*grant, 0, len(rules))
		for _, r := range rules {
			g := &grant{policy: pi}
			if r.peers != nil {
				g.peers = newBitset(u.endpoints)
				for _, pe := range r.peers {
					g.peers.or(peerSet(p.namespace, pe))
				}
			}
			if r.ports == nil {
				g.ports = u.ports.full
			}
			for _, ps := range r.ports {
				if ps.name != "" {
					g.named = append(g.named, u.named[namedPort{ps.protocol, ps.name}])
					continue
				}
				if g.ports == nil {
					g.ports = newBitset(u.ports.bits)
				}
				u.ports.setRange(g.ports, ps.protocol, ps.lo, ps.hi)
			}
			slices.Sort(g.named)
			g.named = slices.Compact(g.named)
			g.id = u.internGrant(g)
			out = append(out, g)
		}
		return out
	}

	for pi, p := range env.policies {
		var selected []int
		for _, i := range byNS[p.namespace] {
			if p.selector.Matches(wl[i]) {
				selected = append(selected, i)
			}
		}
		if len(selected) == 0 {
			continue
		}
		var egGrants, inGrants []*grant
		if p.egress {
			egGrants = compileRules(pi, p, p.egressRules)
		}
		if p.ingress {
			inGrants = compileRules(pi, p, p.ingressRules)
		}
		for _, i := range selected {
			if p.egress {
				c.egIso[i] = true
				c.egPols[i] = append(c.egPols[i], c.ids[pi])
				c.eg[i] = append(c.eg[i], egGrants...)
			}
			if p.ingress {
				c.inIso[i] = true
				c.inPols[i] = append(c.inPols[i], c.ids[pi])
				c.in[i] = append(c.in[i], inGrants...)
			}
		}
	}
	for i := range u.n {
		c.egGrants[i] = grantIDs(c.eg[i])
		c.inGrants[i] = grantIDs(c.in[i])
		// Findings share these lists, so appending to one must not write
		// into another's backing array.
		c.egPols[i] = slices.Clip(c.egPols[i])
		c.inPols[i] = slices.Clip(c.inPols[i])
	}
	return c
}

// internGrant numbers grants by what they allow, across environments.
func (u *universe) internGrant(g *grant) int {
	key := make([]byte, 0, 8*(len(g.peers)+len(g.ports)+len(g.named))+2)
	if g.peers == nil {
		key = append(key, '*')
	}
	for _, w := range g.peers {
		key = binary.LittleEndian.AppendUint64(key, w)
	}
	key = append(key, '|')
	for _, w := range g.ports {
		key = binary.LittleEndian.AppendUint64(key, w)
	}
	key = append(key, '|')
	for _, id := range g.named {
		key = binary.LittleEndian.AppendUint64(key, uint64(id))
	}
	id, ok := u.grantIDs[string(key)]
	if !ok {
		id = len(u.grantIDs)
		u.grantIDs[string(key)] = id
	}
	return id
}

// grantIDs returns the sorted, unique ids of grants: rules are a union, so
// their order and repetition do not matter.
func grantIDs(gs []*grant) []int {
	ids := make([]int, len(gs))
	for i, g := range gs {
		ids[i] = g.id
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// selString keys a selector for the peer cache; nil (absent) differs from
// the empty selector.
func selString(s labels.Selector) string {
	if s == nil {
		return "<absent>"
	}
	return s.String()
}

// contribution adds what grant g allows towards destination d to out,
// reporting whether g applies to peer at all.
func (c *compiled) contribution(g *grant, peer, d int, out bitset) bool {
	if g.peers != nil && !g.peers.has(peer) {
		return false
	}
	if g.ports != nil {
		out.or(g.ports)
	}
	if d < c.u.n && len(g.named) > 0 {
		for _, id := range g.named {
			for _, nb := range c.named[d] {
				if nb.id == id {
					out.set(nb.bit)
				}
			}
		}
	}
	return true
}

// egress sets out to the ports s's egress allows towards d.
func (c *compiled) egress(s, d int, out bitset) {
	if s >= c.u.n || !c.egIso[s] {
		copy(out, c.u.ports.full)
		return
	}
	clear(out)
	for _, g := range c.eg[s] {
		c.contribution(g, d, d, out)
	}
}

// ingress sets out to the ports d's ingress allows from s.
func (c *compiled) ingress(s, d int, out bitset) {
	if d >= c.u.n || !c.inIso[d] {
		copy(out, c.u.ports.full)
		return
	}
	clear(out)
	for _, g := range c.in[d] {
		c.contribution(g, s, d, out)
	}
}
