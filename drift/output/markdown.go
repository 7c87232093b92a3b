package output

import (
	"fmt"
	"io"
	"strings"

	"github.com/driftgate/driftgate/drift"
)

// renderMarkdown writes a summary for a pull-request comment or
// $GITHUB_STEP_SUMMARY: the verdict, a table of findings, field details folded.
func renderMarkdown(w io.Writer, res *drift.Result) error {
	var b strings.Builder
	icon := map[string]string{drift.VerdictPass: "✅", drift.VerdictBlocked: "⛔", drift.VerdictCouldNotCheck: "⚠️"}[res.Verdict]
	fmt.Fprintf(&b, "### %s driftgate: %s\n\n", icon, mdEscape(verdictLine(res)))
	fmt.Fprintf(&b, "dev: `%s` · prod: `%s`\n\n", sideLine(res.Dev), sideLine(res.Prod))
	if len(res.Unobserved) > 0 {
		b.WriteString("**Could not check** (fix access or availability, then run again):\n\n")
		for _, u := range res.Unobserved {
			ns := ""
			if u.Namespace != "" {
				ns = " in `" + u.Namespace + "`"
			}
			fmt.Fprintf(&b, "- %s: `%s`%s: %s\n", u.Side, u.GroupKind(), ns, mdEscape(u.Reason))
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
			fmt.Fprintf(&b, "| %s | `%s` | `%s` | %s |\n", sev, mdCode(f.Object.String()), f.Rule, mdEscape(f.Message))
		}
		b.WriteString("\n")
		var details strings.Builder
		for _, f := range res.Findings {
			if len(f.Fields) == 0 {
				continue
			}
			fmt.Fprintf(&details, "\n`%s` (%s)\n\n| Field | dev | prod |\n|---|---|---|\n", mdCode(f.Object.String()), f.Rule)
			for _, d := range f.Fields {
				fmt.Fprintf(&details, "| `%s` | `%s` | `%s` |\n", mdCode(d.Path), mdCode(d.DevString()), mdCode(d.ProdString()))
			}
		}
		if details.Len() > 0 {
			fmt.Fprintf(&b, "<details><summary>Field differences</summary>\n%s\n</details>\n", details.String())
		}
	}
	for _, n := range res.Notes {
		fmt.Fprintf(&b, "\n> %s\n", mdEscape(n))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var mdEscaper = strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "\n", " ")

func mdEscape(s string) string { return mdEscaper.Replace(s) }

func mdCode(s string) string {
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return strings.NewReplacer("|", `\|`, "`", "'", "\n", " ").Replace(s)
}
