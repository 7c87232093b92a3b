package drift

import (
	"math/big"
)

// Comparable is a reference model of what DiffFields (with no schema)
// tells apart, written apart from it: two values have no field differences
// exactly when their Comparable forms are reflect.DeepEqual. Absent values
// (nulls, empty maps and lists) are dropped, numbers are canonical,
// quantities are their exact decimal value, and lists of uniquely named
// items become namedLists.
func Comparable(v any) any { return comparableRef("", "", v) }

// namedList is a list whose items pair by the key field.
type namedList struct {
	key   string
	items map[string]any
}

// quantity is a resource quantity's exact value.
type quantity struct{ value string }

func comparableRef(parent, key string, v any) any {
	switch t := v.(type) {
	case map[string]any:
		p := key
		if p == "" {
			p = parent // an item of a list
		}
		out := make(map[string]any, len(t))
		for k, child := range t {
			if c := comparableRef(p, k, child); c != nil {
				out[k] = c
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		if len(t) == 0 {
			return nil
		}
		if k := namedListKey(key, t); k != nil {
			nl := namedList{key: k[0], items: make(map[string]any, len(t))}
			for _, it := range t {
				nl.items[it.(map[string]any)[k[0]].(string)] = comparableRef(key, "", it)
			}
			return nl
		}
		out := make([]any, len(t))
		for i, child := range t {
			out[i] = comparableRef(key, "", child)
		}
		return out
	}
	v = canonicalLeaf(v)
	if key != "" && isQuantity(parent, key) {
		if q, err := toQuantity(v); err == nil {
			r, _ := new(big.Rat).SetString(q.AsDec().String())
			return quantity{r.RatString()}
		}
	}
	return v
}
