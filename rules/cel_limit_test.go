package rules

import (
	"strings"
	"testing"
)

// TestCELCostLimit: an expression that would run for hours (nine nested
// comprehensions, 10^9 steps) stops at the cost limit and is a finding of
// the rule's severity, never a pass or a hang.
func TestCELCostLimit(t *testing.T) {
	t.Parallel()
	expr := "true"
	for i := range 9 {
		expr = "[0,1,2,3,4,5,6,7,8,9].all(" + string(rune('a'+i)) + ", " + expr + ")"
	}
	rs := ruleSet(t, "rules:\n- id: slow\n  description: d\n  match: {kinds: [ConfigMap]}\n  check: cel\n  severity: warn\n  expression: '"+expr+"'\n")
	s := snap(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: b}\n")
	res, err := Evaluate(s, s, []*RuleSet{rs}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 || !strings.Contains(res.Findings[0].Message, "cost limit exceeded") || res.Findings[0].Severity != "warn" {
		t.Fatalf("want one warn finding for the cost limit, got %+v", res.Findings)
	}
}
