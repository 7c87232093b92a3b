package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/incident"
)

// gateEnv is a working directory with dev and prod manifests that differ by
// one image, and a driftgate.yaml. With no cluster to verify who overrides,
// its override policy trusts claimed identities.
type gateEnv struct {
	dir, dev, prod, config, incidents string
}

func newGateEnv(t *testing.T, extraConfig string) gateEnv {
	t.Helper()
	dev, prod := twoEnvs(t, strings.ReplaceAll(appYAML, "IMAGE", "2"), strings.ReplaceAll(appYAML, "IMAGE", "1"))
	dir := t.TempDir()
	e := gateEnv{dir: dir, dev: dev, prod: prod, config: filepath.Join(dir, "driftgate.yaml"), incidents: filepath.Join(dir, "incidents")}
	writeTestFile(t, e.config, `apiVersion: driftgate.dev/v1alpha1
kind: Config
environments:
  dev: {manifests: `+dev+`}
  prod: {manifests: `+prod+`}
override:
  allowedBy: [alice, release-bot]
  ticketPattern: '^INC-[0-9]+$'
  trustClaimedIdentity: true
incidents:
  dir: ./incidents
`+extraConfig)
	return e
}

func (e gateEnv) gate(t *testing.T, args ...string) result {
	t.Helper()
	return runCLI(t, append([]string{"gate", "--config", e.config}, args...)...)
}

