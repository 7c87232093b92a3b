package rules

import (
	"fmt"
	"strings"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/leftover"
	"github.com/driftgate/driftgate/drift/netpol"
)

// semanticChecks are the checks that see both environments whole, by check
// type (and unmanaged, which also sees the other rules); every other check
// compares one pair of objects at a time.
var semanticChecks = map[string]SemanticCheck{
	CheckNetworkPolicy: checkNetworkPolicy,
	CheckCorefile:      checkCorefile,
}

// sides splits pairs into dev's and prod's objects (dev's already mapped to prod's names).
func sides(pairs []drift.Pair) (dev, prod []map[string]any) {
	for _, p := range pairs {
		if p.Dev != nil {
			dev = append(dev, p.Dev.Object)
		}
		if p.Prod != nil {
			prod = append(prod, p.Prod.Object)
		}
	}
	return dev, prod
}

// cniPolicyGroups hold the policy kinds of CNIs; those the network model
// does not read are compared by presence and field by field instead.
var cniPolicyGroups = map[string]bool{"crd.projectcalico.org": true, "projectcalico.org": true, "cilium.io": true, "crd.antrea.io": true}

func isCNIPolicy(id drift.ObjectID) bool {
	return cniPolicyGroups[id.Group] && (strings.Contains(id.Kind, "Policy") || strings.Contains(id.Kind, "NetworkSet")) && !netpol.Reads(id.Group, id.Kind)
}

func checkNetworkPolicy(r *Rule, pairs []drift.Pair, _, _ *drift.Snapshot) ([]drift.Finding, error) {
	devObjs, prodObjs := sides(pairs)
	de, err := netpol.Build(devObjs)
	if err != nil {
		return nil, fmt.Errorf("reading dev's network policies: %w", err)
	}
	pe, err := netpol.Build(prodObjs)
	if err != nil {
		return nil, fmt.Errorf("reading prod's network policies: %w", err)
	}
	return networkPolicyFindings(r, de, pe, pairs), nil
}

// networkPolicyFindings compares the network models of dev and prod, and
// the CNI policies among pairs that the model does not read.
func networkPolicyFindings(r *Rule, de, pe *netpol.Environment, pairs []drift.Pair) []drift.Finding {
	diffs, undecided := netpol.CompareAll(de, pe)
	out := groupConnections(r, diffs)
	for _, x := range undecided {
		id := drift.ObjectID{Group: workloadGroup(x.Workload.Kind), Kind: x.Workload.Kind, Namespace: x.Workload.Namespace, Name: x.Workload.Name}
		if x.Workload.Kind == "" {
			// Host and node policies concern the nodes, not a workload.
			id = drift.ObjectID{Kind: "Node", Name: "*"}
		}
		f := r.NewFinding(id, drift.FindingUnchecked, x.Message)
		if x.Stricter {
			f.Kind = drift.FindingChanged
			f.Severity = drift.SeverityWarn.AtMost(r.Severity)
		}
		for _, c := range x.DevOnly {
			f.Fields = append(f.Fields, drift.FieldDiff{Path: x.Direction + " condition", Dev: c, Prod: nil})
		}
		for _, c := range x.ProdOnly {
			f.Fields = append(f.Fields, drift.FieldDiff{Path: x.Direction + " condition", Dev: nil, Prod: c})
		}
		out = append(out, f)
	}
	for i := range pairs {
		p := &pairs[i]
		if !isCNIPolicy(p.ID) {
			continue
		}
		switch {
		case p.Dev == nil:
			out = append(out, r.NewFinding(p.ID, drift.FindingMissingInDev, "CNI policy exists in prod but not in dev: dev allows traffic prod's CNI may deny"))
		case p.Prod == nil:
			out = append(out, r.NewFinding(p.ID, drift.FindingExtraInDev, "CNI policy exists only in dev: dev denies or allows traffic prod does not"))
		default:
			dev, prod := p.Dev.Object["spec"], p.Prod.Object["spec"]
			if diffs := drift.DiffFields(map[string]any{"spec": dev}, map[string]any{"spec": prod}); len(diffs) > 0 {
				f := r.NewFinding(p.ID, drift.FindingChanged, fmt.Sprintf("CNI policy differs (%d fields; compared field by field, not by traffic)", len(diffs)))
				f.Fields = diffs
				out = append(out, f)
			}
		}
	}
	return out
}

func workloadGroup(kind string) string {
	switch kind {
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet":
		return "apps"
	case "Job", "CronJob":
		return "batch"
	}
	return ""
}

