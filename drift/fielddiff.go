package drift

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

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

// listKeys are the fields that identify list items when no schema says,
// tried in order. volumeMounts may mount one volume twice, so they pair by
// mountPath.
var listKeys = map[string][]string{"volumeMounts": {"mountPath"}, "volumeDevices": {"devicePath"}}

// quantityKeys are the parents of fields that hold resource quantities,
// where "1000m" equals "1" and "256Mi" equals 268435456.
var quantityKeys = map[string]bool{
	"limits": true, "requests": true, "capacity": true, "allocatable": true, "hard": true,
	"podFixed": true, "max": true, "min": true, "default": true, "defaultRequest": true,
	"maxLimitRequestRatio": true,
}

// isQuantity reports whether the value under key k of a map reached by
// parent (the nearest map key above it, list items skipped) is a quantity.
func isQuantity(parent, k string) bool {
	return k == "sizeLimit" || k == "storage" || quantityKeys[parent]
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

// DiffFields compares two normalized objects (or subtrees) with no schema
// (see Schema.DiffFields) and returns every differing leaf-most path, in a
// stable order.
func DiffFields(dev, prod any) []FieldDiff { return (*Schema)(nil).DiffFields(dev, prod) }

// Equivalent reports whether DiffFields(dev, prod) is empty, without
// building it: most objects match their twin, and this is how they are
// told apart cheaply from those that need DiffFields.
func Equivalent(dev, prod any) bool { return (*Schema)(nil).Equivalent(dev, prod) }

// DiffFields compares two normalized objects (or subtrees from their root)
// of the kind sc describes and returns every differing leaf-most path, in
// a stable order: map keys sorted, keyed and set items by their keys, list
// positions in order. Empty maps, lists and nulls are absent, as Kubernetes
// treats them; numbers compare by value, and resource quantities as
// quantities ("1000m" equals "1"). Lists pair items as the API pairs them:
// by their key fields ([containerPort=8080,protocol=TCP]), as sets
// ([=value]), or by position ([2]); a list the schema does not describe
// pairs uniquely named items by name, others by position. The work is
// linear in the size of the objects.
func (sc *Schema) DiffFields(dev, prod any) []FieldDiff {
	w := &walker{}
	w.compare(sc.shape(), "", "", dev, prod)
	return w.diffs
}

// Equivalent reports whether sc.DiffFields(dev, prod) is empty; it stops
// at the first difference and allocates nothing on the way.
func (sc *Schema) Equivalent(dev, prod any) bool {
	w := &walker{quick: true}
	return w.compare(sc.shape(), "", "", dev, prod)
}

// walker walks two values side by side. In quick mode it stops at the
// first difference and keeps no path; otherwise it records every
// difference with its path.
type walker struct {
	quick bool
	path  []step
	diffs []FieldDiff
}

// step is one step of a path: a map key, a list position, a keyed item
// (fields and their values) or a set item.
type step struct {
	key    string
	index  int // a position, or -1
	fields []string
	values []any // a keyed item's key values, or a set item's value
}

// compare compares a and b, of shape sh, the values under map key k (or
// "" for a list item or the root) of a map reached through map key parent,
// and reports whether they are equal.
func (w *walker) compare(sh shape, parent, k string, a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			break
		}
		if !w.quick {
			// A map absent on one side is reported whole. (Quick mode
			// need not ask: the walk below finds the same answer.)
			if absX, absY := absent(x), absent(y); absX || absY {
				return absX && absY || w.report(a, b)
			}
		}
		if k == "" {
			k = parent // a list item: quantities look past the list
		}
		return w.maps(sh, k, x, y, nil)
	case []any:
		y, ok := b.([]any)
		if !ok {
			break
		}
		if len(x) == 0 || len(y) == 0 {
			return len(x) == len(y) || w.report(a, b)
		}
		return w.lists(sh, k, x, y)
	case nil:
	default:
		switch b.(type) {
		case map[string]any, []any, nil:
		default:
			ca, cb := canonicalLeaf(a), canonicalLeaf(b)
			if k != "" && isQuantity(parent, k) {
				if quantityEqual(ca, cb) {
					return true
				}
			} else if leafEqual(ca, cb) || isImageLeaf(parent, k) && sameImageValue(ca, cb) {
				return true
			}
			return w.report(a, b)
		}
	}
	// Values of two kinds: equal only when both are absent.
	return absent(a) && absent(b) || w.report(a, b)
}

// report records that a and b differ at the current path, and returns
// false.
func (w *walker) report(a, b any) bool {
	if !w.quick {
		w.diffs = append(w.diffs, FieldDiff{Path: renderPath(w.path), Dev: clean(a), Prod: clean(b)})
	}
	return false
}

