package dns

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse: no input makes Parse or Compare panic, every error is a
// *ParseError with a line of the Corefile, and whatever parses equals
// itself, reformatted, apart from what is always reported (unresolved
// items).
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		base,
		"",
		".",
		"{",
		"}",
		". {\n}\n",
		"import\n",
		"import a b\n",
		"(s) {\n errors\n}\n. {\n import s\n}\n",
		"(s) {\n import s\n}\n. {\n import s\n}\n",
		". {\n forward . {$UP} {%UP%}\n log \"a b\" \"c\\\"d\"\n}\n",
		"a, b,\n c {\n errors\n}\n",
		". \n errors\n",
		"} foo {\n}\n",
		"__PILLAR__DNS__DOMAIN__:53 {\n forward . __PILLAR__CLUSTER__DNS__ {\n force_tcp\n }\n}\n",
		". {\n kubernetes {{ .DNSDomain }} {\n  ttl 30\n }\n}{{ .StubDomain }}\n",
		"10.0.0.0/17 fd00::/7 {\n cache 30 10.0.0.0/8 {\n  disable success\n }\n}\n",
		". {\n rewrite stop {\n  name regex (.*)\\.a {1}.b\n  answer name (.*)\\.b {1}.a\n }\n}\n",
		". {\n hosts {\n  10.0.0.1 a\n  ::1 b c\n  fallthrough\n }\n}\n",
		"\ufeff. {\r\n errors # bom and crlf\r\n}\r\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Parse("fuzz", []byte(text))
		if err != nil {
			if c != nil {
				t.Fatalf("Parse returned both a Corefile and an error: %v", err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 || pe.Line > strings.Count(text, "\n")+1 {
				t.Fatalf("error without a line in the Corefile: %v\ninput: %q", err, text)
			}
			return
		}
		_ = c.Unresolved()
		for _, d := range Compare(c, c) {
			if !strings.HasSuffix(d.Path, "> unresolved") || d.Dev != d.Prod {
				t.Fatalf("Compare(c, c) reported %s\ninput: %q", d, text)
			}
		}
		r, err := Parse("fuzz reformatted", []byte(reformat(c)))
		if err != nil {
			// Reformatting can only fail on inputs the lexer accepts but
			// cannot be written back (a multi-line quoted token ending in a
			// backslash); anything else is a bug.
			if !strings.Contains(err.Error(), "re-tokenize") {
				t.Fatalf("reformatted input does not parse: %v\ninput: %q\nreformatted: %q", err, text, reformat(c))
			}
			return
		}
		for _, d := range Compare(c, r) {
			if !strings.HasSuffix(d.Path, "> unresolved") {
				t.Fatalf("reformatting changed meaning: %s\ninput: %q\nreformatted: %q", d, text, reformat(c))
			}
		}
		_ = ExtractCorefiles(map[string]any{"kind": "ConfigMap", "metadata": map[string]any{"name": "coredns"},
			"data": map[string]any{"Corefile": text, "x.server": text}})
	})
}
