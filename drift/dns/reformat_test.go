package dns

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

var plainZoneRe = regexp.MustCompile(`^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.$`)

// orderFree are plugins whose sub-directives CoreDNS reads as options, in
// any order; reformat shuffles only those, since for other plugins (acl,
// template...) driftgate treats block order as meaningful.
var orderFree = map[string]bool{
	"cache": true, "forward": true, "kubernetes": true, "health": true, "hosts": true,
	"ready": true, "reload": true, "loadbalance": true,
}

// reformat writes c back as a Corefile that CoreDNS reads the same way but
// that looks different: server blocks and directives in reverse order
// (repeated directives keep their relative order), keys spelled without
// the trailing dot and default port and in upper case, every argument
// quoted, odd indentation, and comments everywhere.
func reformat(c *Corefile) string {
	var b strings.Builder
	b.WriteString("# Reformatted by driftgate's tests: nothing below changes what CoreDNS does.\n\n")
	for _, imp := range c.topImports {
		fmt.Fprintf(&b, "import %s # a top-level import\n", quoteAll(imp.Args[0]))
	}
	for i := len(c.Servers) - 1; i >= 0; i-- {
		s := c.Servers[i]
		keys := make([]string, 0, len(s.Keys))
		for j := len(s.Keys) - 1; j >= 0; j-- {
			keys = append(keys, respellKey(s.Keys[j]))
		}
		fmt.Fprintf(&b, "\n  # server block %d\n%s   {   # opens\n", i, strings.Join(keys, "   "))
		writeDirectives(&b, s.Directives, 1, true)
		b.WriteString("} # closes\n")
	}
	return b.String()
}

func writeDirectives(b *strings.Builder, ds []Directive, depth int, reorder bool) {
	ds = append([]Directive(nil), ds...)
	if reorder {
		// Descending by name; stable, so repeated directives keep order.
		sort.SliceStable(ds, func(i, j int) bool { return ds[i].Name > ds[j].Name })
	}
	indent := strings.Repeat("\t  ", depth)
	for _, d := range ds {
		fmt.Fprintf(b, "%s# %q (line %d before reformatting)\n", indent, d.Name, d.Line)
		args := make([]string, 0, len(d.Args))
		for _, a := range d.Args {
			args = append(args, quoteAll(a))
		}
		fmt.Fprintf(b, "%s%s", indent, quoteName(d.Name))
		if len(args) > 0 {
			b.WriteString("  " + strings.Join(args, "\t"))
		}
		if len(d.Block) == 0 {
			b.WriteString("   # trailing comment\n")
			continue
		}
		b.WriteString(" {\n\n")
		writeDirectives(b, d.Block, depth+1, depth == 1 && orderFree[d.Name])
		fmt.Fprintf(b, "%s      }\n", indent)
	}
}

// quoteAll quotes a token even when it needs no quotes: the lexer strips
// them, so this is formatting only.
func quoteAll(s string) string {
	q := quoteToken(s)
	if q == s && !strings.ContainsAny(s, `"\`) {
		return `"` + s + `"`
	}
	return q
}

// quoteName leaves the directive name bare unless it needs quotes, so that
// both spellings get exercised.
func quoteName(s string) string { return quoteToken(s) }

// respellKey writes a normalized key the long way round: `cluster.local.:53`
// becomes `CLUSTER.LOCAL`.
func respellKey(k string) string {
	if hasPlaceholder(k) {
		return quoteToken(k)
	}
	trans, rest := splitTransport(k)
	zone, port := rest, ""
	if i := strings.LastIndex(rest, ":"); i >= 0 {
		zone, port = rest[:i], rest[i+1:]
	}
	// Only plain host names are respelled: odd ones (fuzzing finds them)
	// could change meaning, e.g. upper-casing `__a1__` makes a placeholder.
	if plainZoneRe.MatchString(zone) && !hasPlaceholder(strings.ToUpper(zone)) {
		zone = strings.ToUpper(strings.TrimSuffix(zone, "."))
	}
	out := zone
	if port != transportPorts[trans] {
		out += ":" + port
	}
	if trans != "dns" {
		out = trans + "://" + out
	}
	return quoteToken(out)
}