func (e gateEnv) records(t *testing.T) []*incident.Record {
	t.Helper()
	rs, err := (&incident.Store{Dir: e.incidents}).List()
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

const goodReason = "payments 1.3 is canaried on dev; prod follows in the same release"

func TestGateBlocksAndOverrides(t *testing.T) {
	e := newGateEnv(t, "")
	r := e.gate(t)
	if r.code != exitBlocked || !strings.Contains(r.stdout, "blocked: 1 blocking") {
		t.Fatalf("no override: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(e.incidents); !os.IsNotExist(err) {
		t.Errorf("an incident directory appeared without an override")
	}

	r = e.gate(t, "--override", goodReason, "--ticket", "INC-1234", "--override-by", "alice")
	if r.code != exitPass {
		t.Fatalf("accepted override: exit %d\n%s", r.code, r.stderr)
	}
	recs := e.records(t)
	if len(recs) != 1 || recs[0].Who.Name != "alice" || recs[0].Who.Source != "flag" || recs[0].Who.Checked != incident.CheckedClaim || recs[0].Ticket != "INC-1234" || len(recs[0].Findings) != 1 {
		t.Fatalf("record: %+v", recs)
	}
	rec := recs[0]
	if !strings.Contains(r.stderr, "override accepted for alice (flag, a claim trusted by override.trustClaimedIdentity, allowed as alice); incident "+rec.ID) {
		t.Errorf("stderr: %s", r.stderr)
	}
	if rec.Dev.Digest == "" || rec.Prod.Digest == "" || rec.Dev.Digest == rec.Prod.Digest {
		t.Errorf("snapshot digests: %+v %+v", rec.Dev, rec.Prod)
	}
	pm, err := os.ReadFile(filepath.Join(e.incidents, rec.ID+".md"))
	if err != nil || !strings.Contains(string(pm), "## Action items to bring dev back in line") {
		t.Errorf("postmortem: %v\n%s", err, pm)
	}

	list := runCLI(t, "incidents", "list", "--config", e.config)
	if list.code != 0 || !strings.Contains(list.stdout, rec.ID) || !strings.Contains(list.stdout, "INC-1234") {
		t.Errorf("incidents list: %+v", list)
	}
	show := runCLI(t, "incidents", "show", rec.ID[:12], "--config", e.config)
	if show.code != 0 || !strings.Contains(show.stdout, "workload-spec") || !strings.Contains(show.stdout, rec.ID+".md") {
		t.Errorf("incidents show: %+v", show)
	}
	if v := runCLI(t, "incidents", "verify", "--config", e.config); v.code != 0 || !strings.Contains(v.stdout, "1 record(s), chain intact") {
		t.Errorf("incidents verify: %+v", v)
	}
	// Editing the record is detected.
	p := filepath.Join(e.incidents, rec.ID+".json")
	b, _ := os.ReadFile(p)
	writeTestFile(t, p, strings.Replace(string(b), "INC-1234", "INC-9999", 1))
	if v := runCLI(t, "incidents", "verify", "--config", e.config); v.code != exitBlocked || !strings.Contains(v.stdout, "TAMPERED") {
		t.Errorf("verify after an edit: %+v", v)
	}
}

func TestGateOverrideFromEnvironment(t *testing.T) {
	e := newGateEnv(t, "")
	t.Setenv("DRIFTGATE_OVERRIDE_REASON", goodReason)
	t.Setenv("DRIFTGATE_OVERRIDE_TICKET", "INC-7")
	t.Setenv("GITHUB_ACTIONS", "true")
	t.Setenv("GITHUB_ACTOR", "release-bot")
	t.Setenv("GITHUB_SHA", "0123abc")
	t.Setenv("GITHUB_SERVER_URL", "https://github.com")
	t.Setenv("GITHUB_REPOSITORY", "shop/payments")
	t.Setenv("GITHUB_RUN_ID", "42")
	if r := e.gate(t); r.code != exitPass {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	rec := e.records(t)[0]
	want := incident.Identity{Name: "release-bot", Source: "github-actions", Actor: "release-bot", ActorSource: "github-actions", Checked: incident.CheckedClaim,
		Claims: []incident.Claim{{Name: "release-bot", Source: "github-actions"}}, AllowedAs: "release-bot",
		Commit: "0123abc", PipelineURL: "https://github.com/shop/payments/actions/runs/42"}
	if diff := cmp.Diff(want, rec.Who); diff != "" || rec.Ticket != "INC-7" {
		t.Errorf("ticket %s, record who (-want +got):\n%s", rec.Ticket, diff)
	}
}

// TestGateOverrideByOtherThanActor: with override.trustClaimedIdentity,
// --override-by alice in a job GitHub says mallory runs is checked as
// alice, and the record and `incidents show` name both.
func TestGateOverrideByOtherThanActor(t *testing.T) {
	e := newGateEnv(t, "")
	t.Setenv("GITHUB_ACTIONS", "true")
	t.Setenv("GITHUB_ACTOR", "mallory")
	r := e.gate(t, "--override", goodReason, "--ticket", "INC-7", "--override-by", "alice")
	if r.code != exitPass || !strings.Contains(r.stderr, "the override names alice (flag), but the environment says mallory (github-actions); all are recorded, and override.allowedBy was checked against the claim alice (override.trustClaimedIdentity)") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	rec := e.records(t)[0]
	show := runCLI(t, "incidents", "show", rec.ID, "--config", e.config)
	for _, want := range []string{"by alice (flag; the environment says mallory (github-actions))", "who:    alice (flag), checked against override.allowedBy as claimed (override.trustClaimedIdentity); nothing verified it",
		"actor:  mallory (github-actions)", "claims: alice (flag), mallory (github-actions) (not verified)"} {
		if !strings.Contains(show.stdout, want) {
			t.Errorf("incidents show lacks %q:\n%s", want, show.stdout)
		}
	}
}

// TestGateOverrideNeedsAVerifiedIdentity: with dev and prod both files and
// claims not trusted, nothing can say who overrides: the override is exit
// 2, says how to fix it, and records nothing. override.identityFrom naming
// a file is exit 2 too.
func TestGateOverrideNeedsAVerifiedIdentity(t *testing.T) {
	tests := []struct {
		name, override string
		want           []string
	}{
		{"no live side", "", []string{"override refused: nothing verifies who overrides: dev (", "are both snapshots or manifests, so no cluster can say who runs the gate",
			"set override.identityFrom in ", "or set override.trustClaimedIdentity: true"}},
		{"identityFrom a file", "  identityFrom: prod\n", []string{"override.identityFrom in ", " is prod, which is ", "not a live cluster (context:NAME)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newGateEnv(t, "")
			b, _ := os.ReadFile(e.config)
			writeTestFile(t, e.config, strings.Replace(string(b), "  trustClaimedIdentity: true\n", tt.override, 1))
			r := e.gate(t, "--override", goodReason, "--ticket", "INC-1", "--override-by", "alice")
			if r.code != exitCouldNoCheck {
				t.Errorf("exit %d, want %d; stderr %q", r.code, exitCouldNoCheck, r.stderr)
			}
			for _, want := range tt.want {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			if _, err := os.Stat(e.incidents); !os.IsNotExist(err) {
				t.Errorf("an unverified override left a record")
			}
		})
	}
}

// TestGateOverrideIdentityUnreachable: when the cluster of
// override.identityFrom cannot be asked, the override is exit 2 naming it,
// and the claim is not checked instead, even with trustClaimedIdentity.
func TestGateOverrideIdentityUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	for _, trust := range []string{"  trustClaimedIdentity: true\n", ""} {
		e := newGateEnv(t, "")
		kubeconfig := filepath.Join(e.dir, "kubeconfig")
		writeTestFile(t, kubeconfig, `apiVersion: v1
kind: Config
clusters: [{name: auth, cluster: {server: 'https://`+addr+`', insecure-skip-tls-verify: true}}]
users: [{name: auth, user: {token: not-a-secret}}]
contexts: [{name: ci-auth, context: {cluster: auth, user: auth}}]
`)
		b, _ := os.ReadFile(e.config)
		cfg := strings.Replace(string(b), "  trustClaimedIdentity: true\n", trust+"  identityFrom: auth\n", 1)
		cfg = strings.Replace(cfg, "environments:\n", "environments:\n  auth: {context: ci-auth, kubeconfig: "+kubeconfig+"}\n", 1)
		writeTestFile(t, e.config, cfg)
		r := e.gate(t, "--override", goodReason, "--ticket", "INC-1", "--override-by", "alice", "--request-timeout", "2s")
		want := "verifying who overrides (nothing was recorded; a claimed identity is never checked instead): SelfSubjectReview on auth (context ci-auth, server https://" + addr + ") failed"
		if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, want) {
			t.Errorf("trust %q: exit %d, stderr %q; want 2 and %q", trust, r.code, r.stderr, want)
		}
		if _, err := os.Stat(e.incidents); !os.IsNotExist(err) {
			t.Errorf("an unverified override left a record")
		}
	}
}

// TestGateTicketMustMatchWhole: an unanchored ticketPattern still has to
// match the whole ticket.
func TestGateTicketMustMatchWhole(t *testing.T) {
	e := newGateEnv(t, "")
	b, _ := os.ReadFile(e.config)
	writeTestFile(t, e.config, strings.Replace(string(b), "'^INC-[0-9]+$'", "'INC-[0-9]+'", 1))
	r := e.gate(t, "--override", goodReason, "--ticket", "INC-1; $(id) ../../x", "--override-by", "alice")
	if r.code != exitBlocked || !strings.Contains(r.stderr, "the whole ticket must match") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(e.incidents); !os.IsNotExist(err) {
		t.Errorf("a refused override left a record")
	}
}

// TestIncidentsVerifyHead: a log missing its last entry and record no
// longer verifies (exit 1, TRUNCATED), and a configured store that does not
// exist is exit 2, not "0 records".
func TestIncidentsVerifyHead(t *testing.T) {
	e := newGateEnv(t, "")
	if v := runCLI(t, "incidents", "verify", "--config", e.config); v.code != exitCouldNoCheck || !strings.Contains(v.stderr, "incident store "+e.incidents+" does not exist") {
		t.Errorf("verify of a missing store: %+v", v)
	}
	if err := os.Mkdir(e.incidents, 0o700); err != nil {
		t.Fatal(err)
	}
	if v := runCLI(t, "incidents", "verify", "--config", e.config); v.code != exitPass || !strings.Contains(v.stdout, "verifies: 0 records") {
		t.Errorf("verify of an empty store: %+v", v)
	}
	for _, ticket := range []string{"INC-1", "INC-2"} {
		if r := e.gate(t, "--override", goodReason, "--ticket", ticket, "--override-by", "alice"); r.code != exitPass {
			t.Fatalf("override: exit %d: %s", r.code, r.stderr)
		}
	}
	recs := e.records(t)
	var head incident.Head
	if b, err := os.ReadFile(filepath.Join(e.incidents, incident.HeadFile)); err != nil || json.Unmarshal(b, &head) != nil || head.Seq != 2 {
		t.Fatalf("head: %v %+v", err, head)
	}
	if v := runCLI(t, "incidents", "verify", "--config", e.config, "--expect", head.Digest); v.code != exitPass {
		t.Errorf("verify --expect of the current head: %+v", v)
	}
	logPath := filepath.Join(e.incidents, incident.LogFile)
	b, _ := os.ReadFile(logPath)
	lines := strings.SplitAfter(string(b), "\n")
	writeTestFile(t, logPath, lines[0])
	os.Remove(filepath.Join(e.incidents, recs[1].ID+".json"))
	v := runCLI(t, "incidents", "verify", "--config", e.config)
	if v.code != exitBlocked || !strings.Contains(v.stdout, "TRUNCATED: the log has 1 entries but its head says 2") {
		t.Errorf("verify of a cut log: %+v", v)
	}
	if v := runCLI(t, "incidents", "verify", "--config", e.config, "--expect", head.Digest); !strings.Contains(v.stdout, "TRUNCATED: "+head.Digest+", delivered as the log's head, is no entry of the log") {
		t.Errorf("verify --expect after the cut: %+v", v)
	}
}

// TestIncidentsLogDeleted: deleting the log and its head, with committed
// records left beside them, is TRUNCATED (exit 1), not "0 records", and the
// next override is refused (exit 2) rather than starting a new chain.
func TestIncidentsLogDeleted(t *testing.T) {
	e := newGateEnv(t, "")
	if r := e.gate(t, "--override", goodReason, "--ticket", "INC-1", "--override-by", "alice"); r.code != exitPass {
		t.Fatalf("override: exit %d: %s", r.code, r.stderr)
	}
	for _, f := range []string{incident.LogFile, incident.HeadFile} {
		if err := os.Remove(filepath.Join(e.incidents, f)); err != nil {
			t.Fatal(err)
		}
	}
	if v := runCLI(t, "incidents", "verify", "--config", e.config); v.code != exitBlocked || !strings.Contains(v.stdout, "TRUNCATED: 1 incident record(s) exist but the log is missing: the log was deleted") {
		t.Errorf("verify of a deleted log: %+v", v)
	}
	r := e.gate(t, "--override", goodReason, "--ticket", "INC-2", "--override-by", "alice")
	if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, "a new incident log is not started") || !strings.Contains(r.stderr, "run `driftgate incidents verify`") {
		t.Errorf("override over a deleted log: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(e.incidents, incident.LogFile)); !os.IsNotExist(err) {
		t.Errorf("a new log was started: %v", err)
	}
}

func TestGateOverrideRefused(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"empty reason", []string{"--override", " ", "--ticket", "INC-1", "--override-by", "alice"}, "override refused: the reason is empty"},
		{"short reason", []string{"--override", "hotfix", "--ticket", "INC-1", "--override-by", "alice"}, "too short to mean anything"},
		{"ticket pattern", []string{"--override", goodReason, "--ticket", "JIRA-1", "--override-by", "alice"}, `ticket "JIRA-1" does not match`},
		{"identity", []string{"--override", goodReason, "--ticket", "INC-1", "--override-by", "mallory"}, "mallory (identity from flag; the environment says "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newGateEnv(t, "")
			r := e.gate(t, tt.args...)
			if r.code != exitBlocked || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q, want 1 and %q", r.code, r.stderr, tt.want)
			}
			if _, err := os.Stat(e.incidents); !os.IsNotExist(err) {
				t.Errorf("a refused override left a record")
			}
		})
	}
}

