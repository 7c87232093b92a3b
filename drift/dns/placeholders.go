package dns

import (
	"fmt"
	"regexp"
	"strings"
)

// placeholderRes match values that are only known where the Corefile is
// rendered or run, never by driftgate:
var placeholderRes = []*regexp.Regexp{
	regexp.MustCompile(`\{\$[^}]*\}`),         // CoreDNS env reference {$VAR}, expanded from the pod's environment
	regexp.MustCompile(`\{%[^}]*%\}`),         // CoreDNS env reference {%VAR%} (Windows form)
	regexp.MustCompile(`%\{[^}]*\}%`),         // k3s manifest templating %{VAR}%
	regexp.MustCompile(`__[A-Z][A-Z0-9_]*__`), // kube-up / NodeLocal DNSCache __PILLAR__X__, __DNS__DOMAIN__
}

// goTemplateRe matches Go text/template actions ({{ .DNSDomain }}) as kubeadm
// and Helm charts leave them. The CoreDNS template plugin legitimately uses
// Go templates in its answers, so they are not flagged inside `template`.
var goTemplateRe = regexp.MustCompile(`\{\{.*?\}\}|\{\{.*$`)

// unresolvedRef is one thing Parse could not resolve, and where.
type unresolvedRef struct {
	Line int
	Text string
	Path string // server keys > directive, or "(top level)"
}

func (u unresolvedRef) String() string {
	return fmt.Sprintf("line %d: %s (%s)", u.Line, u.Text, u.Path)
}

func hasPlaceholder(s string) bool {
	for _, re := range placeholderRes {
		if re.MatchString(s) {
			return true
		}
	}
	return goTemplateRe.MatchString(s)
}

// findPlaceholders returns the placeholders in one line of text.
func findPlaceholders(s string, goTemplates bool) []string {
	var out []string
	for _, re := range placeholderRes {
		out = append(out, re.FindAllString(s, -1)...)
	}
	if goTemplates {
		out = append(out, goTemplateRe.FindAllString(s, -1)...)
	}
	return out
}

// scanPlaceholders lists placeholders in raw tokens, line by line, for
// error messages when the Corefile does not parse at all.
func scanPlaceholders(toks []token) []string {
	var out []string
	for i := 0; i < len(toks); {
		j := i + 1
		for j < len(toks) && toks[j].line == toks[i].line {
			j++
		}
		parts := make([]string, 0, j-i)
		for _, t := range toks[i:j] {
			parts = append(parts, t.text)
		}
		for _, p := range findPlaceholders(strings.Join(parts, " "), true) {
			out = append(out, fmt.Sprintf("line %d: %s", toks[i].line, p))
		}
		i = j
	}
	return out
}

// collectUnresolved walks a freshly parsed Corefile (sentinels still in
// place) and lists file imports and placeholders with their location.
func collectUnresolved(c *Corefile) []unresolvedRef {
	var out []unresolvedRef
	seen := map[unresolvedRef]bool{}
	add := func(u unresolvedRef) {
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	for _, d := range c.topImports {
		add(unresolvedRef{Line: d.Line, Text: "import " + strings.Join(d.Args, " "), Path: "(top level)"})
	}
	for _, s := range c.Servers {
		label := strings.Join(s.Keys, " ")
		for _, k := range s.Keys {
			for _, p := range findPlaceholders(k, true) {
				add(unresolvedRef{Line: s.Line, Text: p, Path: label})
			}
		}
		for _, d := range s.Directives {
			walkUnresolved(d, label, d.Name != "template", add)
		}
	}
	return out
}

func walkUnresolved(d Directive, parent string, goTemplates bool, add func(unresolvedRef)) {
	name := strings.ReplaceAll(d.Name, sentinel, "")
	path := parent + " > " + name
	args := make([]string, len(d.Args))
	for i, a := range d.Args {
		args[i] = strings.ReplaceAll(a, sentinel, "")
	}
	line := strings.Join(append([]string{name}, args...), " ")
	if d.Name == importSentinel {
		// A file import: its content lives in a file mounted into the pod.
		add(unresolvedRef{Line: d.Line, Text: line, Path: parent})
	}
	for _, p := range findPlaceholders(line, goTemplates) {
		add(unresolvedRef{Line: d.Line, Text: p, Path: path})
	}
	for _, b := range d.Block {
		walkUnresolved(b, path, goTemplates, add)
	}
}
