package drift

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPairObjects(t *testing.T) {
	t.Parallel()
	n := NewNormalizer(nil)
	obj := func(s string) Object {
		o, _, err := n.Normalize(decode(t, s))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	dev := &Snapshot{Objects: []Object{
		obj("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop-dev, labels: {kubernetes.io/metadata.name: shop-dev, team: a}}"),
		obj("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop-dev}\ndata: {url: 'https://api.dev.example.com/v1', keep: dev.example.community}"),
		obj("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: only-dev, namespace: shop-dev}"),
		obj("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: unmapped, namespace: other}"),
	}}
	prod := &Snapshot{Objects: []Object{
		obj("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {kubernetes.io/metadata.name: shop, team: a}}"),
		obj("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}\ndata: {url: 'https://api.example.com/v1', keep: dev.example.community}"),
		obj("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: only-prod, namespace: shop}"),
	}}
	dev.Sort()
	prod.Sort()
	before := deepCopy(dev.Objects[1].Object)
	m := Mapping{
		Namespaces:    map[string]string{"shop-dev": "shop"},
		Substitutions: []Substitution{{Dev: "api.dev.example.com", Prod: "api.example.com"}},
	}
	pairs := PairObjects(dev, prod, m)
	var got []string
	for _, p := range pairs {
		side := "both"
		switch {
		case p.Dev == nil:
			side = "prod only"
		case p.Prod == nil:
			side = "dev only"
		case len(DiffFields(p.Dev.Object, p.Prod.Object)) > 0:
			side = "both, differing: " + DiffFields(p.Dev.Object, p.Prod.Object)[0].Path
		}
		got = append(got, p.ID.String()+": "+side)
	}
	want := []string{
		"other/ConfigMap/unmapped: dev only",
		"shop/ConfigMap/cfg: both",
		"shop/ConfigMap/only-dev: dev only",
		"shop/ConfigMap/only-prod: prod only",
		"Namespace/shop: both",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pairs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, dev.Objects[1].Object); diff != "" {
		t.Errorf("pairing changed the dev snapshot (-before +after):\n%s", diff)
	}
}

// deepCopy copies a decoded object, turning nil maps and lists into empty
// ones, as Mapping.apply once did before it changed anything.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, c := range t {
			out[k] = deepCopy(c)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, c := range t {
			out[i] = deepCopy(c)
		}
		return out
	}
	return v
}
