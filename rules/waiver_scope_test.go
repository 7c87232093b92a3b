package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/driftgate/driftgate/drift"
)

// A waiver that accepts more than one known difference is said, not
// accepted silently: an object pattern, a rule no rule set has, and a rule
// pattern (an error at load: rule ids are matched exactly, so "*" would
// look like it waives everything while it waives nothing).
func TestBroadWaiversAreSaid(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	rs := ruleSet(t, `rules:
- {id: extra, description: d, check: presence, presence: extra, severity: block}
waivers:
- {rule: extra, object: "*", reason: "dev is different", owner: mallory, expires: 2099-12-31}
- {rule: extra, object: "shop-dev/ConfigMap/debug", reason: "debug config", owner: bob, expires: 2026-12-31}
- {rule: extar, object: "shop-dev/ConfigMap/debug", reason: "typo", owner: bob, expires: 2026-12-31}
- {rule: extra, object: "old/*", reason: "expired", owner: carol, expires: 2026-01-01}`)
	res, err := Evaluate(snap(t, webProd, cmDebug), snap(t, webProd), []*RuleSet{rs}, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	wantNotes := []string{
		`waiver at test.yaml:6 accepts rule extra on every object matching "*" until 2099-12-31 (owner mallory), not one object: list the objects it is meant for`,
		`waiver at test.yaml:8 names rule "extar", which no rule set has: it can never apply; correct the rule id (driftgate rules list) or remove the waiver`,
	}
	if diff := cmp.Diff(wantNotes, res.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantNotes, WaiverWarnings([]*RuleSet{rs}, now)); diff != "" {
		t.Errorf("WaiverWarnings (-want +got):\n%s", diff)
	}
	var unknown *drift.Finding
	for i, f := range res.Findings {
		if f.Rule == "extar" {
			unknown = &res.Findings[i]
		}
	}
	if unknown == nil || unknown.Severity != drift.SeverityWarn || !strings.Contains(unknown.Message, "names a rule no rule set has") {
		t.Errorf("the waiver of an unknown rule: %+v", unknown)
	}

	// A rule pattern is refused where it is written.
	_, err = Parse("w.yaml", []byte("apiVersion: driftgate.dev/v1alpha1\nkind: RuleSet\nwaivers:\n- {rule: \"*\", object: \"shop/Deployment.apps/web\", reason: r, owner: o, expires: 2099-12-31}\n"))
	if err == nil || !strings.Contains(err.Error(), `w.yaml:4:`) || !strings.Contains(err.Error(), `waiver rule "*" is a pattern, not a rule id`) {
		t.Errorf("rule: \"*\" loads: %v", err)
	}
}
