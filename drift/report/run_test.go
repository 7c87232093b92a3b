package report

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/compare"
	"github.com/driftgate/driftgate/drift/incident"
	"github.com/driftgate/driftgate/rules"
)

// scenario is a folder of the fixtures' scenario manifests as an environment.
func scenario(rel string) compare.Environment {
	return compare.Environment{Name: rel, Source: filepath.Join("..", "..", "fixtures", "scenarios", rel)}
}

func runConfig(t *testing.T, pairs ...PairConfig) (RunConfig, *bytes.Buffer) {
	t.Helper()
	sets, err := rules.Load([]string{"builtin"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var notes bytes.Buffer
	return RunConfig{
		Pairs:     pairs,
		Compare:   compare.Options{Scope: drift.Scope{Exclude: drift.DefaultExcludes}, RuleSets: sets},
		Incidents: &incident.Store{Dir: filepath.Join(dir, "incidents")},
		History:   History{Dir: filepath.Join(dir, "history")},
		Out:       filepath.Join(dir, "out"),
		Now:       t0,
		Notes:     &notes,
	}, &notes
}

func TestRunWritesFilesAndHistory(t *testing.T) {
	t.Parallel()
	base, leftover := scenario("base/both"), scenario("leftover/dev")
	cfg, notes := runConfig(t,
		PairConfig{Name: "same", Dev: base, Prod: base},
		PairConfig{Name: "changed", Dev: leftover, Prod: base},
		PairConfig{Name: "missing", Dev: base, Prod: compare.Environment{Name: "prod", Source: filepath.Join(t.TempDir(), "nothing")}})
	out, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep := out.Report
	if out.Undelivered != nil || rep.Verdict != drift.VerdictCouldNotCheck || len(rep.Pairs) != 3 {
		t.Fatalf("outcome %+v, report verdict %s", out, rep.Verdict)
	}
	for i, want := range []string{drift.VerdictPass, drift.VerdictBlocked, drift.VerdictCouldNotCheck} {
		if got := rep.Pairs[i].Verdict(); got != want {
			t.Errorf("pair %s: %s, want %s", rep.Pairs[i].Name, got, want)
		}
	}
	if !strings.Contains(notes.String(), "pair missing could not be compared: prod: ") {
		t.Errorf("notes: %q", notes)
	}
	b, err := os.ReadFile(filepath.Join(cfg.Out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var written Report
	if err := json.Unmarshal(b, &written); err != nil || written.Verdict != rep.Verdict {
		t.Errorf("report.json: %v, verdict %q", err, written.Verdict)
	}
	for _, f := range []string{"report.html", "report.md"} {
		if fi, err := os.Stat(filepath.Join(cfg.Out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	if past, err := cfg.History.Load(); err != nil || len(past) != 1 {
		t.Errorf("history: %v, %d runs", err, len(past))
	}
}

func TestRunDeliversMarkdown(t *testing.T) {
	t.Parallel()
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Text string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		got = append(got, body.Text)
	}))
	defer srv.Close()
	base := scenario("base/both")
	tests := []struct {
		name            string
		hooks           []incident.Hook
		wantUndelivered bool
	}{
		{"delivered", []incident.Hook{{Type: incident.HookSlack, URL: srv.URL, Required: true}}, false},
		{"optional hook fails", []incident.Hook{{Type: incident.HookPagerDuty}}, false},
		{"required hook fails", []incident.Hook{{Type: incident.HookPagerDuty, Required: true}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, notes := runConfig(t, PairConfig{Name: "same", Dev: base, Prod: base})
			cfg.Hooks = &incident.Deliverer{Hooks: tt.hooks}
			out, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if (out.Undelivered != nil) != tt.wantUndelivered {
				t.Errorf("undelivered: %v, want failure %v", out.Undelivered, tt.wantUndelivered)
			}
			if failed := strings.Contains(notes.String(), "report hook 0 (pagerduty) could not deliver"); failed != (tt.hooks[0].Type == incident.HookPagerDuty) {
				t.Errorf("notes: %q", notes)
			}
			if _, err := os.Stat(filepath.Join(cfg.Out, "report.md")); err != nil {
				t.Errorf("the report must be written whether or not it is delivered: %v", err)
			}
		})
	}
	if len(got) != 1 || !strings.Contains(got[0], "same") {
		t.Errorf("slack got %q", got)
	}
}
