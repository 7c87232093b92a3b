package output

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/internal/textsafe"
)

// renderMarkdown writes a summary for a pull-request comment or
// $GITHUB_STEP_SUMMARY: the verdict, a table of findings, field details
// folded. Every value from the input is written as prose
// (textsafe.Markdown) or a code span (mdCode, mdCell), so cluster data adds
// no link, image, HTML or mention to the comment.
func renderMarkdown(w io.Writer, res *drift.Result) error {
	var b strings.Builder
	icon := map[string]string{drift.VerdictPass: "✅", drift.VerdictBlocked: "⛔", drift.VerdictCouldNotCheck: "⚠️"}[res.Verdict]
	fmt.Fprintf(&b, "### %s driftgate: %s\n\n", icon, textsafe.Markdown(verdictLine(res)))
	fmt.Fprintf(&b, "dev: %s · prod: %s\n\n", mdCode(sideLine(res.Dev)), mdCode(sideLine(res.Prod)))
	if len(res.Unobserved) > 0 {
		b.WriteString("**Could not check** (fix access or availability, then run again):\n\n")
		for _, u := range res.Unobserved {
			ns := ""
			if u.Namespace != "" {
				ns = " in " + mdCode(u.Namespace)
			}
			fmt.Fprintf(&b, "- %s: %s%s: %s\n", textsafe.Markdown(u.Side), mdCode(u.GroupKind()), ns, textsafe.Markdown(u.Reason))
		}
		b.WriteString("\n")
	}
	if len(res.Findings) > 0 {
		b.WriteString("| Severity | Object | Rule | Finding |\n|---|---|---|---|\n")
		for _, f := range res.Findings {
			sev := f.Severity.String()
			if f.Waiver != nil {
				sev += " (waived)"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", textsafe.Markdown(sev), mdCell(f.Object.String()), mdCell(f.Rule), textsafe.Markdown(f.Message))
		}
		b.WriteString("\n")
		var details strings.Builder
		for _, f := range res.Findings {
			if len(f.Fields) == 0 {
				continue
			}
			fmt.Fprintf(&details, "\n%s (%s)\n\n| Field | dev | prod |\n|---|---|---|\n", mdCode(f.Object.String()), textsafe.Markdown(f.Rule))
			for _, d := range f.Fields {
				fmt.Fprintf(&details, "| %s | %s | %s |\n", mdCell(d.Path), mdCell(d.DevString()), mdCell(d.ProdString()))
			}
		}
		if details.Len() > 0 {
			fmt.Fprintf(&b, "<details><summary>Field differences</summary>\n%s\n</details>\n", details.String())
		}
	}
	for _, n := range res.Notes {
		fmt.Fprintf(&b, "\n> %s\n", textsafe.Markdown(n))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdCode and mdCell write a value as a code span, shortened to 120
// characters (values can be whole config files), outside and inside a table.
func mdCode(s string) string { return textsafe.MarkdownCode(shorten(s, 120)) }

func mdCell(s string) string { return textsafe.MarkdownCodeCell(shorten(s, 120)) }

// shorten cuts s to at most n bytes on a rune boundary, marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