func (w *walker) push(s step) {
	if !w.quick {
		w.path = append(w.path, s)
	}
}

func (w *walker) pop() {
	if !w.quick {
		w.path = w.path[:len(w.path)-1]
	}
}

// maps compares two maps reached through map key parent, but for the
// fields in skip.
func (w *walker) maps(sh shape, parent string, x, y map[string]any, skip []string) bool {
	if w.quick {
		shared := 0
		for k, va := range x {
			vb, inY := y[k]
			if inY {
				shared++
			}
			if skip != nil && slices.Contains(skip, k) {
				continue
			}
			if !w.compare(sh.field(k), parent, k, va, vb) {
				return false
			}
		}
		if shared == len(y) {
			return true
		}
		for k, vb := range y {
			if _, inX := x[k]; !inX && !absent(vb) && !slices.Contains(skip, k) {
				return false
			}
		}
		return true
	}
	keys := make([]string, 0, len(x)+len(y))
	for k := range x {
		keys = append(keys, k)
	}
	for k := range y {
		if _, inX := x[k]; !inX {
			keys = append(keys, k)
		}
	}
	keys = slices.DeleteFunc(keys, func(k string) bool { return slices.Contains(skip, k) })
	slices.Sort(keys)
	equal := true
	for _, k := range keys {
		w.push(step{key: k, index: -1})
		equal = w.compare(sh.field(k), parent, k, x[k], y[k]) && equal
		w.pop()
	}
	return equal
}

// lists compares two non-empty lists under map key k, pairing their items
// as the schema says, or by a guessed name key, or by position.
func (w *walker) lists(sh shape, k string, x, y []any) bool {
	mode, keys := sh.list()
	elem := sh.elem()
	switch mode {
	case listKeyed:
		if keyable(x, keys, elem) && keyable(y, keys, elem) {
			return w.keyed(elem, k, keys, x, y)
		}
	case listSet:
		if isSet(x) && isSet(y) {
			return w.sets(x, y)
		}
	case listGuess:
		kx, ky := namedListKey(k, x), namedListKey(k, y)
		if !slices.Equal(kx, ky) {
			return w.report(x, y) // a named list and a list, or two keyed differently
		}
		if kx != nil {
			return w.keyed(elem, k, kx, x, y)
		}
	}
	return w.positional(elem, k, x, y)
}

// positional pairs items by position; items past the end of the shorter
// list were added or removed at the end.
func (w *walker) positional(elem shape, k string, x, y []any) bool {
	equal := true
	for i := range max(len(x), len(y)) {
		var a, b any
		if i < len(x) {
			a = x[i]
		}
		if i < len(y) {
			b = y[i]
		}
		w.push(step{index: i})
		switch {
		case i >= len(x) || i >= len(y):
			equal = w.report(a, b) && equal // an absent item is still an item
		default:
			equal = w.compare(elem, k, "", a, b) && equal
		}
		w.pop()
		if !equal && w.quick {
			return false
		}
	}
	return equal
}

// keyed pairs two lists' items by the values of their key fields; keyable
// has checked that both lists' items have them, once each.
func (w *walker) keyed(elem shape, k string, keys []string, x, y []any) bool {
	if w.quick {
		if len(x) != len(y) {
			return false // keys are unique on both sides
		}
		var byID map[any]any
		if len(y) > smallList {
			byID = make(map[any]any, len(y))
			for _, it := range y {
				byID[itemID(it, keys, elem)] = it
			}
		}
		for _, ia := range x {
			var match any
			if byID != nil {
				match = byID[itemID(ia, keys, elem)]
			} else {
				for _, ib := range y {
					if sameKeys(ia, ib, keys, elem) {
						match = ib
						break
					}
				}
			}
			if match == nil || !w.item(elem, k, keys, ia, match) {
				return false
			}
		}
		return true
	}
	type pair struct {
		values []any
		a, b   any
	}
	byID := make(map[any]*pair, len(x)+len(y))
	var pairs []*pair
	for side, list := range [][]any{x, y} {
		for _, it := range list {
			id := itemID(it, keys, elem)
			p := byID[id]
			if p == nil {
				p = &pair{values: keyValues(it, keys, elem)}
				byID[id] = p
				pairs = append(pairs, p)
			}
			if side == 0 {
				p.a = it
			} else {
				p.b = it
			}
		}
	}
	slices.SortFunc(pairs, func(p, q *pair) int { return compareTuples(p.values, q.values) })
	equal := true
	for _, p := range pairs {
		w.push(step{index: -1, fields: keys, values: p.values})
		if p.a == nil || p.b == nil {
			equal = w.report(p.a, p.b) && equal
		} else {
			equal = w.item(elem, k, keys, p.a, p.b) && equal
		}
		w.pop()
	}
	return equal
}