func TestGateNothingToOverride(t *testing.T) {
	e := newGateEnv(t, "")
	r := e.gate(t, "--prod", e.dev, "--override", goodReason, "--ticket", "INC-1", "--override-by", "alice")
	if r.code != exitPass || !strings.Contains(r.stderr, "no override is needed and no incident was recorded") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(e.incidents); !os.IsNotExist(err) {
		t.Errorf("a record was written although nothing blocked")
	}
}

func TestGateCouldNotCheckCannotBeOverridden(t *testing.T) {
	e := newGateEnv(t, "")
	s, err := drift.SnapshotFromManifests([]string{e.prod}, drift.ManifestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Unobserved = []drift.Unobserved{{ResourceType: drift.ResourceType{Version: "v1", Kind: "Secret", Resource: "secrets", Namespaced: true}, Reason: "forbidden"}}
	snap := filepath.Join(e.dir, "prod.json")
	if err := s.Save(snap); err != nil {
		t.Fatal(err)
	}
	r := e.gate(t, "--prod", snap, "--override", goodReason, "--ticket", "INC-1", "--override-by", "alice")
	if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, "can never be overridden") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(e.incidents); !os.IsNotExist(err) {
		t.Errorf("a record was written for an unchecked gate")
	}
}

func TestGateRefusesOldOrDamagedSnapshots(t *testing.T) {
	e := newGateEnv(t, "")
	s, err := drift.SnapshotFromManifests([]string{e.prod}, drift.ManifestOptions{Now: time.Now().Add(-3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(e.dir, "old.json")
	if err := s.Save(old); err != nil {
		t.Fatal(err)
	}
	r := e.gate(t, "--prod", old, "--max-age", "1h")
	if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, "prod: snapshot "+old+" was captured 3h0m0s ago") {
		t.Errorf("old snapshot: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := e.gate(t, "--prod", old, "--max-age", "4h"); r.code != exitBlocked {
		t.Errorf("snapshot within --max-age: exit %d %s", r.code, r.stderr)
	}
	b, _ := os.ReadFile(old)
	damaged := filepath.Join(e.dir, "damaged.json")
	writeTestFile(t, damaged, strings.Replace(string(b), `"replicas": 3`, `"replicas": 30`, 1))
	if r := e.gate(t, "--prod", damaged); r.code != exitCouldNoCheck || !strings.Contains(r.stderr, "does not match the recorded") {
		t.Errorf("damaged snapshot: exit %d, stderr %q", r.code, r.stderr)
	}
	// The capture time moved to pass --max-age: refused as edited.
	redated := filepath.Join(e.dir, "redated.json")
	writeTestFile(t, redated, regexp.MustCompile(`"capturedAt": "[0-9]{4}`).ReplaceAllString(string(b), `"capturedAt": "2099`))
	if r := e.gate(t, "--prod", redated, "--max-age", "1h"); r.code != exitCouldNoCheck || !strings.Contains(r.stderr, "snapshot "+redated+": snapshot is corrupt or was edited: the metadata (capturedAt 2099-") {
		t.Errorf("redated snapshot: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestGateRequiredHookDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	e := newGateEnv(t, "  hooks:\n  - {type: webhook, url: 'http://"+addr+"/hook', required: true, timeout: 1s}\n")
	r := e.gate(t, "--override", goodReason, "--ticket", "INC-5", "--override-by", "alice")
	if r.code != exitBlocked || !strings.Contains(r.stderr, "override refused: required hook 0 (webhook) could not deliver after 4 attempts") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	recs := e.records(t)
	if len(recs) != 1 {
		t.Fatalf("the record must be kept: %d records", len(recs))
	}
	out, _ := filepath.Glob(filepath.Join(e.incidents, "outbox", recs[0].ID+".0.json"))
	if len(out) != 1 {
		t.Errorf("no outbox entry for the undelivered record")
	}
	if f := runCLI(t, "incidents", "flush", "--config", e.config); f.code != exitCouldNoCheck || !strings.Contains(f.stdout, "0 delivered, 1 still queued") {
		t.Errorf("flush with the hook still down: %+v", f)
	}
	if l := runCLI(t, "incidents", "list", "--config", e.config); !strings.Contains(l.stdout, "INC-5") {
		t.Errorf("list: %s", l.stdout)
	}
}

func TestGateNeedsEnvironments(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "driftgate.yaml")
	writeTestFile(t, cfg, "apiVersion: driftgate.dev/v1alpha1\nkind: Config\n")
	r := runCLI(t, "gate", "--config", cfg)
	if r.code != exitCouldNoCheck || !strings.Contains(r.stderr, "no dev environment: set environments.dev in "+cfg+" or pass --dev") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}
