package netpol

import (
	"encoding/binary"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/driftgate/driftgate/drift"
)

// Directions of a Difference.
const (
	// DirectionEgress says the source's egress policies decided it.
	DirectionEgress = "egress"
	// DirectionIngress says the destination's ingress policies decided it.
	DirectionIngress = "ingress"
)

// Endpoint is one end of a connection: a workload in both environments, or an
// external address range.
type Endpoint struct {
	// Namespace, Kind and Name identify a workload; empty for external ranges.
	Namespace string `json:"namespace,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Name      string `json:"name,omitempty"`
	// DNS is true when the workload serves cluster DNS (the kube-system
	// kube-dns Service selects it), since that traffic is what breaks first.
	DNS bool `json:"dns,omitempty"`
	// CIDR is the external range, with the nested ranges in Except not part
	// of it: an atom of the ipBlock boundaries of both environments.
	CIDR   string   `json:"cidr,omitempty"`
	Except []string `json:"except,omitempty"`
}

// String renders a workload as namespace/Kind/name and a range as its CIDR,
// followed by "except ..." when ranges are carved out.
func (e Endpoint) String() string {
	if e.CIDR == "" {
		return e.Namespace + "/" + e.Kind + "/" + e.Name
	}
	if len(e.Except) == 0 {
		return e.CIDR
	}
	return e.CIDR + " except " + strings.Join(e.Except, ", ")
}

// describe names the endpoint for a sentence.
func (e Endpoint) describe() string {
	switch {
	case e.CIDR != "":
		return "external " + e.String()
	case e.DNS:
		return e.String() + " (cluster DNS)"
	default:
		return e.String()
	}
}

// Difference is connectivity one environment allows and the other denies,
// for one source and destination, over the ports that differ the same way.
type Difference struct {
	// Severity is drift.SeverityBlock when dev allows what prod denies
	// (testing on dev would succeed where prod fails) and drift.SeverityWarn
	// when dev denies what prod allows (dev is stricter).
	Severity drift.Severity `json:"severity"`
	// Direction is where the denying environment stops the traffic: egress
	// of the source, or (when egress lets it out) ingress of the destination.
	Direction   string   `json:"direction"`
	Source      Endpoint `json:"source"`
	Destination Endpoint `json:"destination"`
	// Port lists the differing ports as "TCP/8080", "UDP/53",
	// "TCP/5000-5010", comma-separated; "any" for every port, and
	// "any except UDP/53, TCP/53" when that list is the shorter one.
	Port string `json:"port"`
	// DevPolicies and ProdPolicies are the namespace/name of the policies that
	// decided it in Direction: on the denying side those isolating the pod, on
	// the allowing side those whose rules allow it (none when no policy
	// isolates the pod there). Differences may share these slices; treat them
	// as read-only.
	DevPolicies  []string `json:"devPolicies,omitempty"`
	ProdPolicies []string `json:"prodPolicies,omitempty"`
	// Message is one sentence naming source, destination, port and policies.
	Message string `json:"message"`
}

// Compare computes, for the workloads present in both environments (matched
// by namespace/kind/name), every connection each allows and reports the
// differences. External ranges take part as egress destinations and ingress
// sources. Differences are sorted by source, then destination (workloads by
// namespace/kind/name, then external ranges, IPv4 first), then severity
// (block first) and direction (egress first). A nil environment gives no
// differences: there is nothing to compare.
func Compare(dev, prod *Environment) []Difference {
	if dev == nil || prod == nil {
		return nil
	}
	u := newUniverse(dev, prod)
	if u.n == 0 {
		return nil
	}
	d, p := u.compile(dev), u.compile(prod)
	return u.compare(d, p)
}

// worker holds one goroutine's buffers and caches, so the pair loop neither
// allocates nor locks.
type worker struct {
	u         *universe
	dev, prod *compiled
	// Per environment: what egress (E) and ingress (I) allow, and both (A).
	devE, devI, devA, prodE, prodI, prodA bitset
	// diff and part hold the differing ports while findings are built.
	diff, part bitset
	sc         *scratch
	// allowV, denyV and merged are reused buffers for explaining findings;
	// names caches each environment's lists of policy ids.
	allowV, denyV verdict
	merged        []int
	names         map[*compiled]map[string][]string
	// formatted caches port-set strings by the set's bytes in key.
	key       []byte
	formatted map[string]string
}

func (u *universe) newWorker(dev, prod *compiled) *worker {
	n := u.ports.bits
	return &worker{
		u: u, dev: dev, prod: prod,
		devE: newBitset(n), devI: newBitset(n), prodE: newBitset(n), prodI: newBitset(n),
		devA: newBitset(n), prodA: newBitset(n), diff: newBitset(n), part: newBitset(n), sc: newScratch(n),
		formatted: map[string]string{},
		names:     map[*compiled]map[string][]string{dev: {}, prod: {}},
	}
}

// format renders a port set, remembering the answer: the same few sets recur
// across thousands of findings.
func (w *worker) format(b bitset) string {
	w.key = w.key[:0]
	for _, x := range b {
		w.key = binary.LittleEndian.AppendUint64(w.key, x)
	}
	if s, ok := w.formatted[string(w.key)]; ok {
		return s
	}
	s := w.u.ports.format(b)
	w.formatted[string(w.key)] = s
	return s
}

// compare walks every (source, destination) pair whose connectivity can
// differ and collects the differences, ordered by source, destination,
// severity and direction.
//
// Most pairs are settled without evaluation. A source whose egress grants
// (or lack of isolation) are identical in both environments can only differ
// towards a destination whose ingress grants or named ports differ; every
// other source is evaluated against every endpoint.
func (u *universe) compare(dev, prod *compiled) []Difference {
	// srcSame: the egress grants of i are equal. namedSame: named ports
	// resolve equally at i, which egress towards i depends on too. dstSame:
	// the ingress grants of i and its named ports are equal.
	srcSame := make([]bool, u.endpoints)
	namedSame := make([]bool, u.endpoints)
	dstSame := make([]bool, u.endpoints)
	var changedDst []int
	for i := range u.endpoints {
		if i >= u.n {
			// External ranges have no policies or ports of their own.
			srcSame[i], namedSame[i], dstSame[i] = true, true, true
			continue
		}
		srcSame[i] = dev.eg[i].sig == prod.eg[i].sig
		namedSame[i] = slices.Equal(dev.named[i], prod.named[i])
		dstSame[i] = namedSame[i] && dev.in[i].sig == prod.in[i].sig
		if !dstSame[i] {
			changedDst = append(changedDst, i)
		}
	}
	rows := make([][]Difference, u.endpoints)
	var next atomic.Int64
	var wg sync.WaitGroup
	const chunk = 8
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			w := u.newWorker(dev, prod)
			for {
				start := int(next.Add(chunk)) - chunk
				if start >= u.endpoints {
					return
				}
				for s := start; s < min(start+chunk, u.endpoints); s++ {
					var row []Difference
					if srcSame[s] {
						for _, d := range changedDst {
							row = w.comparePair(s, d, namedSame[d], false, row)
						}
					} else {
						for d := range u.endpoints {
							row = w.comparePair(s, d, false, dstSame[d], row)
						}
					}
					rows[s] = row
				}
			}
		})
	}
	wg.Wait()
	return slices.Concat(rows...)
}

// comparePair evaluates s→d in both environments and appends up to four
// differences: block and warn, each split by the direction that denies.
// egSame and inSame say the two environments' egress of s, or ingress of d,
// are known to be equal, so each is evaluated once.
func (w *worker) comparePair(s, d int, egSame, inSame bool, out []Difference) []Difference {
	u := w.u
	if s >= u.n && d >= u.n {
		return out // traffic between two external ranges is not the cluster's
	}
	w.dev.egress(s, d, w.devE, w.sc)
	if egSame {
		copy(w.prodE, w.devE)
	} else {
		w.prod.egress(s, d, w.prodE, w.sc)
	}
	// Under a default deny most pairs never leave the source in either
	// environment; ingress cannot change that.
	if w.devE.empty() && w.prodE.empty() {
		return out
	}
	w.dev.ingress(s, d, w.devI, w.sc)
	if inSame {
		copy(w.prodI, w.devI)
	} else {
		w.prod.ingress(s, d, w.prodI, w.sc)
	}
	copy(w.devA, w.devE)
	w.devA.and(w.devI)
	copy(w.prodA, w.prodE)
	w.prodA.and(w.prodI)
	if slices.Equal(w.devA, w.prodA) {
		return out
	}
	// block: dev allows, prod denies.
	copy(w.diff, w.devA)
	w.diff.andNot(w.prodA)
	out = w.split(drift.SeverityBlock, w.dev, w.prod, w.prodE, s, d, out)
	// warn: prod allows, dev denies.
	copy(w.diff, w.prodA)
	w.diff.andNot(w.devA)
	return w.split(drift.SeverityWarn, w.prod, w.dev, w.devE, s, d, out)
}

// split turns the ports in w.diff, which allowing lets through and denying
// does not, into an egress finding (ports denying's egress refuses) and an
// ingress finding (the rest, refused by denying's ingress).
func (w *worker) split(severity drift.Severity, allowing, denying *compiled, denyingE bitset, s, d int, out []Difference) []Difference {
	if w.diff.empty() {
		return out
	}
	for _, dir := range []string{DirectionEgress, DirectionIngress} {
		copy(w.part, w.diff)
		if dir == DirectionEgress {
			w.part.andNot(denyingE)
		} else {
			w.part.and(denyingE)
		}
		if w.part.empty() {
			continue
		}
		allowCh, denyCh := allowing.chainFor(dir, s, d), denying.chainFor(dir, s, d)
		peer := d
		if dir == DirectionIngress {
			peer = s
		}
		allow, deny := allowing.explain(allowCh, peer, d, w.part, w.sc, &w.allowV), denying.explain(denyCh, peer, d, w.part, w.sc, &w.denyV)
		allowPols := allowing.names(allow.allowing, w.names[allowing])
		denyPols := denying.names(w.merge(deny.denying, deny.isolating), w.names[denying])
		diff := Difference{
			Severity:    severity,
			Direction:   dir,
			Source:      w.u.eps[s],
			Destination: w.u.eps[d],
			Port:        w.format(w.part),
		}
		if severity == drift.SeverityBlock {
			diff.DevPolicies, diff.ProdPolicies = allowPols, denyPols
		} else {
			diff.DevPolicies, diff.ProdPolicies = denyPols, allowPols
		}
		diff.Message = w.message(diff, s, d, allowing, denying, allow, deny, allowCh.selected())
		out = append(out, diff)
	}
	return out
}

// chainFor returns the chain deciding s→d in dir: the source's egress or the
// destination's ingress, and an empty chain for an external range.
func (c *compiled) chainFor(dir string, s, d int) *chain {
	switch {
	case dir == DirectionEgress && s < c.u.n:
		return &c.eg[s]
	case dir == DirectionIngress && d < c.u.n:
		return &c.in[d]
	}
	return &chain{}
}

// merge returns the sorted union of two sorted index lists, in a buffer
// reused by the next call.
func (w *worker) merge(a, b []int) []int {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	w.merged = append(append(w.merged[:0], a...), b...)
	slices.Sort(w.merged)
	w.merged = slices.Compact(w.merged)
	return w.merged
}

// message writes the one-sentence explanation of a difference. It is built
// by hand rather than with fmt because a drifted cluster can have hundreds
// of thousands of findings.
func (w *worker) message(d Difference, s, t int, allowing, denying *compiled, allow, deny verdict, allowSelected bool) string {
	src, dst := w.u.desc[s], w.u.desc[t]
	allowEnv, denyEnv := "dev", "prod"
	if d.Severity == drift.SeverityWarn {
		allowEnv, denyEnv = "prod", "dev"
	}
	pod := src
	if d.Direction == DirectionIngress {
		pod = dst
	}
	var b strings.Builder
	b.Grow(200 + 2*len(pod) + len(d.Port) + 40*(len(allow.allowing)+len(deny.denying)+len(deny.isolating)))
	for _, s := range []string{allowEnv, " allows ", src, " to reach ", dst, " on "} {
		b.WriteString(s)
	}
	if d.Port == "any" {
		b.WriteString("any port")
	} else {
		b.WriteString(d.Port)
	}
	for _, s := range []string{", but ", denyEnv, " denies it at ", d.Direction, ": "} {
		b.WriteString(s)
	}
	if len(deny.denying) > 0 {
		writePolicies(&b, denying.names(deny.denying, w.names[denying]))
		b.WriteString(pick(len(deny.denying), " denies it", " deny it"))
		if len(deny.isolating) > 0 {
			b.WriteString(", and ")
		}
	}
	if len(deny.isolating) > 0 {
		for _, s := range []string{pod, " is isolated there by "} {
			b.WriteString(s)
		}
		writePolicies(&b, denying.names(deny.isolating, w.names[denying]))
		b.WriteString(" and no rule allows it")
	}
	for _, s := range []string{", while in ", allowEnv, " "} {
		b.WriteString(s)
	}
	switch {
	case len(allow.allowing) > 0:
		writePolicies(&b, allowing.names(allow.allowing, w.names[allowing]))
		b.WriteString(pick(len(allow.allowing), " allows it", " allow it"))
	case !allowSelected:
		for _, s := range []string{"no ", d.Direction, " policy selects ", pod} {
			b.WriteString(s)
		}
	default:
		for _, s := range []string{"no ", d.Direction, " rule decides it, so it is allowed"} {
			b.WriteString(s)
		}
	}
	return b.String()
}

// writePolicies names policies for a sentence.
func writePolicies(b *strings.Builder, ids []string) {
	b.WriteString(pick(len(ids), "policy ", "policies "))
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(id)
	}
}

// pick chooses the singular or plural form for n.
func pick(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
