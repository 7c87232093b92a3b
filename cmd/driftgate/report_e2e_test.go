package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/driftgate/driftgate/drift/report"
	"github.com/driftgate/driftgate/fixtures"
	"github.com/driftgate/driftgate/fixtures/testbed"
)

func TestReportThreeRunsOverChangingState(t *testing.T) {
	bed := testbed.Need(t)
	ctx := context.Background()
	ns := plantBase(t, bed)
	cfg := liveConfig(t, bed.Kubeconfig, ns, `report:
  pairs: [{name: shop, dev: dev, prod: prod}]
  history: ./history
`)
	out := filepath.Join(filepath.Dir(cfg), "out")
	runReport := func(wantCode int) *report.Report {
		t.Helper()
		r := runCLI(t, "report", "--config", cfg, "--out", out)
		if r.code != wantCode {
			t.Fatalf("report: exit %d, want %d\n%s%s", r.code, wantCode, r.stdout, r.stderr)
		}
		b, err := os.ReadFile(filepath.Join(out, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		var rep report.Report
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"report.html", "report.md"} {
			if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
				t.Errorf("%s not written: %v", f, err)
			}
		}
		return &rep
	}
	keys := func(ks []report.FindingKey) []string {
		var out []string
		for _, k := range ks {
			out = append(out, k.Rule+" "+k.Object.Name)
		}
		sort.Strings(out)
		return out
	}

	first := runReport(exitPass)
	if len(first.Pairs[0].Trend) != 1 || len(first.Pairs[0].New) != 0 {
		t.Errorf("run 1: %+v", first.Pairs[0])
	}

	if err := fixtures.Plant(ctx, bed, "leftover", ns); err != nil {
		t.Fatal(err)
	}
	second := runReport(exitBlocked)
	want := []string{"leftovers checkout-debug", "leftovers payments", "workload-spec payments"}
	if diff := cmp.Diff(want, keys(second.Pairs[0].New)); diff != "" || len(second.Pairs[0].Resolved) != 0 {
		t.Errorf("run 2 new (-want +got):\n%s\nresolved: %v", diff, keys(second.Pairs[0].Resolved))
	}

	// Clean dev up the way a team would: delete the leftover, redeploy payments.
	if err := bed.Dev.Delete(ctx, mustScenarioFile(t, "leftover/dev/checkout-debug.kubectl-create.yaml"), ns); err != nil {
		t.Fatal(err)
	}
	if err := fixtures.Plant(ctx, bed, "base", ns); err != nil {
		t.Fatal(err)
	}
	third := runReport(exitPass)
	p := third.Pairs[0]
	if diff := cmp.Diff(want, keys(p.Resolved)); diff != "" || len(p.New) != 0 {
		t.Errorf("run 3 resolved (-want +got):\n%s\nnew: %v", diff, keys(p.New))
	}
	if len(p.Trend) != 3 || p.Trend[0].Block != 0 || p.Trend[1].Block != 3 || p.Trend[2].Block != 0 {
		t.Errorf("trend: %+v", p.Trend)
	}
}

func mustScenarioFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "scenarios", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
