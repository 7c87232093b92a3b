package dns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseStructure(t *testing.T) {
	t.Parallel()
	const text = `# comment line
(common) {
    errors
}
cluster.local in-addr.arpa IP6.ARPA.:53 {
    import common
    kubernetes {
        pods "verified"   # quoted
    }
    rewrite name a.example b.example
    rewrite name c.example d.example
}
`
	c := mustParse(t, "structure", text)
	want := []Server{{
		Keys: []string{"cluster.local.:53", "in-addr.arpa.:53", "ip6.arpa.:53"},
		Line: 5,
		Directives: []Directive{
			{Name: "errors", Line: 3}, // expanded from the snippet: its own line
			{Name: "kubernetes", Line: 7, Block: []Directive{{Name: "pods", Args: []string{"verified"}, Line: 8}}},
			{Name: "rewrite", Args: []string{"name", "a.example", "b.example"}, Line: 10},
			{Name: "rewrite", Args: []string{"name", "c.example", "d.example"}, Line: 11},
		},
	}}
	if diff := cmp.Diff(want, c.Servers); diff != "" {
		t.Errorf("Servers (-want +got):\n%s", diff)
	}
	if u := c.Unresolved(); u != nil {
		t.Errorf("Unresolved() = %q, want none", u)
	}
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		keys string
		want []string
	}{
		{".", []string{".:53"}},
		{".:53", []string{".:53"}},
		{":53", []string{".:53"}},
		{"dns://.:053", []string{".:53"}},
		{"Cluster.Local", []string{"cluster.local.:53"}},
		{"cluster.local.:1053", []string{"cluster.local.:1053"}},
		{"tls://.", []string{"tls://.:853"}},
		{"grpc://example.org", []string{"grpc://example.org.:443"}},
		{"https://.:8443", []string{"https://.:8443"}},
		{"10.0.0.0/8", []string{"10.in-addr.arpa.:53"}},
		{"10.1.0.0/16:53", []string{"1.10.in-addr.arpa.:53"}},
		{"10.0.0.0/17", []string{"10.0.0.0/17:53"}},
		{"fd00::/8", []string{"d.f.ip6.arpa.:53"}},
		{"ip6.arpa in-addr.arpa cluster.local", []string{"cluster.local.:53", "in-addr.arpa.:53", "ip6.arpa.:53"}},
		{"a.example, b.example", []string{"a.example.:53", "b.example.:53"}},
		{"__PILLAR__DNS__DOMAIN__:53", []string{"__PILLAR__DNS__DOMAIN__:53"}},
	}
	for _, tt := range tests {
		t.Run(tt.keys, func(t *testing.T) {
			t.Parallel()
			c := mustParse(t, "keys", tt.keys+" {\n  errors\n}\n")
			if len(c.Servers) != 1 {
				t.Fatalf("got %d servers, want 1", len(c.Servers))
			}
			if diff := cmp.Diff(tt.want, c.Servers[0].Keys); diff != "" {
				t.Errorf("Keys (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		line       int
		contains   string
	}{
		{"unclosed block", ". {\n  errors\n  cache 30 {\n", 3, "unexpected EOF"},
		{"stray closing brace", ". {\n  errors }\n}\n", 2, "unexpected '}'"},
		{"line numbers survive multi-line quotes", ". {\n  log \"a\nb\nc\"\n  cache {\n", 5, "unexpected EOF"},
		{"top-level import without argument", "import\n. {\n}\n", 1, "import takes exactly one argument"},
		{"duplicate zone", ". {\n errors\n}\n.:53 {\n log\n}\n", 4, "zone .:53 is served by two server blocks (lines 1 and 4)"},
		{"block opened on the next line", ". {\n  cache 30\n  {\n    success 1000\n  }\n}\n", 3, "a block must open on the same line"},
		{"empty label in zone", "a..example {\n errors\n}\n", 2, "not a valid domain name"},
		{"NUL byte", ". {\n errors\x00\n}\n", 2, "NUL byte"},
		{"bad key", "example.org: {\n errors\n}\n", 2, "expecting a port after the last colon"},
		{"nesting too deep", ". {\n a" + strings.Repeat(" {\nb", 70) + strings.Repeat("\n}", 70) + "\n}\n", 67, "nested deeper than 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("cm kube-system/coredns key Corefile", []byte(tt.text))
			var perr *ParseError
			if !errors.As(err, &perr) {
				t.Fatalf("Parse error = %v, want a *ParseError", err)
			}
			if perr.Line != tt.line || !strings.Contains(perr.Error(), tt.contains) {
				t.Errorf("Parse error = %q at line %d, want line %d containing %q", perr, perr.Line, tt.line, tt.contains)
			}
			if !strings.HasPrefix(perr.Error(), `parsing corefile "cm kube-system/coredns key Corefile"`) {
				t.Errorf("error %q does not name the Corefile", perr)
			}
		})
	}
}

func TestParseDuplicateZoneWithBind(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "bind", ". {\n bind 10.0.0.1\n forward . 1.1.1.1\n}\n. {\n bind 10.0.0.2\n forward . 8.8.8.8\n}\n")
	d := mustParse(t, "bind", ". {\n bind 10.0.0.2\n forward . 8.8.8.8\n}\n. {\n bind 10.0.0.1\n forward . 9.9.9.9\n}\n")
	want := []Difference{{Path: ".:53 bind 10.0.0.1 > forward > upstreams", Dev: "1.1.1.1", Prod: "9.9.9.9",
		Message: "forward: upstreams differs (compared as a set: policy random does not prefer any)"}}
	if diff := cmp.Diff(want, Compare(c, d)); diff != "" {
		t.Errorf("Compare (-want +got):\n%s", diff)
	}
}

// TestParseNeverReadsFiles: a file import must not pull a local file into
// the comparison, wherever the import is; it is reported instead.
func TestParseNeverReadsFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "extra.server"), []byte("leak.example {\n  forward . 6.6.6.6\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "extra.override"), []byte("forward . 6.6.6.6\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf(". {\n  import %s\n  cache {\n    import %s\n  }\n}\nimport %s\n",
		filepath.Join(dir, "*.override"), filepath.Join(dir, "extra.override"), filepath.Join(dir, "extra.server"))
	c := mustParse(t, filepath.Join(dir, "Corefile"), text)
	wantServers := []Server{{Keys: []string{".:53"}, Line: 1, Directives: []Directive{
		{Name: "import", Args: []string{filepath.Join(dir, "*.override")}, Line: 2},
		{Name: "cache", Line: 3, Block: []Directive{{Name: "import", Args: []string{filepath.Join(dir, "extra.override")}, Line: 4}}},
	}}}
	if diff := cmp.Diff(wantServers, c.Servers); diff != "" {
		t.Errorf("Servers (-want +got):\n%s", diff)
	}
	wantUnresolved := []string{
		"line 7: import " + filepath.Join(dir, "extra.server") + " ((top level))",
		"line 2: import " + filepath.Join(dir, "*.override") + " (.:53)",
		"line 4: import " + filepath.Join(dir, "extra.override") + " (.:53 > cache)",
	}
	if diff := cmp.Diff(wantUnresolved, c.Unresolved()); diff != "" {
		t.Errorf("Unresolved (-want +got):\n%s", diff)
	}
}

