package textsafe

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/driftgate/driftgate/internal/textsafe/textsafetest"
)

// hostile is the corpus every renderer's test feeds in.
var hostile = textsafetest.Hostile

func TestLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"shop/ConfigMap/web", "shop/ConfigMap/web"},
		{"web\n::add-mask::secret", `web\n::add-mask::secret`},
		{"   ::error title=Deploy approved::x", `   \x3a:error title=Deploy approved::x`},
		{"\t::x", `\t::x`},
		{"\u00a0::x", "\u00a0\\x3a:x"},
		{"a:b", "a:b"},
		{"x ##[add-mask]secret", `x ##\x5badd-mask]secret`},
		{"[x]", "[x]"},
		{"\x1b[2J", `\x1b[2J`},
		{"\x1b]52;c;ZXZpbA==\x07", `\x1b]52;c;ZXZpbA==\x07`},
		{"\u009b31m", `\u009b31m`},
		{"\u202eevil\u2066", `\u202eevil\u2066`},
		{"a\u2028b", `a\u2028b`},
		{"\x7f", `\x7f`},
		{"bad \xff", `bad \xff`},
		{"tag \U000e0041", `tag \U000e0041`},
		{"é ✓ 日本", "é ✓ 日本"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Line(tc.in)); diff != "" {
				t.Errorf("Line(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestLines(t *testing.T) {
	in := "error: reading x.yaml:\n  ::add-mask::secret\n\tfine\r::warning::y ##[z]"
	want := "error: reading x.yaml:\n  \\x3a:add-mask::secret\n\tfine\\r::warning::y ##\\x5bz]"
	if diff := cmp.Diff(want, Lines(in)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestWriterAcrossWrites feeds the writer a byte at a time: the rules hold
// whatever the pieces, including a rune split between writes.
func TestWriterAcrossWrites(t *testing.T) {
	in := "note: ok\n   ::add-mask::s ##[x] é \u202e\n"
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for i := 0; i < len(in); i++ {
		if _, err := w.Write([]byte{in[i]}); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(Lines(in), buf.String()); diff != "" {
		t.Errorf("(-whole +bytewise):\n%s", diff)
	}
}

// assertTerminalSafe fails when out holds a raw control or format
// character other than newline, or a line the Actions runner would run.
func assertTerminalSafe(t *testing.T, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("invalid UTF-8 in %q", out)
	}
	for _, r := range out {
		if r != '\n' && needsEscape(r) {
			t.Errorf("raw %U in %q", r, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), "::") {
			t.Errorf("line runs as a workflow command: %q", line)
		}
	}
	if strings.Contains(out, "##[") {
		t.Errorf("##[ command in %q", out)
	}
}

func TestTerminalHostile(t *testing.T) {
	for _, s := range hostile {
		assertTerminalSafe(t, Line(s))
		assertTerminalSafe(t, Lines(s))
	}
}

func TestMarkdown(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"exists in prod but is missing in dev", "exists in prod but is missing in dev"},
		{"[click](https://evil)", `\[click\](https://evil)`},
		{"![x](https://evil/x.png)", `\!\[x\](https://evil/x.png)`},
		{"<https://evil>", "&lt;https://evil&gt;"},
		{"<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"},
		{"ask @acme/sre", "ask @&#8203;acme/sre"},
		{"see #12", "see #&#8203;12"},
		{"a|b", `a\|b`},
		{"line1\nline2\r\nline3", "line1 line2 line3"},
		{"\x1b[2J", `\\x1b\[2J`},
		{"`code`", "\\`code\\`"},
		{"# title", `\# title`},
		{"- item", `\- item`},
		{"12. item", `12\. item`},
		{"::add-mask::x", `\::add-mask::x`},
		{"a&amp;b", "a&amp;amp;b"},
		{"snake_case *x* ~y~ $z$", `snake\_case \*x\* \~y\~ \$z\$`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Markdown(tc.in)); diff != "" {
				t.Errorf("Markdown(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestMarkdownCode(t *testing.T) {
	for _, tc := range []struct{ in, want, cell string }{
		{"shop/ConfigMap/web", "`shop/ConfigMap/web`", "`shop/ConfigMap/web`"},
		{"a|b", "`a|b`", "`a\\|b`"},
		{"a`b", "``a`b``", "``a`b``"},
		{"``x", "``` ``x ```", "``` ``x ```"},
		{" x ", "`  x  `", "`  x  `"},
		{"", "` `", "` `"},
		{"web\n::add-mask::x", "`web\\n::add-mask::x`", "`web\\n::add-mask::x`"},
		{"<!channel> @acme/sre", "`<!channel> @acme/sre`", "`<!channel> @acme/sre`"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, MarkdownCode(tc.in)); diff != "" {
				t.Errorf("MarkdownCode(%q) (-want +got):\n%s", tc.in, diff)
			}
			if diff := cmp.Diff(tc.cell, MarkdownCodeCell(tc.in)); diff != "" {
				t.Errorf("MarkdownCodeCell(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

// TestMarkdownHostile checks the shapes GitHub would act on are absent from
// the escaped source of every hostile string.
func TestMarkdownHostile(t *testing.T) {
	for _, s := range hostile {
		got := Markdown(s)
		for _, bad := range []string{"](", "<", "@acme", "\n"} {
			if strings.Contains(strings.ReplaceAll(got, `\]`, ""), bad) {
				t.Errorf("Markdown(%q) = %q holds %q", s, got, bad)
			}
		}
		assertTerminalSafe(t, got)
		assertTerminalSafe(t, MarkdownCodeCell(s))
	}
}

func TestSlack(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"<!channel>", "&lt;!channel&gt;"},
		{"<https://evil|Approved by SRE>", "&lt;https://evil|Approved by SRE&gt;"},
		{"a & b", "a &amp; b"},
		{"two\nlines", `two\nlines`},
		{"\u202eevil", `\u202eevil`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Slack(tc.in)); diff != "" {
				t.Errorf("Slack(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
	if got := SlackCode("a`<!here>`"); got != "a'&lt;!here&gt;'" {
		t.Errorf("SlackCode = %q", got)
	}
	if got := SlackMarkup("`<!channel>` &lt;ok&gt;"); got != "`&lt;!channel&gt;` &lt;ok&gt;" {
		t.Errorf("SlackMarkup = %q", got)
	}
}

func FuzzLine(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		assertTerminalSafe(t, Line(s))
		assertTerminalSafe(t, Lines(s))
		assertTerminalSafe(t, Markdown(s))
		if strings.Contains(Line(s), "\n") {
			t.Errorf("Line(%q) has a newline", s)
		}
	})
}

func TestSlackKeepsColons(t *testing.T) {
	if got := Slack(":+1: ##[ok]"); got != ":+1: ##[ok]" {
		t.Errorf("Slack = %q", got)
	}
}
