package rules

import (
	"fmt"
	"maps"
	"path"
	"reflect"
	"strconv"
	"strings"
)

// A Path selects fields of an object: dot-separated keys, `[*]` for every
// item of a list, `*` for every key of a map, and `["a.b/c"]` for a key that
// holds dots; a quoted or bare key may be a glob (`["pod-security.kubernetes.io/*"]`).
// A key applied to a list applies to each of its items.
type Path struct {
	raw   string
	steps []pathStep
}

type pathStep struct {
	key      string // glob over map keys
	anyIndex bool   // [*]
	// literal is set by ParsePath when key has no glob metacharacter, so
	// matching is comparing: rules match paths against every key of every
	// object.
	literal bool
}

// matchesKey reports whether the step selects the map key k.
func (ps pathStep) matchesKey(k string) bool {
	if ps.anyIndex {
		return false
	}
	if ps.literal {
		return ps.key == k
	}
	return globMatch(ps.key, k)
}

func (p Path) String() string { return p.raw }

// ParsePath parses a path pattern.
func ParsePath(s string) (Path, error) {
	p := Path{raw: s}
	rest := s
	if strings.TrimSpace(s) == "" {
		return p, fmt.Errorf("empty path")
	}
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, "[*]"):
			p.steps = append(p.steps, pathStep{anyIndex: true})
			rest = rest[3:]
		case strings.HasPrefix(rest, `["`):
			end := strings.Index(rest, `"]`)
			if end < 0 {
				return p, fmt.Errorf("path %q: unterminated [\"...\"]", s)
			}
			key, err := strconv.Unquote(rest[1 : end+1])
			if err != nil {
				return p, fmt.Errorf("path %q: %v", s, err)
			}
			p.steps = append(p.steps, pathStep{key: key})
			rest = rest[end+2:]
		case strings.HasPrefix(rest, "["):
			return p, fmt.Errorf("path %q: use [*] for list items or [\"key\"] for keys with dots", s)
		default:
			rest = strings.TrimPrefix(rest, ".")
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			if end == 0 {
				return p, fmt.Errorf("path %q: empty key", s)
			}
			p.steps = append(p.steps, pathStep{key: rest[:end]})
			rest = rest[end:]
		}
		last := &p.steps[len(p.steps)-1]
		if _, err := path.Match(last.key, ""); err != nil {
			return p, fmt.Errorf("path %q: bad glob: %v", s, err)
		}
		last.literal = !last.anyIndex && !strings.ContainsAny(last.key, globMeta)
	}
	return p, nil
}

// identityKeys are kept in projected list items so named lists still pair by name.
var identityKeys = []string{"name", "mountPath", "devicePath"}

// Project returns the parts of obj that any of paths selects, keeping the
// shape of the object (and list items' names), or nil when none is present.
func Project(obj any, paths []Path) any {
	suffixes := make([][]pathStep, len(paths))
	for i, p := range paths {
		suffixes[i] = p.steps
	}
	return project(obj, suffixes)
}

