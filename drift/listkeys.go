package drift

import (
	"encoding/json"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/kube-openapi/pkg/schemaconv"
	"k8s.io/kube-openapi/pkg/validation/spec"
	smd "sigs.k8s.io/structured-merge-diff/v6/schema"
)

// A Schema is the structure of one kind of object as far as comparing
// needs it: which lists pair their items by key fields (and which), which
// are sets, and which compare position by position. It is the API's own
// structured-merge-diff schema, as server-side apply uses it. A nil
// *Schema knows nothing: lists of uniquely named items pair by name, other
// lists by position.
type Schema struct {
	s    *smd.Schema
	root smd.TypeRef
}

// Schemas finds the Schema of each kind of object: built-in kinds from the
// schema client-go generates from Kubernetes' types, custom resources from
// their CustomResourceDefinition when a snapshot holds it. Safe for
// concurrent use.
type Schemas struct {
	crds  map[crdKey]*Object // prod's CRD first, then dev's
	mu    sync.Mutex
	cache map[crdKey]*Schema
}

type crdKey struct{ group, version, kind string }

// NewSchemas returns the schemas of built-in kinds and of the custom
// resources defined by the snapshots' CRDs; for a kind defined in more than
// one, the first snapshot's definition wins (pass prod first: prod is the
// reference).
func NewSchemas(snapshots ...*Snapshot) *Schemas {
	ss := &Schemas{crds: map[crdKey]*Object{}, cache: map[crdKey]*Schema{}}
	for _, snap := range snapshots {
		if snap != nil {
			ss.AddCRDs(snap.Objects)
		}
	}
	return ss
}

// AddCRDs reads the CustomResourceDefinitions among objs, after those read
// before: a CRD of a group, version and kind already read is passed over,
// as NewSchemas passes over a later snapshot's. For must not have been
// asked about their types before (it remembers its answers).
func (ss *Schemas) AddCRDs(objs []Object) {
	for i := range objs {
		o := &objs[i]
		if o.Group != "apiextensions.k8s.io" || o.Kind != "CustomResourceDefinition" || o.Object == nil {
			continue
		}
		spec, _ := o.Object["spec"].(map[string]any)
		group, _ := spec["group"].(string)
		names, _ := spec["names"].(map[string]any)
		kind, _ := names["kind"].(string)
		versions, _ := spec["versions"].([]any)
		for _, v := range versions {
			vm, _ := v.(map[string]any)
			name, _ := vm["name"].(string)
			k := crdKey{group, name, kind}
			if _, seen := ss.crds[k]; !seen && name != "" && kind != "" {
				ss.crds[k] = o
			}
		}
	}
}

// For returns the schema of objects of group, version and kind, or nil
// when neither Kubernetes nor a CRD in the snapshots describes them.
func (ss *Schemas) For(group, version, kind string) *Schema {
	if ss == nil {
		return builtinSchema(group, version, kind)
	}
	k := crdKey{group, version, kind}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s, ok := ss.cache[k]; ok {
		return s
	}
	s := builtinSchema(group, version, kind)
	if s == nil {
		if crd := ss.crds[k]; crd != nil {
			s = crdSchema(crd, version)
		}
	}
	ss.cache[k] = s
	return s
}

// builtinTypes converts built-in objects to structured-merge-diff typed
// values; only the schema and the type's name are used from it.
// PrepareSchemas reads the built-in types' schema now, so the first
// comparison that needs it does not wait; it is safe to call at any time,
// from any goroutine, and more than once.
func PrepareSchemas() { builtinTypes() }

var builtinTypes = sync.OnceValue(func() managedfields.TypeConverter {
	return applyconfigurations.NewTypeConverter(scheme.Scheme)
})

