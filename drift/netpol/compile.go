package netpol

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"

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
	// chainIDs interns chains by content across environments.
	chainIDs map[string]int
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
	u := &universe{named: map[namedPort]int{}, grantIDs: map[string]int{}, chainIDs: map[string]int{}}
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
				for _, pe := range slices.Concat(r.peers, r.notPeers) {
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
				for _, ps := range slices.Concat(r.ports, r.notPorts) {
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

// compiled is one environment evaluated in a universe: for each workload and
// direction, the chain of rules that decides its connections.
type compiled struct {
	u   *universe
	env *Environment
	// ids are the policies' ids, by policy index.
	ids []string
	// eg and in are workload i's egress and ingress chains.
	eg, in []chain
	// named holds each workload's container ports that named policy ports
	// resolve to, sorted.
	named [][]namedBit
}

// chain is everything that decides one workload's connections in one
// direction, in evaluation order.
type chain struct {
	runs []run
	// sig is equal for chains with the same runs and grants, in either
	// environment, so equal chains are known to decide alike.
	sig int
	// union is set for NetworkPolicy's shape, one run of allow rules that
	// denies by default: the answer is the union of its grants.
	union bool
	// opaque lists the conditions the model cannot decide, sorted.
	opaque []opaqueUse
}

// run is the part of a chain one tier contributes.
type run struct {
	tier string
	// deny says the tier denies what its rules left undecided: a policy of
	// a tier that denies by default selects the workload.
	deny bool
	// isolating are those policies, by index.
	isolating []int
	entries   []entry
}

// entry is one rule of a chain.
type entry struct {
	g      *grant
	action action
}

// opaqueUse is an undecidable condition as it applies to one workload.
type opaqueUse struct {
	opaque
	policy string
	// run and pos place the condition's rule in the chain while it is
	// built (pos is its entry's index in the run); seal turns them into
	// prefix.
	run, pos int
	// prefix identifies the rules evaluated before the condition's rule,
	// across environments: the same condition after different rules (a Deny
	// before it in one environment only) may decide differently.
	prefix int
}

// selected reports whether any policy applies to the workload in the chain's
// direction.
func (ch *chain) selected() bool { return len(ch.runs) > 0 }

// mayDeny reports whether the chain can refuse anything: a tier that denies
// by default, or a Deny rule. A chain that cannot allows every connection.
func (ch *chain) mayDeny() bool {
	for _, rn := range ch.runs {
		if rn.deny || slices.ContainsFunc(rn.entries, func(e entry) bool { return e.action == actionDeny }) {
			return true
		}
	}
	return false
}

// grant is a compiled rule: it matches peers on ports (plus named ports
// resolved against the destination, minus notNamed ones). A nil peers means
// every endpoint.
type grant struct {
	policy int
	// id is equal for grants that match exactly the same, in either
	// environment.
	id       int
	peers    bitset
	ports    bitset
	named    []int
	notNamed []int
}

// namedBit maps a named-port id to the port atom it resolves to.
type namedBit struct{ id, bit int }

// compile evaluates env's selectors and rules over the universe's endpoints.
// Selectors run once per policy or peer and namespace, never per pair.
func (u *universe) compile(env *Environment) *compiled {
	c := &compiled{
		u:     u,
		env:   env,
		ids:   make([]string, len(env.policies)),
		eg:    make([]chain, u.n),
		in:    make([]chain, u.n),
		named: make([][]namedBit, u.n),
	}
	for pi, p := range env.policies {
		c.ids[pi] = p.id()
	}
	targets := make([]target, u.n)
	byNS := map[string][]int{}
	for i, k := range u.keys {
		w := &env.workloads[env.byKey[k]]
		targets[i] = env.target(w)
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

	// Identical selections and peers recur across policies (the DNS peer
	// above all), so their endpoint sets are computed once.
	selCache := map[string]bitset{}
	selectionSet := func(s *selection) bitset {
		key := s.key()
		if b, ok := selCache[key]; ok {
			return b
		}
		b := newBitset(u.endpoints)
		in := namespaces
		if s.namespace != "" {
			in = []string{s.namespace}
		}
		for _, ns := range in {
			if s.namespaces != nil && !s.namespaces.Matches(s.namespaceView(env, ns)) {
				continue
			}
			for _, i := range byNS[ns] {
				if s.matches(&targets[i]) {
					b.set(i)
				}
			}
		}
		selCache[key] = b
		return b
	}
	peerCache := map[string]bitset{}
	peerSet := func(pe *peer) bitset {
		key := pe.key()
		if b, ok := peerCache[key]; ok {
			return b
		}
		b := newBitset(u.endpoints)
		if pe.workloads != nil {
			b.or(selectionSet(pe.workloads))
		}
		for a, atom := range u.atoms {
			if pe.world || pe.block != nil && atom.inBlock(pe.block) {
				b.set(u.n + a)
			}
		}
		peerCache[key] = b
		return b
	}
	compileRule := func(pi int, r *rule) *grant {
		g := &grant{policy: pi}
		if r.peers != nil || r.notPeers != nil {
			g.peers = newBitset(u.endpoints)
			if r.peers == nil {
				g.peers.setRange(0, u.endpoints-1)
			}
			for i := range r.peers {
				g.peers.or(peerSet(&r.peers[i]))
			}
			for i := range r.notPeers {
				g.peers.andNot(peerSet(&r.notPeers[i]))
			}
		}
		if r.ports == nil {
			g.ports = slices.Clone(u.ports.full)
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
		for _, ps := range r.notPorts {
			if ps.name != "" {
				g.notNamed = append(g.notNamed, u.named[namedPort{ps.protocol, ps.name}])
				continue
			}
			if g.ports != nil {
				excl := newBitset(u.ports.bits)
				u.ports.setRange(excl, ps.protocol, ps.lo, ps.hi)
				g.ports.andNot(excl)
			}
		}
		slices.Sort(g.named)
		g.named = slices.Compact(g.named)
		slices.Sort(g.notNamed)
		g.notNamed = slices.Compact(g.notNamed)
		g.id = u.internGrant(g)
		return g
	}

	// Policies are sorted in evaluation order, so appending keeps every
	// chain in order too.
	for pi, p := range env.policies {
		selected := selectionSet(&p.subject)
		if selected.empty() {
			continue
		}
		for _, dir := range []struct {
			on, open bool
			rules    []rule
			chains   []chain
		}{
			{p.egress, p.egressOpen, p.egressRules, c.eg},
			{p.ingress, p.ingressOpen, p.ingressRules, c.in},
		} {
			if !dir.on {
				continue
			}
			grants := make([]*grant, len(dir.rules))
			locals := make([]bitset, len(dir.rules))
			for ri := range dir.rules {
				r := &dir.rules[ri]
				if r.action != actionLog {
					grants[ri] = compileRule(pi, r)
				}
				if r.local != nil {
					locals[ri] = selectionSet(r.local)
				}
			}
			for i := range u.n {
				if !selected.has(i) {
					continue
				}
				ch := &dir.chains[i]
				if len(ch.runs) == 0 || ch.runs[len(ch.runs)-1].tier != p.tier.name {
					ch.runs = append(ch.runs, run{tier: p.tier.name})
				}
				rn := &ch.runs[len(ch.runs)-1]
				if !p.tier.pass && !dir.open {
					rn.deny = true
					rn.isolating = append(rn.isolating, pi)
				}
				for ri, g := range grants {
					if locals[ri] != nil && !locals[ri].has(i) {
						continue
					}
					for _, o := range dir.rules[ri].opaque {
						ch.opaque = append(ch.opaque, opaqueUse{opaque: o, policy: c.ids[pi], run: len(ch.runs) - 1, pos: len(rn.entries)})
					}
					if g != nil {
						rn.entries = append(rn.entries, entry{g, dir.rules[ri].action})
					}
				}
			}
		}
	}
	for _, f := range env.foreign {
		if f.global {
			continue // compared as a whole by globalUndecided
		}
		sel := selectionSet(&f.subject)
		for i := range u.n {
			if !sel.has(i) {
				continue
			}
			use := opaqueUse{opaque: opaque{what: f.what, effect: effectUnknown}, policy: f.id, run: -1}
			if f.egress {
				c.eg[i].opaque = append(c.eg[i].opaque, use)
			}
			if f.ingress {
				c.in[i].opaque = append(c.in[i].opaque, use)
			}
		}
	}
	for i := range u.n {
		u.seal(&c.eg[i])
		u.seal(&c.in[i])
	}
	return c
}

// target is what selectors see of a workload.
type target struct {
	namespace      string
	labels         labels.Set
	serviceAccount string
	saLabels       labels.Set
	// cilium and calico are Cilium's and Calico's views of the pod's
	// labels, built when first needed.
	cilium, calico labels.Set
	env            *Environment
}

// matches reports whether the workload t is in s, apart from the namespace
// checks the caller made.
func (s *selection) matches(t *target) bool {
	if s.pods != nil {
		ls := t.labels
		switch {
		case s.cilium:
			if t.cilium == nil {
				t.cilium = ciliumLabels(t)
			}
			ls = t.cilium
		case s.calico:
			if t.calico == nil {
				t.calico = calicoLabels(t)
			}
			ls = t.calico
		}
		if !s.pods.Matches(ls) {
			return false
		}
	}
	if s.serviceAccounts != nil {
		ls := t.saLabels
		if s.calico {
			ls = withCalicoName(ls, t.serviceAccount)
		}
		if !s.serviceAccounts.Matches(ls) {
			return false
		}
	}
	if len(s.serviceAccountNames) > 0 && !slices.Contains(s.serviceAccountNames, t.serviceAccount) {
		return false
	}
	return true
}

// Cilium's view of a pod: its labels plus the reserved ones Cilium derives
// from the namespace and service account, which endpoint selectors use to
// reach across namespaces.
const (
	ciliumNamespaceLabel      = "io.kubernetes.pod.namespace"
	ciliumNamespaceLabels     = "io.cilium.k8s.namespace.labels."
	ciliumServiceAccountLabel = "io.cilium.k8s.policy.serviceaccount"
)

func ciliumLabels(t *target) labels.Set {
	out := make(labels.Set, len(t.labels)+4)
	for k, v := range t.labels {
		out[k] = v
	}
	out[ciliumNamespaceLabel] = t.namespace
	for k, v := range t.env.namespaceLabelsOf(t.namespace) {
		out[ciliumNamespaceLabels+k] = v
	}
	out[ciliumServiceAccountLabel] = t.serviceAccount
	return out
}

// namespaceView returns the labels s's namespace matcher sees for ns.
func (s *selection) namespaceView(env *Environment, ns string) labels.Set {
	if s.calico {
		return withCalicoName(env.namespaceLabelsOf(ns), ns)
	}
	return env.namespaceLabelsOf(ns)
}

// Calico's view of a pod, as libcalico-go's conversion builds a workload
// endpoint (workload_endpoint_default.go, conversion.go): the pod's labels,
// plus the endpoint labels below, plus the labels of the profiles it
// inherits, which are its namespace's labels under pcns. and its service
// account's under pcsa., each with projectcalico.org/name. Calico's own
// namespaceSelector and serviceAccounts are these prefixed labels, so a
// selector may name them directly too.
const (
	calicoNamespaceLabel       = "projectcalico.org/namespace"
	calicoOrchestratorLabel    = "projectcalico.org/orchestrator"
	calicoServiceAccountLabel  = "projectcalico.org/serviceaccount"
	calicoNameLabel            = "projectcalico.org/name"
	calicoNamespacePrefix      = "pcns."
	calicoServiceAccountPrefix = "pcsa."
)

func calicoLabels(t *target) labels.Set {
	out := make(labels.Set, len(t.labels)+8)
	for k, v := range withCalicoName(t.env.namespaceLabelsOf(t.namespace), t.namespace) {
		out[calicoNamespacePrefix+k] = v
	}
	for k, v := range withCalicoName(t.saLabels, t.serviceAccount) {
		out[calicoServiceAccountPrefix+k] = v
	}
	// An endpoint's own labels win over inherited ones.
	for k, v := range t.labels {
		out[k] = v
	}
	out[calicoNamespaceLabel] = t.namespace
	out[calicoOrchestratorLabel] = "k8s"
	out[calicoServiceAccountLabel] = t.serviceAccount
	return out
}

// withCalicoName returns ls plus projectcalico.org/name, which Calico adds
// to the labels of namespaces and service accounts.
func withCalicoName(ls map[string]string, name string) labels.Set {
	out := make(labels.Set, len(ls)+1)
	for k, v := range ls {
		out[k] = v
	}
	out[calicoNameLabel] = name
	return out
}

// seal normalizes a chain and gives it its signature. Rules with the same
// action next to each other decide alike in any order, so they are sorted
// and deduplicated; that makes two policy sets that differ only in names or
// rule order equal.
//
// Each undecidable condition gets the signature of the rules before it:
// every earlier run, and the rules of its own run before the segment of
// same-action rules it sits in (the others of that segment decide alike
// whatever the order, so they do not count).
func (u *universe) seal(ch *chain) {
	var key []byte
	// segStart[ri][i] is the first entry of the segment holding entry i.
	segStart := make([][]int, len(ch.runs))
	for ri := range ch.runs {
		rn := &ch.runs[ri]
		es := rn.entries
		segStart[ri] = make([]int, len(es)+1)
		for start := 0; start < len(es); {
			end := start + 1
			for end < len(es) && es[end].action == es[start].action {
				end++
			}
			slices.SortStableFunc(es[start:end], func(a, b entry) int { return cmp.Compare(a.g.id, b.g.id) })
			for i := start; i < end; i++ {
				segStart[ri][i] = start
			}
			start = end
		}
		segStart[ri][len(es)] = len(es)
	}
	runKey := func(key []byte, rn *run, entries int) []byte {
		key = append(key, rn.tier...)
		key = append(key, 0)
		if rn.deny {
			key = append(key, 'D')
		}
		var last entry
		for i, e := range rn.entries[:entries] {
			if i > 0 && e.action == last.action && e.g.id == last.g.id {
				continue // the same grant again decides nothing new
			}
			last = e
			key = append(key, byte(e.action))
			key = binary.LittleEndian.AppendUint64(key, uint64(e.g.id))
		}
		return append(key, 0xff)
	}
	// ends[ri] is the length of key once run ri is written.
	ends := make([]int, len(ch.runs))
	for ri := range ch.runs {
		key = runKey(key, &ch.runs[ri], len(ch.runs[ri].entries))
		ends[ri] = len(key)
	}
	for i := range ch.opaque {
		o := &ch.opaque[i]
		if o.run < 0 {
			continue // a foreign policy, outside every chain
		}
		var prefix []byte
		if o.run > 0 {
			prefix = append(prefix, key[:ends[o.run-1]]...)
		}
		prefix = append(prefix, 'P')
		prefix = runKey(prefix, &ch.runs[o.run], segStart[o.run][o.pos])
		id, ok := u.chainIDs[string(prefix)]
		if !ok {
			id = len(u.chainIDs)
			u.chainIDs[string(prefix)] = id
		}
		o.prefix = id
	}
	ch.union = len(ch.runs) == 1 && ch.runs[0].deny && !slices.ContainsFunc(ch.runs[0].entries, func(e entry) bool {
		return e.action != actionAllow || len(e.g.notNamed) > 0
	})
	slices.SortFunc(ch.opaque, compareOpaqueUse)
	id, ok := u.chainIDs[string(key)]
	if !ok {
		id = len(u.chainIDs)
		u.chainIDs[string(key)] = id
	}
	ch.sig = id
}

// compareOpaqueUse orders conditions by text, then by the rules before
// them, then by policy.
func compareOpaqueUse(a, b opaqueUse) int {
	return cmp.Or(strings.Compare(a.what, b.what), cmp.Compare(a.prefix, b.prefix), strings.Compare(a.policy, b.policy))
}

// internGrant numbers grants by what they match, across environments.
func (u *universe) internGrant(g *grant) int {
	key := make([]byte, 0, 8*(len(g.peers)+len(g.ports)+len(g.named)+len(g.notNamed))+3)
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
	key = append(key, '|')
	for _, id := range g.notNamed {
		key = binary.LittleEndian.AppendUint64(key, uint64(id))
	}
	id, ok := u.grantIDs[string(key)]
	if !ok {
		id = len(u.grantIDs)
		u.grantIDs[string(key)] = id
	}
	return id
}

// selString keys a selector for caches; nil (absent) differs from the
// empty selector.
func selString(s matcher) string {
	if s == nil {
		return "<absent>"
	}
	return s.String()
}

// portsFor sets out to the ports grant g matches towards destination d and
// reports whether g matches peer at all.
func (c *compiled) portsFor(g *grant, peer, d int, out bitset) bool {
	if g.peers != nil && !g.peers.has(peer) {
		return false
	}
	if g.ports != nil {
		copy(out, g.ports)
	} else {
		clear(out)
	}
	if d < c.u.n {
		c.resolve(g.named, d, out, true)
		c.resolve(g.notNamed, d, out, false)
	}
	return true
}

// resolve sets (or clears) in out the atoms that the named ports ids resolve
// to at workload d.
func (c *compiled) resolve(ids []int, d int, out bitset, set bool) {
	for _, id := range ids {
		for _, nb := range c.named[d] {
			if nb.id != id {
				continue
			}
			if set {
				out.set(nb.bit)
			} else {
				out[nb.bit>>6] &^= 1 << (uint(nb.bit) & 63)
			}
		}
	}
}

// scratch holds the bitsets one evaluation needs, so the pair loop does not
// allocate.
type scratch struct{ undecided, passed, m, seg bitset }

func newScratch(n int) *scratch {
	return &scratch{undecided: newBitset(n), passed: newBitset(n), m: newBitset(n), seg: newBitset(n)}
}

// decide sets out to the ports ch allows for the connection with peer (the
// other end) towards destination d: the first matching rule of each tier
// decides, Pass hands over to the next tier, a tier that denies by default
// denies what it left undecided, and what no tier decided is allowed.
func (c *compiled) decide(ch *chain, peer, d int, out bitset, sc *scratch) {
	if !ch.selected() {
		copy(out, c.u.ports.full)
		return
	}
	clear(out)
	if ch.union {
		// No notNamed here (see seal), so each grant only adds ports.
		for _, e := range ch.runs[0].entries {
			g := e.g
			if g.peers != nil && !g.peers.has(peer) {
				continue
			}
			if g.ports != nil {
				out.or(g.ports)
			}
			if d < c.u.n && len(g.named) > 0 {
				c.resolve(g.named, d, out, true)
			}
		}
		return
	}
	copy(sc.undecided, c.u.ports.full)
	for ri := range ch.runs {
		rn := &ch.runs[ri]
		clear(sc.passed)
		for _, e := range rn.entries {
			if !c.portsFor(e.g, peer, d, sc.m) {
				continue
			}
			sc.m.and(sc.undecided)
			switch e.action {
			case actionAllow:
				out.or(sc.m)
			case actionPass:
				sc.passed.or(sc.m)
			}
			sc.undecided.andNot(sc.m)
			if sc.undecided.empty() {
				break
			}
		}
		if rn.deny {
			clear(sc.undecided)
		}
		sc.undecided.or(sc.passed)
		if sc.undecided.empty() {
			return
		}
	}
	out.or(sc.undecided)
}

// egress sets out to the ports s's egress allows towards d.
func (c *compiled) egress(s, d int, out bitset, sc *scratch) {
	if s >= c.u.n {
		copy(out, c.u.ports.full)
		return
	}
	c.decide(&c.eg[s], d, d, out, sc)
}

// ingress sets out to the ports d's ingress allows from s.
func (c *compiled) ingress(s, d int, out bitset, sc *scratch) {
	if d >= c.u.n {
		copy(out, c.u.ports.full)
		return
	}
	c.decide(&c.in[d], s, d, out, sc)
}

// verdict explains how a chain decided some ports of one connection.
type verdict struct {
	// allowing are the policies whose rules allow some of the ports.
	allowing []int
	// denying are the policies whose Deny rules refuse some of them, and
	// isolating those whose tier denied them by default.
	denying, isolating []int
	// byDefault says some ports were allowed because nothing decided them.
	byDefault bool
}

// explain replays decide for ports only, noting which policies decided them.
// Rules with the same action next to each other are credited together, so a
// port two allow rules both match names both policies.
func (c *compiled) explain(ch *chain, peer, d int, ports bitset, sc *scratch, buf *verdict) verdict {
	v := verdict{allowing: buf.allowing[:0], denying: buf.denying[:0], isolating: buf.isolating[:0]}
	defer func() { *buf = v }()
	if !ch.selected() {
		v.byDefault = true
		return v
	}
	undecided, passed, m, seg := sc.undecided, sc.passed, sc.m, sc.seg
	copy(undecided, ports)
	for ri := range ch.runs {
		rn := &ch.runs[ri]
		clear(passed)
		es := rn.entries
		for start := 0; start < len(es); {
			end := start + 1
			for end < len(es) && es[end].action == es[start].action {
				end++
			}
			clear(seg)
			for _, e := range es[start:end] {
				if !c.portsFor(e.g, peer, d, m) {
					continue
				}
				m.and(undecided)
				if m.empty() {
					continue
				}
				seg.or(m)
				switch e.action {
				case actionAllow:
					v.allowing = append(v.allowing, e.g.policy)
				case actionDeny:
					v.denying = append(v.denying, e.g.policy)
				}
			}
			if es[start].action == actionPass {
				passed.or(seg)
			}
			undecided.andNot(seg)
			start = end
		}
		if rn.deny && !undecided.empty() {
			v.isolating = append(v.isolating, rn.isolating...)
			clear(undecided)
		}
		undecided.or(passed)
	}
	v.byDefault = !undecided.empty()
	for _, l := range []*[]int{&v.allowing, &v.denying, &v.isolating} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	return v
}

// names returns the ids of policies by index. The same few lists recur
// across thousands of findings, so they are made once and shared: treat
// them as read-only.
func (c *compiled) names(idx []int, cache map[string][]string) []string {
	if len(idx) == 0 {
		return nil
	}
	var key [64]byte
	k := key[:0]
	for _, pi := range idx {
		k = binary.LittleEndian.AppendUint32(k, uint32(pi))
	}
	if out, ok := cache[string(k)]; ok {
		return out
	}
	out := make([]string, len(idx))
	for i, pi := range idx {
		out[i] = c.ids[pi]
	}
	cache[string(k)] = out
	return out
}