func project(v any, suffixes [][]pathStep) any {
	for _, s := range suffixes {
		if len(s) == 0 {
			return v // selected whole
		}
	}
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, child := range t {
			var next [][]pathStep
			for _, s := range suffixes {
				if s[0].matchesKey(k) {
					next = append(next, s[1:])
				}
			}
			if len(next) == 0 {
				continue
			}
			if c := project(child, next); c != nil {
				out[k] = c
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		var next [][]pathStep
		for _, s := range suffixes {
			if s[0].anyIndex {
				next = append(next, s[1:])
			} else {
				next = append(next, s) // a key applied to a list applies to each item
			}
		}
		out := make([]any, 0, len(t))
		anyKept := false
		for _, item := range t {
			c := project(item, next)
			if c != nil {
				anyKept = true
			}
			out = append(out, withIdentity(item, c))
		}
		if !anyKept {
			return nil
		}
		return out
	}
	return nil
}

func withIdentity(item, projected any) any {
	src, ok := item.(map[string]any)
	if !ok {
		return projected
	}
	out, _ := projected.(map[string]any)
	if out == nil {
		out = map[string]any{}
	} else if reflect.ValueOf(out).Pointer() == reflect.ValueOf(src).Pointer() {
		// The whole item was selected: the item itself, which belongs to a
		// loaded snapshot (read-only, its maps shared) is not written to.
		out = maps.Clone(out)
	}
	for _, k := range identityKeys {
		if v, ok := src[k]; ok {
			out[k] = v
		}
	}
	return out
}

// Prune returns a copy of obj without the fields any of paths selects.
func Prune(obj any, paths []Path) any {
	if len(paths) == 0 {
		return obj
	}
	suffixes := make([][]pathStep, len(paths))
	for i, p := range paths {
		suffixes[i] = p.steps
	}
	return prune(obj, suffixes)
}

func prune(v any, suffixes [][]pathStep) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
	keys:
		for k, child := range t {
			var next [][]pathStep
			for _, s := range suffixes {
				if s[0].matchesKey(k) {
					if len(s) == 1 {
						continue keys // dropped
					}
					next = append(next, s[1:])
				}
			}
			if len(next) == 0 {
				out[k] = child
			} else {
				out[k] = prune(child, next)
			}
		}
		return out
	case []any:
		var next [][]pathStep
		for _, s := range suffixes {
			switch {
			case s[0].anyIndex && len(s) == 1:
				return nil
			case s[0].anyIndex:
				next = append(next, s[1:])
			default:
				next = append(next, s)
			}
		}
		out := make([]any, len(t))
		for i, item := range t {
			out[i] = prune(item, next)
		}
		return out
	}
	return v
}

// globMeta are the bytes path.Match gives a meaning to.
const globMeta = `*?[\`

func globMatch(pattern, key string) bool {
	if pattern == key || pattern == "*" {
		return true
	}
	if !strings.ContainsAny(pattern, globMeta) {
		return false // no metacharacter: path.Match would compare the strings
	}
	ok, _ := path.Match(pattern, key)
	return ok
}

// Covers reports whether the pattern selects the field at a concrete path
// as DiffFields and managedFields spell it
// (spec.template.spec.containers[name=app].image, metadata.labels["a.b/c"]):
// the field itself or one of its ancestors. A key applied to a list applies
// to each item, as in Project.
func (p Path) Covers(concrete string) bool {
	toks, ok := concreteSteps(concrete)
	if !ok {
		return false
	}
	steps := p.steps
	for len(steps) > 0 {
		if len(toks) == 0 {
			return false // the pattern selects something below this field
		}
		t := toks[0]
		switch {
		case t.item && steps[0].anyIndex:
			steps = steps[1:]
		case t.item:
			// a key applied to a list: the item is passed over
		case steps[0].matchesKey(t.key):
			steps = steps[1:]
		default:
			return false
		}
		toks = toks[1:]
	}
	return true
}

type concreteStep struct {
	key  string
	item bool // a list item: [name=app], [2], [=value]
}

// concreteSteps splits a concrete path into map keys and list items.
func concreteSteps(s string) ([]concreteStep, bool) {
	var out []concreteStep
	for s != "" {
		switch {
		case strings.HasPrefix(s, `["`):
			end := strings.Index(s, `"]`)
			if end < 0 {
				return nil, false
			}
			key, err := strconv.Unquote(s[1 : end+1])
			if err != nil {
				return nil, false
			}
			out = append(out, concreteStep{key: key})
			s = s[end+2:]
		case strings.HasPrefix(s, "["):
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, false
			}
			out = append(out, concreteStep{item: true})
			s = s[end+1:]
		default:
			s = strings.TrimPrefix(s, ".")
			end := strings.IndexAny(s, ".[")
			if end < 0 {
				end = len(s)
			}
			if end == 0 {
				return nil, false
			}
			out = append(out, concreteStep{key: s[:end]})
			s = s[end:]
		}
	}
	return out, true
}
