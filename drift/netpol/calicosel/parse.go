package calicosel

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

const (
	// MaxLength is the longest selector Parse accepts, in bytes. Calico's
	// CRDs cap a selector at 1,024 characters; the bound here only keeps
	// hostile input from costing more than a glance.
	MaxLength = 64 << 10
	// MaxDepth is the deepest nesting of parentheses Parse accepts, which
	// bounds the recursion of parsing and matching.
	MaxDepth = 100
	// MaxLabelLength is the longest label key Calico's tokenizer accepts.
	MaxLabelLength = 512
)

// SyntaxError is why Parse refused a selector. Column is 1-based and counts
// characters (runes), so it points into the text as a user sees it; it is 0
// when the error is about the whole selector, such as its length.
type SyntaxError struct {
	Column int
	Msg    string
}

// Error returns "column N: what was expected" or, for Column 0, the message
// alone.
func (e *SyntaxError) Error() string {
	if e.Column == 0 {
		return e.Msg
	}
	return fmt.Sprintf("column %d: %s", e.Column, e.Msg)
}

// Parse parses a Calico selector expression. The empty selector, and one of
// blanks only, is all(). An error is a *SyntaxError naming the column and
// what was expected there.
func Parse(expr string) (Selector, error) {
	root, err := parse(expr, false)
	if err != nil {
		return Selector{}, err
	}
	return Selector{root: root, str: text(root)}, nil
}

// parse builds the tree; raw skips the canonical rewrites, for tests that
// check those rewrites against the plain tree.
func parse(expr string, raw bool) (node, error) {
	if len(expr) > MaxLength {
		return nil, &SyntaxError{Msg: fmt.Sprintf("selector is %d bytes, longer than the limit of %d", len(expr), MaxLength)}
	}
	p := &parser{in: expr, raw: raw}
	p.skipBlanks()
	if p.eof() {
		return constNode(true), nil
	}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	p.skipBlanks()
	if !p.eof() {
		return nil, p.expected(`"&&", "||" or the end of the selector`)
	}
	return n, nil
}

// parser is a recursive-descent parser over the input bytes. It lexes on
// demand because Calico's tokens depend on context: "in" is an operator
// after a label and a label anywhere else.
type parser struct {
	in    string
	pos   int
	depth int
	raw   bool
}

func (p *parser) eof() bool { return p.pos >= len(p.in) }

func (p *parser) rest() string { return p.in[p.pos:] }

// skipBlanks skips spaces and tabs, the only whitespace Calico knows.
func (p *parser) skipBlanks() {
	for p.pos < len(p.in) && (p.in[p.pos] == ' ' || p.in[p.pos] == '\t') {
		p.pos++
	}
}

// accept consumes s if the input continues with it.
func (p *parser) accept(s string) bool {
	if strings.HasPrefix(p.rest(), s) {
		p.pos += len(s)
		return true
	}
	return false
}

// acceptWords consumes words separated by optional blanks ("starts with",
// "startswith"), when the last is not followed by a label character.
func (p *parser) acceptWords(words ...string) bool {
	start := p.pos
	for i, w := range words {
		if i > 0 {
			p.skipBlanks()
		}
		if !p.accept(w) {
			p.pos = start
			return false
		}
	}
	if !p.eof() && isLabelByte(p.in[p.pos]) {
		p.pos = start
		return false
	}
	return true
}

func (p *parser) column(pos int) int {
	return utf8.RuneCountInString(p.in[:pos]) + 1
}

func (p *parser) errorAt(pos int, format string, args ...any) error {
	return &SyntaxError{Column: p.column(pos), Msg: fmt.Sprintf(format, args...)}
}

// expected reports at the current position what was expected and what is
// there instead.
func (p *parser) expected(what string) error {
	return p.errorAt(p.pos, "expected %s, found %s", what, p.found())
}

// found describes the input at the current position: the end, or its next
// few characters, quoted so that control characters stay inert.
func (p *parser) found() string {
	if p.eof() {
		return "the end of the selector"
	}
	r := p.rest()
	end := 0
	for n := 0; end < len(r) && n < 12; n++ {
		c, size := utf8.DecodeRuneInString(r[end:])
		if c == ' ' || c == '\t' || (n > 0 && isLabelByte(r[0]) != (c < utf8.RuneSelf && isLabelByte(byte(c)))) {
			break
		}
		end += size
	}
	return fmt.Sprintf("%q", r[:end])
}

func (p *parser) or() (node, error) {
	var xs []node
	for {
		x, err := p.and()
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
		p.skipBlanks()
		if !p.accept("||") {
			break
		}
	}
	if len(xs) == 1 {
		return xs[0], nil
	}
	if p.raw {
		return orNode(xs), nil
	}
	return newOr(xs), nil
}

func (p *parser) and() (node, error) {
	var xs []node
	for {
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
		p.skipBlanks()
		if !p.accept("&&") {
			break
		}
	}
	if len(xs) == 1 {
		return xs[0], nil
	}
	if p.raw {
		return andNode(xs), nil
	}
	return newAnd(xs), nil
}

