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
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/driftgate/driftgate/drift"
)

// hookServer answers every delivery with status.
func hookServer(t *testing.T, status int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
	t.Cleanup(srv.Close)
	return srv.URL
}

// prodBy is how the fake cluster of these tests verifies an identity.
const prodBy = "SelfSubjectReview on prod (context prod, server https://prod.example:6443)"

// clusterSays is a Review asking a fake API server that authenticates the
// gate's credentials as user in groups, or fails with err.
func clusterSays(user string, groups []string, err error) func(context.Context) (*Verified, error) {
	cs := fake.NewClientset()
	cs.PrependReactor("create", "selfsubjectreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		if err != nil {
			return true, nil, err
		}
		return true, &authenticationv1.SelfSubjectReview{Status: authenticationv1.SelfSubjectReviewStatus{
			UserInfo: authenticationv1.UserInfo{Username: user, UID: "uid-" + user, Groups: groups}}}, nil
	})
	return func(ctx context.Context) (*Verified, error) { return SelfSubjectReview(ctx, cs, prodBy) }
}

// overrideRequest is a good request from user, as the cluster verifies
// it, who also claims to be user with --override-by.
func overrideRequest(t *testing.T, user string, hooks ...Hook) (OverrideRequest, *bytes.Buffer) {
	t.Helper()
	var notes bytes.Buffer
	return OverrideRequest{
		Result: sampleResult(), Reason: "the cache change ships to dev tomorrow", Ticket: "INC-42",
		Who:       Identity{Name: user, Source: "flag"},
		Review:    clusterSays(user, []string{"system:authenticated"}, nil),
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
	for _, want := range []string{"override accepted for alice (verified by " + prodBy + ", allowed as alice); incident " + out.Record.ID, "delivered to hook 0 (webhook)"} {
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
	if !strings.Contains(notes.String(), "mallory (groups system:authenticated; verified by "+prodBy+") is not in override.allowedBy, by name or group") {
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

// TestOverrideIdentity: override.allowedBy is checked against the user and
// groups the cluster verified, never against a claim unless the policy
// trusts claims; a review that fails, or none at all, is an error (exit
// 2), with nothing recorded; the record says what was verified and how.
func TestOverrideIdentity(t *testing.T) {
	t.Parallel()
	github := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "mallory", "GITHUB_SHA": "abc"}
	inGitHub := func(flag string) Identity { return ResolveIdentity(flag, func(k string) string { return github[k] }) }
	deployers := []string{"deployers", "system:authenticated"}
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "authentication.k8s.io", Resource: "selfsubjectreviews"}, "", errors.New("RBAC: no"))
	tests := []struct {
		name      string
		claimed   Identity
		review    func(context.Context) (*Verified, error)
		unvouched string
		trust     bool
		allowed   []string
		// One of: want (accepted, the record's who), refused (part of the
		// refusal) or failed (part of the error).
		want            *Identity
		refused, failed string
	}{
		{name: "verified user in an allowed group", claimed: inGitHub(""), review: clusterSays("bob", deployers, nil), allowed: []string{"alice", "group:deployers"},
			want: &Identity{Name: "bob", Source: SourceVerified, Actor: "mallory", ActorSource: "github-actions", Checked: CheckedVerified,
				Verified: &Verified{User: "bob", UID: "uid-bob", Groups: deployers, By: prodBy}, Claims: []Claim{{"mallory", "github-actions"}},
				AllowedAs: "group:deployers", Commit: "abc"}},
		{name: "verified user by name", claimed: inGitHub(""), review: clusterSays("alice", []string{"system:authenticated"}, nil), allowed: []string{"alice"},
			want: &Identity{Name: "alice", Source: SourceVerified, Actor: "mallory", ActorSource: "github-actions", Checked: CheckedVerified,
				Verified: &Verified{User: "alice", UID: "uid-alice", Groups: []string{"system:authenticated"}, By: prodBy}, Claims: []Claim{{"mallory", "github-actions"}},
				AllowedAs: "alice", Commit: "abc"}},
		{name: "verified user outside the group", claimed: inGitHub(""), review: clusterSays("carol", []string{"readers", "system:authenticated"}, nil), allowed: []string{"group:deployers"},
			refused: "carol (groups readers, system:authenticated; verified by " + prodBy + ") is not in override.allowedBy, by name or group; claimed: mallory (github-actions), recorded but never checked"},
		{name: "--override-by an allowed user while the cluster says mallory", claimed: inGitHub("alice"), review: clusterSays("mallory", []string{"system:authenticated"}, nil), allowed: []string{"alice"},
			refused: "mallory (groups system:authenticated; verified by " + prodBy + ") is not in override.allowedBy, by name or group; claimed: alice (flag), mallory (github-actions)"},
		{name: "user names are exact, as the API server's", claimed: inGitHub(""), review: clusterSays("Alice", nil, nil), allowed: []string{"alice"},
			refused: "Alice (no groups; verified by"},
		{name: "a user named like an allowed group is not in it", claimed: inGitHub(""), review: clusterSays("deployers", nil, nil), allowed: []string{"group:deployers"},
			refused: "deployers (no groups; verified by"},
		{name: "trusted claim, recorded beside the verified identity", claimed: inGitHub("alice"), review: clusterSays("mallory", nil, nil), trust: true, allowed: []string{"alice"},
			want: &Identity{Name: "alice", Source: "flag", Actor: "mallory", ActorSource: "github-actions", Checked: CheckedClaim,
				Verified: &Verified{User: "mallory", UID: "uid-mallory", By: prodBy}, Claims: []Claim{{"alice", "flag"}, {"mallory", "github-actions"}},
				AllowedAs: "alice", Commit: "abc"}},
		{name: "trusted claim with no cluster to ask", claimed: inGitHub(""), trust: true, allowed: []string{"mallory"},
			want: &Identity{Name: "mallory", Source: "github-actions", Actor: "mallory", ActorSource: "github-actions", Checked: CheckedClaim,
				Claims: []Claim{{"mallory", "github-actions"}}, AllowedAs: "mallory", Commit: "abc"}},
		{name: "a group never matches a trusted claim", claimed: inGitHub("deployers"), trust: true, allowed: []string{"group:deployers"},
			refused: "deployers (identity from flag; the environment says mallory (github-actions)) is not in override.allowedBy"},
		{name: "no cluster to ask", claimed: inGitHub("alice"), unvouched: "dev and prod are files; set override.identityFrom", allowed: []string{"alice"},
			failed: "override refused: nothing verifies who overrides: dev and prod are files; set override.identityFrom"},
		{name: "review forbidden", claimed: inGitHub("alice"), review: clusterSays("", nil, forbidden), allowed: []string{"alice"},
			failed: "verifying who overrides (nothing was recorded; a claimed identity is never checked instead): " + prodBy + " was refused: "},
		{name: "review forbidden with trusted claims", claimed: inGitHub("alice"), review: clusterSays("", nil, forbidden), trust: true, allowed: []string{"alice"},
			failed: "grant create on selfsubjectreviews.authentication.k8s.io"},
		{name: "cluster unreachable", claimed: inGitHub("alice"), review: clusterSays("", nil, errors.New("dial tcp 127.0.0.1:1: connect: connection refused")), allowed: []string{"alice"},
			failed: prodBy + " failed: dial tcp 127.0.0.1:1: connect: connection refused"},
		{name: "anonymous", claimed: inGitHub("alice"), review: clusterSays("system:anonymous", []string{"system:unauthenticated"}, nil), allowed: []string{"group:system:unauthenticated"},
			failed: "says the gate's credentials are anonymous"},
		{name: "no user name", claimed: inGitHub("alice"), review: clusterSays("", nil, nil), allowed: []string{"alice"},
			failed: "returned no user name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, notes := overrideRequest(t, "unused")
			req.Who, req.Review, req.Unvouched = tt.claimed, tt.review, tt.unvouched
			req.Policy.AllowedBy, req.Policy.TrustClaims = tt.allowed, tt.trust
			out, err := Override(context.Background(), req)
			switch {
			case tt.failed != "":
				if err == nil || !strings.Contains(err.Error(), tt.failed) {
					t.Errorf("got %+v, %v; want an error with %q", out, err, tt.failed)
				}
			case err != nil:
				t.Fatalf("error: %v", err)
			case tt.refused != "":
				var refused *RefusedError
				if out.Status != OverrideRefused || !errors.As(out.Refusal, &refused) || !strings.Contains(out.Refusal.Error(), tt.refused) {
					t.Errorf("got %+v; want a refusal with %q", out, tt.refused)
				}
			default:
				if out.Status != OverrideAccepted {
					t.Fatalf("got %+v; notes %s", out, notes)
				}
				recs, err := req.Store.List()
				if err != nil || len(recs) != 1 {
					t.Fatalf("records: %v %v", recs, err)
				}
				if diff := cmp.Diff(*tt.want, recs[0].Who); diff != "" {
					t.Errorf("the record's who (-want +got):\n%s", diff)
				}
				if recs[0].APIVersion != APIVersion {
					t.Errorf("record version %s", recs[0].APIVersion)
				}
				return
			}
			if _, err := os.Stat(req.Store.Dir); !os.IsNotExist(err) {
				t.Errorf("an override that was not accepted left a record: %v", err)
			}
		})
	}
}

