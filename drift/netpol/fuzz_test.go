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
		`[{"apiVersion":"policy.networking.k8s.io/v1beta1","kind":"ClusterNetworkPolicy","metadata":{"name":"c"},"spec":{"tier":"Admin","priority":3,"subject":{"namespaces":{}},"egress":[{"action":"Pass","to":[{"networks":["0.0.0.0/0"]}]},{"action":"Accept","to":[{"domainNames":["*.example.com"]}],"protocols":[{"tcp":{"destinationPort":{"range":{"start":80,"end":90}}}}]}]}}]`,
		`[{"apiVersion":"policy.networking.k8s.io/v1alpha1","kind":"AdminNetworkPolicy","metadata":{"name":"a"},"spec":{"priority":1,"subject":{"namespaces":{}},"ingress":[{"action":"Deny","from":[{"namespaces":{"namespaceSelector":{}}}],"ports":[{"namedPort":"http"}]}]}}]`,
		`[{"apiVersion":"projectcalico.org/v3","kind":"Tier","metadata":{"name":"sec"},"spec":{"order":10,"defaultAction":"Pass"}},{"apiVersion":"projectcalico.org/v3","kind":"GlobalNetworkPolicy","metadata":{"name":"sec.g"},"spec":{"tier":"sec","selector":"pod in {'a','b'} && !has(x)","egress":[{"action":"Deny","protocol":"TCP","destination":{"nets":["10.0.0.0/8"],"notPorts":["80:90"]}}]}}]`,
		`[{"apiVersion":"crd.projectcalico.org/v1","kind":"NetworkSet","metadata":{"name":"s","namespace":"x","labels":{"k":"v"}},"spec":{"nets":["192.0.2.0/24"]}},{"apiVersion":"crd.projectcalico.org/v1","kind":"NetworkPolicy","metadata":{"name":"default.p","namespace":"x"},"spec":{"selector":"all()","ingress":[{"action":"Allow","source":{"selector":"k == 'v'"}}]}}]`,
		`[{"apiVersion":"cilium.io/v2","kind":"CiliumNetworkPolicy","metadata":{"name":"c","namespace":"x"},"spec":{"endpointSelector":{"matchLabels":{"k8s:pod":"a"}},"ingressDeny":[{"fromEntities":["world"]}],"egress":[{"toFQDNs":[{"matchPattern":"*.example.com"}],"toPorts":[{"ports":[{"port":"443","protocol":"TCP"}],"rules":{"http":[{"method":"GET"}]}}]}]}}]`,
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
		if got, und := CompareAll(env, env); len(got) != 0 || len(und) != 0 {
			t.Errorf("environment differs from itself: %+v %+v", got, und)
		}
	})
}
