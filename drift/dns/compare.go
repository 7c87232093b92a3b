package dns

import (
	"fmt"
	"sort"
	"strings"
)

// Difference is one semantic difference between the dev and prod DNS
// configuration. Path is readable, e.g. `.:53 > cache > success > ttl` or
// `consul.local.:53 (stub domain) > missing in dev`. Dev and Prod show the
// values as written ("30", "5 (default)"); "" means absent on that side.
type Difference struct {
	Path    string
	Dev     string
	Prod    string
	Message string
}

func (d Difference) String() string {
	return fmt.Sprintf("%s: dev=%q prod=%q (%s)", d.Path, d.Dev, d.Prod, d.Message)
}

// Compare reports how dev's Corefile differs from prod's in what CoreDNS
// does, not in how it is written. nil means no Corefile on that side.
//
// Zones are compared one by one: a zone served in dev by a block whose
// plugins differ from the block serving it in prod is drift, however the
// blocks group their zones. Zones that share the same pair of blocks are
// reported together, so a three-zone block is not reported three times. A
// non-root zone whose block forwards is labelled "(stub domain)".
//
// Within a block, plugin order is ignored (CoreDNS orders plugins by its
// plugin.cfg, not by the Corefile). Order is kept where a plugin's own
// semantics depend on it: rewrite rules (applied in the order written),
// several forward plugins (tried in the order written, README of forward),
// and repeated instances of plugins driftgate has no model of. What is
// compared per plugin, and which defaults are folded, is described on
// pluginFacts.
//
// Whatever Parse could not resolve (file imports, env references,
// template placeholders) is always reported, even when both sides have the
// same: the values behind it may differ, and the gate must fail closed.
func Compare(dev, prod *Corefile) []Difference {
	switch {
	case dev == nil && prod == nil:
		return nil
	case dev == nil:
		return []Difference{{Path: "Corefile", Prod: "present", Message: "prod has a Corefile, dev has none"}}
	case prod == nil:
		return []Difference{{Path: "Corefile", Dev: "present", Message: "dev has a Corefile, prod has none"}}
	}
	out := compareUnresolved(dev, prod)

	type pair struct{ dev, prod int }
	groups := map[pair][]string{}
	devZ, prodZ := zoneIndex(dev), zoneIndex(prod)
	for z, i := range devZ {
		j, ok := prodZ[z]
		if !ok {
			j = -1
		}
		groups[pair{i, j}] = append(groups[pair{i, j}], z)
	}
	for z, j := range prodZ {
		if _, ok := devZ[z]; !ok {
			groups[pair{-1, j}] = append(groups[pair{-1, j}], z)
		}
	}
	for p, zones := range groups {
		sort.Strings(zones)
		label := strings.Join(zones, " ")
		if (p.dev >= 0 && isStubDomain(dev.Servers[p.dev])) || (p.prod >= 0 && isStubDomain(prod.Servers[p.prod])) {
			label += " (stub domain)"
		}
		switch {
		case p.dev < 0:
			out = append(out, Difference{Path: label + " > missing in dev", Prod: summary(prod.Servers[p.prod]),
				Message: "prod serves this zone, dev does not: dev queries for it take another path"})
		case p.prod < 0:
			out = append(out, Difference{Path: label + " > missing in prod", Dev: summary(dev.Servers[p.dev]),
				Message: "dev serves this zone, prod does not: what works in dev may not resolve in prod"})
		default:
			out = append(out, compareServers(label, scopeOf(zones), dev.Servers[p.dev], prod.Servers[p.prod])...)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		if out[i].Dev != out[j].Dev {
			return out[i].Dev < out[j].Dev
		}
		return out[i].Prod < out[j].Prod
	})
	return out
}

// zoneIndex maps each served zone to its server block. Two blocks may serve
// the same key only with bind (Parse checks); their identity then includes
// the bind addresses so each is paired with its counterpart.
func zoneIndex(c *Corefile) map[string]int {
	count := map[string]int{}
	for _, s := range c.Servers {
		for _, k := range s.Keys {
			count[k]++
		}
	}
	idx := map[string]int{}
	for i, s := range c.Servers {
		for _, k := range s.Keys {
			id := k
			if count[k] > 1 {
				id = k + " bind " + bindAddresses(s)
			}
			idx[id] = i
		}
	}
	return idx
}

