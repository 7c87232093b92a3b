package leftover

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/driftgate/driftgate/drift"
)

func object(t *testing.T, group, kind, ns, name string, prov drift.Provenance) *drift.Object {
	t.Helper()
	return &drift.Object{Group: group, Version: "v1", Kind: kind, Namespace: ns, Name: name, Provenance: prov,
		Object: map[string]any{"apiVersion": "v1", "kind": kind, "metadata": map[string]any{"name": name, "namespace": ns}}}
}

func pair(dev, prod *drift.Object) drift.Pair {
	o := dev
	if o == nil {
		o = prod
	}
	return drift.Pair{ID: o.ID(), Dev: dev, Prod: prod}
}

func summary(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Kind+" "+p.Object.String()+": "+p.Message)
	}
	return out
}

func TestCheck(t *testing.T) {
	t.Parallel()
	argo := drift.Provenance{Managers: []drift.Manager{{Manager: "argocd-controller", Operation: "Apply", Fields: []string{"metadata", "spec"}}}, DeployTool: map[string]string{"app.kubernetes.io/managed-by": "argocd"}}
	created := drift.Provenance{Managers: []drift.Manager{{Manager: "kubectl-create", Operation: "Update", Fields: []string{"metadata", "spec"}}}}
	edited := drift.Provenance{Managers: []drift.Manager{
		{Manager: "argocd-controller", Operation: "Apply", Fields: []string{"metadata", "spec"}},
		{Manager: "kubectl-edit", Operation: "Update", Fields: []string{"spec"}, Paths: []string{"spec.template.spec.containers[name=app].image"}},
		{Manager: "kubectl-edit", Operation: "Update", Subresource: "status", Fields: []string{"status"}},
	}}
	helmEdited := drift.Provenance{Managers: []drift.Manager{{Manager: "helm", Operation: "Update", Fields: []string{"spec"}}}}
	ownedByRS := drift.Provenance{Owner: &drift.OwnerRef{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-1", Controller: true}, Managers: []drift.Manager{{Manager: "kubectl-label", Operation: "Update", Fields: []string{"metadata"}}}}
	orphan := drift.Provenance{Owner: &drift.OwnerRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "gone", Controller: true}}
	bare := drift.Provenance{Managers: []drift.Manager{{Manager: "kube-apiserver", Operation: "Update"}}}

	pairs := []drift.Pair{
		pair(object(t, "apps", "Deployment", "a", "web", argo), object(t, "apps", "Deployment", "a", "web", argo)),
		pair(object(t, "apps", "Deployment", "a", "debug", created), nil),
		pair(object(t, "apps", "Deployment", "a", "api", edited), object(t, "apps", "Deployment", "a", "api", argo)),
		pair(object(t, "apps", "Deployment", "a", "chart", helmEdited), object(t, "apps", "Deployment", "a", "chart", helmEdited)),
		pair(object(t, "apps", "ReplicaSet", "a", "web-1", drift.Provenance{}), nil),
		pair(object(t, "", "ConfigMap", "a", "owned", ownedByRS), nil),
		pair(object(t, "", "ConfigMap", "a", "orphan", orphan), nil),
		pair(object(t, "", "Pod", "a", "shell", bare), nil),
		pair(nil, object(t, "apps", "Deployment", "a", "prod-only", argo)),
	}
	got := summary(Check(pairs, drift.Managers{}))
	want := []string{
		"extra-in-dev a/Deployment.apps/debug: exists only in dev, made by hand (kubectl-create): a leftover that can make dev look healthy; delete it from dev or deploy it to prod",
		"changed a/Deployment.apps/api: changed by hand on dev: kubectl-edit (update) owns spec.template.spec.containers[name=app].image; redeploy it with the deploy tool",
		"extra-in-dev a/ReplicaSet.apps/web-1: exists only in dev, a ReplicaSet without a controller: a leftover that can make dev look healthy; delete it from dev or deploy it to prod",
		"extra-in-dev a/ConfigMap/orphan: exists only in dev, and its owner Deployment/gone is gone: a leftover that can make dev look healthy; delete it from dev or deploy it to prod",
		"extra-in-dev a/Pod/shell: exists only in dev, a Pod without a controller: a leftover that can make dev look healthy; delete it from dev or deploy it to prod",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// A team that deploys with kubectl apply from CI trusts it.
	got = summary(Check(pairs[2:3], drift.Managers{Trusted: []string{"kubectl-edit"}}))
	if len(got) != 0 {
		t.Errorf("trusted manager still reported: %v", got)
	}
}

// TestRealManualApply reads a live object from Argo CD's gitops-engine test
// data in which a person ran `kubectl apply` (client-side) over an Argo CD
// managed Deployment; the check names the manual manager and its fields.
func TestRealManualApply(t *testing.T) {
	t.Parallel()
	path, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "realdata", "managedfields", "gitops-engine", "ssd-deploy-with-manual-apply-live.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("real data not present: %v", err)
	}
	s, err := drift.SnapshotFromManifests([]string{path}, drift.ManifestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	o := &s.Objects[0]
	ps := Check([]drift.Pair{{ID: o.ID(), Dev: o, Prod: o}}, drift.Managers{})
	if len(ps) != 1 || ps[0].Kind != drift.FindingChanged || len(ps[0].Manual) != 1 || ps[0].Manual[0].Manager != "kubectl-client-side-apply" {
		t.Fatalf("problems: %+v", ps)
	}
	if !strings.Contains(ps[0].Message, "kubectl-client-side-apply (update) owns") || len(ps[0].Manual[0].Paths) == 0 {
		t.Errorf("message does not name the fields: %s", ps[0].Message)
	}
	if o.Provenance.LastApplied {
		t.Log("last-applied present") // the check does not depend on it
	}
}

// TestManualManagersKeepPaths proves the snapshot and the check agree on
// which managers are manual: every manager the check calls manual, by
// default or by a rule set's own list, has the paths it changed kept in the
// snapshot's provenance, so the finding can name them.
func TestManualManagersKeepPaths(t *testing.T) {
	t.Parallel()
	entry := func(manager string) string {
		return `
  - manager: ` + manager + `
    operation: Update
    fieldsType: FieldsV1
    fieldsV1: {"f:data": {"f:` + manager + `": {}}}`
	}
	names := []string{"kubectl-edit", "Mozilla", "OpenLens", "kubernetes-dashboard", "k9s", "deploy-script", "Go-http-client"}
	manifest := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: a\n  managedFields:"
	for _, n := range names {
		manifest += entry(n)
	}
	file := filepath.Join(t.TempDir(), "cm.yaml")
	if err := os.WriteFile(file, []byte(manifest+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := drift.SnapshotFromManifests([]string{file}, drift.ManifestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	o := &s.Objects[0]
	for _, managers := range []drift.Managers{{}, {Manual: []string{"deploy-*", "Go-*"}}, {Manual: []string{"*"}, Trusted: []string{}}} {
		ps := Check([]drift.Pair{{ID: o.ID(), Dev: o, Prod: o}}, managers)
		if len(ps) != 1 || len(ps[0].Manual) == 0 {
			t.Fatalf("managers %+v: problems %+v", managers, ps)
		}
		for _, m := range ps[0].Manual {
			if want := []string{"data." + m.Manager}; !slices.Equal(m.Paths, want) {
				t.Errorf("managers %+v: %s is judged manual, but the snapshot kept paths %q, want %q", managers, m.Manager, m.Paths, want)
			}
		}
	}
}
