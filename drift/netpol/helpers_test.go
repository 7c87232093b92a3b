package netpol

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// decodeYAML splits multi-document YAML (or JSON) into objects, skipping
// empty documents.
func decodeYAML(data []byte) ([]map[string]any, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []map[string]any
	for {
		var obj map[string]any
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(obj) > 0 {
			out = append(out, obj)
		}
	}
}

// yamlObjects decodes inline test YAML, failing the test on a typo.
func yamlObjects(t testing.TB, docs string) []map[string]any {
	t.Helper()
	objs, err := decodeYAML([]byte(docs))
	if err != nil {
		t.Fatalf("decoding test YAML: %v", err)
	}
	return objs
}

// readObjects decodes a manifest file.
func readObjects(t testing.TB, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeYAML(data)
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	return objs
}

// deployment makes a Deployment whose pods carry labels (written "k=v,k=v")
// and the given container ports.
func deployment(ns, name, podLabels string, ports ...ContainerPort) map[string]any {
	ls := map[string]any{}
	for kv := range strings.SplitSeq(podLabels, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			ls[k] = v
		}
	}
	var cps []any
	for _, p := range ports {
		cp := map[string]any{"containerPort": float64(p.Port)}
		if p.Name != "" {
			cp["name"] = p.Name
		}
		if p.Protocol != "" {
			cp["protocol"] = p.Protocol
		}
		cps = append(cps, cp)
	}
	container := map[string]any{"name": "main", "image": "example"}
	if cps != nil {
		container["ports"] = cps
	}
	return map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{
			"template": map[string]any{
				"metadata": map[string]any{"labels": ls},
				"spec":     map[string]any{"containers": []any{container}},
			},
		},
	}
}

// namespace makes a Namespace with labels written "k=v,k=v".
func namespace(name, nsLabels string) map[string]any {
	ls := map[string]any{}
	for kv := range strings.SplitSeq(nsLabels, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			ls[k] = v
		}
	}
	return map[string]any{
		"apiVersion": "v1",
		"kind":       "Namespace",
		"metadata":   map[string]any{"name": name, "labels": ls},
	}
}

// mustBuild builds an environment from objects and YAML policies.
func mustBuild(t testing.TB, objs []map[string]any, policies string) *Environment {
	t.Helper()
	all := slices.Concat(objs, yamlObjects(t, policies))
	env, err := Build(all)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return env
}

// connectivity evaluates one environment alone and returns, for every pair
// that is not allowed on every port, "src -> dst" mapped to the allowed ports
// ("none" when nothing is). Leaving out the fully open pairs keeps the hand
// written expectations short while still pinning down every pair.
func connectivity(env *Environment) map[string]string {
	u := newUniverse(env)
	c := u.compile(env)
	out := map[string]string{}
	e, i, sc := newBitset(u.ports.bits), newBitset(u.ports.bits), newScratch(u.ports.bits)
	for s := range u.endpoints {
		for d := range u.endpoints {
			if s >= u.n && d >= u.n {
				continue
			}
			c.egress(s, d, e, sc)
			c.ingress(s, d, i, sc)
			e.and(i)
			got := u.ports.format(e)
			if e.empty() {
				got = "none"
			}
			if got != "any" {
				out[u.eps[s].String()+" -> "+u.eps[d].String()] = got
			}
		}
	}
	return out
}

// policyDoc writes a NetworkPolicy document of namespace ns with the given spec
// (YAML, a flow mapping or block lines at column 0). Documents concatenate:
// policyDoc(...) + policyDoc(...) is a multi-document manifest.
func policyDoc(ns, name, spec string) string {
	spec = strings.ReplaceAll(strings.TrimPrefix(spec, "\n"), "\n", "\n  ")
	return fmt.Sprintf("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: %q, namespace: %q}\nspec:\n  %s\n", name, ns, spec)
}
