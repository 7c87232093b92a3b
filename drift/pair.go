package drift

import (
	"context"
	"maps"
	"slices"
	"strings"
)

// Mapping says how dev's names stand for prod's: namespaces renamed
// (payments-dev is payments) and strings substituted (dev.example.com is
// example.com), applied to dev before comparing.
type Mapping struct {
	Namespaces    map[string]string `json:"namespaces,omitempty" yaml:"namespaces"`
	Substitutions []Substitution    `json:"substitutions,omitempty" yaml:"substitutions"`
}

// Substitution replaces Dev with Prod in every string value of a dev object.
type Substitution struct {
	Dev  string `json:"dev" yaml:"dev"`
	Prod string `json:"prod" yaml:"prod"`
}

// Pair is one object as seen in dev and in prod; either may be nil.
type Pair struct {
	ID   ObjectID
	Dev  *Object
	Prod *Object
}

// PairObjects matches dev's objects with prod's by group, kind, namespace and
// name, after applying the mapping to dev. The result is sorted by ID. The
// snapshots are not changed: what the mapping changes in a dev object is
// copied (the object and metadata maps for a rename, the maps and lists
// above a substituted string), and the rest is shared with the snapshot.
func PairObjects(dev, prod *Snapshot, m Mapping) []Pair {
	pairs, _ := PairObjectsContext(context.Background(), dev, prod, m)
	return pairs
}

// PairObjectsContext is PairObjects, returning ctx's error soon after ctx
// is done: mapping a large dev snapshot's substitutions takes seconds.
func PairObjectsContext(ctx context.Context, dev, prod *Snapshot, m Mapping) ([]Pair, error) {
	mapped := make([]Object, len(dev.Objects))
	for i := range dev.Objects {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		mapped[i] = m.apply(dev.Objects[i])
	}
	byID := make(map[ObjectID]int, len(prod.Objects))
	for i := range prod.Objects {
		byID[prod.Objects[i].ID()] = i
	}
	pairs := make([]Pair, 0, len(prod.Objects)+len(mapped)/8)
	matched := make([]bool, len(prod.Objects))
	for i := range mapped {
		o := &mapped[i]
		p := Pair{ID: o.ID(), Dev: o}
		if j, ok := byID[p.ID]; ok {
			p.Prod = &prod.Objects[j]
			matched[j] = true
		}
		pairs = append(pairs, p)
	}
	for j := range prod.Objects {
		if !matched[j] {
			pairs = append(pairs, Pair{ID: prod.Objects[j].ID(), Prod: &prod.Objects[j]})
		}
	}
	sortPairs(pairs)
	return pairs, nil
}

// apply maps one dev object. Copying the whole object first, as it once
// did, cost a diff with a mapping a deep copy of every dev object.
func (m Mapping) apply(o Object) Object {
	if len(m.Namespaces) == 0 && len(m.Substitutions) == 0 {
		return o
	}
	out := o
	if to, ok := m.Namespaces[o.Namespace]; ok {
		out.Namespace = to
	}
	if o.Group == "" && o.Kind == "Namespace" {
		if to, ok := m.Namespaces[o.Name]; ok {
			out.Name = to
		}
	}
	obj := o.Object
	if meta, ok := obj["metadata"].(map[string]any); ok && (out.Namespace != o.Namespace || out.Name != o.Name) {
		meta = maps.Clone(meta)
		if out.Namespace != o.Namespace {
			meta["namespace"] = out.Namespace
		}
		if out.Name != o.Name {
			meta["name"] = out.Name
			// The API server labels every namespace with its own name.
			if l, ok := meta["labels"].(map[string]any); ok && l["kubernetes.io/metadata.name"] == o.Name {
				l = maps.Clone(l)
				l["kubernetes.io/metadata.name"] = out.Name
				meta["labels"] = l
			}
		}
		obj = maps.Clone(obj)
		obj["metadata"] = meta
	}
	if v, changed := m.substitute(obj); changed {
		obj = v.(map[string]any)
	}
	out.Object = obj
	return out
}

// substitute returns v with the substitutions made in every string value,
// and whether any changed: maps and lists are copied only above a change.
// A nil map or list becomes an empty one, as the deep copy apply once
// made turned them.
func (m Mapping) substitute(v any) (any, bool) {
	switch t := v.(type) {
	case map[string]any:
		if t == nil {
			return map[string]any{}, true
		}
		var out map[string]any
		for k, c := range t {
			if nc, changed := m.substitute(c); changed {
				if out == nil {
					out = maps.Clone(t)
				}
				out[k] = nc
			}
		}
		if out == nil {
			return v, false
		}
		return out, true
	case []any:
		if t == nil {
			return []any{}, true
		}
		var out []any
		for i, c := range t {
			if nc, changed := m.substitute(c); changed {
				if out == nil {
					out = slices.Clone(t)
				}
				out[i] = nc
			}
		}
		if out == nil {
			return v, false
		}
		return out, true
	case string:
		if len(m.Substitutions) == 0 {
			return v, false
		}
		s := t
		for _, sub := range m.Substitutions {
			if sub.Dev != "" {
				s = strings.ReplaceAll(s, sub.Dev, sub.Prod)
			}
		}
		return s, s != t
	}
	return v, false
}

func sortPairs(p []Pair) {
	slices.SortFunc(p, func(a, b Pair) int { return a.ID.Compare(b.ID) })
}
