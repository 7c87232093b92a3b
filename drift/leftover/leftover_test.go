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

// withImage gives a Deployment one container, app, running image.
func withImage(o *drift.Object, image string) *drift.Object {
	o.Object["spec"] = map[string]any{"replicas": int64(1), "template": map[string]any{"spec": map[string]any{
		"containers": []any{map[string]any{"name": "app", "image": image}},
	}}}
	return o
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
		pair(withImage(object(t, "apps", "Deployment", "a", "api", edited), "api:2"), withImage(object(t, "apps", "Deployment", "a", "api", argo), "api:1")),
		pair(object(t, "apps", "Deployment", "a", "chart", helmEdited), object(t, "apps", "Deployment", "a", "chart", helmEdited)),
		pair(object(t, "apps", "ReplicaSet", "a", "web-1", drift.Provenance{}), nil),
		pair(object(t, "", "ConfigMap", "a", "owned", ownedByRS), nil),
		pair(object(t, "", "ConfigMap", "a", "orphan", orphan), nil),
		pair(object(t, "", "Pod", "a", "shell", bare), nil),
		pair(nil, object(t, "apps", "Deployment", "a", "prod-only", argo)),
	}
	got := summary(Check(pairs, drift.Managers{}, nil))
	want := []string{
		"extra-in-dev a/Deployment.apps/debug: exists only in dev, made by hand (kubectl-create): a leftover that can make dev look healthy; delete it from dev or deploy it to prod",
		`changed a/Deployment.apps/api: changed by hand on dev and differs from prod: kubectl-edit (update) set spec.template.spec.containers[name=app].image (dev "api:2", prod "api:1"); redeploy it with the deploy tool`,
		"extra-in-dev a/ReplicaSet.apps/web-1: exists only in dev, a ReplicaSet without a controller: a leftover that can make dev look healthy; delete it from dev or deploy it to prod",
		"extra-in-dev a/ConfigMap/orphan: exists only in dev, and its owner Deployment/gone is gone: a leftover that can make dev look healthy; delete it from dev or deploy it to prod",
		"extra-in-dev a/Pod/shell: exists only in dev, a Pod without a controller: a leftover that can make dev look healthy; delete it from dev or deploy it to prod",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// A team that deploys with kubectl apply from CI trusts it.
	got = summary(Check(pairs[2:3], drift.Managers{Trusted: []string{"kubectl-edit"}}, nil))
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
	// Prod as the deploy tool left it: without the fields set by hand.
	prod := &drift.Object{Group: o.Group, Version: o.Version, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name,
		Object: map[string]any{"apiVersion": o.Object["apiVersion"], "kind": o.Kind, "metadata": map[string]any{"name": o.Name, "namespace": o.Namespace}}}
	ps := Check([]drift.Pair{{ID: o.ID(), Dev: o, Prod: prod}}, drift.Managers{}, nil)
	if len(ps) != 1 || ps[0].Kind != drift.FindingChanged || len(ps[0].Manual) != 1 || ps[0].Manual[0].Manager != "kubectl-client-side-apply" {
		t.Fatalf("problems: %+v", ps)
	}
	if !strings.Contains(ps[0].Message, "kubectl-client-side-apply (update) set") || len(ps[0].Manual[0].Paths) == 0 {
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
		ps := Check([]drift.Pair{{ID: o.ID(), Dev: o, Prod: o}}, managers, nil)
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

// TestManualChangeComparedWithProd: a field changed by hand is drift only
// where its value on dev differs from prod's.
func TestManualChangeComparedWithProd(t *testing.T) {
	t.Parallel()
	argo := drift.Manager{Manager: "argocd-controller", Operation: "Apply", Fields: []string{"metadata", "spec"}}
	scale := drift.Manager{Manager: "kubectl", Operation: "Update", Subresource: "scale", Fields: []string{"spec"}, Paths: []string{"spec.replicas"}}
	edit := drift.Manager{Manager: "kubectl-edit", Operation: "Update", Fields: []string{"spec"}, Paths: []string{"spec.template.spec.containers[name=app].image"}}
	deploy := func(image string, replicas int64, managers ...drift.Manager) *drift.Object {
		o := withImage(object(t, "apps", "Deployment", "a", "web", drift.Provenance{Managers: managers}), image)
		o.Object["spec"].(map[string]any)["replicas"] = replicas
		return o
	}
	replicasJudged := func(_ *drift.Pair, path string) bool { return path == "spec.replicas" }
	many := edit
	many.Paths = []string{"spec.template.spec.containers[name=app].image", "... 40 more"}
	lost := edit
	lost.Paths = []string{"spec.template.spec.containers[name=sidecar].image"}
	noPaths := edit
	noPaths.Paths = nil

	tests := []struct {
		name      string
		dev, prod *drift.Object
		judged    JudgedElsewhere
		want      []string
	}{
		{"kubectl scale to prod's count", deploy("web:1", 5, argo, scale), deploy("web:1", 5, argo), nil, nil},
		{"kubectl-scale to prod's count", deploy("web:1", 5, argo, drift.Manager{Manager: "kubectl-scale", Operation: "Update", Subresource: "scale", Paths: []string{"spec.replicas"}}), deploy("web:1", 5, argo), nil, nil},
		{"kubectl scale to another count, replicas judged elsewhere", deploy("web:1", 1, argo, scale), deploy("web:1", 5, argo), replicasJudged, nil},
		{"kubectl scale to another count", deploy("web:1", 1, argo, scale), deploy("web:1", 5, argo), nil,
			[]string{"changed a/Deployment.apps/web: changed by hand on dev and differs from prod: kubectl (update) set spec.replicas (dev 1, prod 5); redeploy it with the deploy tool"}},
		{"kubectl edit of an image to another", deploy("web:2", 5, argo, edit), deploy("web:1", 5, argo), replicasJudged,
			[]string{`changed a/Deployment.apps/web: changed by hand on dev and differs from prod: kubectl-edit (update) set spec.template.spec.containers[name=app].image (dev "web:2", prod "web:1"); redeploy it with the deploy tool`}},
		{"kubectl edit that set prod's image", deploy("nginx:1.27", 5, argo, edit), deploy("docker.io/library/nginx:1.27", 5, argo), replicasJudged, nil},
		{"kubectl create of a dev-only object", deploy("web:1", 1, drift.Manager{Manager: "kubectl-create", Operation: "Update", Fields: []string{"spec"}}), nil, replicasJudged,
			[]string{"extra-in-dev a/Deployment.apps/web: exists only in dev, made by hand (kubectl-create): a leftover that can make dev look healthy; delete it from dev or deploy it to prod"}},
		{"more fields than the snapshot keeps", deploy("web:1", 5, argo, many), deploy("web:1", 5, argo), nil,
			[]string{"changed a/Deployment.apps/web: changed by hand on dev and could not be compared with prod, so it counts as drift: kubectl-edit (update) owns 40 more fields than the 1 the snapshot keeps; redeploy it with the deploy tool"}},
		{"a field found on neither side", deploy("web:1", 5, argo, lost), deploy("web:1", 5, argo), nil,
			[]string{"changed a/Deployment.apps/web: changed by hand on dev and could not be compared with prod, so it counts as drift: kubectl-edit (update) owns spec.template.spec.containers[name=sidecar].image, found on neither side; redeploy it with the deploy tool"}},
		{"no paths kept", deploy("web:1", 5, argo, noPaths), deploy("web:1", 5, argo), nil,
			[]string{"changed a/Deployment.apps/web: changed by hand on dev and could not be compared with prod, so it counts as drift: kubectl-edit (update) owns spec and the snapshot did not keep which fields; redeploy it with the deploy tool"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ps := Check([]drift.Pair{pair(tt.dev, tt.prod)}, drift.Managers{}, tt.judged)
			if diff := cmp.Diff(tt.want, summary(ps)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A hand-owned value compares as a fields rule compares it at its path.
func TestSameValueInContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path      string
		dev, prod any
		want      bool
	}{
		{"spec.template.spec.containers[name=app].resources.limits.cpu", "1", "1000m", true},
		{"spec.template.spec.containers[name=app].resources.limits.cpu", "1", "2", false},
		{"spec.template.spec.containers[name=app].image", "nginx:1.27", "index.docker.io/library/nginx:1.27", true},
		{"spec.template.spec.containers[name=app].image", "nginx:1.27", "nginx:1.28", false},
		{`metadata.annotations["example.com/a.b"]`, "x", "x", true},
		{`metadata.annotations["example.com/a.b"]`, "x", "y", false},
		{"spec.replicas", int64(3), float64(3), true},
	}
	for _, tt := range tests {
		if got := sameValue(tt.path, tt.dev, tt.prod); got != tt.want {
			t.Errorf("sameValue(%s, %v, %v) = %v, want %v", tt.path, tt.dev, tt.prod, got, tt.want)
		}
	}
}
