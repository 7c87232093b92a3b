// Package leftover finds what makes dev look healthier than prod for the
// wrong reasons: objects only dev has (the remains of a manual deployment)
// and objects changed by hand rather than by the deploy tool, read from
// provenance (managedFields, owners, last-applied).
package leftover

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/driftgate/driftgate/drift"
)

// Problem is one leftover or manual change on dev.
type Problem struct {
	Object drift.ObjectID
	Kind   string // drift.FindingExtraInDev or drift.FindingChanged
	// Manual are the manual managers and the fields each owns.
	Manual []drift.Manager
	// Changed are the fields changed by hand whose value on dev differs
	// from prod's, with both values (a change by hand only).
	Changed []drift.FieldDiff
	Message string
}

// JudgedElsewhere reports whether another rule decides what a difference
// at path of the pair means (replica counts, which differ by design and
// another rule reports as info), so that a change by hand there is not a
// leftover. Nil means no path is.
type JudgedElsewhere func(p *drift.Pair, path string) bool

// Check examines dev's side of every pair. An object is judged through its
// controlling owner when the owner is in the snapshot; an owned object
// whose owner is gone is itself a leftover. Managers says which field
// managers mean a change by hand.
//
// An object prod has too is a problem only where a field a manual manager
// owns on dev holds another value than prod's at the same path: a change
// by hand that left dev as prod is not drift. Where that cannot be told
// (the snapshot kept only part of the manager's paths, or a path is found
// on neither side) the object is reported, saying why.
func Check(pairs []drift.Pair, managers drift.Managers, judged JudgedElsewhere) []Problem {
	present := map[drift.ObjectID]bool{}
	for _, p := range pairs {
		if p.Dev != nil {
			present[drift.ObjectID{Group: p.Dev.Group, Kind: p.Dev.Kind, Namespace: p.Dev.Namespace, Name: p.Dev.Name}] = true
		}
	}
	return CheckPresent(pairs, func(id drift.ObjectID) bool { return present[id] }, managers, judged)
}

// Owner returns the ID its controlling owner (or first owner) would have,
// when the dev object o has one: in o's namespace.
func Owner(o *drift.Object) (drift.ObjectID, bool) {
	owner := o.Provenance.Owner
	if owner == nil {
		return drift.ObjectID{}, false
	}
	og := owner.APIVersion
	if i := strings.LastIndexByte(og, '/'); i >= 0 {
		og = og[:i]
	} else {
		og = ""
	}
	return drift.ObjectID{Group: og, Kind: owner.Kind, Namespace: o.Namespace, Name: owner.Name}, true
}

// CheckPresent is Check, with present saying which dev objects exist (by
// group, kind, namespace and name) where Check reads it from pairs: for a
// caller that sees the pairs a few at a time, and knows the rest.
func CheckPresent(pairs []drift.Pair, present func(drift.ObjectID) bool, managers drift.Managers, judged JudgedElsewhere) []Problem {
	var out []Problem
	for i := range pairs {
		p := &pairs[i]
		dev := p.Dev
		if dev == nil {
			continue
		}
		if id, ok := Owner(dev); ok && present(id) {
			continue // judged through its owner
		}
		manual := manualManagers(dev, managers)
		switch {
		case p.Prod == nil:
			out = append(out, Problem{Object: p.ID, Kind: drift.FindingExtraInDev, Manual: manual, Message: leftoverMessage(dev, manual)})
		case len(manual) > 0:
			changed, what, undecided := compareManual(p, manual, judged)
			if len(what) == 0 && len(undecided) == 0 {
				continue
			}
			out = append(out, Problem{Object: p.ID, Kind: drift.FindingChanged, Manual: manual, Changed: changed, Message: manualMessage(what, undecided)})
		}
	}
	return out
}

