package rules

import (
	"errors"
	"strings"
	"testing"

	"github.com/driftgate/driftgate/drift"
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

// TestCELSizeLimits: expressions that cel-go's own limits let take seconds
// to compile are refused at load, at the expression, saying what to do.
func TestCELSizeLimits(t *testing.T) {
	t.Parallel()
	for name, expr := range map[string]string{
		"long":   strings.Repeat("dev.a == 1 || ", 1000) + "true",
		"nested": strings.Repeat("[", 100) + strings.Repeat("]", 100) + " == []",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("rules.yaml", []byte("apiVersion: driftgate.dev/v1alpha1\nkind: RuleSet\nrules:\n- id: big\n  description: d\n  check: cel\n  severity: warn\n  expression: '"+expr+"'\n"))
			var ie *drift.InputError
			if !errors.As(err, &ie) || ie.Line != 8 || !strings.Contains(err.Error(), "split it into several rules") {
				t.Fatalf("want an error at rules.yaml:8 saying to split the rule, got %v", err)
			}
		})
	}
}