// item compares two items of a list under map key k that pair by keys.
// Their key fields are equal, or absent on one side and the default on the
// other (a port's protocol and TCP), and are not compared again.
func (w *walker) item(elem shape, k string, keys []string, a, b any) bool {
	return w.maps(elem, k, a.(map[string]any), b.(map[string]any), keys)
}

// sets compares two sets of scalars; isSet has checked both.
func (w *walker) sets(x, y []any) bool {
	inY := members(y)
	if w.quick {
		if len(x) != len(y) {
			return false
		}
		for _, v := range x {
			if !inY(canonicalLeaf(v)) {
				return false
			}
		}
		return true
	}
	inX := members(x)
	all := make([]any, 0, len(x)+len(y))
	for _, v := range x {
		all = append(all, canonicalLeaf(v))
	}
	for _, v := range y {
		if v = canonicalLeaf(v); !inX(v) {
			all = append(all, v)
		}
	}
	slices.SortFunc(all, compareScalars)
	equal := true
	for _, v := range all {
		a, b := inX(v), inY(v)
		if a && b {
			continue
		}
		w.push(step{index: -1, values: []any{v}})
		if a {
			w.report(v, nil)
		} else {
			w.report(nil, v)
		}
		equal = false
		w.pop()
	}
	return equal
}

// members returns a test of membership in a list of scalars.
func members(list []any) func(any) bool {
	if len(list) <= smallList {
		return func(v any) bool {
			return slices.ContainsFunc(list, func(m any) bool { return canonicalLeaf(m) == v })
		}
	}
	set := make(map[any]bool, len(list))
	for _, m := range list {
		set[canonicalLeaf(m)] = true
	}
	return func(v any) bool { return set[v] }
}

// isSet reports whether list holds distinct scalars, as a set must; one
// that does not compares by position.
func isSet(list []any) bool {
	for _, v := range list {
		switch v.(type) {
		case string, bool, json.Number, float64, int, int64:
		default: // maps, lists, null, and values no decoder makes
			return false
		}
	}
	if len(list) > smallList {
		seen := make(map[any]bool, len(list))
		for _, v := range list {
			if c := canonicalLeaf(v); seen[c] {
				return false
			} else {
				seen[c] = true
			}
		}
		return true
	}
	for i, v := range list {
		for _, prev := range list[:i] {
			if canonicalLeaf(prev) == canonicalLeaf(v) {
				return false
			}
		}
	}
	return true
}

// keyable reports whether every item of list is a map with its key fields
// (or their defaults) set to scalars, each combination once; a list that
// breaks its schema compares by position.
func keyable(list []any, keys []string, elem shape) bool {
	var seen map[any]bool
	if len(list) > smallList {
		seen = make(map[any]bool, len(list))
	}
	for i, it := range list {
		m, ok := it.(map[string]any)
		if !ok {
			return false
		}
		for _, k := range keys {
			switch keyValue(m, k, elem).(type) {
			case string, int64, bool, float64:
			default:
				return false
			}
		}
		if seen != nil {
			id := itemID(it, keys, elem)
			if seen[id] {
				return false
			}
			seen[id] = true
			continue
		}
		for _, prev := range list[:i] {
			if sameKeys(prev, it, keys, elem) {
				return false
			}
		}
	}
	return true
}

// keyValue is the value of an item's key field k, or its default.
func keyValue(m map[string]any, k string, elem shape) any {
	if v, ok := m[k]; ok && v != nil {
		return canonicalLeaf(v)
	}
	return elem.fieldDefault(k)
}

// itemID identifies a keyable item among its list's: the key's value, or
// for several keys their values joined.
func itemID(it any, keys []string, elem shape) any {
	m := it.(map[string]any)
	if len(keys) == 1 {
		return keyValue(m, keys[0], elem)
	}
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%T:%v\x00", keyValue(m, k, elem), keyValue(m, k, elem))
	}
	return b.String()
}

// sameKeys reports whether two keyable items have the same key values.
func sameKeys(a, b any, keys []string, elem shape) bool {
	ma, mb := a.(map[string]any), b.(map[string]any)
	for _, k := range keys {
		if keyValue(ma, k, elem) != keyValue(mb, k, elem) {
			return false
		}
	}
	return true
}

func keyValues(it any, keys []string, elem shape) []any {
	m := it.(map[string]any)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = keyValue(m, k, elem)
	}
	return out
}

