package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/driftgate/driftgate/drift/incident"
	"github.com/driftgate/driftgate/fixtures"
	"github.com/driftgate/driftgate/fixtures/testbed"
)

// prodUser adds user, in groups, to the test bed's prod with read access
// to everything, and returns a kubeconfig whose context prod is that user
// and whose context dev is dev's admin.
func prodUser(t *testing.T, bed *testbed.Bed, user string, groups ...string) string {
	t.Helper()
	cleanup, err := bed.Prod.GrantReadExcept(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	cfg, err := bed.Prod.UserConfig(user, groups...)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := bed.WriteKubeconfig(kubeconfig, rest.CopyConfig(bed.Dev.Config), cfg); err != nil {
		t.Fatal(err)
	}
	return kubeconfig
}

// TestOverrideIdentityVerifiedByProd: the gate reads prod as the person
// overriding, and prod's API server says who that is. A user in an allowed
// group overrides; one outside it does not, whatever --override-by claims;
// with override.trustClaimedIdentity the claim is checked and the record
// says the cluster said otherwise.
func TestOverrideIdentityVerifiedByProd(t *testing.T) {
	bed := testbed.Need(t)
	ns := plantBase(t, bed)
	if err := fixtures.Plant(context.Background(), bed, "leftover", ns); err != nil {
		t.Fatal(err)
	}
	deployer := prodUser(t, bed, "id17-bob", "id17-deployers")
	outsider := prodUser(t, bed, "id17-mallory", "id17-readers")
	tests := []struct {
		name, kubeconfig, extra, overrideBy string
		code                                int
		stderr                              []string
		// who checks the record of an accepted override.
		who func(t *testing.T, who incident.Identity)
	}{
		{name: "user in the allowed group", kubeconfig: deployer, code: exitPass,
			stderr: []string{"override accepted for id17-bob (verified by SelfSubjectReview on prod (context prod, server https://127.0.0.1:", "allowed as group:id17-deployers"},
			who: func(t *testing.T, who incident.Identity) {
				if who.Name != "id17-bob" || who.Checked != incident.CheckedVerified || who.AllowedAs != "group:id17-deployers" || who.Verified == nil ||
					!slices.Contains(who.Verified.Groups, "id17-deployers") || !strings.HasPrefix(who.Verified.By, "SelfSubjectReview on prod (context prod, server https://127.0.0.1:") {
					t.Errorf("who: %+v %+v", who, who.Verified)
				}
			}},
		{name: "user outside the group", kubeconfig: outsider, code: exitBlocked,
			stderr: []string{"override refused: id17-mallory (groups id17-readers, system:authenticated; verified by SelfSubjectReview on prod", "is not in override.allowedBy, by name or group"}},
		{name: "--override-by an allowed user while prod says mallory", kubeconfig: outsider, overrideBy: "alice", code: exitBlocked,
			stderr: []string{"override refused: id17-mallory (", "claimed: alice (flag)", "recorded but never checked unless override.trustClaimedIdentity is true"}},
		{name: "trusted claim", kubeconfig: outsider, overrideBy: "alice", extra: "  trustClaimedIdentity: true\n", code: exitPass,
			stderr: []string{"override accepted for alice (flag, a claim trusted by override.trustClaimedIdentity, allowed as alice)", "the cluster says id17-mallory"},
			who: func(t *testing.T, who incident.Identity) {
				if who.Name != "alice" || who.Source != "flag" || who.Checked != incident.CheckedClaim || who.Verified == nil || who.Verified.User != "id17-mallory" {
					t.Errorf("who: %+v %+v", who, who.Verified)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := liveConfig(t, tt.kubeconfig, ns, "override:\n  allowedBy: [alice, 'group:id17-deployers']\n"+tt.extra+"incidents:\n  dir: ./incidents\n")
			args := []string{"gate", "--config", cfg, "--override", goodReason, "--ticket", "INC-17"}
			if tt.overrideBy != "" {
				args = append(args, "--override-by", tt.overrideBy)
			}
			r := runCLI(t, args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tt.code, r.stderr)
			}
			for _, want := range tt.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			dir := filepath.Join(filepath.Dir(cfg), "incidents")
			if tt.who == nil {
				if _, err := os.Stat(dir); !os.IsNotExist(err) {
					t.Errorf("a refused override left a record: %v", err)
				}
				return
			}
			recs, err := (&incident.Store{Dir: dir}).List()
			if err != nil || len(recs) != 1 {
				t.Fatalf("records: %v %v", recs, err)
			}
			tt.who(t, recs[0].Who)
			if v := runCLI(t, "incidents", "verify", "--config", cfg); v.code != exitPass {
				t.Errorf("incidents verify: %+v", v)
			}
			show := runCLI(t, "incidents", "show", recs[0].ID, "--config", cfg)
			if !strings.Contains(show.stdout, "verified: "+recs[0].Who.Verified.User+", groups [") || !strings.Contains(show.stdout, "by SelfSubjectReview on prod (context prod, server https://127.0.0.1:") {
				t.Errorf("incidents show:\n%s", show.stdout)
			}
			pm, err := os.ReadFile(filepath.Join(dir, recs[0].ID+".md"))
			if err != nil || !strings.Contains(string(pm), "| Verified identity | `"+recs[0].Who.Verified.User+"`") {
				t.Errorf("postmortem: %v\n%s", err, pm)
			}
		})
	}
}
