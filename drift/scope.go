package drift

import (
	"slices"
	"strings"
)

// Scope is what a snapshot covers.
type Scope struct {
	Namespaces []string  `json:"namespaces,omitempty"` // empty: all
	Exclude    []KindRef `json:"exclude,omitempty"`
}

// KindRef names a kind, optionally within an API group. An empty Group
// matches the kind in every group.
type KindRef struct {
	Group string `json:"group,omitempty" yaml:"group"`
	Kind  string `json:"kind" yaml:"kind"`
}

// Matches reports whether the reference names group/kind.
func (k KindRef) Matches(group, kind string) bool {
	return strings.EqualFold(k.Kind, kind) && (k.Group == "" || k.Group == group)
}

// DefaultExcludes are pure noise for parity: they change on their own all the time.
var DefaultExcludes = []KindRef{
	{Kind: "Event"},
	{Group: "coordination.k8s.io", Kind: "Lease"},
	{Group: "discovery.k8s.io", Kind: "EndpointSlice"},
	{Kind: "Endpoints"},
	{Kind: "ComponentStatus"},
	// The API server's record of each allocated ClusterIP: per cluster by design.
	{Group: "networking.k8s.io", Kind: "IPAddress"},
}

// includes reports whether an object is in scope: not excluded by kind, and,
// when namespaces are listed, in one of them (or the Namespace object of one).
func (sc Scope) includes(group, kind string, namespaced bool, meta map[string]any) bool {
	if sc.excludes(group, kind) {
		return false
	}
	if len(sc.Namespaces) == 0 {
		return true
	}
	if namespaced {
		ns, _ := meta["namespace"].(string)
		return slices.Contains(sc.Namespaces, ns)
	}
	if group == "" && kind == "Namespace" {
		name, _ := meta["name"].(string)
		return slices.Contains(sc.Namespaces, name)
	}
	return true
}

// excludes reports whether the scope leaves out every object of group/kind.
func (sc Scope) excludes(group, kind string) bool {
	for _, e := range sc.Exclude {
		if e.Matches(group, kind) {
			return true
		}
	}
	return false
}
