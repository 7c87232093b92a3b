package drift

// Equivalent must answer exactly as DiffFields does, and both as
// reflect.DeepEqual over Comparable (the reference model) does: rules use
// Equivalent to skip DiffFields. These tests hold them to that over many
// generated pairs, and the benchmarks compare the two.

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// podLike returns a pod template shaped like a real one, with named lists
// (containers, env, ports, volumes), mount paths, quantities and numbers.
func podLike(r *rand.Rand) map[string]any {
	var containers []any
	for c := range 1 + r.IntN(3) {
		var env []any
		for e := range r.IntN(6) {
			env = append(env, map[string]any{"name": fmt.Sprintf("VAR_%d", e), "value": fmt.Sprint(r.IntN(3))})
		}
		containers = append(containers, map[string]any{
			"name":  fmt.Sprintf("c%d", c),
			"image": fmt.Sprintf("registry/app:%d", r.IntN(3)),
			"args":  []any{"--port", fmt.Sprint(8080 + r.IntN(2))},
			"env":   env,
			"ports": []any{map[string]any{"name": "http", "containerPort": int64(8080)}},
			"resources": map[string]any{
				"limits":   map[string]any{"cpu": []any{"1", "1000m", int64(1)}[r.IntN(3)], "memory": "256Mi"},
				"requests": map[string]any{},
			},
			"volumeMounts": []any{map[string]any{"name": "data", "mountPath": "/data"}, map[string]any{"name": "data", "mountPath": "/cache"}},
		})
	}
	return map[string]any{
		"spec": map[string]any{
			"replicas":   []any{int64(2), 2.0, 2.5, int32(2), nil}[r.IntN(5)],
			"containers": containers,
			"volumes":    []any{map[string]any{"name": "data", "emptyDir": map[string]any{}}},
			"tolerations": []any{
				map[string]any{"key": "a", "operator": "Exists"},
				map[string]any{"key": "b", "operator": "Exists"},
			},
			"nodeSelector": map[string]any{},
		},
	}
}

// mutate changes v in one of the ways that do or do not matter to
// Comparable: a value, an empty map or list in place of an absent one,
// items of a named list reordered, a number's type.
func mutate(r *rand.Rand, v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, c := range t {
			out[k] = c
		}
		if len(out) == 0 || r.IntN(4) == 0 {
			switch r.IntN(5) {
			case 0:
				out["added"] = []any{map[string]any{}, nil, []any{}}[r.IntN(3)]
			case 1:
				out["added"] = randomValue(r, 3)
			default:
				for k := range out {
					if r.IntN(2) == 0 {
						delete(out, k)
					} else {
						out[k] = nil
					}
					break
				}
			}
			return out
		}
		for k, c := range out {
			out[k] = mutate(r, c)
			break
		}
		return out
	case []any:
		out := append([]any(nil), t...)
		if len(out) == 0 {
			return nil
		}
		switch r.IntN(4) {
		case 0:
			out[0], out[len(out)-1] = out[len(out)-1], out[0]
		case 1:
			out = out[:len(out)-1]
		default:
			i := r.IntN(len(out))
			out[i] = mutate(r, out[i])
		}
		return out
	case int64:
		return []any{float64(t), t + 1, int32(t), json64(t)}[r.IntN(4)]
	case string:
		return []any{t + "x", t, nil}[r.IntN(3)]
	}
	return randomValue(r, 4)
}

func json64(i int64) any { return float64(i) + 0.5 }

func TestEquivalentMatchesDeepEqualOfComparable(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 8))
	equal := 0
	for i := range 20000 {
		var a any
		if i%2 == 0 {
			a = podLike(r)
		} else {
			a = randomValue(r, 0)
		}
		b := a
		for range r.IntN(3) {
			b = mutate(r, b)
		}
		if i%7 == 0 {
			b = podLike(r)
		}
		want := reflect.DeepEqual(Comparable(a), Comparable(b))
		if got := Equivalent(a, b); got != want {
			t.Fatalf("Equivalent = %v, DeepEqual of Comparable = %v, for\n%#v\n%#v", got, want, a, b)
		}
		if diffs := DiffFields(a, b); (len(diffs) == 0) != want {
			t.Fatalf("DiffFields = %v, DeepEqual of Comparable = %v, for\n%#v\n%#v", diffs, want, a, b)
		}
		if want {
			equal++
		}
	}
	t.Logf("%d of 20000 pairs equal", equal)
	if equal < 2000 || equal > 18000 {
		t.Errorf("%d of 20000 pairs were equal: the test does not exercise both answers", equal)
	}
}

// TestEquivalentMatchesDiffFieldsWithSchema holds Equivalent to DiffFields
// with a schema (keyed ports, set finalizers, atomic tolerations, keyed
// items without their default key field) over generated pod templates.
func TestEquivalentMatchesDiffFieldsWithSchema(t *testing.T) {
	t.Parallel()
	sc := (*Schemas)(nil).For("apps", "v1", "Deployment")
	r := rand.New(rand.NewPCG(11, 12))
	equal := 0
	for i := range 5000 {
		var a, b any = deploymentLike(r), nil
		b = a
		for range r.IntN(3) {
			b = mutate(r, b)
		}
		if i%5 == 0 {
			b = deploymentLike(r) // reordered lists, defaults spelled out or not
		}
		eq := sc.Equivalent(a, b)
		diffs := sc.DiffFields(a, b)
		if eq != (len(diffs) == 0) {
			t.Fatalf("Equivalent = %v, DiffFields = %v, for\n%#v\n%#v", eq, diffs, a, b)
		}
		if eq != sc.Equivalent(b, a) || len(diffs) != len(sc.DiffFields(b, a)) {
			t.Fatalf("not symmetric for\n%#v\n%#v", a, b)
		}
		if eq {
			equal++
		}
	}
	t.Logf("%d of 5000 pairs equal", equal)
	if equal < 500 || equal > 4500 {
		t.Errorf("%d of 5000 pairs were equal: the test does not exercise both answers", equal)
	}
}

// deploymentLike is podLike as a Deployment, with keyed ports (protocol
// TCP spelled out or left to its default), set finalizers and lists in a
// random order.
func deploymentLike(r *rand.Rand) map[string]any {
	pod := podLike(r)["spec"].(map[string]any)
	for _, c := range pod["containers"].([]any) {
		c := c.(map[string]any)
		ports := []any{map[string]any{"containerPort": int64(53), "protocol": "UDP"}, map[string]any{"containerPort": int64(53)}}
		if r.IntN(2) == 0 {
			ports[1].(map[string]any)["protocol"] = "TCP"
		}
		if r.IntN(3) == 0 {
			ports[0].(map[string]any)["name"] = "dns"
		}
		c["ports"] = shuffled(r, ports)
		c["env"] = shuffled(r, c["env"].([]any))
	}
	pod["containers"] = shuffled(r, pod["containers"].([]any))
	return map[string]any{
		"metadata": map[string]any{"finalizers": shuffled(r, []any{"a", "b", []any{"c", "d"}[r.IntN(2)]})},
		"spec":     map[string]any{"template": map[string]any{"spec": pod}},
	}
}

func shuffled(r *rand.Rand, list []any) []any {
	out := append([]any(nil), list...)
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func BenchmarkEquivalent(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	x := podLike(r)
	y := mutate(r, x)
	for b.Loop() {
		Equivalent(x, x)
		Equivalent(x, y)
	}
}
