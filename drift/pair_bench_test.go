package drift

// Mapping.apply copies only what it changes; this test holds it to the
// deep copy it replaced, and BenchmarkPairObjects in drift_bench_test.go
// measures it.

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// applyByDeepCopy is Mapping.apply as it was: copy everything, then change.
func applyByDeepCopy(m Mapping, o Object) Object {
	if len(m.Namespaces) == 0 && len(m.Substitutions) == 0 {
		return o
	}
	out := o
	if to, ok := m.Namespaces[o.Namespace]; ok {
		out.Namespace = to
	}
	if o.Group == "" && o.Kind == "Namespace" {
		if to, ok := m.Namespaces[o.Name]; ok {
			out.Name = to
		}
	}
	obj := deepCopy(o.Object).(map[string]any)
	if meta, ok := obj["metadata"].(map[string]any); ok {
		if out.Namespace != o.Namespace {
			meta["namespace"] = out.Namespace
		}
		if out.Name != o.Name {
			meta["name"] = out.Name
			if l, ok := meta["labels"].(map[string]any); ok && l["kubernetes.io/metadata.name"] == o.Name {
				l["kubernetes.io/metadata.name"] = out.Name
			}
		}
	}
	var sub func(v any) any
	sub = func(v any) any {
		switch t := v.(type) {
		case map[string]any:
			for k, c := range t {
				t[k] = sub(c)
			}
			return t
		case []any:
			for i, c := range t {
				t[i] = sub(c)
			}
			return t
		case string:
			for _, s := range m.Substitutions {
				if s.Dev != "" {
					t = strings.ReplaceAll(t, s.Dev, s.Prod)
				}
			}
			return t
		}
		return v
	}
	if len(m.Substitutions) > 0 {
		obj = sub(obj).(map[string]any)
	}
	out.Object = obj
	return out
}

func TestApplyMatchesDeepCopy(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(21, 22))
	mappings := []Mapping{
		{},
		{Namespaces: map[string]string{"shop-dev": "shop"}},
		{Substitutions: []Substitution{{Dev: "dev.example.com", Prod: "example.com"}, {Dev: "", Prod: "x"}}},
		{Namespaces: map[string]string{"shop-dev": "shop", "a": "b"}, Substitutions: []Substitution{{Dev: "shop", Prod: "store"}, {Dev: "store", Prod: "shop"}}},
		{Substitutions: []Substitution{{Dev: "a", Prod: "b"}, {Dev: "c", Prod: "d"}}},
	}
	for i := range 3000 {
		obj := podLike(r)
		if i%2 == 0 {
			obj, _ = randomValue(r, 0).(map[string]any)
			if obj == nil {
				obj = map[string]any{}
			}
		}
		ns := []string{"shop-dev", "a", "other", ""}[r.IntN(4)]
		o := Object{Version: "v1", Kind: "ConfigMap", Namespace: ns, Name: fmt.Sprintf("web.dev.example.com-%d", i), Object: obj}
		if i%5 == 0 {
			o.Kind, o.Namespace, o.Name = "Namespace", "", ns
		}
		meta := map[string]any{"name": o.Name, "labels": map[string]any{"kubernetes.io/metadata.name": o.Name, "host": "api.dev.example.com"}}
		if o.Namespace != "" {
			meta["namespace"] = o.Namespace
		}
		if i%7 != 0 {
			obj["metadata"] = meta
		}
		before := fmt.Sprintf("%#v", obj) // deepCopy would turn nil lists empty
		m := mappings[r.IntN(len(mappings))]
		want := applyByDeepCopy(m, o) // copies before changing
		got := m.apply(o)
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("apply(%+v) differs from the deep copy:\nwant %#v\ngot  %#v", m, want, got)
		}
		if fmt.Sprintf("%#v", obj) != before {
			t.Fatalf("apply(%+v) changed the dev object", m)
		}
	}
}
