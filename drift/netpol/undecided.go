package netpol

import (
	"cmp"
	"slices"
	"strings"
)

// Undecided is a workload whose connectivity in one direction rests on
// conditions the model cannot decide (domain names, L7 rules, node peers,
// policies of other APIs), and those conditions differ between the
// environments: the comparison cannot say whether dev reproduces prod.
type Undecided struct {
	// Workload is the workload concerned; it is empty for conditions that
	// apply to no workload of the model (host and node policies).
	Workload Endpoint `json:"workload"`
	// Direction is egress or ingress; empty with an empty Workload.
	Direction string `json:"direction,omitempty"`
	// DevOnly and ProdOnly are the conditions only one environment has,
	// each as "policy: condition".
	DevOnly  []string `json:"devOnly,omitempty"`
	ProdOnly []string `json:"prodOnly,omitempty"`
	// Stricter says the difference can only make dev allow less than prod:
	// dev's extra conditions only restrict and prod's only allow. Dev is
	// then stricter, which warns, rather than unknown.
	Stricter bool   `json:"stricter,omitempty"`
	Message  string `json:"message"`
}

// CompareAll is Compare, plus the workloads whose connectivity the
// conditions the model cannot decide leave open. Two environments whose
// undecidable conditions are the same text over the same workloads are
// compared on everything else, as Compare does.
func CompareAll(dev, prod *Environment) ([]Difference, []Undecided) {
	if dev == nil || prod == nil {
		return nil, nil
	}
	u := newUniverse(dev, prod)
	undecided := globalUndecided(dev, prod)
	if u.n == 0 {
		return nil, undecided
	}
	d, p := u.compile(dev), u.compile(prod)
	for i := range u.n {
		for _, dir := range []string{DirectionEgress, DirectionIngress} {
			dc, pc := &d.eg[i], &p.eg[i]
			if dir == DirectionIngress {
				dc, pc = &d.in[i], &p.in[i]
			}
			// An allowance the model cannot decide matters only where the
			// other environment may deny: against a side that allows
			// everything, it cannot allow more.
			if x, ok := compareOpaque(dropAllows(dc.opaque, !pc.mayDeny()), dropAllows(pc.opaque, !dc.mayDeny())); ok {
				x.Workload, x.Direction = u.eps[i], dir
				x.Message = x.message(u.desc[i])
				undecided = append(undecided, x)
			}
		}
	}
	return u.compare(d, p), undecided
}

// dropAllows returns uses without the conditions that can only allow more,
// when drop is set.
func dropAllows(uses []opaqueUse, drop bool) []opaqueUse {
	if !drop {
		return uses
	}
	return slices.DeleteFunc(slices.Clone(uses), func(o opaqueUse) bool { return o.effect == effectAllows })
}

// compareOpaque compares two sorted lists of conditions as multisets of
// their text: which policy holds a condition does not matter, only that the
// workload is subject to it.
func compareOpaque(dev, prod []opaqueUse) (Undecided, bool) {
	var x Undecided
	x.Stricter = true
	i, j := 0, 0
	var devOnly, prodOnly []opaqueUse
	for i < len(dev) || j < len(prod) {
		c := 0
		switch {
		case j == len(prod):
			c = -1
		case i == len(dev):
			c = 1
		default:
			c = cmp.Or(strings.Compare(dev[i].what, prod[j].what), cmp.Compare(dev[i].prefix, prod[j].prefix))
		}
		switch {
		case c < 0:
			devOnly = append(devOnly, dev[i])
			x.Stricter = x.Stricter && dev[i].effect == effectRestricts
			i++
		case c > 0:
			prodOnly = append(prodOnly, prod[j])
			x.Stricter = x.Stricter && prod[j].effect == effectAllows
			j++
		default:
			i++
			j++
		}
	}
	// The same condition on both sides, after different rules, reads as
	// the same text twice; say why it is listed.
	word := func(o opaqueUse, other []opaqueUse) string {
		s := o.policy + ": " + o.what
		if slices.ContainsFunc(other, func(p opaqueUse) bool { return p.what == o.what }) {
			s += " (after other rules than in the other environment)"
		}
		return s
	}
	for _, o := range devOnly {
		x.DevOnly = append(x.DevOnly, word(o, prodOnly))
	}
	for _, o := range prodOnly {
		x.ProdOnly = append(x.ProdOnly, word(o, devOnly))
	}
	return x, len(devOnly)+len(prodOnly) > 0
}

// globalUndecided compares the foreign policies that apply to no workload.
func globalUndecided(dev, prod *Environment) []Undecided {
	collect := func(e *Environment) []opaqueUse {
		var out []opaqueUse
		for _, f := range e.foreign {
			if f.global {
				out = append(out, opaqueUse{opaque: opaque{what: f.what, effect: effectUnknown}, policy: f.id, run: -1})
			}
		}
		slices.SortFunc(out, compareOpaqueUse)
		return out
	}
	x, ok := compareOpaque(collect(dev), collect(prod))
	if !ok {
		return nil
	}
	x.Message = x.message("")
	return []Undecided{x}
}

// message says what differs, for a finding.
func (x *Undecided) message(workload string) string {
	var b strings.Builder
	if workload == "" {
		b.WriteString("policies that apply to no workload driftgate models (host or node traffic) differ")
	} else {
		b.WriteString(x.Direction)
		b.WriteString(" of ")
		b.WriteString(workload)
		b.WriteString(" depends on conditions driftgate cannot decide from the objects, and they differ")
	}
	for _, side := range []struct {
		env  string
		only []string
	}{{"dev", x.DevOnly}, {"prod", x.ProdOnly}} {
		if len(side.only) == 0 {
			continue
		}
		b.WriteString("; only ")
		b.WriteString(side.env)
		b.WriteString(" has ")
		b.WriteString(strings.Join(side.only, "; "))
	}
	if x.Stricter {
		b.WriteString(": dev can only allow less than prod")
	} else {
		b.WriteString(": whether dev reproduces prod cannot be checked")
	}
	return b.String()
}
