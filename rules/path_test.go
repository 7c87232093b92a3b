package rules

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

func obj(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func paths(t *testing.T, ps ...string) []Path {
	t.Helper()
	var out []Path
	for _, s := range ps {
		p, err := ParsePath(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

const deployment = `spec:
  replicas: 3
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: app, image: app:1, args: [--x]}
      - {name: side, image: envoy:1}
metadata:
  labels: {pod-security.kubernetes.io/enforce: baseline, team: a}`

func TestProject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		paths []string
		want  string
	}{
		{"scalar", []string{"spec.replicas"}, "spec: {replicas: 3}"},
		{"list items keep their names", []string{"spec.template.spec.containers[*].image"},
			"spec: {template: {spec: {containers: [{name: app, image: app:1}, {name: side, image: envoy:1}]}}}"},
		{"key applied to a list", []string{"spec.template.spec.containers.args"},
			"spec: {template: {spec: {containers: [{name: app, args: [--x]}, {name: side}]}}}"},
		{"quoted glob key", []string{`metadata.labels["pod-security.kubernetes.io/*"]`},
			"metadata: {labels: {pod-security.kubernetes.io/enforce: baseline}}"},
		{"absent", []string{"spec.strategy"}, "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Project(obj(t, deployment), paths(t, tt.paths...))
			var want any
			if err := yaml.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrune(t *testing.T) {
	t.Parallel()
	got := Prune(obj(t, deployment), paths(t, "spec.replicas", "spec.template.spec.containers[*].image", "metadata"))
	want := obj(t, `spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: app, args: [--x]}
      - {name: side}`)
	if diff := cmp.Diff(any(want), got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParsePathErrors(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "a..b", `a["b`, "a[0]", "a.[", `a["[x"]`} {
		if _, err := ParsePath(bad); err == nil {
			t.Errorf("ParsePath(%q): want an error", bad)
		}
	}
}

func TestPathCovers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{"spec.replicas", "spec.replicas", true},
		{"spec.replicas", "spec.template", false},
		{"spec", "spec.replicas", true},
		{"spec.template.spec.containers", "spec.template.spec.containers[name=app].image", true},
		{"spec.template.spec.containers[*].image", "spec.template.spec.containers[name=app].image", true},
		{"spec.template.spec.containers.image", "spec.template.spec.containers[name=app].image", true},
		{"spec.template.spec.containers[*].image", "spec.template.spec.containers[name=app].env[name=A].value", false},
		{`metadata.labels["pod-security.kubernetes.io/*"]`, `metadata.labels["pod-security.kubernetes.io/enforce"]`, true},
		{`metadata.labels["pod-security.kubernetes.io/*"]`, "metadata.labels", false},
		{`metadata.labels["pod-security.kubernetes.io/*"]`, "", false},
		{`metadata.labels["pod-security.kubernetes.io/*"]`, `metadata.labels["team"]`, false},
	} {
		p, err := ParsePath(tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Covers(tc.path); got != tc.want {
			t.Errorf("%s covers %s = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
}
