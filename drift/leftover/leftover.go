// Package leftover finds what makes dev look healthier than prod for the
// wrong reasons: objects only dev has (the remains of a manual deployment)
// and objects changed by hand rather than by the deploy tool, read from
// provenance (managedFields, owners, last-applied).
package leftover

import (
	"fmt"
	"slices"
	"strings"

	"github.com/driftgate/driftgate/drift"
)

// Problem is one leftover or manual change on dev.
type Problem struct {
	Object drift.ObjectID
	Kind   string // drift.FindingExtraInDev or drift.FindingChanged
	// Manual are the manual managers and the fields each owns.
	Manual  []drift.Manager
	Message string
}

// Check examines dev's side of every pair. An object is judged through its
// controlling owner when the owner is in the snapshot; an owned object
// whose owner is gone is itself a leftover. Managers says which field
// managers mean a change by hand.
func Check(pairs []drift.Pair, managers drift.Managers) []Problem {
	present := map[ownerKey]bool{}
	for _, p := range pairs {
		if p.Dev != nil {
			present[ownerKey{p.Dev.Group, p.Dev.Kind, p.Dev.Namespace, p.Dev.Name}] = true
		}
	}
	var out []Problem
	for _, p := range pairs {
		dev := p.Dev
		if dev == nil {
			continue
		}
		owner := dev.Provenance.Owner
		if owner != nil {
			og := owner.APIVersion
			if i := strings.LastIndexByte(og, '/'); i >= 0 {
				og = og[:i]
			} else {
				og = ""
			}
			if present[ownerKey{og, owner.Kind, dev.Namespace, owner.Name}] {
				continue // judged through its owner
			}
		}
		manual := manualManagers(dev, managers)
		switch {
		case p.Prod == nil:
			out = append(out, Problem{Object: p.ID, Kind: drift.FindingExtraInDev, Manual: manual, Message: leftoverMessage(dev, manual)})
		case len(manual) > 0:
			out = append(out, Problem{Object: p.ID, Kind: drift.FindingChanged, Manual: manual, Message: manualMessage(manual)})
		}
	}
	return out
}

type ownerKey struct{ group, kind, namespace, name string }

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

func manualMessage(manual []drift.Manager) string {
	var parts []string
	for _, m := range manual {
		fields := m.Paths
		if len(fields) == 0 {
			fields = m.Fields
		}
		parts = append(parts, fmt.Sprintf("%s (%s) owns %s", m.Manager, strings.ToLower(m.Operation), strings.Join(fields, ", ")))
	}
	return "changed by hand on dev: " + strings.Join(parts, "; ") + "; redeploy it with the deploy tool"
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