// checkUnmanaged reports leftovers and changes by hand. A field changed by
// hand that a fields rule of severity info judges (spec.replicas, which
// workload-replicas reports) is left to that rule: kubectl scale on dev is
// context, never a leftover.
func (r *Rule) checkUnmanaged(pairs []drift.Pair, sets []*RuleSet) []drift.Finding {
	return r.checkUnmanagedPresent(pairs, sets, nil)
}

// checkUnmanagedPresent is checkUnmanaged, with present saying which dev
// objects exist when pairs are not all of them (nil: pairs are).
func (r *Rule) checkUnmanagedPresent(pairs []drift.Pair, sets []*RuleSet, present func(drift.ObjectID) bool) []drift.Finding {
	var byDesign []*Rule
	for _, s := range sets {
		for _, o := range s.Rules {
			if o.Check == CheckFields && o.Severity == drift.SeverityInfo && len(o.paths) > 0 {
				byDesign = append(byDesign, o)
			}
		}
	}
	judged := func(p *drift.Pair, path string) bool {
		for _, o := range byDesign {
			if o.matchesPair(p) && o.coversPath(path) && !o.ignoresPath(path) {
				return true
			}
		}
		return false
	}
	var out []drift.Finding
	managers := drift.Managers{Manual: r.ManualManagers, Trusted: r.TrustedManagers}
	var problems []leftover.Problem
	if present == nil {
		problems = leftover.Check(pairs, managers, judged)
	} else {
		problems = leftover.CheckPresent(pairs, present, managers, judged)
	}
	for _, p := range problems {
		f := r.NewFinding(p.Object, p.Kind, p.Message)
		// A leftover is wrong as a whole; a change by hand shows each field
		// set by hand that differs from prod, with both values.
		f.Fields = p.Changed
		out = append(out, f)
	}
	return out
}

// connectionGroup gathers the differences one workload's policies decide
// the same way, so a default-deny egress in prod reads as one finding about
// the workload listing every destination, not one finding per destination.
type connectionGroup struct {
	severity     drift.Severity
	direction    string
	subject      netpol.Endpoint
	devPolicies  []string
	prodPolicies []string
	diffs        []netpol.Difference
}

func groupConnections(r *Rule, diffs []netpol.Difference) []drift.Finding {
	var groups []*connectionGroup
	index := map[string]*connectionGroup{}
	for _, d := range diffs {
		subject := d.Source
		if d.Direction == "ingress" || subject.Kind == "" {
			subject = d.Destination
		}
		key := strings.Join([]string{d.Severity.String(), d.Direction, subject.String(), strings.Join(d.DevPolicies, ","), strings.Join(d.ProdPolicies, ",")}, "|")
		g, ok := index[key]
		if !ok {
			g = &connectionGroup{severity: d.Severity, direction: d.Direction, subject: subject, devPolicies: d.DevPolicies, prodPolicies: d.ProdPolicies}
			index[key] = g
			groups = append(groups, g)
		}
		g.diffs = append(g.diffs, d)
	}
	var out []drift.Finding
	for _, g := range groups {
		id := drift.ObjectID{Group: workloadGroup(g.subject.Kind), Kind: g.subject.Kind, Namespace: g.subject.Namespace, Name: g.subject.Name}
		f := r.NewFinding(id, drift.FindingChanged, g.message())
		f.Severity = g.severity.AtMost(r.Severity)
		for _, d := range g.diffs {
			peer, verb := d.Destination, "to"
			if g.direction == "ingress" {
				peer, verb = d.Source, "from"
			}
			allowed, denied := "allowed on "+d.Port, "denied"
			dev, prod := any(allowed), any(denied)
			if d.Severity != drift.SeverityBlock {
				dev, prod = denied, allowed
			}
			f.Fields = append(f.Fields, drift.FieldDiff{Path: fmt.Sprintf("%s %s %s", g.direction, verb, peer), Dev: dev, Prod: prod})
		}
		out = append(out, f)
	}
	return out
}

func (g *connectionGroup) message() string {
	n := len(g.diffs)
	peers := "peer"
	if n != 1 {
		peers = "peers"
	}
	policies := func(env string, ps []string) string {
		if len(ps) == 0 {
			return "in " + env + " no " + g.direction + " policy selects it"
		}
		return env + " policies " + strings.Join(ps, ", ")
	}
	if g.severity == drift.SeverityBlock {
		return fmt.Sprintf("dev allows %s traffic that prod denies, with %d %s (%s; %s): a test on dev cannot see what prod will refuse",
			g.direction, n, peers, policies("prod", g.prodPolicies), policies("dev", g.devPolicies))
	}
	return fmt.Sprintf("dev denies %s traffic that prod allows, with %d %s (%s; %s): dev is stricter than prod",
		g.direction, n, peers, policies("dev", g.devPolicies), policies("prod", g.prodPolicies))
}
