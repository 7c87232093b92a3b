package drift

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"time"
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
	"policy.networking.k8s.io/ClusterNetworkPolicy":                 true,
	"policy.networking.k8s.io/AdminNetworkPolicy":                   true,
	"projectcalico.org/GlobalNetworkSet":                            true,
	"projectcalico.org/Tier":                                        true,
	"crd.projectcalico.org/Tier":                                    true,
	"cilium.io/CiliumCIDRGroup":                                     true,
	"crd.antrea.io/ClusterNetworkPolicy":                            true,
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
// manifests, normalized exactly as a live snapshot is. What the walk of a
// folder passed over is in the snapshot's Notes (see SkippedNotes).
//
// Objects are normalized file by file, so that what normalization drops
// (managed fields, status, last-applied, Secret values) is not held for the
// whole folder; which kinds are namespaced is known only once every CRD has
// been read, so namespaces and scope are settled at the end.
//
// The objects are spilled as they are read (SpillManifests) and the
// snapshot loaded back as a file is: a large folder is never held as the
// maps normalization makes, only as a loaded snapshot holds it (equal
// small maps shared), and a streaming comparison can read the spilled
// snapshot instead (issue 19).
func SnapshotFromManifests(paths []string, opts ManifestOptions) (*Snapshot, error) {
	sp, err := SpillManifests(paths, opts, SpillOptions{})
	if err != nil {
		return nil, err
	}
	defer sp.Close()
	if sp.mem != nil {
		return sp.mem, nil
	}
	spool, err := sp.Spool("")
	if err != nil {
		return nil, err
	}
	defer spool.Close()
	return spool.Load()
}

// manifestsInMemory is SnapshotFromManifests holding every object as it is
// normalized: what SpillManifests falls back to when an object cannot be
// encoded as it is read, and what its test holds it to.
func manifestsInMemory(paths []string, opts ManifestOptions) (*Snapshot, error) {
	b := newManifestBuilder(opts)
	notes, err := b.addPaths(paths)
	if err != nil {
		return nil, err
	}
	s, err := b.snapshot(paths)
	if err != nil {
		return nil, err
	}
	s.Notes = notes
	return s, nil
}

// manifestBuilder collects normalized manifests until they make a snapshot.
type manifestBuilder struct {
	opts    ManifestOptions
	pending []pendingObject
	// crds are the scopes of kinds defined by CRDs, by group/kind: true for Cluster.
	crds map[string]bool
	// store, when set, keeps each normalized object encoded in a
	// temporary file instead of in pending (SpillManifests).
	store *manifestStore
}

// pendingObject is a manifest normalized before its scope is known.
type pendingObject struct {
	file                 string
	line                 int
	inList               bool
	item                 int
	group, version, kind string
	hasMeta              bool
	namespace, name      string // metadata.namespace and .name as written
	obj                  Object // empty when excluded by kind, folded or failed
	fold                 bool
	err                  error
	// stored is where obj went, with a store, and objGroup, objKind and
	// objName its identity.
	stored                     manifestStored
	objGroup, objKind, objName string
}

func newManifestBuilder(opts ManifestOptions) *manifestBuilder {
	if opts.Normalizer == nil {
		opts.Normalizer = NewNormalizer(nil)
	}
	return &manifestBuilder{opts: opts, crds: map[string]bool{}}
}

// addPaths reads the manifest files under paths, in order, into b (add)
// and returns the notes on what the walks passed over. With a store, it
// stops at the first object the store could not keep (store.err).
func (b *manifestBuilder) addPaths(paths []string) ([]string, error) {
	var notes []string
	for _, p := range paths {
		files, skipped, err := manifestFiles(p)
		if err != nil {
			return nil, err
		}
		notes = append(notes, SkippedNotes(p, skipped)...)
		for _, f := range files {
			ms, err := readManifestFile(f)
			if err != nil {
				return nil, err
			}
			b.add(ms)
			if b.store != nil && b.store.err != nil {
				return notes, nil
			}
		}
	}
	return notes, nil
}

// add normalizes ms (modifying their objects) and keeps the results.
func (b *manifestBuilder) add(ms []Manifest) {
	for _, m := range ms {
		p := pendingObject{file: m.File, line: m.Line, inList: m.InList, item: m.Item, kind: m.Object["kind"].(string)}
		p.group, p.version = splitAPIVersion(m.Object["apiVersion"].(string))
		if p.kind == "CustomResourceDefinition" {
			spec, _ := m.Object["spec"].(map[string]any)
			group, _ := spec["group"].(string)
			names, _ := spec["names"].(map[string]any)
			kind, _ := names["kind"].(string)
			scope, _ := spec["scope"].(string)
			b.crds[group+"/"+kind] = scope == "Cluster"
		}
		meta, _ := m.Object["metadata"].(map[string]any)
		p.hasMeta = meta != nil
		p.namespace, _ = meta["namespace"].(string)
		p.name, _ = meta["name"].(string)
		if p.hasMeta && !b.opts.Scope.excludes(p.group, p.kind) {
			p.obj, p.fold, p.err = b.opts.Normalizer.Normalize(m.Object)
			if p.fold {
				p.obj = Object{}
			}
			if p.err == nil && !p.fold {
				p.objGroup, p.objKind, p.objName = p.obj.Group, p.obj.Kind, p.obj.Name
			}
			if b.store != nil && p.err == nil && !p.fold {
				b.store.keep(&p, p.obj, !isClusterScoped(p.group, p.kind, b.crds))
				p.obj = Object{}
			}
		}
		b.pending = append(b.pending, p)
	}
}

