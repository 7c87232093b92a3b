package rules

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/driftgate/driftgate/drift"
)

// crdWithExample is a CRD whose schema's example nests lists depth deep:
// go-cmp's slice diffing tripled its work per level, and the built-in
// crd-versions rule hung on 18.
func crdWithExample(depth int, leaf, listType string) string {
	return `apiVersion: apiextensions.k8s.io/v1
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
        example: {a: ` + strings.Repeat("[", depth) + leaf + strings.Repeat(", x]", depth) + `}
        properties:
          spec:
            type: object
            properties:
              ports:
                type: array
                x-kubernetes-list-type: ` + listType + `
                items: {type: string}`
}

func TestCRDVersionsNestedExampleFinishes(t *testing.T) {
	t.Parallel()
	builtin, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	dev, prod := snap(t, crdWithExample(20, "1", "set")), snap(t, crdWithExample(20, "2", "set"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type result struct {
		res *drift.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := Evaluate(dev, prod, []*RuleSet{builtin}, Options{})
		done <- result{res, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		var found []string
		for _, f := range r.res.Findings {
			if f.Rule == "crd-versions" {
				for _, d := range f.Fields {
					found = append(found, d.Path)
				}
			}
		}
		want := "spec.versions[name=v1].schema.openAPIV3Schema.example.a" + strings.Repeat("[0]", 20)
		if len(found) != 1 || found[0] != want {
			t.Errorf("crd-versions reported %q, want [%s]", found, want)
		}
	case <-ctx.Done():
		t.Fatal("evaluating crd-versions did not finish in 10s")
	}
}

// TestFieldsUseCRDListTypes: a custom resource's lists pair as its CRD
// (in either snapshot) declares, so a reordered set is no drift.
func TestFieldsUseCRDListTypes(t *testing.T) {
	t.Parallel()
	rs := ruleSet(t, `rules:
- id: widgets
  description: widgets match
  match: {kinds: [Widget.example.com]}
  check: fields
  paths: [spec]
  severity: block
`)
	cr := func(ports string) string {
		return "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: default}\nspec: {ports: " + ports + "}"
	}
	for _, tt := range []struct {
		listType string
		want     int
	}{{"set", 0}, {"atomic", 1}} {
		crd := crdWithExample(1, "1", tt.listType)
		res, err := Evaluate(snap(t, crd, cr("[a, b]")), snap(t, crd, cr("[b, a]")), []*RuleSet{rs}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Findings) != tt.want {
			t.Errorf("list type %s: %d findings (%v), want %d", tt.listType, len(res.Findings), res.Findings, tt.want)
		}
	}
}
