package drift

import (
	"cmp"
	"slices"
	"time"

	"github.com/driftgate/driftgate/drift/sign"
	"github.com/driftgate/driftgate/internal/version"
)

// Snapshot format identifiers.
const (
	SnapshotAPIVersion = "driftgate.dev/v1alpha1"
	SnapshotKind       = "Snapshot"
)

// Snapshot sources.
const (
	SourceCluster   = "cluster"
	SourceManifests = "manifests"
)

// Snapshot is one environment's state: every object in scope, normalized,
// with the resource types that were listed and those that could not be.
type Snapshot struct {
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	Metadata   SnapshotMeta `json:"metadata"`
	// Resources are the types that were observed completely. A type that is
	// absent here and from Unobserved was not in scope.
	Resources []ResourceType `json:"resources"`
	// Unobserved are the types in scope that could not be listed, and why.
	Unobserved []Unobserved `json:"unobserved"`
	Objects    []Object     `json:"objects"`
	// Digest is "sha256:<hex>" over the canonical JSON of everything but the
	// capture time and the digest itself, so one cluster state has one digest.
	Digest string `json:"digest"`
	// Integrity is "sha256:<hex>" over the metadata, capture time
	// included, and Digest: with Digest it covers every field, so a capture
	// time edited to pass gate --max-age is refused on load. Files written
	// before it was added have none (see IntegrityDigest).
	Integrity string `json:"integrity,omitempty"`
	// Signature, when set, is a DSSE envelope over a SnapshotStatement
	// naming Digest and Integrity: it vouches for the whole file, and is
	// covered by neither digest (it signs them). Unsigned files have none.
	Signature *sign.Envelope `json:"signature,omitempty"`
	// SignWith, when set, makes Encode (and Save) sign the snapshot as it
	// seals it. It is not part of the file.
	SignWith *SnapshotSigning `json:"-"`
	// Notes say what building the snapshot passed over (files of a
	// manifest folder that are not manifests, ...), for the result's
	// notes. They are not part of the file.
	Notes []string `json:"-"`
}

// SnapshotMeta says where and how a snapshot was taken.
type SnapshotMeta struct {
	Source        string `json:"source"`
	Context       string `json:"context,omitempty"`
	Server        string `json:"server,omitempty"`
	ServerVersion string `json:"serverVersion,omitempty"`
	// Cluster identifies the cluster of a live snapshot, when its
	// kube-system namespace could be read: a signed statement names it, so
	// a snapshot of one cluster is not taken for another's.
	Cluster     *ClusterIdentity `json:"cluster,omitempty"`
	Paths       []string         `json:"paths,omitempty"`
	CapturedAt  time.Time        `json:"capturedAt"`
	ToolVersion string           `json:"toolVersion"`
	Scope       Scope            `json:"scope"`
	// SecretDigest is "none" when Secret values were dropped, or
	// "hmac-sha256:<key id>" when they were digested with a key; two
	// snapshots' digests compare only when their key ids agree.
	SecretDigest string `json:"secretDigest"`
	// Folded counts objects owned by a controller (Pods of a ReplicaSet,
	// ReplicaSets of a Deployment, ...) that are represented by their owner.
	Folded int `json:"folded"`
}

// ResourceType is one listable API resource.
type ResourceType struct {
	Group      string `json:"group,omitempty"`
	Version    string `json:"version"`
	Kind       string `json:"kind"`
	Resource   string `json:"resource"`
	Namespaced bool   `json:"namespaced"`
}

// GroupKind is "kind.group", or "kind" for the core group, as kubectl spells it.
func (r ResourceType) GroupKind() string { return groupKind(r.Group, r.Kind) }

func groupKind(group, kind string) string {
	if group == "" {
		return kind
	}
	return kind + "." + group
}

// Unobserved is a resource type in scope that could not be listed.
type Unobserved struct {
	ResourceType
	// Namespace is set when only that namespace could not be listed.
	Namespace string `json:"namespace,omitempty"`
	Reason    string `json:"reason"`
}

// Object is one normalized object.
type Object struct {
	Group      string         `json:"group,omitempty"`
	Version    string         `json:"version"`
	Kind       string         `json:"kind"`
	Namespace  string         `json:"namespace,omitempty"`
	Name       string         `json:"name"`
	Object     map[string]any `json:"object"`
	Provenance Provenance     `json:"provenance"`
	// Encoded, when set, is the object as a snapshot file holds it (compact
	// JSON), and Object and Provenance are empty: see
	// CollectOptions.ForWriting and Snapshot.Expand.
	Encoded []byte `json:"-"`
}

// ID is the object's identity: group, kind, namespace, name.
func (o *Object) ID() ObjectID {
	return ObjectID{Group: o.Group, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
}

// ObjectID identifies an object across environments.
type ObjectID struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// String renders the ID as kubectl does: kind.group/name, prefixed by namespace.
func (id ObjectID) String() string {
	s := groupKind(id.Group, id.Kind) + "/" + id.Name
	if id.Namespace != "" {
		return id.Namespace + "/" + s
	}
	return s
}

// Compare orders IDs by group, kind, namespace and name.
func (id ObjectID) Compare(o ObjectID) int {
	return cmp.Or(
		cmp.Compare(id.Group, o.Group),
		cmp.Compare(id.Kind, o.Kind),
		cmp.Compare(id.Namespace, o.Namespace),
		cmp.Compare(id.Name, o.Name),
	)
}

// Provenance is how an object came to be: who wrote which fields, whether it
// was applied with kubectl's client-side apply, who owns it, and the
// deploy-tool markers on it.
type Provenance struct {
	Managers    []Manager `json:"managers,omitempty"`
	LastApplied bool      `json:"lastApplied,omitempty"`
	Owner       *OwnerRef `json:"owner,omitempty"`
	// DeployTool holds the labels and annotations that name a deploy tool
	// (Helm, Argo CD, Flux, app.kubernetes.io/managed-by), by key.
	DeployTool map[string]string `json:"deployTool,omitempty"`
}

// Manager is one field manager from managedFields.
type Manager struct {
	Manager     string `json:"manager"`
	Operation   string `json:"operation"`
	Subresource string `json:"subresource,omitempty"`
	// Fields are the top-level fields this manager owns (metadata, spec, data...).
	Fields []string `json:"fields,omitempty"`
	// Paths are the leaf fields owned, kept for managers that look manual
	// (kubectl and friends) so a finding can name what was changed by hand.
	Paths []string `json:"paths,omitempty"`
}

// OwnerRef is the controlling owner of an object, or its first owner.
type OwnerRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Controller bool   `json:"controller,omitempty"`
}

// Sort puts the snapshot's lists in their canonical order.
func (s *Snapshot) Sort() {
	slices.SortFunc(s.Objects, func(a, b Object) int { return a.ID().Compare(b.ID()) })
	slices.SortFunc(s.Resources, compareResourceType)
	slices.SortFunc(s.Unobserved, func(a, b Unobserved) int {
		return cmp.Or(compareResourceType(a.ResourceType, b.ResourceType), cmp.Compare(a.Namespace, b.Namespace))
	})
}

func compareResourceType(a, b ResourceType) int {
	return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Version, b.Version), cmp.Compare(a.Resource, b.Resource))
}

// Find returns the object with id, or nil.
func (s *Snapshot) Find(id ObjectID) *Object {
	i, ok := slices.BinarySearchFunc(s.Objects, id, func(o Object, id ObjectID) int { return o.ID().Compare(id) })
	if !ok {
		return nil
	}
	return &s.Objects[i]
}

// newSnapshot is an empty snapshot of source, taken now, that n will
// normalize the objects of.
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