// compareManual compares each field a manual manager owns on dev with
// prod's value at the same path. It returns the differing fields, what
// each manager changed (for the message), and for each manager whose
// changes could not all be compared, why.
func compareManual(p *drift.Pair, manual []drift.Manager, judged JudgedElsewhere) (changed []drift.FieldDiff, what, undecided []string) {
	seen := map[string]bool{}
	for _, m := range manual {
		who := fmt.Sprintf("%s (%s)", m.Manager, strings.ToLower(m.Operation))
		if len(m.Paths) == 0 {
			undecided = append(undecided, fmt.Sprintf("%s owns %s and the snapshot did not keep which fields", who, strings.Join(m.Fields, ", ")))
			continue
		}
		var differ, lost []string
		for _, path := range m.Paths {
			if more, ok := truncated(path); ok {
				undecided = append(undecided, fmt.Sprintf("%s owns %d more fields than the %d the snapshot keeps", who, more, len(m.Paths)-1))
				continue
			}
			if seen[path] || (judged != nil && judged(p, path)) {
				continue
			}
			seen[path] = true
			dv, pv := drift.ValueAt(p.Dev.Object, path), drift.ValueAt(p.Prod.Object, path)
			switch {
			case dv == nil && pv == nil:
				lost = append(lost, path)
			case !sameValue(path, dv, pv):
				d := drift.FieldDiff{Path: path, Dev: dv, Prod: pv}
				changed = append(changed, d)
				differ = append(differ, fmt.Sprintf("%s (dev %s, prod %s)", path, d.DevString(), d.ProdString()))
			}
		}
		if len(differ) > 0 {
			what = append(what, who+" set "+strings.Join(differ, ", "))
		}
		if len(lost) > 0 {
			undecided = append(undecided, fmt.Sprintf("%s owns %s, found on neither side", who, strings.Join(lost, ", ")))
		}
	}
	return changed, what, undecided
}

// truncated reads the "... N more" marker that ends a manager's path list
// when the snapshot kept only part of it.
func truncated(path string) (more int, ok bool) {
	rest, ok := strings.CutPrefix(path, "... ")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(rest, " more"))
	if err != nil {
		return 0, true
	}
	return n, true
}

// sameValue compares a dev and a prod value found at path as a fields
// rule would, through the field walker: each value is put back under the
// last two fields of its path, which decide how a leaf compares
// (limits.cpu as a quantity, containers[name=app].image as an image).
func sameValue(path string, dev, prod any) bool {
	return drift.Equivalent(inContext(path, dev), inContext(path, prod))
}

// inContext wraps v in the last two fields of path: a field with a list
// selector ([name=app], [=v], [2]) holds v as its one item, one with a map
// key (["k"]) holds it under that key.
func inContext(path string, v any) any {
	fields := splitPath(path)
	if len(fields) > 2 {
		fields = fields[len(fields)-2:]
	}
	for i := len(fields) - 1; i >= 0; i-- {
		name, sel, _ := strings.Cut(fields[i], "[")
		switch {
		case strings.HasPrefix(sel, `"`):
			key, _ := strconv.Unquote(strings.TrimSuffix(sel, "]"))
			v = map[string]any{key: v}
		case sel != "":
			v = []any{v}
		}
		if name != "" {
			v = map[string]any{name: v}
		}
	}
	return v
}

// splitPath splits a rendered path at the dots outside brackets and quotes.
func splitPath(path string) []string {
	var out []string
	depth, quoted, from := 0, false, 0
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == '.' && depth == 0:
			out = append(out, path[from:i])
			from = i + 1
		}
	}
	return append(out, path[from:])
}

// manualManagers are the manual managers that own fields of the object
// itself (status written by hand is not a deploy-time difference).
func manualManagers(o *drift.Object, managers drift.Managers) []drift.Manager {
	var out []drift.Manager
	for _, m := range o.Provenance.Managers {
		if m.Subresource == "status" || !managers.IsManual(m.Manager) {
			continue
		}
		out = append(out, m)
	}
	return out
}

func leftoverMessage(o *drift.Object, manual []drift.Manager) string {
	why := "exists only in dev"
	switch {
	case len(manual) > 0:
		why += fmt.Sprintf(", made by hand (%s)", managerNames(manual))
	case o.Provenance.Owner != nil:
		why += fmt.Sprintf(", and its owner %s/%s is gone", o.Provenance.Owner.Kind, o.Provenance.Owner.Name)
	case (o.Group == "" && o.Kind == "Pod") || (o.Group == "apps" && o.Kind == "ReplicaSet"):
		why += fmt.Sprintf(", a %s without a controller", o.Kind)
	case len(o.Provenance.DeployTool) == 0 && len(o.Provenance.Managers) > 0:
		why += fmt.Sprintf(", written by %s", managerNames(o.Provenance.Managers))
	}
	return why + ": a leftover that can make dev look healthy; delete it from dev or deploy it to prod"
}

func manualMessage(what, undecided []string) string {
	var parts []string
	if len(what) > 0 {
		parts = append(parts, "differs from prod: "+strings.Join(what, "; "))
	}
	if len(undecided) > 0 {
		parts = append(parts, "could not be compared with prod, so it counts as drift: "+strings.Join(undecided, "; "))
	}
	return "changed by hand on dev and " + strings.Join(parts, "; it also ") + "; redeploy it with the deploy tool"
}

func managerNames(ms []drift.Manager) string {
	var names []string
	for _, m := range ms {
		if !slices.Contains(names, m.Manager) {
			names = append(names, m.Manager)
		}
	}
	return strings.Join(names, ", ")
}
