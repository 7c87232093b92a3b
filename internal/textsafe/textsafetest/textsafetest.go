// Package textsafetest holds what the escaping tests of every package
// share: a corpus of hostile values and the checks that output built from
// them is inert in a terminal, a CI log and Markdown.
package textsafetest

import (
	"strings"
	"testing"
	"unicode"
)

// Hostile are values a cluster, a manifest or an override can carry into
// any field: GitHub Actions workflow commands at any indent and after a
// newline, carriage return or Unicode blanks, terminal escapes (clear screen, OSC 52
// clipboard write, a C1 CSI), a bidi override, and Markdown and Slack
// links, images, HTML and mentions, and a byte that is not UTF-8.
var Hostile = []string{
	"web\n::add-mask::secret",
	"   ::error title=Deploy approved::x",
	"::stop-commands::tok",
	"x ##[add-mask]secret",
	"\x1b[2J",
	"\x1b]52;c;ZXZpbA==\x07",
	"\u009b31m",
	"\u202eevil",
	"a\r::warning::b",
	"\u00a0\u3000::notice::x",
	"[click](https://evil)",
	"![x](https://evil/x.png)",
	"<https://evil>",
	"<img src=x onerror=alert(1)>",
	"@acme/sre",
	"<!channel>",
	"<https://evil|Approved by SRE>",
	"bad \xff utf-8",
}

// AssertNoControl fails when s holds a raw control or format character
// (bidi overrides, line and paragraph separators) other than a newline.
func AssertNoControl(t testing.TB, what, s string) {
	t.Helper()
	for _, r := range s {
		if r != '\n' && (unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)) {
			t.Errorf("%s: raw %U in:\n%s", what, r, s)
			return
		}
	}
}

// AssertTerminalSafe is AssertNoControl, and fails too on a line the
// GitHub Actions runner would run as a workflow command ("::cmd::" after
// any blanks, or "##[cmd]" anywhere).
func AssertTerminalSafe(t testing.TB, what, out string) {
	t.Helper()
	AssertNoControl(t, what, out)
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), "::") {
			t.Errorf("%s: line runs as a workflow command: %q", what, line)
		}
	}
	if strings.Contains(out, "##[") {
		t.Errorf("%s: ##[ command in output:\n%s", what, out)
	}
}

// Prose is md without its code spans and backslash-escaped characters:
// the text GitHub and Slack would scan for links, HTML and mentions. An
// unmatched backtick run is text, as Markdown reads it.
func Prose(md string) string {
	var b strings.Builder
	for i := 0; i < len(md); i++ {
		switch md[i] {
		case '\\':
			i++
		case '`':
			n := 0
			for i+n < len(md) && md[i+n] == '`' {
				n++
			}
			fence := md[i : i+n]
			end := strings.Index(md[i+n:], fence)
			if end < 0 {
				b.WriteString(fence)
				i += n - 1
				continue
			}
			i += n + end + n - 1
		default:
			b.WriteByte(md[i])
		}
	}
	return b.String()
}
