package drift

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// crdWidgets defines widgets.example.com/v1 with a list keyed by two
// fields, a set and an atomic list of named items.
const crdWidgets = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              listeners:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [port, proto]
                items:
                  type: object
                  required: [port]
                  properties:
                    port: {type: integer}
                    proto: {type: string, default: TCP}
                    name: {type: string}
              tags:
                type: array
                x-kubernetes-list-type: set
                items: {type: string}
              steps:
                type: array
                x-kubernetes-list-type: atomic
                items:
                  type: object
                  properties:
                    name: {type: string}
                    run: {type: string}`

func TestSchemaDiffFields(t *testing.T) {
	t.Parallel()
	crd := decodeYAML(t, crdWidgets)
	schemas := NewSchemas(&Snapshot{Objects: []Object{{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition", Name: "widgets.example.com", Object: crd}}})
	tests := []struct {
		name                 string
		group, version, kind string
		dev, prod            string
		want                 []FieldDiff
		defaulted            bool // a path names a key field by its default
	}{
		{
			name:  "ports pair by containerPort and protocol, TCP when absent",
			group: "apps", version: "v1", kind: "Deployment",
			dev: `spec: {template: {spec: {containers: [{name: app, ports: [
  {containerPort: 53, protocol: UDP, name: dns},
  {containerPort: 53, protocol: TCP, name: dns-tcp},
  {containerPort: 8080, name: web}]}]}}}`,
			prod: `spec: {template: {spec: {containers: [{name: app, ports: [
  {containerPort: 8080, protocol: TCP, name: http},
  {containerPort: 53, name: dns-tcp},
  {containerPort: 53, protocol: UDP, name: dns}]}]}}}`,
			want:      []FieldDiff{{Path: "spec.template.spec.containers[name=app].ports[containerPort=8080,protocol=TCP].name", Dev: "web", Prod: "http"}},
			defaulted: true,
		},
		{
			name:  "a port added and one removed",
			group: "apps", version: "v1", kind: "Deployment",
			dev:  `spec: {template: {spec: {containers: [{name: app, ports: [{containerPort: 53, protocol: UDP}]}]}}}`,
			prod: `spec: {template: {spec: {containers: [{name: app, ports: [{containerPort: 53}]}]}}}`,
			want: []FieldDiff{
				{Path: "spec.template.spec.containers[name=app].ports[containerPort=53,protocol=TCP]", Prod: map[string]any{"containerPort": int64(53)}},
				{Path: "spec.template.spec.containers[name=app].ports[containerPort=53,protocol=UDP]", Dev: map[string]any{"containerPort": int64(53), "protocol": "UDP"}},
			},
		},
		{
			name:  "finalizers are a set",
			group: "", version: "v1", kind: "ConfigMap",
			dev:  `metadata: {finalizers: [b, a, "x y"]}`,
			prod: `metadata: {finalizers: [a, b, c]}`,
			want: []FieldDiff{
				{Path: "metadata.finalizers[=c]", Prod: "c"},
				{Path: `metadata.finalizers[="x y"]`, Dev: "x y"},
			},
		},
		{
			name:  "tolerations are atomic: order matters",
			group: "apps", version: "v1", kind: "Deployment",
			dev:  `spec: {template: {spec: {tolerations: [{key: a, operator: Exists}, {key: b, operator: Exists}]}}}`,
			prod: `spec: {template: {spec: {tolerations: [{key: b, operator: Exists}, {key: a, operator: Exists}]}}}`,
			want: []FieldDiff{
				{Path: "spec.template.spec.tolerations[0].key", Dev: "a", Prod: "b"},
				{Path: "spec.template.spec.tolerations[1].key", Dev: "b", Prod: "a"},
			},
		},
		{
			name:  "a ServiceAccount's imagePullSecrets are atomic, a pod's keyed by name",
			group: "", version: "v1", kind: "ServiceAccount",
			dev:  `imagePullSecrets: [{name: a}, {name: b}]`,
			prod: `imagePullSecrets: [{name: b}, {name: a}]`,
			want: []FieldDiff{
				{Path: "imagePullSecrets[0].name", Dev: "a", Prod: "b"},
				{Path: "imagePullSecrets[1].name", Dev: "b", Prod: "a"},
			},
		},
		{
			name:  "pod imagePullSecrets reordered",
			group: "", version: "v1", kind: "Pod",
			dev:  `spec: {imagePullSecrets: [{name: a}, {name: b}]}`,
			prod: `spec: {imagePullSecrets: [{name: b}, {name: a}]}`,
		},
		{
			name:  "a CRD's list-map keys, set and atomic list",
			group: "example.com", version: "v1", kind: "Widget",
			dev: `spec:
  listeners: [{port: 80, name: a}, {port: 80, proto: UDP, name: b}]
  tags: [p, q]
  steps: [{name: s1, run: a}, {name: s2, run: b}]`,
			prod: `spec:
  listeners: [{port: 80, proto: UDP, name: b}, {port: 80, proto: TCP, name: c}]
  tags: [q, p]
  steps: [{name: s2, run: b}, {name: s1, run: a}]`,
			want: []FieldDiff{
				{Path: "spec.listeners[port=80,proto=TCP].name", Dev: "a", Prod: "c"},
				{Path: "spec.steps[0].name", Dev: "s1", Prod: "s2"},
				{Path: "spec.steps[0].run", Dev: "a", Prod: "b"},
				{Path: "spec.steps[1].name", Dev: "s2", Prod: "s1"},
				{Path: "spec.steps[1].run", Dev: "b", Prod: "a"},
			},
			defaulted: true,
		},
		{
			name:  "a kind without a schema: named items pair by name, others by position",
			group: "example.com", version: "v9", kind: "Widget",
			dev:  `spec: {steps: [{name: s1, run: a}, {name: s2, run: b}], tags: [p, q]}`,
			prod: `spec: {steps: [{name: s2, run: b}, {name: s1, run: c}], tags: [q, p]}`,
			want: []FieldDiff{
				{Path: "spec.steps[name=s1].run", Dev: "a", Prod: "c"},
				{Path: "spec.tags[0]", Dev: "p", Prod: "q"},
				{Path: "spec.tags[1]", Dev: "q", Prod: "p"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc := schemas.For(tt.group, tt.version, tt.kind)
			dev, prod := decodeYAML(t, tt.dev), decodeYAML(t, tt.prod)
			got := sc.DiffFields(dev, prod)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DiffFields (-want +got):\n%s", diff)
			}
			if eq := sc.Equivalent(dev, prod); eq != (len(got) == 0) {
				t.Errorf("Equivalent = %v with %d differences", eq, len(got))
			}
			for _, d := range got {
				if tt.defaulted {
					break // ValueAt knows no schema, so no defaults
				}
				if v := ValueAt(dev, d.Path); !cmp.Equal(clean(v), d.Dev) {
					t.Errorf("ValueAt(dev, %s) = %#v, want %#v", d.Path, v, d.Dev)
				}
			}
		})
	}
}

func TestSchemasKnowBuiltinKindsOnly(t *testing.T) {
	t.Parallel()
	var schemas *Schemas
	for _, k := range [][3]string{{"apps", "v1", "Deployment"}, {"", "v1", "Pod"}, {"networking.k8s.io", "v1", "NetworkPolicy"}} {
		if schemas.For(k[0], k[1], k[2]) == nil {
			t.Errorf("no schema for built-in %v", k)
		}
	}
	for _, k := range [][3]string{{"example.com", "v1", "Widget"}, {"apps", "v1", "Nothing"}, {"", "", "Pod"}} {
		if schemas.For(k[0], k[1], k[2]) != nil {
			t.Errorf("a schema for %v", k)
		}
	}
}

// TestDiffFieldsDeterministic compares positional lists whose go-cmp edit
// scripts tie (an insertion among duplicates): go-cmp chose one by a coin
// tossed once per process, so the answer is pinned here, index by index,
// and must not change between runs.
func TestDiffFieldsDeterministic(t *testing.T) {
	t.Parallel()
	dev := decodeYAML(t, `{args: [a, b, a, b], items: [{x: 1}, {x: 2}, {x: 1}]}`)
	prod := decodeYAML(t, `{args: [b, a, b], items: [{x: 2}, {x: 1}, {x: 2}, {x: 1}]}`)
	want := []FieldDiff{
		{Path: "args[0]", Dev: "a", Prod: "b"},
		{Path: "args[1]", Dev: "b", Prod: "a"},
		{Path: "args[2]", Dev: "a", Prod: "b"},
		{Path: "args[3]", Dev: "b"},
		{Path: "items[0].x", Dev: int64(1), Prod: int64(2)},
		{Path: "items[1].x", Dev: int64(2), Prod: int64(1)},
		{Path: "items[2].x", Dev: int64(1), Prod: int64(2)},
		{Path: "items[3]", Prod: map[string]any{"x": int64(1)}},
	}
	if diff := cmp.Diff(want, DiffFields(dev, prod)); diff != "" {
		t.Fatalf("DiffFields (-want +got):\n%s", diff)
	}
	first, _ := json.Marshal(DiffFields(dev, prod))
	for range 30 {
		if got, _ := json.Marshal(DiffFields(dev, prod)); string(got) != string(first) {
			t.Fatalf("DiffFields differs between runs:\n%s\n%s", first, got)
		}
	}
}

// nestedLists is a list nested depth deep, [[[...[leaf, x]...], x], x].
func nestedLists(depth int, leaf string) string {
	return strings.Repeat("[", depth) + leaf + strings.Repeat(", x]", depth)
}

// TestDiffFieldsNestedListsBounded: go-cmp's slice diffing triples its
// work per level, and 18 levels (a 100-byte manifest) did not finish in
// minutes.
func TestDiffFieldsNestedListsBounded(t *testing.T) {
	t.Parallel()
	dev := decodeYAML(t, "a: "+nestedLists(24, "1"))
	prod := decodeYAML(t, "a: "+nestedLists(24, "2"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan []FieldDiff, 1)
	go func() { done <- DiffFields(dev, prod) }()
	select {
	case got := <-done:
		want := []FieldDiff{{Path: "a" + strings.Repeat("[0]", 24), Dev: int64(1), Prod: int64(2)}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("DiffFields (-want +got):\n%s", diff)
		}
	case <-ctx.Done():
		t.Fatal("DiffFields of 24 levels of nested lists did not finish in 10s")
	}
}