// unary reads any number of "!" and the operand they negate. Calico
// collapses them to their parity; so does this, without recursing, so a
// long run of "!" costs no stack.
func (p *parser) unary() (node, error) {
	negate := false
	for {
		p.skipBlanks()
		// "!=" is never a negation, even where an operand is expected.
		if strings.HasPrefix(p.rest(), "!=") || !p.accept("!") {
			break
		}
		negate = !negate
	}
	x, err := p.primary()
	if err != nil || !negate {
		return x, err
	}
	if p.raw {
		return notNode{x}, nil
	}
	return newNot(x), nil
}

func (p *parser) primary() (node, error) {
	p.skipBlanks()
	start := p.pos
	switch {
	case p.accept("("):
		if p.depth >= MaxDepth {
			return nil, p.errorAt(start, "parentheses nest deeper than %d levels", MaxDepth)
		}
		p.depth++
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		p.depth--
		p.skipBlanks()
		if !p.accept(")") {
			return nil, p.expected(`"&&", "||" or ")"`)
		}
		return x, nil
	case p.accept("all("):
		if err := p.closeCall("all("); err != nil {
			return nil, err
		}
		return constNode(true), nil
	case p.accept("global("):
		if err := p.closeCall("global("); err != nil {
			return nil, err
		}
		return globalNode{}, nil
	case p.accept("has("):
		p.skipBlanks()
		key, err := p.label(`a label key after "has("`)
		if err != nil {
			return nil, err
		}
		if err := p.closeCall("has(" + key); err != nil {
			return nil, err
		}
		return hasNode{key}, nil
	}
	if p.eof() || !isLabelByte(p.in[p.pos]) {
		return nil, p.expected(`a label key, "has(", "all()", "global()", "!" or "("`)
	}
	key, err := p.label("")
	if err != nil {
		return nil, err
	}
	return p.comparison(key)
}

// closeCall reads the blanks and ")" that end has(k), all() and global().
func (p *parser) closeCall(opened string) error {
	p.skipBlanks()
	if !p.accept(")") {
		return p.expected(fmt.Sprintf(`")" to close %q`, opened))
	}
	return nil
}

// label reads a label key at the current position.
func (p *parser) label(what string) (string, error) {
	start := p.pos
	for !p.eof() && isLabelByte(p.in[p.pos]) {
		p.pos++
	}
	key := p.in[start:p.pos]
	switch {
	case key == "":
		return "", p.expected(what)
	case len(key) > MaxLabelLength:
		return "", p.errorAt(start, "label key is %d characters, longer than Calico's limit of %d", len(key), MaxLabelLength)
	}
	return key, nil
}

// comparison reads the operator and operand after a label key.
func (p *parser) comparison(key string) (node, error) {
	p.skipBlanks()
	var o op
	switch {
	case p.accept("=="):
		o = opEq
	case p.accept("!="):
		o = opNe
	case p.acceptWords("contains"):
		o = opContains
	case p.acceptWords("starts", "with"):
		o = opStartsWith
	case p.acceptWords("ends", "with"):
		o = opEndsWith
	case p.acceptWords("not", "in"):
		return p.set(key, true)
	case p.acceptWords("in"):
		return p.set(key, false)
	default:
		return nil, p.expected(fmt.Sprintf("an operator (==, !=, in, not in, contains, starts with, ends with) after label %q", key))
	}
	p.skipBlanks()
	v, ok, err := p.str()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, p.expected(`a quoted string`)
	}
	return cmpNode{key: key, value: v, op: o}, nil
}

// set reads "{" [ string { "," string } [ "," ] ] "}". Calico accepts a
// trailing comma and the empty set.
func (p *parser) set(key string, not bool) (node, error) {
	p.skipBlanks()
	if !p.accept("{") {
		return nil, p.expected(`"{" to start a set of quoted strings`)
	}
	values := []string{}
	for {
		p.skipBlanks()
		v, ok, err := p.str()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		values = append(values, v)
		p.skipBlanks()
		if !p.accept(",") {
			if p.accept("}") {
				return p.newSet(key, values, not), nil
			}
			return nil, p.expected(`"}" or ","`)
		}
	}
	if !p.accept("}") {
		return nil, p.expected(`a quoted string or "}"`)
	}
	return p.newSet(key, values, not), nil
}

func (p *parser) newSet(key string, values []string, not bool) node {
	if p.raw {
		// Sorted all the same: setNode.match searches by halves.
		slices.Sort(values)
		return setNode{key: key, values: slices.Compact(values), not: not}
	}
	return newSet(key, values, not)
}

// str reads a quoted string if one starts here: ok is false when none
// does, and err is set when one starts but never ends.
func (p *parser) str() (v string, ok bool, err error) {
	if p.eof() || (p.in[p.pos] != '"' && p.in[p.pos] != '\'') {
		return "", false, nil
	}
	q := p.in[p.pos]
	end := strings.IndexByte(p.in[p.pos+1:], q)
	if end < 0 {
		return "", false, p.errorAt(p.pos, "unterminated string: no closing %s", string(q))
	}
	v = p.in[p.pos+1 : p.pos+1+end]
	p.pos += end + 2
	return v, true, nil
}

// isLabelByte reports whether c may appear in a label key: Calico's
// tokenizer takes letters, digits, '_', '.', '/' and '-', in any position.
func isLabelByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '.' || c == '/' || c == '-'
}
