package output

import (
	"fmt"
	"io"
	"strings"

	"github.com/fatih/color"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/internal/textsafe"
)

var (
	blockColor  = color.New(color.FgRed, color.Bold)
	warnColor   = color.New(color.FgYellow, color.Bold)
	infoColor   = color.New(color.FgCyan)
	waivedColor = color.New(color.FgHiBlack)
	devColor    = color.New(color.FgRed)
	prodColor   = color.New(color.FgGreen)
	boldColor   = color.New(color.Bold)
)

// renderText writes findings grouped by severity, then object, and a
// one-line verdict. Colour follows color.NoColor, decided once by the caller.
// Every value from the input goes through textsafe.Line (as line, below)
// before it is coloured: output for terminals and CI logs.
func renderText(w io.Writer, res *drift.Result) error {
	var b strings.Builder
	if len(res.Unobserved) > 0 {
		fmt.Fprintln(&b, blockColor.Sprint("COULD NOT CHECK"))
		for _, u := range res.Unobserved {
			where := ""
			if u.Namespace != "" {
				where = " in " + u.Namespace
			}
			fmt.Fprintf(&b, "  %s: %s%s: %s\n", line(u.Side), line(u.GroupKind()), line(where), line(u.Reason))
		}
		fmt.Fprintln(&b)
	}
	for _, g := range groupBySeverity(res) {
		if len(g.findings) == 0 {
			continue
		}
		label, c := strings.ToUpper(g.title), colorFor(g.title)
		var last drift.ObjectID
		for i, f := range g.findings {
			if i == 0 || f.Object != last {
				fmt.Fprintf(&b, "%s %s\n", c.Sprintf("%-6s", label), boldColor.Sprint(line(f.Object.String())))
				last = f.Object
			}
			fmt.Fprintf(&b, "  %s: %s\n", line(f.Rule), line(f.Message))
			if f.Waiver != nil {
				fmt.Fprintf(&b, "    waived by %s until %s: %s\n", line(f.Waiver.Owner), f.Waiver.Expires.Format("2006-01-02"), line(f.Waiver.Reason))
			}
			for _, d := range f.Fields {
				if lines, ok := lineDiff(d.Dev, d.Prod); ok {
					fmt.Fprintf(&b, "    %s (- dev, + prod)\n", line(d.Path))
					for _, l := range lines {
						var c *color.Color
						switch l[0] {
						case '-':
							c = devColor
						case '+':
							c = prodColor
						default:
							c = waivedColor
						}
						fmt.Fprintf(&b, "      %s\n", c.Sprint(l))
					}
					continue
				}
				fmt.Fprintf(&b, "    %s\n      dev:  %s\n      prod: %s\n", line(d.Path), devColor.Sprint(line(d.DevString())), prodColor.Sprint(line(d.ProdString())))
			}
		}
		fmt.Fprintln(&b)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(&b, "note: %s\n", line(n))
	}
	verdict := line(verdictLine(res)) // the reasons name namespaces and files the user typed
	switch res.Verdict {
	case drift.VerdictPass:
		verdict = prodColor.Sprint(verdict)
	default:
		verdict = blockColor.Sprint(verdict)
	}
	fmt.Fprintf(&b, "%s (dev: %s, prod: %s)\n", verdict, line(sideLine(res.Dev)), line(sideLine(res.Prod)))
	_, err := io.WriteString(w, b.String())
	return err
}

// line is textsafe.Line, short for the many fields above.
func line(s string) string { return textsafe.Line(s) }

func colorFor(title string) *color.Color {
	switch drift.Severity(title) {
	case drift.SeverityBlock:
		return blockColor
	case drift.SeverityWarn:
		return warnColor
	case drift.SeverityInfo:
		return infoColor
	}
	return waivedColor
}
