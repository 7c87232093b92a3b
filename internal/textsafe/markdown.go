package textsafe

import (
	"strings"
	"unicode/utf8"
)

// zwsp, written as an entity so the Markdown source shows it, separates @
// and # from a following name or number. GitHub finds mentions (@org/team)
// and issue references (#12) in the rendered text, where a backslash or an
// entity for the @ itself is already gone; a zero-width space between them
// survives rendering and breaks the match (Renovate's pull requests do the
// same).
const zwsp = "&#8203;"

// Markdown returns s as inert Markdown prose, safe in a paragraph, a list
// item, a block quote or a table cell: no link, image, autolink, raw HTML,
// emphasis, heading, list, mention or issue reference can come of it.
// Newlines become spaces, other control and format characters escapes as
// Line writes them, and the source never holds a workflow command: a
// leading ':' and every '#' and '[' are backslash-escaped.
func Markdown(s string) string {
	var b strings.Builder
	lead := true // before the first non-blank character
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		next := byte(0)
		if i+size < len(s) {
			next = s[i+size]
		}
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\\x` + hex2(s[i]))
		case r == '\r' && next == '\n':
			// one space for CRLF, written with the '\n'
		case r == '\n' || r == '\r':
			b.WriteByte(' ')
		case needsEscape(r):
			b.WriteString(`\` + escapeRune(r))
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case (r == '@' || r == '#') && isASCIIAlnum(next):
			b.WriteRune(r)
			b.WriteString(zwsp)
		case strings.ContainsRune("\\`*_[]|~$#!", r), lead && r == ':':
			b.WriteByte('\\')
			b.WriteRune(r)
		case lead && strings.ContainsRune("-+=", r):
			// list items and setext underlines, at the start of a line
			b.WriteByte('\\')
			b.WriteRune(r)
		case lead && r >= '0' && r <= '9':
			// "1." or "1)" starts an ordered list: escape the delimiter
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			b.WriteString(s[i:j])
			if j < len(s) && (s[j] == '.' || s[j] == ')') {
				b.WriteByte('\\')
			}
			size = j - i
		default:
			b.WriteRune(r)
		}
		if !isBlank(r) {
			lead = false
		}
		i += size
	}
	return b.String()
}

func isASCIIAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// MarkdownCode returns s as a Markdown code span, outside a table: the
// value is shown as Line writes it (so control characters are visible and
// nothing in it is a workflow command), fenced by one more backtick than
// its longest run of backticks. Nothing inside a code span is a link,
// HTML or mention.
func MarkdownCode(s string) string { return codeSpan(Line(s)) }

// MarkdownCodeCell is MarkdownCode inside a table cell, where GitHub splits
// cells at '|' before it finds code spans, so '|' is written \| (shown as
// '|' in a cell).
func MarkdownCodeCell(s string) string {
	return codeSpan(strings.ReplaceAll(Line(s), "|", `\|`))
}

func codeSpan(s string) string {
	if s == "" {
		return "` `"
	}
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	// A span that starts or ends with a backtick needs a space to keep it
	// apart from the fence; CommonMark strips one space from each side when
	// both are there, so a value with spaces on both ends gets them too.
	if s[0] == '`' || s[len(s)-1] == '`' || (s[0] == ' ' && s[len(s)-1] == ' ' && strings.Trim(s, " ") != "") {
		s = " " + s + " "
	}
	return fence + s + fence
}