// snapshot settles namespaces and scope (settle) and returns the
// snapshot of paths, holding the objects.
func (b *manifestBuilder) snapshot(paths []string) (*Snapshot, error) {
	var objs []Object
	placed := func(p *pendingObject, id ObjectID, namespaced bool) Object {
		o := p.obj
		p.obj = Object{}
		manifestSetNamespace(&o, id.Namespace, namespaced)
		return o
	}
	s, err := b.settle(paths,
		func(p *pendingObject, id ObjectID, namespaced bool) error {
			objs = append(objs, placed(p, id, namespaced))
			return nil
		},
		func(i int, p *pendingObject, id ObjectID, namespaced bool) error {
			if o := placed(p, id, namespaced); bytes.Compare(snapshotForm(&o), snapshotForm(&objs[i])) < 0 {
				objs[i] = o
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	s.Objects = objs
	s.Sort()
	return s, nil
}

// settle walks the manifests in the order read, as the snapshot of paths
// holds them: each is placed in its namespace (or none) once every CRD
// is known, scope applied, folded objects counted, an object defined
// twice refused. It calls keep for each object the snapshot holds, in
// that order, and twin for an object that normalization renamed onto the
// i-th kept one (both generated names of one object: foldTwins keeps the
// smaller). It returns the snapshot without its objects, unsorted.
func (b *manifestBuilder) settle(paths []string, keep func(p *pendingObject, id ObjectID, namespaced bool) error, twin func(i int, p *pendingObject, id ObjectID, namespaced bool) error) (*Snapshot, error) {
	s := newSnapshot(SourceManifests, b.opts.Scope, b.opts.Normalizer, b.opts.Now)
	s.Metadata.Paths = slices.Clone(paths)
	seen := map[ObjectID]*pendingObject{}
	at := map[ObjectID]int{} // the index of the kept object
	types := map[ResourceType]bool{}
	for i := range b.pending {
		p := &b.pending[i]
		namespaced := !isClusterScoped(p.group, p.kind, b.crds)
		if !p.hasMeta {
			return nil, &InputError{File: p.file, Line: p.itemLine(), Msg: p.kind + " has no metadata" + p.where(), Hint: "every object needs metadata.name"}
		}
		ns := ""
		if namespaced {
			ns = cmp.Or(p.namespace, "default")
		}
		if !s.Metadata.Scope.includes(p.group, p.kind, namespaced, map[string]any{"namespace": ns, "name": p.name}) {
			continue
		}
		if p.err != nil {
			return nil, &InputError{File: p.file, Line: p.itemLine(), Msg: p.err.Error() + p.where()}
		}
		if p.fold {
			s.Metadata.Folded++
			continue
		}
		id := ObjectID{Group: p.objGroup, Kind: p.objKind, Namespace: ns, Name: p.objName}
		if prev, dup := seen[id]; dup && p.name != id.Name && prev.name != id.Name {
			s.Metadata.Folded++
			if err := twin(at[id], p, id, namespaced); err != nil {
				return nil, err
			}
			continue
		}
		if prev, dup := seen[id]; dup {
			return nil, &InputError{File: p.file, Line: p.itemLine(),
				Msg:  fmt.Sprintf("%s is defined twice%s; first at %s:%d%s", id, p.where(), prev.file, prev.itemLine(), prev.where()),
				Hint: "keep one definition"}
		}
		seen[id] = p
		at[id] = len(seen) - 1
		types[ResourceType{Group: p.group, Version: p.version, Kind: p.kind, Namespaced: namespaced}] = true
		if err := keep(p, id, namespaced); err != nil {
			return nil, err
		}
	}
	for rt := range types {
		s.Resources = append(s.Resources, rt)
	}
	return s, nil
}

// itemLine is the line where p starts: its document's, or its own inside a List.
func (p *pendingObject) itemLine() int {
	if !p.inList {
		return p.line
	}
	return listItemLine(p.file, p.line, p.item)
}

// where names p's place inside a List, for errors: " (items[3])".
func (p *pendingObject) where() string {
	if !p.inList {
		return ""
	}
	return fmt.Sprintf(" (items[%d])", p.item)
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