// TestParseNeverReadsEnvironment: {$VAR} is the CoreDNS pod's environment,
// not driftgate's; it must stay as written and be reported. Not parallel:
// it sets an environment variable.
func TestParseNeverReadsEnvironment(t *testing.T) {
	t.Setenv("DRIFTGATE_TEST_UPSTREAM", "6.6.6.6")
	c := mustParse(t, "env", ". {\n  forward . {$DRIFTGATE_TEST_UPSTREAM} {%DRIFTGATE_TEST_UPSTREAM%}\n}\n")
	if diff := cmp.Diff([]string{".", "{$DRIFTGATE_TEST_UPSTREAM}", "{%DRIFTGATE_TEST_UPSTREAM%}"}, c.Servers[0].Directives[0].Args); diff != "" {
		t.Errorf("forward args (-want +got):\n%s", diff)
	}
	want := []string{
		"line 2: {$DRIFTGATE_TEST_UPSTREAM} (.:53 > forward)",
		"line 2: {%DRIFTGATE_TEST_UPSTREAM%} (.:53 > forward)",
	}
	if diff := cmp.Diff(want, c.Unresolved()); diff != "" {
		t.Errorf("Unresolved (-want +got):\n%s", diff)
	}
}

func TestParseSnippets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       []string // directive names of the first server
		unresolved []string
		err        string
	}{{
		name: "snippet importing an earlier snippet",
		text: "(a) {\n  errors\n}\n(b) {\n  import a\n  log\n}\n. {\n  import b\n}\n",
		want: []string{"errors", "log"},
	}, {
		name:       "snippet used before it is defined stays an unresolved import",
		text:       ". {\n  import later\n}\n(later) {\n  errors\n}\n",
		want:       []string{"import"},
		unresolved: []string{"line 2: import later (.:53)"},
	}, {
		name: "snippet bomb is refused",
		text: "(a) {\n" + strings.Repeat(" errors\n", 50) + "}\n" +
			"(b) {\n" + strings.Repeat(" import a\n", 50) + "}\n" +
			"(c) {\n" + strings.Repeat(" import b\n", 50) + "}\n" +
			". {\n import c\n}\n",
		err: "snippet imports expand beyond",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse(tt.name, []byte(tt.text))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Parse error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var names []string
			for _, d := range c.Servers[0].Directives {
				names = append(names, d.Name)
			}
			if diff := cmp.Diff(tt.want, names); diff != "" {
				t.Errorf("directives (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.unresolved, c.Unresolved()); diff != "" {
				t.Errorf("Unresolved (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQuoteTokenRoundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"plain", "", "with space", `a"b`, `"lead`, `tail\`, `x\y z`, "#hash", "multi\nline", `\\" q`} {
		t.Run(s, func(t *testing.T) {
			t.Parallel()
			toks := lex("q", []byte(quoteToken(s)))
			// Tokens the lexer can never produce (a quoted one ending in a
			// lone backslash) need not round-trip; serialize refuses them.
			if len(toks) != 1 || toks[0].text != s {
				if strings.ContainsFunc(s, func(r rune) bool { return r == ' ' || r == '\n' }) && strings.HasSuffix(s, `\`) {
					return
				}
				t.Errorf("lex(quoteToken(%q)) = %+v", s, toks)
			}
		})
	}
}
