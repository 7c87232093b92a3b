package calicosel

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// Selector is a parsed Calico selector. It is immutable and safe for
// concurrent use. The zero Selector is all().
type Selector struct {
	root node
	str  string
}

// Matches reports whether a resource with these labels is selected. It has
// the signature of labels.Selector's Matches, so a Selector plugs in where
// one is evaluated.
func (s Selector) Matches(l labels.Labels) bool {
	return s.root == nil || s.root.match(l)
}

// String returns the selector in canonical form, which parses back to the
// same Selector. Spellings that differ only in whitespace, quote style,
// redundant parentheses, double negation, repeated operands of && and ||,
// the order or repetition of set members, or in a few exact rewrites (!(k == "v") is k != "v", k in {"v"}
// is k == "v", k in {} is !all(), all() && x is x) have the same canonical
// form. Operands of && and || keep their order. The canonical form nests
// no deeper than the input but may be longer, by the blanks it puts around
// operators.
func (s Selector) String() string {
	if s.root == nil {
		return "all()"
	}
	return s.str
}

// All reports whether the selector matches every label set by its form:
// all(), the empty selector, or an expression that folds to all(), such as
// all() || x. global() is not all(): it changes a namespaceSelector's scope.
func (s Selector) All() bool {
	c, ok := s.root.(constNode)
	return s.root == nil || ok && bool(c)
}

// None reports whether the selector matches no label set by its form:
// !all(), k in {}, or an expression that folds to one of them.
func (s Selector) None() bool {
	c, ok := s.root.(constNode)
	return ok && !bool(c)
}

// IsGlobal reports whether the selector is exactly global(), the only form
// Calico accepts for global() in a rule's namespaceSelector, where it limits
// the rule's selector to non-namespaced resources (GlobalNetworkSets and
// HostEndpoints).
func (s Selector) IsGlobal() bool {
	_, ok := s.root.(globalNode)
	return ok
}

// HasGlobal reports whether global() appears anywhere in the selector.
// Calico's validation refuses global() outside a rule's namespaceSelector
// and combined with anything else, so the policy model needs to see it.
func (s Selector) HasGlobal() bool {
	found := false
	walk(s.root, func(n node) {
		if _, ok := n.(globalNode); ok {
			found = true
		}
	})
	return found
}

// Keys returns the label keys the selector reads, sorted and without
// repeats.
func (s Selector) Keys() []string {
	var keys []string
	walk(s.root, func(n node) {
		switch n := n.(type) {
		case hasNode:
			keys = append(keys, n.key)
		case cmpNode:
			keys = append(keys, n.key)
		case setNode:
			keys = append(keys, n.key)
		}
	})
	slices.Sort(keys)
	return slices.Compact(keys)
}

// node is one term of the expression tree.
type node interface {
	match(l labels.Labels) bool
	// write appends the canonical text of the node.
	write(b *strings.Builder)
}

func walk(n node, f func(node)) {
	if n == nil {
		return
	}
	f(n)
	switch n := n.(type) {
	case notNode:
		walk(n.x, f)
	case andNode:
		for _, x := range n {
			walk(x, f)
		}
	case orNode:
		for _, x := range n {
			walk(x, f)
		}
	}
}

// constNode is all() (true) or !all() (false).
type constNode bool

func (n constNode) match(labels.Labels) bool { return bool(n) }

func (n constNode) write(b *strings.Builder) {
	if !n {
		b.WriteByte('!')
	}
	b.WriteString("all()")
}

// globalNode is global(). As a label predicate Calico evaluates it as true;
// its scope meaning is left to the caller (IsGlobal, HasGlobal).
type globalNode struct{}

func (globalNode) match(labels.Labels) bool { return true }

func (globalNode) write(b *strings.Builder) { b.WriteString("global()") }

type hasNode struct{ key string }

func (n hasNode) match(l labels.Labels) bool {
	_, ok := l.Lookup(n.key)
	return ok
}

func (n hasNode) write(b *strings.Builder) {
	b.WriteString("has(")
	b.WriteString(n.key)
	b.WriteByte(')')
}

// op is a comparison of a label's value with one string.
type op uint8

const (
	opEq op = iota
	opNe
	opContains
	opStartsWith
	opEndsWith
)

var opText = [...]string{
	opEq:         " == ",
	opNe:         " != ",
	opContains:   " contains ",
	opStartsWith: " starts with ",
	opEndsWith:   " ends with ",
}

type cmpNode struct {
	key, value string
	op         op
}

func (n cmpNode) match(l labels.Labels) bool {
	v, ok := l.Lookup(n.key)
	switch n.op {
	case opEq:
		return ok && v == n.value
	case opNe:
		// Calico: matches resources without the label, too.
		return !ok || v != n.value
	case opContains:
		return ok && strings.Contains(v, n.value)
	case opStartsWith:
		return ok && strings.HasPrefix(v, n.value)
	default:
		return ok && strings.HasSuffix(v, n.value)
	}
}

func (n cmpNode) write(b *strings.Builder) {
	b.WriteString(n.key)
	b.WriteString(opText[n.op])
	writeString(b, n.value)
}

