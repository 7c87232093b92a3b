package calicosel

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/labels"
)

type set = labels.Set

// validCases are selectors Calico accepts, their canonical form here, and
// label sets each must and must not match.
var validCases = []struct {
	in, want string
	match    []set
	noMatch  []set
}{
	// Match operators and their meaning on absent labels, from the table
	// of calico/_includes/content/_selectors.mdx (tigera/docs) and
	// selectorTests in libcalico-go/lib/selector/parser/parser_test.go.
	{`a == "b"`, `a == "b"`, []set{{"a": "b"}, {"a": "b", "c": "d"}}, []set{{}, {"a": "c"}, {"c": "d"}, {"a": ""}}},
	{`a == ""`, `a == ""`, []set{{"a": ""}}, []set{{}, {"a": "x"}}},
	{`a != "b"`, `a != "b"`, []set{{}, {"a": "c"}, {"a": ""}, {"c": "b"}}, []set{{"a": "b"}}},
	{`has(a)`, `has(a)`, []set{{"a": ""}, {"a": "b"}}, []set{{}, {"b": "a"}}},
	{`!has(a)`, `!has(a)`, []set{{}, {"b": "a"}}, []set{{"a": ""}}},
	{`a in {"x", "y"}`, `a in {"x", "y"}`, []set{{"a": "x"}, {"a": "y"}}, []set{{}, {"a": "z"}, {"a": ""}, {"b": "x"}}},
	{`a not in {"x", "y"}`, `a not in {"x", "y"}`, []set{{}, {"a": "z"}, {"a": ""}, {"b": "x"}}, []set{{"a": "x"}, {"a": "y"}}},
	{`a in {"'", '"', "c"}`, `a in {'"', "'", "c"}`, []set{{"a": "c"}, {"a": `"`}, {"a": `'`}}, []set{{}, {"a": "e"}}},
	{`a not in {"'", '"', "c"}`, `a not in {'"', "'", "c"}`, []set{{}, {"a": "e"}}, []set{{"a": "c"}, {"a": `"`}, {"a": `'`}}},
	{`a contains "a"`, `a contains "a"`, []set{{"a": "a"}, {"a": "bab"}, {"a": "aaa", "b": "c"}}, []set{{}, {"a": "b"}, {"b": "aaa"}}},
	{`a contains ""`, `a contains ""`, []set{{"a": ""}, {"a": "x"}}, []set{{}}},
	{`a starts with "a"`, `a starts with "a"`, []set{{"a": "a"}, {"a": "abb"}}, []set{{}, {"a": "b"}, {"a": "baa"}, {"b": "aaa"}}},
	{`a ends with "a"`, `a ends with "a"`, []set{{"a": "a"}, {"a": "bba"}}, []set{{}, {"a": "b"}, {"a": "aab"}, {"b": "aaa"}}},
	{`all()`, `all()`, []set{{}, {"a": "b"}}, nil},
	{`!all()`, `!all()`, nil, []set{{}, {"a": "b"}}},
	{`global()`, `global()`, []set{{}, {"a": "b"}}, nil},
	{` global( )`, `global()`, []set{{}}, nil},

	// The empty selector is all(): parser_test.go selectorTests and
	// canonicalisationTests; blanks are space and tab (tokenizer.go).
	{``, `all()`, []set{{}, {"a": "b"}}, nil},
	{" \t ", `all()`, []set{{}}, nil},
	{` all() `, `all()`, []set{{}}, nil},
	{` (all() )`, `all()`, []set{{}}, nil},
	{`all( )`, `all()`, []set{{}}, nil},

	// Negation: any run of "!" is its parity, and "!" binds tighter than
	// the comparison's operands reach (parser_test.go selectorTests).
	{`!!has(b)`, `has(b)`, []set{{"b": ""}}, []set{{"a": "b"}}},
	{`! has(a)`, `!has(a)`, []set{{}}, []set{{"a": "b"}}},
	{`!!! has(a)`, `!has(a)`, []set{{}}, []set{{"a": "b"}}},
	{`!! ! has(a)`, `!has(a)`, []set{{}}, []set{{"a": "b"}}},
	{`! !!has(a)`, `!has(a)`, []set{{}}, []set{{"a": "b"}}},
	{`!a in {"a"}`, `a != "a"`, []set{{"a": "b"}, {}}, []set{{"a": "a"}}},
	{`!a == 'a1' && b == 'b1'`, `a != "a1" && b == "b1"`, []set{{"b": "b1"}}, []set{{"a": "a1", "b": "b1"}}},
	{`a != 'a1' && !b == 'b1'`, `a != "a1" && b != "b1"`, []set{{}}, []set{{"a": "a1", "b": "b1"}}},
	{`! a == 'a1' || ! b == 'b1'`, `a != "a1" || b != "b1"`, []set{{"a": "a1"}}, []set{{"a": "a1", "b": "b1"}}},
	{`!(!has(a) || has(b))`, `!(!has(a) || has(b))`, []set{{"a": "a"}}, []set{{}, {"a": "a", "b": ""}}},
	{`!(has(b) || !has(a))`, `!(has(b) || !has(a))`, []set{{"a": "a"}}, []set{{}, {"b": ""}}},
	{`!(a contains "x")`, `!a contains "x"`, []set{{}, {"a": "y"}}, []set{{"a": "axe"}}},
	{`!(a not in {"x", "y"})`, `a in {"x", "y"}`, []set{{"a": "x"}}, []set{{}, {"a": "z"}}},
	{`!(a != "x")`, `a == "x"`, []set{{"a": "x"}}, []set{{}, {"a": "z"}}},
	{`!global()`, `!global()`, nil, []set{{}}},

	// && and ||, and the precedence ! > && > ||: parser_test.go's boolean
	// expressions and the bracketing example of _selectors.mdx.
	{`a == "b" && c == "d"`, `a == "b" && c == "d"`, []set{{"a": "b", "c": "d"}}, []set{{}, {"a": "b", "c": "e"}, {"a": "c", "c": "d"}, {"a": "b"}}},
	{`a == "b" || c == "d"`, `a == "b" || c == "d"`, []set{{"a": "b", "c": "d"}, {"a": "b"}, {"c": "d"}}, []set{{}, {"a": "e", "c": "e"}}},
	{`a == 'a1' && b != 'b1'`, `a == "a1" && b != "b1"`, []set{{"a": "a1"}}, []set{{"a": "a1", "b": "b1"}}},
	{`a != 'a1' || b == 'b1'`, `a != "a1" || b == "b1"`, []set{{"a": "a1", "b": "b1"}, {}}, []set{{"a": "a1"}}},
	{`has(a) && !has(b)`, `has(a) && !has(b)`, []set{{"a": "a"}}, []set{{"a": "a", "b": ""}, {}}},
	{
		`! has(my-label) || my-label starts with 'prod' && role in {'frontend','business'}`,
		`!has(my-label) || my-label starts with "prod" && role in {"business", "frontend"}`,
		[]set{{}, {"role": "db"}, {"my-label": "prod-1", "role": "business"}},
		[]set{{"my-label": "prod-1", "role": "db"}, {"my-label": "dev", "role": "frontend"}},
	},
	{
		`((!(has(my-label)) || ((my-label starts with 'prod') && (role in {'frontend','business'}))))`,
		`!has(my-label) || my-label starts with "prod" && role in {"business", "frontend"}`,
		[]set{{}, {"my-label": "prod-1", "role": "frontend"}},
		[]set{{"my-label": "prod-1"}},
	},
	{`a == "1" || b == "2" && c == "3"`, `a == "1" || b == "2" && c == "3"`, []set{{"a": "1"}, {"b": "2", "c": "3"}}, []set{{"b": "2"}, {"c": "3"}}},
	{`(a == "1" || b == "2") && c == "3"`, `(a == "1" || b == "2") && c == "3"`, []set{{"a": "1", "c": "3"}}, []set{{"a": "1"}, {"b": "2"}}},

	// Canonical form: whitespace, quotes, redundant parentheses, set
	// order and repeats (parser_test.go canonicalisationTests), and the
	// spellings the tokenizer accepts (tokenizer_test.go tokenTests).
	{`! (has( b)||! has(a ))`, `!(has(b) || !has(a))`, []set{{"a": ""}}, []set{{}}},
	{`! (a == "b"&&! c != "d")`, `!(a == "b" && c == "d")`, []set{{}, {"a": "b"}}, []set{{"a": "b", "c": "d"}}},
	{`a == "'"`, `a == "'"`, []set{{"a": "'"}}, []set{{"a": `"`}}},
	{`a == '"'`, `a == '"'`, []set{{"a": `"`}}, []set{{"a": "'"}}},
	{`a contains '"'`, `a contains '"'`, []set{{"a": `x"y`}}, []set{{"a": "xy"}}},
	{`a startswith '"'`, `a starts with '"'`, []set{{"a": `"x`}}, []set{{"a": `x"`}}},
	{`a endswith "'"`, `a ends with "'"`, []set{{"a": `x'`}}, []set{{"a": `'x`}}},
	{`a!='"'`, `a != '"'`, []set{{}}, []set{{"a": `"`}}},
	{`a in {"z", "z", "x", "y", "x", "a"}`, `a in {"a", "x", "y", "z"}`, []set{{"a": "y"}}, []set{{"a": "b"}}},
	{`a=="b"`, `a == "b"`, []set{{"a": "b"}}, nil},
	{`(a=="b")`, `a == "b"`, []set{{"a": "b"}}, nil},
	{`label contains"value"`, `label contains "value"`, []set{{"label": "a value"}}, nil},
	{`contains contains 'contains'`, `contains contains "contains"`, []set{{"contains": "contains"}}, []set{{"contains": "x"}}},
	{`startswith starts with "v"`, `startswith starts with "v"`, []set{{"startswith": "vx"}}, nil},
	{`endswith ends  with "v"`, `endswith ends with "v"`, []set{{"endswith": "xv"}}, nil},
	{`label starts  with "value"`, `label starts with "value"`, []set{{"label": "values"}}, nil},
	{`a notin{"bar"}&&!has(foo)||b in{"c","d"}`, `a != "bar" && !has(foo) || b in {"c", "d"}`, []set{{}, {"b": "c", "foo": ""}}, []set{{"a": "bar"}}},
	{`a  not  in  {"bar"}  &&  ! has( foo )  ||  b  in  {"c"} `, `a != "bar" && !has(foo) || b == "c"`, []set{{}}, []set{{"foo": ""}}},
	{`a not in {"a","B"}`, `a not in {"B", "a"}`, []set{{"a": "b"}}, []set{{"a": "B"}}},
	{`has(calico/k8s_NS-.1/role)`, `has(calico/k8s_NS-.1/role)`, []set{{"calico/k8s_NS-.1/role": ""}}, []set{{"calico/k8s_ns-.1/role": ""}}},
	{
		`calico/k8s_ns == "kube-system" && k8s-app == "kube-dns"`,
		`calico/k8s_ns == "kube-system" && k8s-app == "kube-dns"`,
		[]set{{"calico/k8s_ns": "kube-system", "k8s-app": "kube-dns"}},
		[]set{{"calico/k8s_ns": "kube-system"}},
	},
	// A label key may begin with any of its characters, and the operator
	// words are labels where an operand starts (tokenizer.go).
	{`-x.y/z_ == "1"`, `-x.y/z_ == "1"`, []set{{"-x.y/z_": "1"}}, nil},
	{`in in {"a", "b"}`, `in in {"a", "b"}`, []set{{"in": "a"}}, nil},
	{`not in {"a"}`, `not == "a"`, []set{{"not": "a"}}, []set{{}}},
	{`all == "x" && has == "y" && global != "z"`, `all == "x" && has == "y" && global != "z"`, []set{{"all": "x", "has": "y"}}, []set{{"all": "x"}}},
	// A quoted value is taken as it is: no escapes, any byte but its
	// quote, blanks and newlines included.
	{"a == \"x\ny\"", "a == \"x\ny\"", []set{{"a": "x\ny"}}, []set{{"a": "xy"}}},
	{`a == "\n"`, `a == "\n"`, []set{{"a": `\n`}}, []set{{"a": "\n"}}},
	{`a == ' spaced && (not) || code '`, `a == " spaced && (not) || code "`, []set{{"a": " spaced && (not) || code "}}, nil},
	// A set may be empty or end in a comma (parser.go's set loop).
	{`a in {"x",}`, `a == "x"`, []set{{"a": "x"}}, []set{{}}},
	{`a in {}`, `!all()`, nil, []set{{}, {"a": ""}}},
	{`a not in {}`, `all()`, []set{{}, {"a": ""}}, nil},

	// Exact rewrites of the canonical form.
	{`a in {"x"}`, `a == "x"`, []set{{"a": "x"}}, []set{{}}},
	{`a not in {"x", "x"}`, `a != "x"`, []set{{}}, []set{{"a": "x"}}},
	{`has(a) && (has(b) && has(c))`, `has(a) && has(b) && has(c)`, []set{{"a": "", "b": "", "c": ""}}, []set{{"a": "", "b": ""}}},
	{`has(a) || (has(b) || has(c))`, `has(a) || has(b) || has(c)`, []set{{"c": ""}}, []set{{}}},
	{`has(a) && has(a) || has(a)`, `has(a)`, []set{{"a": ""}}, []set{{}}},
	{`has(b) && has(a)`, `has(b) && has(a)`, []set{{"a": "", "b": ""}}, []set{{"a": ""}}},
	{`all() && has(a)`, `has(a)`, []set{{"a": ""}}, []set{{}}},
	{`all() || has(a)`, `all()`, []set{{}}, nil},
	{`!all() && has(a)`, `!all()`, nil, []set{{"a": ""}}},
	{`!all() || has(a)`, `has(a)`, []set{{"a": ""}}, []set{{}}},
	{`global() && has(a)`, `global() && has(a)`, []set{{"a": ""}}, []set{{}}},
	{`!(has(a) && has(b)) && has(c)`, `!(has(a) && has(b)) && has(c)`, []set{{"c": ""}}, []set{{"a": "", "b": "", "c": ""}}},
}

