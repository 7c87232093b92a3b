package drift

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/resource"
)

// FieldDiff is one field that differs between dev and prod. Dev or Prod is
// nil when the field is absent on that side.
type FieldDiff struct {
	Path string `json:"path"`
	Dev  any    `json:"dev"`
	Prod any    `json:"prod"`
}

// DevString and ProdString render the values compactly for people.
func (d FieldDiff) DevString() string  { return renderValue(d.Dev) }
func (d FieldDiff) ProdString() string { return renderValue(d.Prod) }

func renderValue(v any) string {
	if v == nil {
		return "(absent)"
	}
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// namedList is a list of objects keyed by a field, so items pair by key
// rather than by position (containers, env, ports, volumes...).
type namedList struct {
	key   string
	items map[string]any
}

// listKeys are the fields that identify list items, tried in order.
// volumeMounts may mount one volume twice, so they pair by mountPath.
var listKeys = map[string][]string{"volumeMounts": {"mountPath"}, "volumeDevices": {"devicePath"}}

// Comparable prepares a normalized object for comparison: empty maps, lists
// and nulls are dropped (Kubernetes treats them as absent), numbers are
// canonical, and lists of uniquely named items become namedLists.
func Comparable(v any) any { return comparable("", v) }

func comparable(key string, v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, child := range t {
			if c := comparable(k, child); c != nil {
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
		if nl := asNamedList(key, t); nl != nil {
			return nl
		}
		out := make([]any, len(t))
		for i, child := range t {
			out[i] = comparable("", child)
		}
		return out
	case json.Number, float64, int, int32:
		return canonicalNumbers(t)
	}
	return v
}

func asNamedList(key string, list []any) *namedList {
	keys, ok := listKeys[key]
	if !ok {
		keys = []string{"name"}
	}
	for _, k := range keys {
		items := make(map[string]any, len(list))
		for _, it := range list {
			m, ok := it.(map[string]any)
			if !ok {
				return nil
			}
			name, ok := m[k].(string)
			if !ok || name == "" {
				items = nil
				break
			}
			if _, dup := items[name]; dup {
				items = nil
				break
			}
			items[name] = comparable("", m)
		}
		if items != nil {
			return &namedList{key: k, items: items}
		}
	}
	return nil
}

// quantityKeys are the parents of fields that hold resource quantities,
// where "1000m" equals "1" and "256Mi" equals 268435456.
var quantityKeys = map[string]bool{
	"limits": true, "requests": true, "capacity": true, "allocatable": true, "hard": true,
	"podFixed": true, "max": true, "min": true, "default": true, "defaultRequest": true,
	"maxLimitRequestRatio": true,
}

func isQuantityPath(p cmp.Path) bool {
	if len(p) < 2 {
		return false
	}
	mi, ok := p[len(p)-1].(cmp.MapIndex)
	if !ok {
		return false
	}
	if mi.Key().String() == "sizeLimit" || mi.Key().String() == "storage" {
		return true
	}
	for i := len(p) - 2; i >= 0; i-- {
		if parent, ok := p[i].(cmp.MapIndex); ok {
			return quantityKeys[parent.Key().String()]
		}
	}
	return false
}

func quantityEqual(a, b any) bool {
	qa, errA := toQuantity(a)
	qb, errB := toQuantity(b)
	if errA != nil || errB != nil {
		return reflect.DeepEqual(a, b)
	}
	return qa.Cmp(qb) == 0
}

func toQuantity(v any) (resource.Quantity, error) {
	switch t := v.(type) {
	case string:
		return resource.ParseQuantity(t)
	case int64:
		return *resource.NewQuantity(t, resource.DecimalSI), nil
	case float64:
		return resource.ParseQuantity(strconv.FormatFloat(t, 'f', -1, 64))
	}
	return resource.Quantity{}, fmt.Errorf("not a quantity: %v", v)
}

// DiffFields compares two normalized objects (or subtrees) and returns every
// differing leaf-most path, in a stable order.
func DiffFields(dev, prod any) []FieldDiff {
	r := &diffReporter{}
	cmp.Equal(Comparable(dev), Comparable(prod),
		cmp.FilterPath(isQuantityPath, cmp.Comparer(quantityEqual)),
		cmp.FilterPath(isImagePath, cmp.Comparer(sameImageValue)),
		cmp.Transformer("named", func(nl *namedList) map[string]any {
			if nl == nil {
				return nil
			}
			return nl.items
		}),
		cmp.Reporter(r))
	return r.diffs
}

// diffReporter collects differences as readable paths with both values.
type diffReporter struct {
	path  cmp.Path
	diffs []FieldDiff
}

func (r *diffReporter) PushStep(ps cmp.PathStep) { r.path = append(r.path, ps) }
func (r *diffReporter) PopStep()                 { r.path = r.path[:len(r.path)-1] }

func (r *diffReporter) Report(rs cmp.Result) {
	if rs.Equal() {
		return
	}
	vx, vy := r.path.Last().Values()
	r.diffs = append(r.diffs, FieldDiff{Path: renderPath(r.path), Dev: plain(vx), Prod: plain(vy)})
}

// plain turns a reflected value back into JSON-like data, undoing the
// comparison's namedList form.
func plain(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	if v.Kind() == reflect.Interface && v.IsNil() {
		return nil
	}
	return unnamed(v.Interface())
}

func unnamed(v any) any {
	switch t := v.(type) {
	case *namedList:
		out := make([]any, 0, len(t.items))
		for _, k := range sortedKeys(t.items) {
			out = append(out, unnamed(t.items[k]))
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, c := range t {
			out[k] = unnamed(c)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, c := range t {
			out[i] = unnamed(c)
		}
		return out
	}
	return v
}

// renderPath renders a cmp path as spec.template.spec.containers[name=app].image.
func renderPath(p cmp.Path) string {
	var b strings.Builder
	pendingKey := "" // the key field of the namedList being walked
	for _, step := range p {
		switch s := step.(type) {
		case cmp.MapIndex:
			k := s.Key().String()
			switch {
			case pendingKey != "":
				fmt.Fprintf(&b, "[%s=%s]", pendingKey, k)
				pendingKey = ""
			case strings.ContainsAny(k, ".[]= "):
				fmt.Fprintf(&b, "[%q]", k)
			default:
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(k)
			}
		case cmp.SliceIndex:
			i, j := s.SplitKeys()
			if i < 0 {
				i = j
			}
			fmt.Fprintf(&b, "[%d]", i)
		}
		if nl, ok := valueOf(step.Values()).(*namedList); ok && nl != nil {
			pendingKey = nl.key
		}
	}
	return b.String()
}

func valueOf(a, b reflect.Value) any {
	for _, v := range []reflect.Value{a, b} {
		if v.IsValid() && v.CanInterface() {
			if (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) && v.IsNil() {
				continue
			}
			return v.Interface()
		}
	}
	return nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}

func sortStrings(s []string) { slices.Sort(s) }

// ValueAt returns the value at a path as renderPath and managed-field paths
// spell it (spec.containers[name=app].image, metadata.labels["a.b/c"],
// args[2]), or nil when absent.
func ValueAt(obj any, path string) any {
	cur := obj
	for path != "" && cur != nil {
		switch {
		case strings.HasPrefix(path, `["`):
			end := strings.Index(path, `"]`)
			if end < 0 {
				return nil
			}
			key, err := strconv.Unquote(path[1 : end+1])
			if err != nil {
				return nil
			}
			m, _ := cur.(map[string]any)
			cur, path = m[key], path[end+2:]
		case strings.HasPrefix(path, "["):
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return nil
			}
			sel := path[1:end]
			path = path[end+1:]
			list, _ := cur.([]any)
			cur = nil
			if strings.Contains(sel, "=") {
				for _, it := range list {
					if itemMatches(it, sel) {
						cur = it
						break
					}
				}
			} else if i, err := strconv.Atoi(sel); err == nil && i >= 0 && i < len(list) {
				cur = list[i]
			}
		default:
			path = strings.TrimPrefix(path, ".")
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			m, _ := cur.(map[string]any)
			cur, path = m[path[:end]], path[end:]
		}
	}
	return cur
}

// itemMatches reports whether a list item fits a selector "k=v,k2=v2", or
// "=v" for an item of a set.
func itemMatches(item any, sel string) bool {
	if v, ok := strings.CutPrefix(sel, "="); ok {
		return fmt.Sprint(item) == v
	}
	m, ok := item.(map[string]any)
	if !ok {
		return false
	}
	for _, kv := range strings.Split(sel, ",") {
		k, v, _ := strings.Cut(kv, "=")
		if fmt.Sprint(m[k]) != v {
			return false
		}
	}
	return true
}

// Equivalent reports whether dev and prod have no field differences:
// reflect.DeepEqual(Comparable(dev), Comparable(prod)), without building
// either. Most objects match their twin, and this is how they are told
// apart cheaply from those that need DiffFields.
func Equivalent(dev, prod any) bool { return equivalent("", dev, prod) }

// equivalent is comparable(key, a) deeply equal to comparable(key, b).
// It asks whether a value is absent (comparable drops it) only for a key
// one side lacks, or where the two sides are not of one kind.
func equivalent(key string, a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return absent(a) && absent(b)
		}
		shared := 0
		for k, va := range x {
			vb, inY := y[k]
			if !inY {
				if !absent(va) {
					return false
				}
				continue
			}
			shared++
			if !equivalent(k, va, vb) {
				return false
			}
		}
		if shared == len(y) {
			return true
		}
		for k, vb := range y {
			if _, inX := x[k]; !inX && !absent(vb) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok {
			return len(x) == 0 && absent(b)
		}
		if len(x) == 0 || len(y) == 0 {
			return len(x) == 0 && len(y) == 0
		}
		ka, kb := namedListKey(key, x), namedListKey(key, y)
		if ka != kb {
			return false // a namedList and a list, or two keyed differently
		}
		if ka == "" {
			if len(x) != len(y) {
				return false
			}
			for i := range x {
				if !equivalent("", x[i], y[i]) {
					return false
				}
			}
			return true
		}
		if len(x) != len(y) {
			return false // names are unique on both sides
		}
		find := func(name any) any {
			for _, ib := range y {
				if ib.(map[string]any)[ka] == name {
					return ib
				}
			}
			return nil
		}
		if len(y) > smallList {
			byName := make(map[any]any, len(y))
			for _, ib := range y {
				byName[ib.(map[string]any)[ka]] = ib
			}
			find = func(name any) any { return byName[name] }
		}
		for _, ia := range x {
			match := find(ia.(map[string]any)[ka])
			if match == nil || !equivalent("", ia, match) {
				return false
			}
		}
		return true
	case nil:
		return absent(b)
	}
	switch b.(type) {
	case nil:
		return false
	case map[string]any, []any:
		return false // a is present: a value that is not a map or a list
	}
	return leafEqual(comparable("", a), comparable("", b))
}

// absent reports whether comparable drops v: nil, an empty list, or a map
// with nothing but absent values.
func absent(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		for _, c := range t {
			if !absent(c) {
				return false
			}
		}
		return true
	case []any:
		return len(t) == 0
	}
	return false
}

// namedListKey is the key asNamedList pairs a non-empty list's items by,
// or "" when the list compares by position.
func namedListKey(key string, list []any) string {
	keys, ok := listKeys[key]
	if !ok {
		keys = []string{"name"}
	}
next:
	for _, k := range keys {
		var seen map[string]bool
		if len(list) > smallList {
			seen = make(map[string]bool, len(list))
		}
		for i, it := range list {
			m, ok := it.(map[string]any)
			if !ok {
				return ""
			}
			name, ok := m[k].(string)
			if !ok || name == "" {
				continue next
			}
			if seen != nil {
				if seen[name] {
					continue next
				}
				seen[name] = true
				continue
			}
			for _, prev := range list[:i] {
				if prev.(map[string]any)[k] == name {
					continue next
				}
			}
		}
		return k
	}
	return ""
}

// smallList is the longest list whose items are paired by scanning.
const smallList = 16

// leafEqual is reflect.DeepEqual for the leaves of comparable values.
func leafEqual(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	}
	return reflect.DeepEqual(a, b)
}
