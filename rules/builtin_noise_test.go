package rules

import (
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
