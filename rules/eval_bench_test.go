package rules

import (
	"sync"
	"testing"
	"time"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/fixtures/bench/gen"
)

var (
	benchOnce            sync.Once
	benchDev, benchProd  *drift.Snapshot
	benchSets            []*RuleSet
	benchErr             error
	benchNow             = time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	benchNamespaceCounts = [2]int{200, 100} // namespaces, objects per namespace
)

// benchInputs are the snapshots `make bench` diffs (fixtures/bench/gen:
// 200 namespaces of 100 objects, about 20,000 a side, dev drifted in one
// namespace in twenty) and the built-in rules.
func benchInputs(b *testing.B) (dev, prod *drift.Snapshot, sets []*RuleSet) {
	b.Helper()
	benchOnce.Do(func() {
		if benchDev, benchErr = gen.Snapshot(benchNamespaceCounts[0], benchNamespaceCounts[1], gen.Dev); benchErr != nil {
			return
		}
		if benchProd, benchErr = gen.Snapshot(benchNamespaceCounts[0], benchNamespaceCounts[1], gen.Prod); benchErr != nil {
			return
		}
		benchSets, benchErr = Load([]string{"builtin"})
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDev, benchProd, benchSets
}

// BenchmarkEvaluate runs the built-in rules over 20,000 objects a side: the
// whole of `driftgate diff` but reading the files and rendering. Each
// built-in rule is also measured alone.
func BenchmarkEvaluate(b *testing.B) {
	dev, prod, sets := benchInputs(b)
	b.Run("builtin", func(b *testing.B) {
		b.ReportAllocs()
		var findings int
		for b.Loop() {
			res, err := Evaluate(dev, prod, sets, Options{Now: benchNow})
			if err != nil {
				b.Fatal(err)
			}
			findings = len(res.Findings)
		}
		b.ReportMetric(float64(findings), "findings")
	})
	for _, r := range sets[0].Rules {
		one := []*RuleSet{{APIVersion: sets[0].APIVersion, Kind: sets[0].Kind, File: sets[0].File, Rules: []*Rule{r}}}
		b.Run("rule="+r.ID, func(b *testing.B) {
			b.ReportAllocs()
			var findings int
			for b.Loop() {
				res, err := Evaluate(dev, prod, one, Options{Now: benchNow})
				if err != nil {
					b.Fatal(err)
				}
				findings = len(res.Findings)
			}
			b.ReportMetric(float64(findings), "findings")
		})
	}
}
