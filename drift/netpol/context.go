package netpol

import (
	"fmt"
	"net/netip"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// parseContext holds what some policy APIs need from other objects of the
// same environment: Calico's tiers and network sets.
type parseContext struct {
	// tiers are Calico Tier objects by name.
	tiers map[string]tier
	// networkSets are Calico NetworkSets (namespace set) and
	// GlobalNetworkSets (namespace empty), which Calico selectors match
	// like endpoints.
	networkSets []networkSet
	// namespaceLabels returns a namespace's labels, for selectors that
	// match namespaced network sets by their namespace.
	namespaceLabels func(ns string) labels.Set
	// foreign collects what policy parsers read as foreign entries (Calico
	// host endpoint and Cilium host policies), which readPolicies moves to
	// the environment.
	foreign []foreign
	// err is the first error reading them, reported with the policies.
	err error
}

// addForeign records a foreign entry read from a policy object.
func (pc *parseContext) addForeign(f foreign) { pc.foreign = append(pc.foreign, f) }

// networkSet is a labelled list of external networks.
type networkSet struct {
	namespace, name string
	labels          labels.Set
	nets            []netip.Prefix
}

// calicoGroups are the groups Calico serves its API under: the aggregated
// API server's, and the CRDs' as stored without it.
func calicoGroup(group string) bool {
	return group == "projectcalico.org" || group == "crd.projectcalico.org"
}

// read keeps obj when it is a Calico Tier or network set, reporting whether
// it was one.
func (pc *parseContext) read(obj map[string]any, kind, group string) bool {
	if !calicoGroup(group) {
		return false
	}
	switch kind {
	case "Tier":
		t, err := parseCalicoTier(obj)
		if err != nil {
			pc.fail("tier "+nameOf(obj), err)
			return true
		}
		if pc.tiers == nil {
			pc.tiers = map[string]tier{}
		}
		pc.tiers[t.name] = t
	case "NetworkSet", "GlobalNetworkSet":
		ns, err := parseNetworkSet(obj, kind == "NetworkSet")
		if err != nil {
			pc.fail(strings.ToLower(kind)+" "+nameOf(obj), err)
			return true
		}
		pc.networkSets = append(pc.networkSets, ns)
	default:
		return false
	}
	return true
}

func (pc *parseContext) fail(what string, err error) {
	if pc.err == nil {
		pc.err = &contextError{what, err}
	}
}

type contextError struct {
	what string
	err  error
}

func (e *contextError) Error() string { return e.what + ": " + e.err.Error() }
func (e *contextError) Unwrap() error { return e.err }

// parseCalicoTier reads a Calico Tier: its order (none sorts last) and its
// default action (Deny unless Pass).
func parseCalicoTier(obj map[string]any) (tier, error) {
	t := tier{name: nameOf(obj), order: lastOrder}
	if t.name == "" {
		return tier{}, fmt.Errorf("metadata.name is missing")
	}
	spec, err := mapAt(obj, "spec")
	if err != nil {
		return tier{}, err
	}
	if o, ok, err := floatAt(spec, "order"); err != nil {
		return tier{}, fmt.Errorf("spec.%w", err)
	} else if ok {
		t.order = o
	}
	switch a, _ := spec["defaultAction"].(string); a {
	case "", "Deny":
	case "Pass":
		t.pass = true
	default:
		return tier{}, fmt.Errorf("spec.defaultAction: %q is not Deny or Pass", a)
	}
	return t, nil
}

// parseNetworkSet reads a Calico NetworkSet or GlobalNetworkSet.
func parseNetworkSet(obj map[string]any, namespaced bool) (networkSet, error) {
	ns := networkSet{name: nameOf(obj)}
	if namespaced {
		ns.namespace = namespaceOf(obj)
	}
	meta, err := mapAt(obj, "metadata")
	if err != nil {
		return networkSet{}, err
	}
	ls, err := stringMapAt(meta, "labels")
	if err != nil {
		return networkSet{}, fmt.Errorf("metadata.%w", err)
	}
	ns.labels = ls
	spec, err := mapAt(obj, "spec")
	if err != nil {
		return networkSet{}, err
	}
	nets, err := sliceAt(spec, "nets")
	if err != nil {
		return networkSet{}, fmt.Errorf("spec.%w", err)
	}
	for i, n := range nets {
		s, _ := n.(string)
		p, err := parseCalicoNet(s)
		if err != nil {
			return networkSet{}, fmt.Errorf("spec.nets[%d]: %w", i, err)
		}
		ns.nets = append(ns.nets, p)
	}
	return ns, nil
}

// parseCalicoNet reads a Calico net: a CIDR, or a bare address meaning
// that one host.
func parseCalicoNet(s string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	return parsePrefix(s)
}

// floatAt returns m[key] as a number, accepting every number type decoders
// produce.
func floatAt(m map[string]any, key string) (float64, bool, error) {
	switch v := m[key].(type) {
	case nil:
		return 0, false, nil
	case float64:
		return v, true, nil
	case int:
		return float64(v), true, nil
	case int64:
		return float64(v), true, nil
	case interface{ Float64() (float64, error) }: // json.Number
		f, err := v.Float64()
		if err != nil {
			return 0, false, fmt.Errorf("%s: %w", key, err)
		}
		return f, true, nil
	default:
		return 0, false, fmt.Errorf("%s: want a number, got %T", key, v)
	}
}
