package rules

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/driftgate/driftgate/drift"
)

// A comparison that covers nothing proves nothing: each way of comparing
// nothing is could-not-check, saying what was empty, and every result
// says how many objects and rules it compared.
func TestNothingInScopeCannotPass(t *testing.T) {
	t.Parallel()
	builtin, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	rules := len(builtin.Rules)
	noRules := ruleSet(t, "rules: []\n")
	helmWeb := strings.Replace(webProd, "namespace: shop, ", "", 1) // rendered without metadata.namespace
	clusterRole := "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\nrules: []"
	tests := []struct {
		name       string
		dev, prod  []string
		sets       []*RuleSet
		namespaces []string
		captured   []string // the namespaces both snapshots were captured with (-n at snapshot time)
		verdict    string
		compared   drift.Compared
		unchecked  []string
	}{
		{name: "two empty sides", verdict: drift.VerdictCouldNotCheck, compared: drift.Compared{Rules: rules},
			unchecked: []string{"nothing in scope on dev: 0 objects", "nothing in scope on prod: 0 objects"}},
		{name: "comment-only files", dev: []string{"# nothing\n"}, prod: []string{"# rendered: nothing\n---\n# still nothing\n"},
			verdict: drift.VerdictCouldNotCheck, compared: drift.Compared{Rules: rules},
			unchecked: []string{"nothing in scope on dev: 0 objects", "nothing in scope on prod: 0 objects"}},
		{name: "empty prod", dev: []string{webProd}, verdict: drift.VerdictCouldNotCheck, compared: drift.Compared{Dev: 1, Rules: rules},
			unchecked: []string{"nothing in scope on prod: 0 objects"}},
		{name: "a namespace on neither side", dev: []string{webProd, cmProd}, prod: []string{webProd, cmProd, clusterRole}, namespaces: []string{"paymnts"},
			verdict: drift.VerdictCouldNotCheck, compared: drift.Compared{Prod: 1, Rules: rules},
			unchecked: []string{
				"nothing in scope on dev: 0 objects in namespaces [paymnts] (a manifest without metadata.namespace is in namespace default)",
				"nothing in scope on prod: 0 objects in namespaces [paymnts] (a manifest without metadata.namespace is in namespace default)",
			}},
		{name: "one of two namespaces on neither side", dev: []string{webProd}, prod: []string{webProd}, namespaces: []string{"shop", "paymnts"},
			verdict: drift.VerdictCouldNotCheck, compared: drift.Compared{Dev: 1, Prod: 1, Rules: rules},
			unchecked: []string{"nothing in scope in namespace paymnts: no objects on dev or prod"}},
		{name: "helm output without metadata.namespace", dev: []string{helmWeb}, prod: []string{helmWeb}, namespaces: []string{"payments"},
			verdict: drift.VerdictCouldNotCheck, compared: drift.Compared{Rules: rules},
			unchecked: []string{
				"nothing in scope on dev: 0 objects in namespaces [payments] (a manifest without metadata.namespace is in namespace default)",
				"nothing in scope on prod: 0 objects in namespaces [payments] (a manifest without metadata.namespace is in namespace default)",
			}},
		{name: "a rule set without rules", dev: []string{webProd}, prod: []string{webProd}, sets: []*RuleSet{noRules},
			verdict: drift.VerdictCouldNotCheck, compared: drift.Compared{Dev: 1, Prod: 1},
			unchecked: []string{"the rule set has no rules (test.yaml)"}},
		{name: "no rule set", dev: []string{webProd}, prod: []string{webProd}, sets: []*RuleSet{},
			verdict: drift.VerdictCouldNotCheck, compared: drift.Compared{Dev: 1, Prod: 1},
			unchecked: []string{"no rule set was given"}},
		{name: "snapshots of another namespace than asked for", dev: []string{webProd, clusterRole}, prod: []string{webProd, clusterRole},
			captured: []string{"shop"}, namespaces: []string{"paymnts"},
			verdict: drift.VerdictCouldNotCheck, compared: drift.Compared{Dev: 1, Prod: 1, Rules: rules},
			unchecked: []string{
				"nothing in scope on dev: 0 objects in any namespace: the namespaces asked for and those the snapshots cover do not overlap",
				"nothing in scope on prod: 0 objects in any namespace: the namespaces asked for and those the snapshots cover do not overlap",
			}},
		// What must still pass.
		{name: "the same objects", dev: []string{webProd, cmProd}, prod: []string{webProd, cmProd},
			verdict: drift.VerdictPass, compared: drift.Compared{Dev: 2, Prod: 2, Rules: rules}},
		{name: "the same objects in the namespace asked for", dev: []string{webProd, clusterRole}, prod: []string{webProd, clusterRole}, namespaces: []string{"shop"},
			verdict: drift.VerdictPass, compared: drift.Compared{Dev: 2, Prod: 2, Rules: rules}},
		{name: "an empty rule set beside rules (a waivers file)", dev: []string{webProd}, prod: []string{webProd}, sets: []*RuleSet{builtin, noRules},
			verdict: drift.VerdictPass, compared: drift.Compared{Dev: 1, Prod: 1, Rules: rules}},
		{name: "dev lacks the workload prod has: blocked, not unchecked", dev: []string{clusterRole}, prod: []string{webProd, clusterRole},
			verdict: drift.VerdictBlocked, compared: drift.Compared{Dev: 1, Prod: 2, Rules: rules}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sets := tt.sets
			if sets == nil {
				sets = []*RuleSet{builtin}
			}
			dev, prod := snap(t, tt.dev...), snap(t, tt.prod...)
			dev.Metadata.Scope.Namespaces, prod.Metadata.Scope.Namespaces = tt.captured, tt.captured
			res, err := Evaluate(dev, prod, sets, Options{Namespaces: tt.namespaces})
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != tt.verdict {
				t.Errorf("verdict %s, want %s (findings %v)", res.Verdict, tt.verdict, res.Findings)
			}
			if diff := cmp.Diff(tt.compared, res.Compared); diff != "" {
				t.Errorf("compared (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.unchecked, res.Unchecked); diff != "" {
				t.Errorf("unchecked (-want +got):\n%s", diff)
			}
		})
	}
}