func TestParseValid(t *testing.T) {
	t.Parallel()
	for _, tc := range validCases {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			sel, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tc.want, sel.String()); diff != "" {
				t.Errorf("String (-want +got):\n%s", diff)
			}
			again, err := Parse(sel.String())
			if err != nil {
				t.Fatalf("Parse(String()): %v", err)
			}
			if got := again.String(); got != sel.String() {
				t.Errorf("String does not round-trip: %q became %q", sel.String(), got)
			}
			for _, s := range []Selector{sel, again} {
				for _, l := range tc.match {
					if !s.Matches(l) {
						t.Errorf("%q does not match %v", s, l)
					}
				}
				for _, l := range tc.noMatch {
					if s.Matches(l) {
						t.Errorf("%q matches %v", s, l)
					}
				}
			}
		})
	}
}

// TestParseInvalid: each selector is one Calico refuses, from badSelectors
// in parser_test.go and the error cases of tokenTests in tokenizer_test.go
// unless a comment says otherwise.
func TestParseInvalid(t *testing.T) {
	t.Parallel()
	const operand = `expected a label key, "has(", "all()", "global()", "!" or "("`
	const operator = `expected an operator (==, !=, in, not in, contains, starts with, ends with) after label`
	const more = `expected "&&", "||" or the end of the selector`
	cases := []struct{ in, want string }{
		{`b == b`, `column 6: expected a quoted string, found "b"`},
		{`b contains b`, `column 12: expected a quoted string, found "b"`},
		{`b starts with b`, `column 15: expected a quoted string, found "b"`},
		{`b ends with b`, `column 13: expected a quoted string, found "b"`},
		{`'b1' == b`, `column 1: ` + operand + `, found "'"`},
		{`b`, `column 2: ` + operator + ` "b", found the end of the selector`},
		{`a b`, `column 3: ` + operator + ` "a", found "b"`},
		{`a `, `column 3: ` + operator + ` "a", found the end of the selector`},
		{`!`, `column 2: ` + operand + `, found the end of the selector`},
		{`foo == "bar" &`, `column 14: ` + more + `, found "&"`},
		{`foo == "bar" |`, `column 14: ` + more + `, found "|"`},
		{`foo != ||`, `column 8: expected a quoted string, found "||"`},
		{`foo in {"", ||`, `column 13: expected a quoted string or "}", found "||"`},
		{`foo in ""`, `column 8: expected "{" to start a set of quoted strings, found "\"\""`},
		{`"FOO`, `column 1: ` + operand + `, found "\""`},
		{`a == "FOO'`, `column 6: unterminated string: no closing "`},
		{`a == 'FOO`, `column 6: unterminated string: no closing '`},
		{`a in {"x", 'y}`, `column 12: unterminated string: no closing '`},
		{`(`, `column 2: ` + operand + `, found the end of the selector`},
		{`(a == "foo"`, `column 12: expected "&&", "||" or ")", found the end of the selector`},
		{`)`, `column 1: ` + operand + `, found ")"`},
		{`()`, `column 2: ` + operand + `, found ")"`},
		{`%`, `column 1: ` + operand + `, found "%"`},
		{`a == "b" && %`, `column 13: ` + operand + `, found "%"`},
		{`a == "b" || %`, `column 13: ` + operand + `, found "%"`},
		{`has(foo) &&`, `column 12: ` + operand + `, found the end of the selector`},
		{`label = "value"`, `column 7: ` + operator + ` "label", found "="`},
		{`all(`, `column 5: expected ")" to close "all(", found the end of the selector`},
		{`global(`, `column 8: expected ")" to close "global(", found the end of the selector`},
		{`has()`, `column 5: expected a label key after "has(", found ")"`},
		{`has(foo`, `column 8: expected ")" to close "has(foo", found the end of the selector`},
		{`has( foo `, `column 10: expected ")" to close "has(foo", found the end of the selector`},
		{`has(foo bar)`, `column 9: expected ")" to close "has(foo", found "bar"`},
		{`a == "b" & has(foo)`, `column 10: ` + more + `, found "&"`},
		{`a == "b" | has(foo)`, `column 10: ` + more + `, found "|"`},
		{`label starts foo "value"`, `column 7: ` + operator + ` "label", found "starts"`},
		{`label inf {"value"}`, `column 7: ` + operator + ` "label", found "inf"`},
		{`label ends foo "value"`, `column 7: ` + operator + ` "label", found "ends"`},
		{`label ends withs "value"`, `column 7: ` + operator + ` "label", found "ends"`},
		{`label squiggles "value"`, `column 7: ` + operator + ` "label", found "squiggles"`},
		{`a not in "bar"`, `column 10: expected "{" to start a set of quoted strings, found "\""`},
		{`b in c`, `column 6: expected "{" to start a set of quoted strings, found "c"`},
		{strings.Repeat("a", 513) + ` == "v"`, `column 1: label key is 513 characters, longer than Calico's limit of 512`},
		{`has(` + strings.Repeat("a", 513) + `)`, `column 5: label key is 513 characters, longer than Calico's limit of 512`},
		// No space between has, all or global and "(" (tokenizer.go cuts
		// the prefix "has(").
		{`has (a)`, `column 5: ` + operator + ` "has", found "("`},
		{`all ()`, `column 5: ` + operator + ` "all", found "()"`},
		// Sets hold quoted strings separated by single commas.
		{`a in {,}`, `column 7: expected a quoted string or "}", found ",}"`},
		{`a in {"x",,}`, `column 11: expected a quoted string or "}", found ",}"`},
		{`a in {"x" "y"}`, `column 11: expected "}" or ",", found "\""`},
		{`a in {x}`, `column 7: expected a quoted string or "}", found "x"`},
		{`a in {"x"`, `column 10: expected "}" or ",", found the end of the selector`},
		// Terms need an operator between them, and "!" negates operands,
		// not operators.
		{`a == "b" c == "d"`, `column 10: ` + more + `, found "c"`},
		{`has(a) has(b)`, `column 8: ` + more + `, found "has"`},
		{`a ! in {"x"}`, `column 3: ` + operator + ` "a", found "!"`},
		{`!= "x"`, `column 1: ` + operand + `, found "!="`},
		{`a == "b" && !`, `column 14: ` + operand + `, found the end of the selector`},
		// Whitespace is space and tab only (tokenizer.go trimWhitespace);
		// found text is quoted so control characters stay inert.
		{"a == \"b\"\n", `column 9: ` + more + `, found "\n"`},
		{"\na == \"b\"", `column 1: ` + operand + `, found "\n"`},
		{"a ==\r\"b\"", `column 5: expected a quoted string, found "\r\""`},
		{"\x1b[31m", `column 1: ` + operand + `, found "\x1b["`},
		{"é == \"b\"", `column 1: ` + operand + `, found "é"`},
		{"a == \"é\" && é", `column 13: ` + operand + `, found "é"`},
		{"\xff", `column 1: ` + operand + `, found "\xff"`},
		// Parentheses close in order.
		{`(a == "b"))`, `column 11: ` + more + `, found ")"`},
		{`(a == "b" || (has(c))`, `column 22: expected "&&", "||" or ")", found the end of the selector`},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			sel, err := Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse accepted it as %q", sel)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			var se *SyntaxError
			if !errors.As(err, &se) || se.Column < 1 {
				t.Errorf("error %#v is not a *SyntaxError with a column", err)
			}
		})
	}
}

