package netpol

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// bitset is a fixed-size set of small integers. Endpoint sets and port sets
// are bitsets so that evaluating a connection is a handful of word operations.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) has(i int) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }
func (b bitset) set(i int)      { b[i>>6] |= 1 << (uint(i) & 63) }

func (b bitset) or(o bitset) {
	for i := range b {
		b[i] |= o[i]
	}
}

func (b bitset) and(o bitset) {
	for i := range b {
		b[i] &= o[i]
	}
}

func (b bitset) andNot(o bitset) {
	for i := range b {
		b[i] &^= o[i]
	}
}

func (b bitset) empty() bool {
	for _, w := range b {
		if w != 0 {
			return false
		}
	}
	return true
}

// setRange sets bits lo..hi inclusive.
func (b bitset) setRange(lo, hi int) {
	for i := lo; i <= hi; i++ {
		b.set(i)
	}
}

// portSpace splits each protocol's ports 1-65535 into atoms: maximal ranges
// that no policy port, range or resolved named port divides. Every port set a
// policy can express is then a union of atoms, one bit each.
type portSpace struct {
	// starts[p] holds the first port of each atom of protocols[p], ascending
	// and beginning with 1.
	starts [][]int32
	// off[p] is the bit of protocols[p]'s first atom.
	off  []int
	bits int
	// full has every port of every protocol: what an unisolated pod allows.
	full bitset
}

// newPortSpace builds the atoms from range boundaries: each boundary is a
// port where a new atom starts.
func newPortSpace(boundaries map[string]map[int32]bool) portSpace {
	ps := portSpace{starts: make([][]int32, len(protocols)), off: make([]int, len(protocols))}
	for p, proto := range protocols {
		starts := []int32{1}
		for b := range boundaries[proto] {
			if b > 1 && b <= 65535 {
				starts = append(starts, b)
			}
		}
		slices.Sort(starts)
		ps.starts[p] = slices.Compact(starts)
		ps.off[p] = ps.bits
		ps.bits += len(ps.starts[p])
	}
	ps.full = newBitset(ps.bits)
	ps.full.setRange(0, ps.bits-1)
	return ps
}

// protoIndex returns the index of proto in protocols, or -1.
func protoIndex(proto string) int { return slices.Index(protocols, proto) }

// bit returns the bit of the atom holding port, or -1 when the protocol is
// not one policies can name.
func (ps *portSpace) bit(proto string, port int32) int {
	p := protoIndex(proto)
	if p < 0 || port < 1 || port > 65535 {
		return -1
	}
	i, found := slices.BinarySearch(ps.starts[p], port)
	if !found {
		i--
	}
	return ps.off[p] + i
}

// setRange sets the atoms covering proto ports lo..hi, which are atom
// boundaries by construction.
func (ps *portSpace) setRange(b bitset, proto string, lo, hi int32) {
	first, last := ps.bit(proto, lo), ps.bit(proto, hi)
	if first < 0 {
		return
	}
	b.setRange(first, last)
}

// atomEnd returns the last port of the atom at index i of protocol p.
func (ps *portSpace) atomEnd(p, i int) int32 {
	if i+1 < len(ps.starts[p]) {
		return ps.starts[p][i+1] - 1
	}
	return 65535
}

// format renders a port set as merged ranges, "TCP/80, TCP/5000-5010,
// UDP/53", or "any" when it holds every port of every protocol. When the
// ports left out are the shorter list, it says "any except TCP/53, UDP/53"
// instead, which is how "everything but DNS" reads best.
func (ps *portSpace) format(b bitset) string {
	if slices.Equal(b, ps.full) {
		return "any"
	}
	in := ps.ranges(b)
	rest := slices.Clone(ps.full)
	rest.andNot(b)
	if out := ps.ranges(rest); len(out) < len(in) {
		return "any except " + strings.Join(out, ", ")
	}
	return strings.Join(in, ", ")
}