func builtinSchema(group, version, kind string) *Schema {
	if version == "" || kind == "" {
		return nil
	}
	apiVersion := version
	if group != "" {
		apiVersion = group + "/" + version
	}
	// An object with nothing but its type is valid against every schema,
	// and says which type of the schema is the kind's.
	tv, err := builtinTypes().ObjectToTyped(&unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind}})
	if err != nil {
		return nil // not a built-in kind
	}
	return &Schema{s: tv.Schema(), root: tv.TypeRef()}
}

// crdSchema converts the openAPIV3Schema a CRD declares for version, with
// its x-kubernetes-list-type and x-kubernetes-list-map-keys, as the API
// server does for server-side apply.
func crdSchema(crd *Object, version string) *Schema {
	spec0, _ := crd.Object["spec"].(map[string]any)
	versions, _ := spec0["versions"].([]any)
	for _, v := range versions {
		vm, _ := v.(map[string]any)
		if vm["name"] != version {
			continue
		}
		sch, _ := vm["schema"].(map[string]any)
		raw, ok := sch["openAPIV3Schema"]
		if !ok {
			return nil
		}
		b, err := json.Marshal(raw)
		if err != nil {
			return nil
		}
		var props spec.Schema
		if err := json.Unmarshal(b, &props); err != nil {
			return nil
		}
		const name = "custom-resource"
		s, err := schemaconv.ToSchemaFromOpenAPI(map[string]*spec.Schema{name: &props}, false)
		if err != nil {
			return nil // not structural: compare as if unknown
		}
		n := name
		return &Schema{s: s, root: smd.TypeRef{NamedType: &n}}
	}
	return nil
}

// shape is a position in a Schema: the type of the value being compared.
// The zero shape is unknown.
type shape struct {
	s    *smd.Schema
	atom smd.Atom
}

func (sc *Schema) shape() shape {
	if sc == nil {
		return shape{}
	}
	return resolve(sc.s, sc.root)
}

func resolve(s *smd.Schema, tr smd.TypeRef) shape {
	if s == nil {
		return shape{}
	}
	a, ok := s.Resolve(tr)
	if !ok || (a.Scalar != nil && *a.Scalar == smd.Untyped) {
		return shape{} // untyped (deduced): nothing known below
	}
	return shape{s: s, atom: a}
}

// field is the shape of a map's value under key k.
func (sh shape) field(k string) shape {
	m := sh.atom.Map
	if sh.s == nil || m == nil {
		return shape{}
	}
	if f, ok := m.FindField(k); ok {
		return resolve(sh.s, f.Type)
	}
	if m.ElementType != (smd.TypeRef{}) {
		return resolve(sh.s, m.ElementType)
	}
	return shape{}
}

// elem is the shape of a list's items.
func (sh shape) elem() shape {
	if sh.s == nil || sh.atom.List == nil {
		return shape{}
	}
	return resolve(sh.s, sh.atom.List.ElementType)
}

// listMode says how a list pairs its items.
type listMode uint8

const (
	listGuess      listMode = iota // unknown: by a guessed name key, else by position
	listPositional                 // atomic: by position
	listKeyed                      // a map: by the values of key fields
	listSet                        // a set of scalars
)

// list returns how a list of this shape pairs its items and, for a keyed
// list, by which fields.
func (sh shape) list() (listMode, []string) {
	l := sh.atom.List
	if sh.s == nil || l == nil {
		return listGuess, nil
	}
	if l.ElementRelationship != smd.Associative {
		return listPositional, nil
	}
	if len(l.Keys) == 0 {
		return listSet, nil
	}
	return listKeyed, l.Keys
}

// fieldDefault is the value the API gives field k of a map of this shape
// when it is absent, or nil: a key field an item may omit (a port's
// protocol is TCP).
func (sh shape) fieldDefault(k string) any {
	if sh.s == nil || sh.atom.Map == nil {
		return nil
	}
	if f, ok := sh.atom.Map.FindField(k); ok && f.Default != nil {
		return canonicalLeaf(f.Default)
	}
	return nil
}
