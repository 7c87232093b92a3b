// Package calicosel parses and evaluates Calico's selector expression
// language: the strings in projectcalico.org/v3 (and crd.projectcalico.org/v1)
// NetworkPolicy and GlobalNetworkPolicy fields selector, namespaceSelector
// and serviceAccountSelector, and in a rule's source and destination
// selector, notSelector and namespaceSelector.
//
// The accepted language is Calico's own (libcalico-go/lib/selector, its
// tokenizer and parser and their tests; the "Selectors" section of the
// NetworkPolicy reference at docs.tigera.io), so that a selector Calico
// rejects is an error here and one it accepts means the same:
//
//	selector = ws [ or ] ws                          empty means all()
//	or       = and { "||" and }
//	and      = unary { "&&" unary }
//	unary    = { "!" } primary                       "!" binds tighter than "&&"
//	primary  = "all(" ws ")" | "global(" ws ")"
//	         | "has(" ws label ws ")"
//	         | "(" or ")"
//	         | label ( "==" | "!=" | "contains" | "starts" ws "with" | "ends" ws "with" ) string
//	         | label ( "in" | "not" ws "in" ) set
//	set      = "{" [ string { "," string } [ "," ] ] "}"
//	string   = '"' { any byte but '"' } '"' | "'" { any byte but "'" } "'"
//	label    = 1 to 512 of A-Z a-z 0-9 _ . / -
//	ws       = { " " | tab }
//
// Whitespace is space and tab only: Calico rejects a newline anywhere
// outside a quoted string, and so does Parse. Strings have no escapes, so a
// value holds ' or " but never both. "startswith", "endswith" and "notin"
// are accepted as Calico accepts them. An operator word must not run on into
// a label character ("a inx" is an error), and has(, all( and global( take
// no space before the parenthesis.
//
// Matching follows Calico: k != "v" and k not in {...} match a resource
// without label k; ==, in, contains, starts with and ends with need the
// label. global() matches any label set: what it means, "non-namespaced
// resources" in a namespaceSelector, is a matter of scope that the policy
// model decides, so Selector reports it with IsGlobal and HasGlobal.
//
// Input is bounded against hostile text: Parse refuses a selector longer
// than MaxLength bytes or with parentheses nested deeper than MaxDepth.
package calicosel
