package rules

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/driftgate/driftgate/drift"
)

// builtinFindings evaluates the built-in pack over dev and prod manifests
// in the same namespace.
func builtinFindings(t *testing.T, dev, prod []string) []drift.Finding {
	t.Helper()
	builtin, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	res, err := Evaluate(snap(t, dev...), snap(t, prod...), []*RuleSet{builtin}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Findings
}

// What the API server fills in for a container (terminationMessagePath and
// terminationMessagePolicy) is not drift in any container list, including
// init containers and a CronJob's job template.
func TestBuiltinIgnoresTerminationMessage(t *testing.T) {
	t.Parallel()
	const defaulted = `{name: c, image: busybox:1.36, terminationMessagePath: /dev/termination-log, terminationMessagePolicy: File}`
	const written = `{name: c, image: busybox:1.36}`
	workloads := map[string]func(c string) string{
		"deployment init containers": func(c string) string {
			return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w, namespace: a}\nspec:\n  template:\n    spec:\n      initContainers: [" + c + "]\n      containers: [{name: app, image: app:1}]"
		},
		"cronjob containers": func(c string) string {
			return "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: w, namespace: a}\nspec:\n  schedule: '@daily'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: [" + c + "]"
		},
		"cronjob init containers": func(c string) string {
			return "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: w, namespace: a}\nspec:\n  schedule: '@daily'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          initContainers: [" + c + "]\n          containers: [{name: app, image: app:1}]"
		},
		"pod init containers": func(c string) string {
			return "apiVersion: v1\nkind: Pod\nmetadata: {name: w, namespace: a}\nspec:\n  initContainers: [" + c + "]\n  containers: [{name: app, image: app:1}]"
		},
	}
	for name, w := range workloads {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := summary(builtinFindings(t, []string{w(written)}, []string{w(defaulted)})); len(got) != 0 {
				t.Errorf("findings: %v", got)
			}
		})
	}
}

// A namespace without pod-security labels on one side is reported label by
// label, each with its path and its value on the side that has it.
func TestBuiltinPodSecurityLabelsAbsentOnOneSide(t *testing.T) {
	t.Parallel()
	const labelled = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {team: a, pod-security.kubernetes.io/enforce: restricted, pod-security.kubernetes.io/warn: restricted}`
	const bare = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: a}}"
	fs := builtinFindings(t, []string{bare}, []string{labelled})
	if len(fs) != 1 || fs[0].Rule != "namespace-pod-security" {
		t.Fatalf("findings: %v", summary(fs))
	}
	want := []drift.FieldDiff{
		{Path: `metadata.labels["pod-security.kubernetes.io/enforce"]`, Prod: "restricted"},
		{Path: `metadata.labels["pod-security.kubernetes.io/warn"]`, Prod: "restricted"},
	}
	if diff := cmp.Diff(want, fs[0].Fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if want := `2 fields differ: metadata.labels["pod-security.kubernetes.io/enforce"], metadata.labels["pod-security.kubernetes.io/warn"]`; fs[0].Message != want {
		t.Errorf("message %q, want %q", fs[0].Message, want)
	}

	// And the other way round: the labels only dev has.
	fs = builtinFindings(t, []string{labelled}, []string{bare})
	if len(fs) != 1 || len(fs[0].Fields) != 2 || fs[0].Fields[0].Dev != "restricted" || fs[0].Fields[0].Prod != nil {
		t.Errorf("findings: %+v", fs)
	}
}

// An image written two ways is one image to the workload-spec rule.
func TestBuiltinImageSpellings(t *testing.T) {
	t.Parallel()
	deploy := func(image string) string {
		return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w, namespace: a}\nspec:\n  template:\n    spec:\n      containers: [{name: app, image: '" + image + "'}]"
	}
	if got := summary(builtinFindings(t, []string{deploy("nginx:1.27")}, []string{deploy("index.docker.io/library/nginx:1.27")})); len(got) != 0 {
		t.Errorf("same image, two spellings: %v", got)
	}
	want := []string{"block workload-spec a/Deployment.apps/w changed spec.template.spec.containers[name=app].image"}
	if diff := cmp.Diff(want, summary(builtinFindings(t, []string{deploy("nginx:1.27")}, []string{deploy("nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")}))); diff != "" {
		t.Errorf("tag against a digest pin (-want +got):\n%s", diff)
	}
}

// A change by hand is a leftover only where it left dev unlike prod, and a
// replica count changed by hand is what workload-replicas says replicas
// are: info.
func TestBuiltinChangesByHand(t *testing.T) {
	t.Parallel()
	deploy := func(image string, replicas int, manual string) string {
		return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: a
  managedFields:
  - {manager: argocd-controller, operation: Apply, fieldsType: FieldsV1, fieldsV1: {"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:name": {}}}}}}}}
%s
spec:
  replicas: %d
  template:
    spec:
      containers: [{name: app, image: %q}]`, manual, replicas, image)
	}
	const (
		scale = `  - {manager: kubectl, operation: Update, subresource: scale, fieldsType: FieldsV1, fieldsV1: {"f:spec": {"f:replicas": {}}}}`
		edit  = `  - {manager: kubectl-edit, operation: Update, fieldsType: FieldsV1, fieldsV1: {"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {"f:image": {}}}}}}}}`
	)
	created := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: debug\n  namespace: a\n  managedFields:\n  - {manager: kubectl-create, operation: Update, fieldsType: FieldsV1, fieldsV1: {\"f:data\": {\"f:x\": {}}}}\ndata: {x: y}"
	tests := []struct {
		name      string
		dev, prod []string
		want      []string
	}{
		{"kubectl scale to prod's count", []string{deploy("web:1", 5, scale)}, []string{deploy("web:1", 5, "")}, nil},
		{"kubectl scale to another count", []string{deploy("web:1", 1, scale)}, []string{deploy("web:1", 5, "")},
			[]string{"info workload-replicas a/Deployment.apps/web changed spec.replicas"}},
		{"kubectl edit of an image to another", []string{deploy("web:2", 5, edit)}, []string{deploy("web:1", 5, "")},
			[]string{
				"block leftovers a/Deployment.apps/web changed spec.template.spec.containers[name=app].image",
				"block workload-spec a/Deployment.apps/web changed spec.template.spec.containers[name=app].image",
			}},
		{"kubectl edit that set prod's image", []string{deploy("nginx:1.27", 5, edit)}, []string{deploy("index.docker.io/library/nginx:1.27", 5, "")}, nil},
		{"kubectl create of a dev-only object", []string{deploy("web:1", 5, ""), created}, []string{deploy("web:1", 5, "")},
			[]string{"block leftovers a/ConfigMap/debug extra-in-dev"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, summary(builtinFindings(t, tt.dev, tt.prod))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