// ranges lists the maximal port ranges in b, protocol by protocol.
func (ps *portSpace) ranges(b bitset) []string {
	var out []string
	for p, proto := range protocols {
		n := len(ps.starts[p])
		for i := 0; i < n; i++ {
			if !b.has(ps.off[p] + i) {
				continue
			}
			j := i
			for j+1 < n && b.has(ps.off[p]+j+1) {
				j++
			}
			lo, hi := ps.starts[p][i], ps.atomEnd(p, j)
			if lo == hi {
				out = append(out, fmt.Sprintf("%s/%d", proto, lo))
			} else {
				out = append(out, fmt.Sprintf("%s/%d-%d", proto, lo, hi))
			}
			i = j
		}
	}
	return out
}

// cidrAtom is one representative external range: prefix minus the maximal
// ipBlock prefixes nested inside it. Because CIDRs are either nested or
// disjoint, every ipBlock cidr or except is exactly a union of atoms.
type cidrAtom struct {
	prefix netip.Prefix
	except []netip.Prefix
}

// inBlock reports whether the atom lies in b. An atom is never split by b:
// it is inside b's cidr iff its prefix is, and it is excluded iff its prefix
// lies in one of b's except ranges (a nested except is carved out of the
// atom already).
func (a cidrAtom) inBlock(b *ipBlock) bool {
	if !containsPrefix(b.cidr, a.prefix) {
		return false
	}
	for _, ex := range b.except {
		if containsPrefix(ex, a.prefix) {
			return false
		}
	}
	return true
}

// cidrAtoms computes the atoms of a set of prefixes, dropping atoms that
// their nested prefixes cover completely.
func cidrAtoms(set map[netip.Prefix]bool) []cidrAtom {
	prefixes := make([]netip.Prefix, 0, len(set))
	for p := range set {
		prefixes = append(prefixes, p)
	}
	// Sorting by address then by length puts every prefix after the prefixes
	// containing it, so a stack walk finds each one's parent.
	slices.SortFunc(prefixes, comparePrefix)
	children := make([][]netip.Prefix, len(prefixes))
	var stack []int
	for i, p := range prefixes {
		for len(stack) > 0 && !containsPrefix(prefixes[stack[len(stack)-1]], p) {
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 {
			parent := stack[len(stack)-1]
			children[parent] = append(children[parent], p)
		}
		stack = append(stack, i)
	}
	var out []cidrAtom
	for i, p := range prefixes {
		if covered(p, children[i]) {
			continue
		}
		out = append(out, cidrAtom{prefix: p, except: children[i]})
	}
	return out
}

// comparePrefix orders IPv4 before IPv6, then by address, then shorter first.
func comparePrefix(a, b netip.Prefix) int {
	if a.Addr().Is4() != b.Addr().Is4() {
		if a.Addr().Is4() {
			return -1
		}
		return 1
	}
	return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
}

// covered reports whether the disjoint, sorted children tile p entirely.
func covered(p netip.Prefix, children []netip.Prefix) bool {
	next := p.Addr()
	for i, c := range children {
		if c.Addr() != next {
			return false
		}
		last := lastAddr(c)
		if i == len(children)-1 {
			return last == lastAddr(p)
		}
		next = last.Next()
	}
	return false
}

// lastAddr returns the highest address in p.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr()
	if a.Is4() {
		b := a.As4()
		setHostBits(b[:], p.Bits())
		return netip.AddrFrom4(b)
	}
	b := a.As16()
	setHostBits(b[:], p.Bits())
	return netip.AddrFrom16(b)
}

// setHostBits sets every bit after the first ones bits.
func setHostBits(b []byte, ones int) {
	for i := range b {
		switch lo := i * 8; {
		case ones <= lo:
			b[i] = 0xff
		case ones < lo+8:
			b[i] |= byte(0xff >> uint(ones-lo))
		}
	}
}
