package incident

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/internal/textsafe"
)

// impacts says, per rule area, what to watch in prod after a deploy that
// went ahead over that kind of finding.
var impacts = []struct {
	match  func(rule, check string) bool
	impact string
	action string
}{
	{func(r, c string) bool { return c == "networkpolicy" }, "Connections that worked on dev may be refused in prod (timeouts, connection resets, DNS failures behind egress isolation). Watch error rates and latency on the calls listed below.", "Apply prod's NetworkPolicies to dev (or waive a deliberate difference) so dev refuses what prod refuses."},
	{func(r, c string) bool { return c == "corefile" }, "Name resolution may behave differently in prod: cache TTLs decide how fast a DNS change is seen, upstreams decide which names resolve, NodeLocal DNSCache adds a hop and its own failure modes.", "Give dev prod's CoreDNS configuration and NodeLocal DNSCache, or record why they must differ."},
	{func(r, c string) bool { return c == "unmanaged" }, "Dev's health may have come from objects prod does not have or from changes made by hand; the same release may not be healthy in prod.", "Remove the leftovers from dev and redeploy hand-changed objects with the deploy tool."},
	{func(r, c string) bool { return strings.HasPrefix(r, "workload") }, "Prod runs other images, commands, env, probes or resources than dev tested.", "Deploy dev and prod from the same workload definitions."},
	{func(r, c string) bool { return true }, "Prod differs from what was tested on dev in the objects listed below.", "Bring dev in line with prod for the objects listed below, or waive deliberate differences with an owner and an expiry."},
}

// Postmortem renders a blameless postmortem skeleton for the record: what
// happened when, what was accepted and why, what to watch, what to fix.
// Findings come from the clusters and the reason, ticket and name from the
// person overriding: each is written as Markdown prose (textsafe.Markdown)
// or a code span, so none adds a link, image, HTML or mention.
func Postmortem(r *Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Postmortem: deploy gate overridden (%s)\n\n", md(r.ID))
	b.WriteString("*Blameless: this document describes what the system allowed and what we learn from it, not who is at fault. Overriding with a reason and a ticket is the process working.*\n\n")
	fmt.Fprintf(&b, "| | |\n|---|---|\n| Incident | %s |\n| Ticket | %s |\n| Overridden by | %s (from %s) |\n", codeCell(r.ID), md(r.Ticket), md(r.Who.Name), md(r.Who.Provenance()))
	writeIdentityRows(&b, r.Who)
	if r.Who.Commit != "" {
		fmt.Fprintf(&b, "| Commit | %s |\n", codeCell(r.Who.Commit))
	}
	if r.Who.PipelineURL != "" {
		fmt.Fprintf(&b, "| Pipeline | %s |\n", mdURL(r.Who.PipelineURL))
	}
	fmt.Fprintf(&b, "| Dev | %s |\n| Prod | %s |\n\n", sideCell(r.Dev), sideCell(r.Prod))

	b.WriteString("## Timeline (UTC)\n\n")
	fmt.Fprintf(&b, "- %s: the gate blocked the deploy with %d blocking finding(s).\n", r.Time.Format("2006-01-02 15:04:05"), len(r.Findings))
	fmt.Fprintf(&b, "- %s: %s overrode the gate (ticket %s).\n", r.Time.Format("2006-01-02 15:04:05"), md(r.Who.Name), md(r.Ticket))
	b.WriteString("- _(add: deploy started, first signal in prod, mitigation, resolution)_\n\n")

	b.WriteString("## What was overridden, and why\n\n")
	for _, line := range strings.Split(strings.ReplaceAll(r.Reason, "\r\n", "\n"), "\n") {
		fmt.Fprintf(&b, "> %s\n", md(line))
	}
	b.WriteString("\n")
	b.WriteString("| Rule | Object | Finding |\n|---|---|---|\n")
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", codeCell(f.Rule), codeCell(f.Object.String()), md(f.Message))
	}

	groups := map[int][]drift.Finding{}
	for _, f := range r.Findings {
		for i, im := range impacts {
			if im.match(f.Rule, f.Check) {
				groups[i] = append(groups[i], f)
				break
			}
		}
	}
	order := make([]int, 0, len(groups))
	for i := range groups {
		order = append(order, i)
	}
	sort.Ints(order)
	b.WriteString("\n## Impact to watch for after the deploy\n\n")
	for _, i := range order {
		fmt.Fprintf(&b, "- %s\n", impacts[i].impact)
		for _, f := range groups[i] {
			fmt.Fprintf(&b, "  - %s: %s\n", textsafe.MarkdownCode(f.Object.String()), md(f.Message))
		}
	}
	b.WriteString("\n## Action items to bring dev back in line\n\n")
	for _, i := range order {
		fmt.Fprintf(&b, "- [ ] %s (owner: _who_, due: _when_)\n", impacts[i].action)
	}
	b.WriteString("- [ ] Decide whether any difference is deliberate; if so, add a waiver with an owner and an expiry instead of overriding next time.\n")
	b.WriteString("\n## What we learned\n\n_(what made dev differ from prod without anyone noticing, and what would have caught it earlier)_\n")
	return b.String()
}

// writeIdentityRows adds the rows that say which identity was checked
// against override.allowedBy, how the cluster verified it, and what was
// only claimed. Records from before verified identities have none.
func writeIdentityRows(b *strings.Builder, who Identity) {
	if v := who.Verified; v != nil {
		groups := make([]string, len(v.Groups))
		for i, g := range v.Groups {
			groups[i] = codeCell(g)
		}
		fmt.Fprintf(b, "| Verified identity | %s, groups %s, by %s |\n", codeCell(v.User), strings.Join(groups, ", "), md(v.By))
	}
	if len(who.Claims) > 0 {
		claims := make([]string, len(who.Claims))
		for i, c := range who.Claims {
			claims[i] = md(c.String())
		}
		fmt.Fprintf(b, "| Claimed (not verified) | %s |\n", strings.Join(claims, ", "))
	}
	switch who.Checked {
	case CheckedVerified:
		fmt.Fprintf(b, "| Checked against override.allowedBy | the verified identity, allowed as %s |\n", codeCell(who.AllowedAs))
	case CheckedClaim:
		fmt.Fprintf(b, "| Checked against override.allowedBy | the claim %s, as override.trustClaimedIdentity allows; nothing verified it |\n", md(who.Name))
	}
}

func sideName(s drift.Side) string {
	switch {
	case s.Location == "context:"+s.Context:
		return "context " + s.Context
	case s.Context != "":
		return s.Location + " (context " + s.Context + ")"
	}
	return s.Location
}

// sideCell is a side's table cell: where it came from, its snapshot, and
// the key its signature was verified with, so a reader of the postmortem
// knows which prod state the override was judged against.
func sideCell(s drift.Side) string {
	cell := md(sideName(s)) + ", snapshot " + codeCell(s.Digest)
	if s.SignedBy != "" {
		cell += ", signature verified with key " + codeCell(s.SignedBy)
	}
	return cell
}

// md writes untrusted text as Markdown prose, safe in a table cell too.
func md(s string) string { return textsafe.Markdown(s) }

// codeCell writes a value as a code span inside a table.
func codeCell(s string) string { return textsafe.MarkdownCodeCell(s) }

// mdURL writes the pipeline URL, which comes from the CI environment, as an
// autolink when it is a plain http(s) URL of the characters CI systems use,
// else as a code span.
func mdURL(s string) string {
	u, err := url.Parse(s)
	plain := !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~:/?#=&%+,;", r))
	})
	if err == nil && plain && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		return "<" + s + ">"
	}
	return codeCell(s)
}
