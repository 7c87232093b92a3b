package drift

import (
	"fmt"
	"slices"
	"time"

	"github.com/driftgate/driftgate/internal/version"
)

// clusterScopedKinds are the built-in kinds (and common CRD kinds) that have
// no namespace. A manifest folder has no discovery to ask, so an object of
// another kind without metadata.namespace is placed in "default", as kubectl
// apply would.
var clusterScopedKinds = map[string]bool{
	"Namespace": true, "Node": true, "PersistentVolume": true, "ComponentStatus": true,
	"rbac.authorization.k8s.io/ClusterRole": true, "rbac.authorization.k8s.io/ClusterRoleBinding": true,
	"apiextensions.k8s.io/CustomResourceDefinition": true, "apiregistration.k8s.io/APIService": true,
	"storage.k8s.io/StorageClass": true, "storage.k8s.io/CSIDriver": true, "storage.k8s.io/CSINode": true,
	"storage.k8s.io/VolumeAttachment": true, "storage.k8s.io/VolumeAttributesClass": true,
	"networking.k8s.io/IngressClass": true, "networking.k8s.io/IPAddress": true, "networking.k8s.io/ServiceCIDR": true,
	"scheduling.k8s.io/PriorityClass": true, "node.k8s.io/RuntimeClass": true,
	"admissionregistration.k8s.io/MutatingWebhookConfiguration":     true,
	"admissionregistration.k8s.io/ValidatingWebhookConfiguration":   true,
	"admissionregistration.k8s.io/ValidatingAdmissionPolicy":        true,
	"admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding": true,
	"admissionregistration.k8s.io/MutatingAdmissionPolicy":          true,
	"admissionregistration.k8s.io/MutatingAdmissionPolicyBinding":   true,
	"certificates.k8s.io/CertificateSigningRequest":                 true,
	"certificates.k8s.io/ClusterTrustBundle":                        true,
	"flowcontrol.apiserver.k8s.io/FlowSchema":                       true,
	"flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration":       true,
	"resource.k8s.io/DeviceClass":                                   true,
	"resource.k8s.io/ResourceSlice":                                 true,
	"crd.projectcalico.org/GlobalNetworkPolicy":                     true,
	"crd.projectcalico.org/GlobalNetworkSet":                        true,
	"projectcalico.org/GlobalNetworkPolicy":                         true,
	"cilium.io/CiliumClusterwideNetworkPolicy":                      true,
	"policy.networking.k8s.io/AdminNetworkPolicy":                   true,
	"policy.networking.k8s.io/BaselineAdminNetworkPolicy":           true,
	"kyverno.io/ClusterPolicy":                                      true,
}

// ManifestOptions configure SnapshotFromManifests.
type ManifestOptions struct {
	Scope      Scope
	Normalizer *Normalizer
	// Now is the capture time; zero means time.Now.
	Now time.Time
}

// SnapshotFromManifests builds a snapshot from files or directories of
// manifests, normalized exactly as a live snapshot is.
func SnapshotFromManifests(paths []string, opts ManifestOptions) (*Snapshot, error) {
	if opts.Normalizer == nil {
		opts.Normalizer = NewNormalizer(nil)
	}
	var all []Manifest
	for _, p := range paths {
		ms, err := ReadManifests(p)
		if err != nil {
			return nil, err
		}
		all = append(all, ms...)
	}
	scoped := crdScopes(all)

	s := newSnapshot(SourceManifests, opts.Scope, opts.Normalizer, opts.Now)
	s.Metadata.Paths = slices.Clone(paths)
	seen := map[ObjectID]Manifest{}
	types := map[ResourceType]bool{}
	for _, m := range all {
		group, version := splitAPIVersion(m.Object["apiVersion"].(string))
		kind := m.Object["kind"].(string)
		namespaced := !isClusterScoped(group, kind, scoped)
		meta, _ := m.Object["metadata"].(map[string]any)
		if meta == nil {
			return nil, &InputError{File: m.File, Line: m.Line, Msg: kind + " has no metadata", Hint: "every object needs metadata.name"}
		}
		if namespaced {
			if ns, _ := meta["namespace"].(string); ns == "" {
				meta["namespace"] = "default"
			}
		} else {
			delete(meta, "namespace")
		}
		if !s.Metadata.Scope.includes(group, kind, namespaced, meta) {
			continue
		}
		o, fold, err := opts.Normalizer.Normalize(m.Object)
		if err != nil {
			return nil, &InputError{File: m.File, Line: m.Line, Msg: err.Error()}
		}
		if fold {
			s.Metadata.Folded++
			continue
		}
		id := o.ID()
		if prev, dup := seen[id]; dup {
			return nil, &InputError{File: m.File, Line: m.Line,
				Msg:  fmt.Sprintf("%s is defined twice; first at %s:%d", id, prev.File, prev.Line),
				Hint: "keep one definition"}
		}
		seen[id] = m
		types[ResourceType{Group: group, Version: version, Kind: kind, Namespaced: namespaced}] = true
		s.Objects = append(s.Objects, o)
	}
	for rt := range types {
		s.Resources = append(s.Resources, rt)
	}
	s.Sort()
	return s, nil
}

func newSnapshot(source string, scope Scope, n *Normalizer, now time.Time) *Snapshot {
	if now.IsZero() {
		now = time.Now()
	}
	return &Snapshot{
		APIVersion: SnapshotAPIVersion,
		Kind:       SnapshotKind,
		Metadata: SnapshotMeta{
			Source:       source,
			CapturedAt:   now.UTC().Truncate(time.Second),
			ToolVersion:  version.String(),
			Scope:        scope,
			SecretDigest: n.SecretDigest(),
		},
	}
}

// crdScopes reads the scope of the kinds defined by CRDs among the manifests.
func crdScopes(ms []Manifest) map[string]bool {
	out := map[string]bool{}
	for _, m := range ms {
		if m.Object["kind"] != "CustomResourceDefinition" {
			continue
		}
		spec, _ := m.Object["spec"].(map[string]any)
		group, _ := spec["group"].(string)
		names, _ := spec["names"].(map[string]any)
		kind, _ := names["kind"].(string)
		scope, _ := spec["scope"].(string)
		out[group+"/"+kind] = scope == "Cluster"
	}
	return out
}

func isClusterScoped(group, kind string, crds map[string]bool) bool {
	key := kind
	if group != "" {
		key = group + "/" + kind
	}
	if v, ok := crds[group+"/"+kind]; ok {
		return v
	}
	return clusterScopedKinds[key]
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

func (sc Scope) excludes(group, kind string) bool {
	for _, e := range sc.Exclude {
		if e.Matches(group, kind) {
			return true
		}
	}
	return false
}
