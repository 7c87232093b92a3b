package calicosel

import (
	"testing"

	"k8s.io/apimachinery/pkg/labels"
)

// BenchmarkMatches evaluates selectors of the shapes Calico policies use
// against a pod's labels; the policy model calls Matches for every
// policy and endpoint pair.
func BenchmarkMatches(b *testing.B) {
	pod := labels.Set{
		"app.kubernetes.io/name":      "checkout",
		"app.kubernetes.io/instance":  "checkout-prod",
		"app.kubernetes.io/component": "api",
		"tier":                        "backend",
		"team":                        "payments",
		"projectcalico.org/namespace": "shop",
		"pod-template-hash":           "7d9f8c6b5",
	}
	for _, bc := range []struct{ name, expr string }{
		{"all", `all()`},
		{"equal", `app.kubernetes.io/name == "checkout"`},
		{"and", `tier == "backend" && team == "payments" && has(app.kubernetes.io/name)`},
		{"set", `team in {"billing", "checkout", "identity", "payments", "search", "shipping"}`},
		{"mixed", `!has(quarantine) && (tier == "backend" || tier == "db") && app.kubernetes.io/instance ends with "-prod" && team not in {"sandbox", "qa"}`},
	} {
		sel, err := Parse(bc.expr)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !sel.Matches(pod) {
					b.Fatal("no match")
				}
			}
		})
	}
}

// BenchmarkParse parses a typical policy selector: the cost paid once per
// selector field of every Calico policy in a snapshot.
func BenchmarkParse(b *testing.B) {
	const expr = `!has(quarantine) && (tier == "backend" || tier == "db") && app.kubernetes.io/instance ends with "-prod" && team not in {"sandbox", "qa"}`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(expr); err != nil {
			b.Fatal(err)
		}
	}
}
