package netpol

import (
	"encoding/json"
	"testing"
)

// FuzzBuild feeds arbitrary JSON objects to Build and Compare: malformed
// input must be an error or a model, never a panic.
func FuzzBuild(f *testing.F) {
	for _, seed := range []string{
		`[{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"p","namespace":"x"},"spec":{"podSelector":{},"ingress":[{"from":[{"ipBlock":{"cidr":"10.0.0.0/8","except":["10.1.0.0/16"]}}],"ports":[{"port":"http"},{"port":80,"endPort":90,"protocol":"UDP"}]}],"egress":[{}]}}]`,
		`[{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d","namespace":"x"},"spec":{"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"ports":[{"containerPort":80,"name":"http"}]}]}}}}]`,
		`[{"apiVersion":"v1","kind":"Service","metadata":{"name":"kube-dns","namespace":"kube-system"},"spec":{"selector":{"k8s-app":"kube-dns"},"ports":[{"port":53,"targetPort":"dns"}]}}]`,
		`[{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x","labels":{"t":"1"}}}]}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var objs []map[string]any
		if json.Unmarshal(data, &objs) != nil {
			return
		}
		// Pair the fuzzed objects with a fixed cluster so policies select
		// something and Compare has pairs to evaluate.
		env, err := Build(append(objs, probeObjects()...))
		if err != nil {
			return
		}
		base := mustBuild(t, probeObjects(), "")
		Compare(env, base)
		Compare(base, env)
		if got := Compare(env, env); len(got) != 0 {
			t.Errorf("environment differs from itself: %+v", got[0])
		}
	})
}
