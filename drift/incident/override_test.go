package incident

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/driftgate/driftgate/drift"
)

// hookServer answers every delivery with status.
func hookServer(t *testing.T, status int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
	t.Cleanup(srv.Close)
	return srv.URL
}

func overrideRequest(t *testing.T, who string, hooks ...Hook) (OverrideRequest, *bytes.Buffer) {
	t.Helper()
	var notes bytes.Buffer
	return OverrideRequest{
		Result: sampleResult(), Reason: "the cache change ships to dev tomorrow", Ticket: "INC-42",
		Who:       Identity{Name: who, Source: "flag"},
		Policy:    Policy{AllowedBy: []string{"alice"}, TicketPattern: regexp.MustCompile(`^INC-[0-9]+$`)},
		Store:     &Store{Dir: filepath.Join(t.TempDir(), "incidents")},
		Deliverer: deliverer(t, hooks...),
		Now:       time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC),
		Notes:     &notes,
	}, &notes
}

func outboxOf(t *testing.T, s *Store) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(s.Dir, "outbox", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestOverrideAccepted(t *testing.T) {
	t.Parallel()
	req, notes := overrideRequest(t, "alice", Hook{Type: HookWebhook, URL: hookServer(t, http.StatusAccepted), Required: true})
	out, err := Override(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != OverrideAccepted || out.Refusal != nil || out.Record == nil || out.LogHead == "" {
		t.Fatalf("outcome: %+v", out)
	}
	recs, err := req.Store.List()
	if err != nil || len(recs) != 1 || recs[0].ID != out.Record.ID || len(recs[0].Findings) != 3 {
		t.Fatalf("records: %v %+v", err, recs)
	}
	if _, err := os.Stat(filepath.Join(req.Store.Dir, out.Record.ID+".md")); err != nil {
		t.Errorf("postmortem: %v", err)
	}
	if len(out.Deliveries) != 1 || out.Deliveries[0].Err != nil || len(outboxOf(t, req.Store)) != 0 {
		t.Errorf("deliveries %+v, outbox %v", out.Deliveries, outboxOf(t, req.Store))
	}
	for _, want := range []string{"override accepted for alice (flag); incident " + out.Record.ID, "delivered to hook 0 (webhook)"} {
		if !strings.Contains(notes.String(), want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
}

func TestOverrideRefusedByPolicy(t *testing.T) {
	t.Parallel()
	req, notes := overrideRequest(t, "mallory", Hook{Type: HookWebhook, URL: hookServer(t, http.StatusAccepted)})
	out, err := Override(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var refused *RefusedError
	if out.Status != OverrideRefused || !errors.As(out.Refusal, &refused) || out.Record != nil || len(out.Deliveries) != 0 {
		t.Fatalf("outcome: %+v", out)
	}
	if !strings.Contains(notes.String(), "mallory (identity from flag) is not in override.allowedBy") {
		t.Errorf("notes: %q", notes)
	}
	if _, err := os.Stat(req.Store.Dir); !os.IsNotExist(err) {
		t.Errorf("a refused override left a record: %v", err)
	}
}

func TestOverrideRefusedByRequiredHookKeepsRecord(t *testing.T) {
	t.Parallel()
	req, notes := overrideRequest(t, "alice", Hook{Type: HookWebhook, URL: hookServer(t, http.StatusServiceUnavailable), Required: true})
	out, err := Override(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != OverrideRefused || out.Record == nil || out.Refusal == nil ||
		!strings.Contains(out.Refusal.Error(), "override refused: required hook 0 (webhook) could not deliver after 4 attempts") {
		t.Fatalf("outcome: %+v", out)
	}
	if recs, err := req.Store.List(); err != nil || len(recs) != 1 {
		t.Errorf("the record must be kept: %v, %d records", err, len(recs))
	}
	if got := outboxOf(t, req.Store); len(got) != 1 || filepath.Base(got[0]) != out.Record.ID+".0.json" {
		t.Errorf("outbox: %v", got)
	}
	if !strings.Contains(notes.String(), "is kept and queued in "+filepath.Join(req.Store.Dir, "outbox")) {
		t.Errorf("notes: %q", notes)
	}
}

func TestOverrideOptionalHookFailureGoesToOutbox(t *testing.T) {
	t.Parallel()
	req, notes := overrideRequest(t, "alice",
		Hook{Type: HookWebhook, URL: hookServer(t, http.StatusAccepted), Required: true},
		Hook{Type: HookSlack, URL: hookServer(t, http.StatusBadGateway)})
	out, err := Override(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != OverrideAccepted || len(out.Deliveries) != 2 || out.Deliveries[0].Err != nil || out.Deliveries[1].Err == nil {
		t.Fatalf("outcome: %+v", out)
	}
	if got := outboxOf(t, req.Store); len(got) != 1 || filepath.Base(got[0]) != out.Record.ID+".1.json" {
		t.Errorf("outbox: %v", got)
	}
	if !strings.Contains(notes.String(), "hook 1 (slack) could not deliver after 4 attempts") || !strings.Contains(notes.String(), "queued, run `driftgate incidents flush`") {
		t.Errorf("notes: %q", notes)
	}
}

func TestOverrideOnlyOfABlockedResult(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		verdict string
		want    OverrideStatus
		note    string
	}{
		{"pass", drift.VerdictPass, OverrideNotNeeded, "no override is needed and no incident was recorded"},
		{"could not check", drift.VerdictCouldNotCheck, OverrideNotApplied, "can never be overridden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, notes := overrideRequest(t, "alice")
			req.Result.Verdict = tt.verdict
			out, err := Override(context.Background(), req)
			if err != nil || out.Status != tt.want || out.Record != nil || !strings.Contains(notes.String(), tt.note) {
				t.Errorf("outcome %+v, %v, notes %q", out, err, notes)
			}
			if _, err := os.Stat(req.Store.Dir); !os.IsNotExist(err) {
				t.Errorf("a record was written: %v", err)
			}
		})
	}
}

// TestOverrideRecordsClaimedAndEnvironmentIdentity: --override-by alice in
// a job GitHub says mallory runs is checked as alice (as before), and the
// record, its summary and the notes name mallory too.
func TestOverrideRecordsClaimedAndEnvironmentIdentity(t *testing.T) {
	t.Parallel()
	req, notes := overrideRequest(t, "alice")
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "mallory", "GITHUB_SHA": "abc"}
	req.Who = ResolveIdentity("alice", func(k string) string { return env[k] })
	out, err := Override(context.Background(), req)
	if err != nil || out.Status != OverrideAccepted {
		t.Fatalf("override: %+v %v", out, err)
	}
	b, err := os.ReadFile(filepath.Join(req.Store.Dir, out.Record.ID+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct{ Who map[string]string }
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"name": "alice", "source": "flag", "actor": "mallory", "actorSource": "github-actions", "checked": "name", "commit": "abc"}
	if diff := cmp.Diff(want, rec.Who); diff != "" {
		t.Errorf("record's who (-want +got):\n%s", diff)
	}
	if line := out.Record.SummaryLine(); !strings.Contains(line, "by alice (flag; the environment says mallory (github-actions))") {
		t.Errorf("summary line: %s", line)
	}
	if pm, err := os.ReadFile(filepath.Join(req.Store.Dir, out.Record.ID+".md")); err != nil || !strings.Contains(string(pm), "| Overridden by | alice (from flag; the environment says mallory (github-actions)) |") {
		t.Errorf("postmortem: %v\n%s", err, pm)
	}
	if !strings.Contains(notes.String(), "the override names alice (flag), but the environment says mallory (github-actions) runs it; both are recorded, and override.allowedBy was checked against alice") {
		t.Errorf("notes: %s", notes)
	}
}