// TestOverrideVerifiedRecordAndPostmortem: the record's JSON, its summary,
// the postmortem and the notes say which identity was verified, how, and
// what was only claimed.
func TestOverrideVerifiedRecordAndPostmortem(t *testing.T) {
	t.Parallel()
	req, notes := overrideRequest(t, "unused")
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "mallory"}
	req.Who = ResolveIdentity("alice", func(k string) string { return env[k] })
	req.Review = clusterSays("bob", []string{"deployers", "system:authenticated"}, nil)
	req.Policy.AllowedBy = []string{"group:deployers"}
	out, err := Override(context.Background(), req)
	if err != nil || out.Status != OverrideAccepted {
		t.Fatalf("override: %+v %v", out, err)
	}
	b, err := os.ReadFile(filepath.Join(req.Store.Dir, out.Record.ID+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		APIVersion string
		Who        map[string]any
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "bob", "source": "cluster", "actor": "mallory", "actorSource": "github-actions", "checked": "verified", "allowedAs": "group:deployers",
		"verified": map[string]any{"user": "bob", "uid": "uid-bob", "groups": []any{"deployers", "system:authenticated"}, "by": prodBy},
		"claims":   []any{map[string]any{"name": "alice", "source": "flag"}, map[string]any{"name": "mallory", "source": "github-actions"}}}
	if diff := cmp.Diff(want, rec.Who); diff != "" || rec.APIVersion != "driftgate.dev/v1alpha2" {
		t.Errorf("record %s, who (-want +got):\n%s", rec.APIVersion, diff)
	}
	if line := out.Record.SummaryLine(); !strings.Contains(line, "by bob (verified by "+prodBy+"; claimed: alice (flag), mallory (github-actions))") {
		t.Errorf("summary line: %s", line)
	}
	pm, err := os.ReadFile(filepath.Join(req.Store.Dir, out.Record.ID+".md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range []string{
		"| Verified identity | `bob`, groups `deployers`, `system:authenticated`, by SelfSubjectReview on prod (context prod, server https://prod.example:6443) |",
		"| Claimed (not verified) | alice (flag), mallory (github-actions) |",
		"| Checked against override.allowedBy | the verified identity, allowed as `group:deployers` |",
	} {
		if !strings.Contains(string(pm), row) {
			t.Errorf("postmortem lacks %q:\n%s", row, pm)
		}
	}
	if !strings.Contains(notes.String(), "the override is claimed for alice (flag), mallory (github-actions), but the cluster verified bob ("+prodBy+") as running it") {
		t.Errorf("notes: %s", notes)
	}
}

// TestOverrideTrustedClaimRecord: with override.trustClaimedIdentity the
// record, summary and postmortem say the claim was checked and nothing
// verified it.
func TestOverrideTrustedClaimRecord(t *testing.T) {
	t.Parallel()
	req, notes := overrideRequest(t, "unused")
	env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "mallory", "GITHUB_SHA": "abc"}
	req.Who = ResolveIdentity("alice", func(k string) string { return env[k] })
	req.Review, req.Policy.TrustClaims = nil, true
	out, err := Override(context.Background(), req)
	if err != nil || out.Status != OverrideAccepted {
		t.Fatalf("override: %+v %v", out, err)
	}
	if line := out.Record.SummaryLine(); !strings.Contains(line, "by alice (flag; the environment says mallory (github-actions))") {
		t.Errorf("summary line: %s", line)
	}
	pm, err := os.ReadFile(filepath.Join(req.Store.Dir, out.Record.ID+".md"))
	if err != nil || !strings.Contains(string(pm), "| Checked against override.allowedBy | the claim alice, as override.trustClaimedIdentity allows; nothing verified it |") {
		t.Errorf("postmortem: %v\n%s", err, pm)
	}
	if !strings.Contains(notes.String(), "override.allowedBy was checked against the claim alice (override.trustClaimedIdentity)") ||
		!strings.Contains(notes.String(), "override accepted for alice (flag, a claim trusted by override.trustClaimedIdentity, allowed as alice)") {
		t.Errorf("notes: %s", notes)
	}
}