// setNode is k in {...} or, when not is set, k not in {...}. values is
// sorted and without repeats.
type setNode struct {
	key    string
	values []string
	not    bool
}

func (n setNode) match(l labels.Labels) bool {
	v, ok := l.Lookup(n.key)
	if !ok {
		// Calico: "not in" matches resources without the label.
		return n.not
	}
	_, found := slices.BinarySearch(n.values, v)
	return found != n.not
}

func (n setNode) write(b *strings.Builder) {
	b.WriteString(n.key)
	if n.not {
		b.WriteString(" not in {")
	} else {
		b.WriteString(" in {")
	}
	for i, v := range n.values {
		if i > 0 {
			b.WriteString(", ")
		}
		writeString(b, v)
	}
	b.WriteByte('}')
}

// writeString quotes a value with double quotes unless it holds one; the
// language has no escapes, and a value never holds both kinds of quote.
func writeString(b *strings.Builder, v string) {
	q := byte('"')
	if strings.IndexByte(v, '"') >= 0 {
		q = '\''
	}
	b.WriteByte(q)
	b.WriteString(v)
	b.WriteByte(q)
}

type notNode struct{ x node }

func (n notNode) match(l labels.Labels) bool { return !n.x.match(l) }

func (n notNode) write(b *strings.Builder) {
	b.WriteByte('!')
	switch n.x.(type) {
	case andNode, orNode:
		b.WriteByte('(')
		n.x.write(b)
		b.WriteByte(')')
	default:
		// As Calico writes it: "!" binds to the whole comparison, and no
		// parentheses means the canonical form nests no deeper than the
		// input, so it parses back within MaxDepth.
		n.x.write(b)
	}
}

type andNode []node

func (n andNode) match(l labels.Labels) bool {
	for _, x := range n {
		if !x.match(l) {
			return false
		}
	}
	return true
}

func (n andNode) write(b *strings.Builder) {
	for i, x := range n {
		if i > 0 {
			b.WriteString(" && ")
		}
		if _, ok := x.(orNode); ok {
			b.WriteByte('(')
			x.write(b)
			b.WriteByte(')')
		} else {
			x.write(b)
		}
	}
}

type orNode []node

func (n orNode) match(l labels.Labels) bool {
	for _, x := range n {
		if x.match(l) {
			return true
		}
	}
	return false
}

func (n orNode) write(b *strings.Builder) {
	for i, x := range n {
		if i > 0 {
			b.WriteString(" || ")
		}
		// An operand is never an orNode (newOr flattens), and && binds
		// tighter, so no parentheses are needed.
		x.write(b)
	}
}

// The constructors below build the canonical tree; each rewrite is exact
// for every label set, which the fuzz test checks against the tree built
// without them.

func newNot(x node) node {
	switch x := x.(type) {
	case notNode:
		return x.x
	case constNode:
		return !x
	case cmpNode:
		switch x.op {
		case opEq:
			x.op = opNe
			return x
		case opNe:
			x.op = opEq
			return x
		}
	case setNode:
		x.not = !x.not
		return x
	}
	return notNode{x}
}

func newSet(key string, values []string, not bool) node {
	slices.Sort(values)
	values = slices.Compact(values)
	switch len(values) {
	case 0:
		// k in {} matches nothing, k not in {} everything.
		return constNode(not)
	case 1:
		if not {
			return cmpNode{key: key, value: values[0], op: opNe}
		}
		return cmpNode{key: key, value: values[0], op: opEq}
	}
	return setNode{key: key, values: values, not: not}
}

// newAnd flattens nested conjunctions, drops all() and repeated operands,
// and folds to !all() when one operand is !all().
func newAnd(xs []node) node {
	var out andNode
	var seen map[string]bool
	var add func(x node) bool
	add = func(x node) bool {
		switch x := x.(type) {
		case andNode:
			for _, y := range x {
				if !add(y) {
					return false
				}
			}
			return true
		case constNode:
			return bool(x)
		}
		if seen == nil {
			seen = map[string]bool{}
		}
		if k := text(x); !seen[k] {
			seen[k] = true
			out = append(out, x)
		}
		return true
	}
	for _, x := range xs {
		if !add(x) {
			return constNode(false)
		}
	}
	switch len(out) {
	case 0:
		return constNode(true)
	case 1:
		return out[0]
	}
	return out
}

// newOr is newAnd's dual: it flattens, drops !all() and repeats, and folds
// to all() when one operand is all().
func newOr(xs []node) node {
	var out orNode
	var seen map[string]bool
	var add func(x node) bool
	add = func(x node) bool {
		switch x := x.(type) {
		case orNode:
			for _, y := range x {
				if !add(y) {
					return false
				}
			}
			return true
		case constNode:
			return !bool(x)
		}
		if seen == nil {
			seen = map[string]bool{}
		}
		if k := text(x); !seen[k] {
			seen[k] = true
			out = append(out, x)
		}
		return true
	}
	for _, x := range xs {
		if !add(x) {
			return constNode(true)
		}
	}
	switch len(out) {
	case 0:
		return constNode(false)
	case 1:
		return out[0]
	}
	return out
}

func text(n node) string {
	var b strings.Builder
	n.write(&b)
	return b.String()
}
