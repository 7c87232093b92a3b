package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/driftgate/driftgate/drift"
)

// A network policy condition driftgate cannot decide that differs between
// the environments (here an Istio AuthorizationPolicy only prod has) makes
// the comparison could-not-check, naming the workload and the policy; a
// waiver for that workload accepts it.
func TestNetworkPolicyUndecidedIsUnchecked(t *testing.T) {
	t.Parallel()
	const api = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: api}}\n    spec:\n      containers: [{name: c, image: api:1}]"
	const authz = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: only-frontend, namespace: shop}\nspec:\n  selector: {matchLabels: {app: api}}\n  action: ALLOW\n  rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/frontend]}}]}]"
	rs := ruleSet(t, `rules:
- {id: netpol, description: d, check: networkpolicy, severity: block}
waivers:
- {rule: netpol, object: "shop/Deployment.apps/api", reason: "mesh policy is rolled out to dev next sprint", owner: sre, expires: 2099-12-31}`)
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

	plain := ruleSet(t, "rules:\n- {id: netpol, description: d, check: networkpolicy, severity: block}")
	res, err := Evaluate(snap(t, api), snap(t, api, authz), []*RuleSet{plain}, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != drift.VerdictCouldNotCheck || len(res.Unchecked) != 1 {
		t.Fatalf("verdict %s, unchecked %q, findings %v", res.Verdict, res.Unchecked, summary(res.Findings))
	}
	for _, want := range []string{"rule netpol could not judge shop/Deployment.apps/api", "ingress of shop/Deployment/api", "AuthorizationPolicy.security.istio.io shop/only-frontend", "cannot be checked"} {
		if !strings.Contains(res.Unchecked[0], want) {
			t.Errorf("unchecked %q lacks %q", res.Unchecked[0], want)
		}
	}
	if f := res.Findings; len(f) != 1 || f[0].Kind != drift.FindingUnchecked {
		t.Errorf("findings: %v", summary(f))
	}

	// The same policy on both sides is compared by its text: equal, so
	// nothing is left open.
	res, err = Evaluate(snap(t, api, authz), snap(t, api, authz), []*RuleSet{plain}, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != drift.VerdictPass || len(res.Findings) != 0 {
		t.Errorf("equal policies: verdict %s, findings %v, unchecked %q", res.Verdict, summary(res.Findings), res.Unchecked)
	}

	res, err = Evaluate(snap(t, api), snap(t, api, authz), []*RuleSet{rs}, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != drift.VerdictPass || len(res.Unchecked) != 0 || res.Summary.Waived != 1 {
		t.Errorf("waived: verdict %s, unchecked %q, summary %+v", res.Verdict, res.Unchecked, res.Summary)
	}
}
