package calicosel

import (
	"errors"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/labels"
)

// FuzzParse: Parse never panics; an error is a *SyntaxError pointing into
// the input; an accepted selector's String parses back to the same String;
// and the selector, its reparsed canonical form and the tree built without
// the canonical rewrites match exactly the same label sets.
func FuzzParse(f *testing.F) {
	for _, tc := range validCases {
		f.Add(tc.in)
	}
	for _, s := range []string{
		`a in {"x", 'y}`, `(((has(a)`, `has(a) && (b == "c" || !(d in {"e", "f"}) && g not in {"h"})`,
		`!a contains "x" || !!(b starts with "" && c ends with "z")`, "a == \"\xff\"", `global() && !global()`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		sel, err := Parse(expr)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %#v is not a *SyntaxError", err)
			}
			if len(expr) <= MaxLength && (se.Column < 1 || se.Column > utf8.RuneCountInString(expr)+1) {
				t.Fatalf("column %d is outside the input of %d characters", se.Column, utf8.RuneCountInString(expr))
			}
			return
		}
		canon := sel.String()
		if len(canon) > MaxLength {
			// Blanks around operators lengthen the canonical form; Parse
			// bounds input, not what it prints.
			return
		}
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("canonical form %q does not parse: %v", canon, err)
		}
		if got := again.String(); got != canon {
			t.Fatalf("String does not round-trip: %q became %q", canon, got)
		}
		raw, err := parse(expr, true)
		if err != nil {
			t.Fatalf("accepted, but refused without rewrites: %v", err)
		}
		for _, l := range labelSetsFor(expr, raw) {
			want := raw.match(l)
			if got := sel.Matches(l); got != want {
				t.Fatalf("%q on %v: canonical %q gives %v, the plain tree %v", expr, l, canon, got, want)
			}
			if got := again.Matches(l); got != want {
				t.Fatalf("%q on %v: reparsed %q gives %v, the plain tree %v", expr, l, canon, got, want)
			}
		}
	})
}

// labelSetsFor makes label sets that exercise a selector: each key it reads
// is absent, empty, or one of its values with or without something around
// it, so every comparison can go both ways. The choice is random but seeded
// by the expression, so a failure reproduces.
func labelSetsFor(expr string, n node) []labels.Set {
	values := map[string][]string{}
	walk(n, func(n node) {
		switch n := n.(type) {
		case hasNode:
			values[n.key] = append(values[n.key], "")
		case cmpNode:
			values[n.key] = append(values[n.key], n.value)
		case setNode:
			// "" too, as k in {} has no values.
			values[n.key] = append(values[n.key], append(n.values, "")...)
		}
	})
	keys := slices.Sorted(maps.Keys(values))
	h := fnv.New64a()
	h.Write([]byte(expr))
	rng := rand.New(rand.NewPCG(h.Sum64(), 0))
	sets := []labels.Set{{}}
	for range 64 {
		l := labels.Set{}
		for _, k := range keys {
			vs := values[k]
			v := vs[rng.IntN(len(vs))]
			switch rng.IntN(6) {
			case 0:
				continue // absent
			case 1:
				l[k] = ""
			case 2:
				l[k] = v + "x"
			case 3:
				l[k] = "x" + v
			case 4:
				l[k] = strings.ToUpper(v)
			default:
				l[k] = v
			}
		}
		sets = append(sets, l)
	}
	return sets
}