// TestOldRecordsStillVerify: a log whose first entry is a v1alpha1 record
// (who checked as claimed) takes a v1alpha2 record after it, and both
// verify and read back.
func TestOldRecordsStillVerify(t *testing.T) {
	t.Parallel()
	s := &Store{Dir: t.TempDir()}
	old := []byte(`{"apiVersion":"driftgate.dev/v1alpha1","kind":"Incident","id":"dg-20261101T000000Z-000001","time":"2026-11-01T00:00:00Z",` +
		`"who":{"name":"alice","source":"flag","actor":"mallory","actorSource":"github-actions","checked":"name"},"reason":"an old override of the gate","ticket":"INC-1",` +
		`"findings":null,"dev":{"name":"dev","location":"dev"},"prod":{"name":"prod","location":"prod"},"rules":null,"summary":{}}`)
	e := Entry{Format: entryFormatHead, Seq: 1, Prev: genesis, Record: old}
	e.Digest = entryDigest(e.Format, e.Seq, e.Prev, old)
	line, _ := json.Marshal(e)
	head, _ := json.Marshal(Head{Seq: 1, Digest: e.Digest})
	for name, data := range map[string][]byte{LogFile: append(line, '\n'), HeadFile: head, "dg-20261101T000000Z-000001.json": old} {
		if err := os.WriteFile(filepath.Join(s.Dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	req, _ := overrideRequest(t, "alice")
	req.Store = s
	if out, err := Override(context.Background(), req); err != nil || out.Status != OverrideAccepted {
		t.Fatalf("override: %+v %v", out, err)
	}
	problems, n, err := s.Verify()
	if err != nil || n != 2 || len(problems) != 0 {
		t.Fatalf("verify: %d records, %+v, %v", n, problems, err)
	}
	recs, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	got := []string{recs[0].APIVersion + " " + recs[0].Who.Checked, recs[1].APIVersion + " " + recs[1].Who.Checked}
	if diff := cmp.Diff([]string{"driftgate.dev/v1alpha1 name", "driftgate.dev/v1alpha2 verified"}, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}