func compareTuples(a, b []any) int {
	for i := range a {
		if c := compareScalars(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

// compareScalars orders scalars: numbers by value, then strings, then
// booleans.
func compareScalars(a, b any) int {
	rank := func(v any) int {
		switch v.(type) {
		case int64, float64:
			return 0
		case string:
			return 1
		case bool:
			return 2
		}
		return 3
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra - rb
	}
	switch x := a.(type) {
	case string:
		return strings.Compare(x, b.(string))
	case bool:
		if x == b.(bool) {
			return 0
		}
		if !x {
			return -1
		}
		return 1
	case int64, float64:
		fa, fb := toFloat(a), toFloat(b)
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

func toFloat(v any) float64 {
	if i, ok := v.(int64); ok {
		return float64(i)
	}
	f, _ := v.(float64)
	return f
}

// canonicalLeaf is a scalar with its number in canonical form.
func canonicalLeaf(v any) any {
	switch v.(type) {
	case json.Number, float64, int:
		return canonicalNumbers(v)
	}
	return v
}

// clean is v as reported: without its absent fields, numbers canonical.
func clean(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, c := range t {
			if cc := clean(c); cc != nil {
				out[k] = cc
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
		out := make([]any, len(t))
		for i, c := range t {
			out[i] = clean(c)
		}
		return out
	}
	return canonicalLeaf(v)
}

// renderPath renders a path as spec.template.spec.containers[name=app].image,
// ports[containerPort=8080,protocol=TCP], finalizers[=a] or args[2]: the
// form ValueAt reads.
func renderPath(path []step) string {
	var b strings.Builder
	for _, s := range path {
		switch {
		case s.values != nil:
			b.WriteByte('[')
			if s.fields == nil {
				b.WriteByte('=')
				b.WriteString(selectorValue(s.values[0]))
			}
			for i, f := range s.fields {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(f)
				b.WriteByte('=')
				b.WriteString(selectorValue(s.values[i]))
			}
			b.WriteByte(']')
		case s.index >= 0:
			fmt.Fprintf(&b, "[%d]", s.index)
		case strings.ContainsAny(s.key, ".[]= "):
			fmt.Fprintf(&b, "[%q]", s.key)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.key)
		}
	}
	return b.String()
}

// selectorValue renders a key value in a selector, quoted when it holds
// what would end or split the selector.
func selectorValue(v any) string {
	s := fmt.Sprint(v)
	if _, isString := v.(string); isString && (s == "" || strings.ContainsAny(s, `[],="`+"\\ \t\n") || strings.TrimSpace(s) != s) {
		return strconv.Quote(s)
	}
	return s
}

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
			end := selectorEnd(path)
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

// selectorEnd is the index of the "]" that ends the selector path starts
// with, past quoted values; -1 if none does.
func selectorEnd(path string) int {
	for i := 1; i < len(path); i++ {
		switch path[i] {
		case ']':
			return i
		case '"':
			q, err := strconv.QuotedPrefix(path[i:])
			if err != nil {
				return -1
			}
			i += len(q) - 1
		}
	}
	return -1
}

// itemMatches reports whether a list item fits a selector "k=v,k2=v2", or
// "=v" for an item of a set; a value may be quoted (k="a,b").
func itemMatches(item any, sel string) bool {
	if v, ok := strings.CutPrefix(sel, "="); ok {
		v, ok = selectorUnquote(v)
		return ok && fmt.Sprint(item) == v
	}
	m, ok := item.(map[string]any)
	if !ok {
		return false
	}
	for sel != "" {
		k, rest, ok := strings.Cut(sel, "=")
		if !ok {
			return false
		}
		v := rest
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return false
			}
			v, sel = q, rest[len(q):]
		} else if i := strings.IndexByte(rest, ','); i >= 0 {
			v, sel = rest[:i], rest[i:]
		} else {
			sel = ""
		}
		sel = strings.TrimPrefix(sel, ",")
		v, ok = selectorUnquote(v)
		if !ok || fmt.Sprint(m[k]) != v {
			return false
		}
	}
	return true
}

// selectorUnquote undoes selectorValue.
func selectorUnquote(v string) (string, bool) {
	if !strings.HasPrefix(v, `"`) {
		return v, true
	}
	u, err := strconv.Unquote(v)
	return u, err == nil
}

// absent reports whether v is absent as Kubernetes sees it: nil, an empty list, or a map
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

// nameKey is the key lists of named items pair by when no schema says.
var nameKey = []string{"name"}

// namedListKey is the key field, as a one-item slice, that a non-empty list
// the schema does not describe pairs its items by: a field every item has,
// set to a string unique in the list. Nil means it compares by position.
func namedListKey(key string, list []any) []string {
	keys, ok := listKeys[key]
	if !ok {
		keys = nameKey
	}
next:
	for ki, k := range keys {
		var seen map[string]bool
		if len(list) > smallList {
			seen = make(map[string]bool, len(list))
		}
		for i, it := range list {
			m, ok := it.(map[string]any)
			if !ok {
				return nil
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
		return keys[ki : ki+1]
	}
	return nil
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