func bindAddresses(s Server) string {
	var addrs []string
	for _, d := range s.Directives {
		if d.Name == "bind" {
			addrs = append(addrs, d.Args...)
		}
	}
	sort.Strings(addrs)
	return strings.Join(addrs, ",")
}

func isStubDomain(s Server) bool {
	for _, k := range s.Keys {
		if zoneOfKey(k) == "." {
			return false
		}
	}
	return hasDirective(s, "forward")
}

// summary is a one-line view of a block for "missing" differences.
func summary(s Server) string {
	parts := make([]string, 0, len(s.Directives))
	for _, d := range s.Directives {
		parts = append(parts, render(d))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// render writes a directive on one line: `cache 30 {disable success x}`.
func render(d Directive) string {
	s := strings.Join(append([]string{d.Name}, d.Args...), " ")
	if len(d.Block) > 0 {
		sub := make([]string, 0, len(d.Block))
		for _, b := range d.Block {
			sub = append(sub, render(b))
		}
		s += " {" + strings.Join(sub, "; ") + "}"
	}
	return s
}

// scopeOf turns zone identities (keys, maybe with a bind suffix) into the
// zone names being compared.
func scopeOf(ids []string) []string {
	zs := make([]string, 0, len(ids))
	for _, id := range ids {
		k, _, _ := strings.Cut(id, " bind ")
		zs = append(zs, zoneOfKey(k))
	}
	sort.Strings(zs)
	return compactStrings(zs)
}

func byName(ds []Directive) map[string][]Directive {
	m := map[string][]Directive{}
	for _, d := range ds {
		m[d.Name] = append(m[d.Name], d)
	}
	return m
}

// compareServers compares the blocks serving the zones in scope. Plugin
// zone lists (cache, kubernetes, hosts ZONES; fallthrough; cache disable)
// are compared within scope only: a block that also serves in-addr.arpa
// makes its cache cover in-addr.arpa too, but for the zones compared here
// that is no difference (in-addr.arpa is compared with its own block).
func compareServers(label string, scope []string, dev, prod Server) []Difference {
	var out []Difference
	dm, pm := byName(dev.Directives), byName(prod.Directives)
	names := map[string]bool{}
	for n := range dm {
		names[n] = true
	}
	for n := range pm {
		names[n] = true
	}
	for name := range names {
		ds, ps := dm[name], pm[name]
		switch name {
		case "rewrite":
			out = append(out, compareRewrite(label, ds, ps)...)
		case "forward":
			out = append(out, compareForward(label, ds, ps, scope)...)
		case "import":
			// Reported by compareUnresolved: the imported content is unknown,
			// so comparing the import lines themselves would add nothing.
		default:
			n := max(len(ds), len(ps))
			for k := range n {
				path := label + " > " + name
				if n > 1 {
					path = fmt.Sprintf("%s #%d", path, k+1)
				}
				out = append(out, compareInstance(path, name, at(ds, k), at(ps, k), scope)...)
			}
		}
	}
	return out
}

func at(ds []Directive, i int) *Directive {
	if i < len(ds) {
		return &ds[i]
	}
	return nil
}

// compareInstance compares one plugin instance present on at least one side.
func compareInstance(path, name string, dev, prod *Directive, scope []string) []Difference {
	switch {
	case dev == nil:
		return []Difference{{Path: path, Prod: render(*prod),
			Message: fmt.Sprintf("plugin %s is configured in prod only", name)}}
	case prod == nil:
		return []Difference{{Path: path, Dev: render(*dev),
			Message: fmt.Sprintf("plugin %s is configured in dev only", name)}}
	}
	df, pf := pluginFacts(name, *dev, scope), pluginFacts(name, *prod, scope)
	keys := make([]string, 0, len(df)+len(pf))
	for k := range df {
		keys = append(keys, k)
	}
	for k := range pf {
		if _, ok := df[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []Difference
	for _, k := range keys {
		a, b := df[k], pf[k]
		if a.canon == b.canon {
			continue
		}
		msg := fmt.Sprintf("%s: %s differs", name, k)
		switch {
		case a.note != "" && b.note != "" && a.note != b.note:
			msg += fmt.Sprintf(" (dev %s; prod %s)", a.note, b.note)
		case a.note != "":
			msg += " (" + a.note + ")"
		case b.note != "":
			msg += " (" + b.note + ")"
		}
		out = append(out, Difference{Path: path + " > " + k, Dev: a.show, Prod: b.show, Message: msg})
	}
	return out
}

// compareForward pairs forward plugins. With one per side they are compared
// directly. With several, CoreDNS tries them in the order written, so they
// are paired by FROM zone (and occurrence, for chains using `next`) and their
// order is compared as well.
func compareForward(label string, ds, ps []Directive, scope []string) []Difference {
	if len(ds) <= 1 && len(ps) <= 1 {
		return compareInstance(label+" > forward", "forward", at(ds, 0), at(ps, 0), scope)
	}
	keyed := func(fs []Directive) ([]string, map[string]*Directive) {
		order := make([]string, 0, len(fs))
		m := map[string]*Directive{}
		seen := map[string]int{}
		for i := range fs {
			from := "(no FROM)"
			if len(fs[i].Args) > 0 {
				from = zoneArg(fs[i].Args[0])
			}
			seen[from]++
			k := from
			if seen[from] > 1 {
				k = fmt.Sprintf("%s #%d", from, seen[from])
			}
			order = append(order, k)
			m[k] = &fs[i]
		}
		return order, m
	}
	dOrder, dm := keyed(ds)
	pOrder, pm := keyed(ps)
	var out []Difference
	all := map[string]bool{}
	for _, k := range append(append([]string{}, dOrder...), pOrder...) {
		all[k] = true
	}
	for k := range all {
		out = append(out, compareInstance(label+" > forward "+k, "forward", dm[k], pm[k], scope)...)
	}
	if len(all) == len(dOrder) && len(all) == len(pOrder) && strings.Join(dOrder, ",") != strings.Join(pOrder, ",") {
		out = append(out, Difference{Path: label + " > forward > order", Dev: strings.Join(dOrder, ", "),
			Prod: strings.Join(pOrder, ", "), Message: "forward plugins are tried in the order written"})
	}
	return out
}

// compareRewrite compares all rewrite rules of a block as one ordered list:
// CoreDNS applies them in the order written, so reordering is drift.
func compareRewrite(label string, ds, ps []Directive) []Difference {
	path := label + " > rewrite"
	dr, pr := rewriteRules(ds), rewriteRules(ps)
	switch {
	case len(ds) == 0:
		return []Difference{{Path: path, Prod: strings.Join(pr, "; "), Message: "rewrite rules in prod only"}}
	case len(ps) == 0:
		return []Difference{{Path: path, Dev: strings.Join(dr, "; "), Message: "rewrite rules in dev only"}}
	case strings.Join(dr, "\n") == strings.Join(pr, "\n"):
		return nil
	}
	return []Difference{{Path: path + " > rules", Dev: strings.Join(dr, "; "), Prod: strings.Join(pr, "; "),
		Message: "rewrite rules differ (rules apply in the order written)"}}
}

// compareUnresolved reports everything Parse kept unresolved, per location
// and text, on either side.
func compareUnresolved(dev, prod *Corefile) []Difference {
	type key struct{ path, text string }
	var order []key
	where := map[key]*[2][]string{}
	add := func(side int, u unresolvedRef) {
		k := key{u.Path, u.Text}
		if where[k] == nil {
			where[k] = &[2][]string{}
			order = append(order, k)
		}
		where[k][side] = append(where[k][side], fmt.Sprintf("line %d: %s", u.Line, u.Text))
	}
	for _, u := range dev.unresolved {
		add(0, u)
	}
	for _, u := range prod.unresolved {
		add(1, u)
	}
	var out []Difference
	for _, k := range order {
		w := where[k]
		msg := "template placeholder or environment reference: its value is set at install or run time, so driftgate cannot compare it; compare the rendered Corefile"
		if strings.HasPrefix(k.text, "import ") {
			msg = "imported file is not part of the Corefile, so driftgate cannot compare its content; compare the files it imports"
		}
		out = append(out, Difference{Path: k.path + " > unresolved", Dev: strings.Join(w[0], "; "),
			Prod: strings.Join(w[1], "; "), Message: msg})
	}
	return out
}