// TestParseLimits: hostile input is refused before it costs stack or time,
// and input just inside each bound is accepted.
func TestParseLimits(t *testing.T) {
	t.Parallel()
	nested := func(depth int) string {
		return strings.Repeat("(", depth) + `has(a)` + strings.Repeat(")", depth)
	}
	// A set literal whose length is exactly n bytes.
	ofLength := func(n int) string {
		const head, tail = `a in {"`, `"}`
		return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
	}
	cases := []struct {
		name, in, want, err string
	}{
		{name: "length at the limit", in: ofLength(MaxLength), want: `a == "` + strings.Repeat("x", MaxLength-len(`a in {""}`)) + `"`},
		{name: "length over the limit", in: ofLength(MaxLength + 1), err: "selector is 65537 bytes, longer than the limit of 65536"},
		{name: "depth at the limit", in: nested(MaxDepth), want: "has(a)"},
		{name: "depth over the limit", in: nested(MaxDepth + 1), err: "column 101: parentheses nest deeper than 100 levels"},
		{name: "depth over the limit after negation", in: strings.Repeat("!(", MaxDepth+1) + "has(a)" + strings.Repeat(")", MaxDepth+1), err: "column 202: parentheses nest deeper than 100 levels"},
		{name: "sibling parentheses do not add up", in: strings.Repeat(nested(MaxDepth)+" && ", 3) + "all()", want: "has(a)"},
		{name: "long run of negations", in: strings.Repeat("!", MaxLength-len("has(a)")) + "has(a)", want: "has(a)"},
		{name: "label at Calico's limit", in: "has(" + strings.Repeat("k", MaxLabelLength) + ")", want: "has(" + strings.Repeat("k", MaxLabelLength) + ")"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sel, err := Parse(tc.in)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tc.err, gotErr); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, sel.String()); err == nil && diff != "" {
				t.Errorf("String (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCanonicalWithinDepth: a selector at the depth limit whose every
// parenthesis is needed, with a negated comparison innermost, still parses
// back from its canonical form.
func TestCanonicalWithinDepth(t *testing.T) {
	t.Parallel()
	in := strings.Repeat(`has(a) && (has(b) || `, MaxDepth) + `!a contains "x"` + strings.Repeat(")", MaxDepth)
	sel, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(sel.String())
	if err != nil {
		t.Fatalf("canonical form does not parse: %v", err)
	}
	if again.String() != sel.String() {
		t.Errorf("String does not round-trip:\n%s\n%s", sel, again)
	}
	if want := strings.Count(in, "("); strings.Count(sel.String(), "(") != want {
		t.Errorf("canonical form has %d parentheses, want %d: %s", strings.Count(sel.String(), "("), want, sel)
	}
}

func TestSelectorHelpers(t *testing.T) {
	t.Parallel()
	type facts struct {
		All, None, IsGlobal, HasGlobal bool
		Keys                           []string
	}
	cases := []struct {
		in   string
		want facts
	}{
		{``, facts{All: true}},
		{`all()`, facts{All: true}},
		{`(all())`, facts{All: true}},
		{`has(a) || all()`, facts{All: true}},
		{`a not in {}`, facts{All: true}},
		{`!all()`, facts{None: true}},
		{`a in {}`, facts{None: true}},
		{`!!!all() && has(a)`, facts{None: true}},
		{`global()`, facts{IsGlobal: true, HasGlobal: true}},
		{` ( global( ) ) `, facts{IsGlobal: true, HasGlobal: true}},
		{`!global()`, facts{HasGlobal: true}},
		{`global() || has(a)`, facts{HasGlobal: true, Keys: []string{"a"}}},
		{`has(b) && a in {"x", "y"} || b != "z" && c contains "q" && !has(a)`, facts{Keys: []string{"a", "b", "c"}}},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			sel, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got := facts{All: sel.All(), None: sel.None(), IsGlobal: sel.IsGlobal(), HasGlobal: sel.HasGlobal(), Keys: sel.Keys()}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestZeroSelector: a Selector nobody parsed is all(), not a panic.
func TestZeroSelector(t *testing.T) {
	t.Parallel()
	var sel Selector
	if !sel.Matches(set{"a": "b"}) || !sel.All() || sel.None() || sel.IsGlobal() || sel.HasGlobal() || sel.String() != "all()" || sel.Keys() != nil {
		t.Errorf("zero Selector is not all(): %q", sel)
	}
}

// mapLabels is a labels.Labels that is not a labels.Set.
type mapLabels map[string]string

func (m mapLabels) Has(k string) bool { _, ok := m[k]; return ok }

func (m mapLabels) Get(k string) string { return m[k] }

func (m mapLabels) Lookup(k string) (string, bool) { v, ok := m[k]; return v, ok }

func TestMatchesAnyLabels(t *testing.T) {
	t.Parallel()
	for _, tc := range validCases {
		sel, err := Parse(tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		for _, l := range append(append([]set{}, tc.match...), tc.noMatch...) {
			if got, want := sel.Matches(mapLabels(l)), sel.Matches(l); got != want {
				t.Errorf("%q on %v: Matches is %v through Has and Get, %v on a labels.Set", tc.in, l, got, want)
			}
		}
	}
}
