package netpol

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/labels"
)

// foreignKinds are the policy kinds of APIs the model does not read, by
// group/kind. They are compared by text over the workloads they may apply
// to: when that text differs, those workloads cannot be checked.
var foreignKinds = map[string]bool{
	"security.istio.io/AuthorizationPolicy": true,
	"crd.antrea.io/NetworkPolicy":           true,
	"crd.antrea.io/ClusterNetworkPolicy":    true,
	"k8s.ovn.org/EgressFirewall":            true,
	"networking.gke.io/FQDNNetworkPolicy":   true,
}

// istioRootNamespace is the mesh's root namespace in a default install: an
// AuthorizationPolicy there applies to every namespace.
const istioRootNamespace = "istio-system"

// parseForeign reads a policy of a foreign API: its spec as canonical JSON
// (encoding/json sorts map keys), and the workloads it may apply to. Only
// Istio's selector is read; the other kinds may apply to any workload of
// their namespace, or of the cluster when they are cluster-scoped.
func parseForeign(obj map[string]any, kind, group string) (foreign, error) {
	ns := namespaceOf(obj)
	clusterScoped := kind == "ClusterNetworkPolicy"
	f := foreign{id: kind + "." + group + " " + ns + "/" + nameOf(obj), ingress: true, egress: true}
	if clusterScoped {
		f.id = kind + "." + group + " " + nameOf(obj)
	} else {
		f.subject.namespace = ns
	}
	spec, err := mapAt(obj, "spec")
	if err != nil {
		return foreign{}, err
	}
	if kind == "AuthorizationPolicy" {
		// It authorizes requests a workload receives.
		f.egress = false
		if ns == istioRootNamespace {
			f.subject.namespace = ""
		}
		sel, err := mapAt(spec, "selector")
		if err != nil {
			return foreign{}, err
		}
		ml, err := stringMapAt(sel, "matchLabels")
		if err != nil {
			return foreign{}, fmt.Errorf("spec.selector: %w", err)
		}
		if len(ml) > 0 {
			f.subject.pods = labels.SelectorFromSet(ml)
		}
	}
	text, err := json.Marshal(spec)
	if err != nil {
		return foreign{}, fmt.Errorf("spec: %w", err)
	}
	f.what = kind + "." + group + " " + string(text)
	return f, nil
}
