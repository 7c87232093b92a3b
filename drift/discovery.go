package drift

import (
	"errors"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

// DiscoverTypes returns the listable resource types in scope on the cluster
// behind cfg, at their preferred versions, and the API groups discovery
// could not read.
func DiscoverTypes(cfg *rest.Config, scope Scope) ([]ResourceType, []Unobserved, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(withTimeout(ReaderConfig(cfg), 60*time.Second))
	if err != nil {
		return nil, nil, err
	}
	types, unobserved, err := discoverTypes(dc, scope)
	if err != nil {
		return nil, nil, unreachable(cfg.Host, err)
	}
	return types, unobserved, nil
}

// discoverTypes returns the listable types in scope, at their preferred
// versions, and the groups discovery could not read.
func discoverTypes(dc discovery.DiscoveryInterface, scope Scope) ([]ResourceType, []Unobserved, error) {
	lists, err := dc.ServerPreferredResources()
	var unobserved []Unobserved
	if err != nil {
		var gerr *discovery.ErrGroupDiscoveryFailed
		if !errors.As(err, &gerr) || len(lists) == 0 {
			return nil, nil, err
		}
		for gv, e := range gerr.Groups {
			unobserved = append(unobserved, Unobserved{
				ResourceType: ResourceType{Group: gv.Group, Version: gv.Version, Kind: "*", Resource: "*"},
				Reason:       "API group discovery failed: " + e.Error(),
			})
		}
	}
	var types []ResourceType
	seen := map[schema.GroupKind]bool{}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") {
				continue
			}
			gk := schema.GroupKind{Group: gv.Group, Kind: r.Kind}
			if seen[gk] || scope.excludes(gv.Group, r.Kind) {
				continue
			}
			seen[gk] = true
			types = append(types, ResourceType{Group: gv.Group, Version: gv.Version, Kind: r.Kind, Resource: r.Name, Namespaced: r.Namespaced})
		}
	}
	slices.SortFunc(types, compareResourceType)
	return types, unobserved, nil
}
