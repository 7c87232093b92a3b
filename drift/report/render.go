package report

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/internal/textsafe"
)

// JSON writes the report as indented JSON.
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Markdown writes a short summary for chat or an issue: one line per pair,
// what is new and resolved, expiring waivers and recent incidents. Values
// from clusters, waiver files and override records are written as prose
// (md) or code spans (code), so they add no link, HTML or mention.
func (r *Report) Markdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## driftgate nightly report: %s\n\n", md(r.Verdict))
	fmt.Fprintf(&b, "_%s_", r.GeneratedAt.Format("2006-01-02 15:04 MST"))
	if !r.PreviousRun.IsZero() {
		fmt.Fprintf(&b, " · compared with %s", r.PreviousRun.Format("2006-01-02 15:04 MST"))
	}
	b.WriteString("\n\n| Pair | Verdict | Block | Warn | Info | Waived | New | Resolved |\n|---|---|---|---|---|---|---|---|\n")
	for _, p := range r.Pairs {
		if p.Result == nil {
			fmt.Fprintf(&b, "| %s | could-not-check | | | | | | |\n", md(p.Name))
			continue
		}
		s := p.Result.Summary
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %d |\n", md(p.Name), p.Result.Verdict, s.Block, s.Warn, s.Info, s.Waived, len(p.New), len(p.Resolved))
	}
	for _, p := range r.Pairs {
		if p.Error != "" {
			fmt.Fprintf(&b, "\n**%s could not be compared:** %s\n", md(p.Name), md(p.Error))
		}
		if p.Result != nil && len(p.Result.Unobserved) > 0 {
			fmt.Fprintf(&b, "\n**%s could not observe %d resource type(s)**, so nothing there is proven.\n", md(p.Name), len(p.Result.Unobserved))
		}
		if p.Result != nil {
			for _, u := range p.Result.Unchecked {
				fmt.Fprintf(&b, "\n**%s could not check:** %s\n", md(p.Name), md(u))
			}
			fmt.Fprintf(&b, "\n_%s: %s_\n", md(p.Name), p.Result.Compared)
		}
		if len(p.New) > 0 {
			fmt.Fprintf(&b, "\n**New in %s:**\n", md(p.Name))
			for _, k := range limit(p.New, 10) {
				fmt.Fprintf(&b, "- %s %s %s: %s\n", md(k.Severity.String()), code(k.Object.String()), md(k.Rule), md(short(k.Message, 140)))
			}
			if len(p.New) > 10 {
				fmt.Fprintf(&b, "- … and %d more\n", len(p.New)-10)
			}
		}
		if len(p.Resolved) > 0 {
			fmt.Fprintf(&b, "\n**Resolved in %s:** %d finding(s)", md(p.Name), len(p.Resolved))
			for i, k := range limit(p.Resolved, 5) {
				sep := ", "
				if i == 0 {
					sep = ": "
				}
				fmt.Fprintf(&b, "%s%s (%s)", sep, code(k.Object.String()), md(k.Rule))
			}
			b.WriteString("\n")
		}
	}
	var expiring []Waiver
	for _, w := range r.Waivers {
		if w.Expiring || w.Expired {
			expiring = append(expiring, w)
		}
	}
	if len(expiring) > 0 {
		b.WriteString("\n**Waivers expired or expiring within 14 days:**\n")
		for _, w := range expiring {
			state := "expires"
			if w.Expired {
				state = "expired"
			}
			fmt.Fprintf(&b, "- %s on %s (%s) %s %s\n", code(w.Rule), code(w.Object), md(w.Owner), state, w.Expires.Format("2006-01-02"))
		}
	}
	if len(r.Incidents) > 0 {
		fmt.Fprintf(&b, "\n**Overrides since the last report:** %d\n", len(r.Incidents))
		for _, in := range r.Incidents {
			fmt.Fprintf(&b, "- %s by %s, ticket %s: %s\n", code(in.ID), md(in.Who), md(in.Ticket), md(short(in.Reason, 140)))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// md and code write untrusted text as Markdown prose and as a code span.
func md(s string) string { return textsafe.Markdown(s) }

func code(s string) string { return textsafe.MarkdownCode(s) }

// short cuts s to at most n bytes on a rune boundary, marking the cut.
func short(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - 1
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func limit[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// area groups findings the way a reader thinks about them.
func area(f drift.Finding) string {
	switch {
	case f.Check == "networkpolicy":
		return "Network policy"
	case f.Check == "corefile":
		return "DNS"
	case f.Check == "unmanaged":
		return "Leftovers and manual changes"
	case f.Check == "presence":
		return "Presence"
	case f.Kind == drift.FindingWaiver:
		return "Waivers"
	case strings.HasPrefix(f.Rule, "workload"):
		return "Workloads"
	}
	return "Configuration"
}

// htmlGroup is findings of one severity and area.
type htmlGroup struct {
	Severity, Area string
	Findings       []drift.Finding
}

func groups(res *drift.Result) []htmlGroup {
	if res == nil {
		return nil
	}
	index := map[[2]string]int{}
	var out []htmlGroup
	for _, f := range res.Findings {
		k := [2]string{f.Listed(), area(f)}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, htmlGroup{Severity: k[0], Area: k[1]})
		}
		out[i].Findings = append(out[i].Findings, f)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if ri, rj := out[i].Findings[0].Rank(), out[j].Findings[0].Rank(); ri != rj {
			return ri < rj
		}
		return out[i].Area < out[j].Area
	})
	return out
}

// TrendSVG draws blocking (red) and warning (amber) counts over the runs as
// an inline SVG line chart, readable without scripts.
func TrendSVG(points []TrendPoint) template.HTML {
	const w, h, left, right, top, bottom = 560, 160, 36, 12, 12, 28
	maxY := 1
	for _, p := range points {
		maxY = max(maxY, p.Block, p.Warn)
	}
	x := func(i int) float64 {
		if len(points) < 2 {
			return float64(left+w-right) / 2
		}
		return float64(left) + float64(i)*float64(w-left-right)/float64(len(points)-1)
	}
	y := func(v int) float64 { return float64(top) + float64(h-top-bottom)*(1-float64(v)/float64(maxY)) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="trend" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="blocking and warning findings over the last %d runs">`, w, h, w, h, len(points))
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>`, left, h-bottom, w-right, h-bottom)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>`, left, top, left, h-bottom)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end">%d</text>`, left-4, top+4, maxY)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end">0</text>`, left-4, h-bottom+4)
	for _, s := range []struct {
		name, color string
		value       func(TrendPoint) int
	}{{"blocking", "#c62828", func(p TrendPoint) int { return p.Block }}, {"warning", "#ef8f00", func(p TrendPoint) int { return p.Warn }}} {
		var pts []string
		for i, p := range points {
			if !p.Failed {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(s.value(p))))
			}
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, s.color, strings.Join(pts, " "))
		for i, p := range points {
			if !p.Failed {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s: %d %s</title></circle>`, x(i), y(s.value(p)), s.color, p.Time.Format("2006-01-02 15:04"), s.value(p), s.name)
			}
		}
	}
	for i, p := range points {
		if p.Failed {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" fill="#555" text-anchor="middle">?<title>%s: could not compare</title></text>`, x(i), h-bottom-4, p.Time.Format("2006-01-02 15:04"))
		}
	}
	if n := len(points); n > 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11">%s</text>`, left, h-8, points[0].Time.Format("Jan 2"))
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end">%s</text>`, w-right, h-8, points[n-1].Time.Format("Jan 2"))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#c62828">blocking</text><text x="%d" y="%d" font-size="11" fill="#ef8f00">warning</text>`, w/2-60, h-8, w/2+10, h-8)
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built here from numbers and formatted times only
}

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"groups": groups,
	"trend":  TrendSVG,
	"value":  func(v any) string { return drift.FieldDiff{Dev: v}.DevString() },
	"date":   func(t interface{ Format(string) string }) string { return t.Format("2006-01-02") },
	"when":   func(t interface{ Format(string) string }) string { return t.Format("2006-01-02 15:04 MST") },
	"upper":  strings.ToUpper,
}).Parse(htmlSource))

// HTML writes the report as one self-contained page: inline styles and SVG,
// no scripts, no external assets.
func (r *Report) HTML(w io.Writer) error { return htmlTemplate.Execute(w, r) }

const htmlSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>driftgate report {{when .GeneratedAt}}: {{.Verdict}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1b1b1b;line-height:1.4}
h1{font-size:1.5rem}h2{font-size:1.25rem;margin-top:2.5rem;border-bottom:1px solid #ddd;padding-bottom:.25rem}h3{font-size:1.05rem;margin-top:1.5rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f5f5f5}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;word-break:break-all}
.pass{color:#1b5e20}.blocked,.block{color:#b71c1c}.could-not-check{color:#6a1b9a}.warn{color:#a35200}.info{color:#01579b}.waived{color:#616161}
.verdict{font-weight:700}.muted{color:#616161}.finding{margin:.75rem 0 .75rem 1rem}.fields td:first-child{width:40%}
.dev{background:#fff1f0}.prod{background:#f0fff3}
</style>
</head>
<body>
<h1>driftgate report: <span class="verdict {{.Verdict}}">{{.Verdict}}</span></h1>
<p class="muted">Generated {{when .GeneratedAt}}{{if not .PreviousRun.IsZero}}; new and resolved are against the run of {{when .PreviousRun}}{{else}}; first run, so nothing is new or resolved yet{{end}}.</p>

<h2>Summary</h2>
<table>
<tr><th>Pair</th><th>Verdict</th><th>Block</th><th>Warn</th><th>Info</th><th>Waived</th><th>New</th><th>Resolved</th><th>Dev</th><th>Prod</th></tr>
{{range .Pairs}}<tr><td><a href="#pair-{{.Name}}">{{.Name}}</a></td>{{with .Result}}<td class="verdict {{.Verdict}}">{{.Verdict}}</td><td>{{.Summary.Block}}</td><td>{{.Summary.Warn}}</td><td>{{.Summary.Info}}</td><td>{{.Summary.Waived}}</td>{{else}}<td class="verdict could-not-check">could-not-check</td><td></td><td></td><td></td><td></td>{{end}}<td>{{len .New}}</td><td>{{len .Resolved}}</td><td>{{with .Result}}<code>{{.Dev.Location}}</code>{{end}}</td><td>{{with .Result}}<code>{{.Prod.Location}}</code>{{end}}</td></tr>
{{end}}</table>

{{range .Pairs}}
<h2 id="pair-{{.Name}}">{{.Name}}</h2>
{{if .Error}}<p class="could-not-check"><strong>Could not compare:</strong> {{.Error}}</p>{{end}}
<h3>Trend over the last {{len .Trend}} run(s)</h3>
{{trend .Trend}}
{{with .Result}}
{{if .Unobserved}}<h3 class="could-not-check">Could not check</h3>
<ul>{{range .Unobserved}}<li>{{.Side}}: <code>{{.GroupKind}}</code>{{if .Namespace}} in <code>{{.Namespace}}</code>{{end}}: {{.Reason}}</li>{{end}}</ul>{{end}}
{{if .Unchecked}}<h3 class="could-not-check">Nothing checked</h3>
<ul>{{range .Unchecked}}<li>{{.}}</li>{{end}}</ul>{{end}}
<p class="muted">{{.Compared}}</p>
{{end}}
{{if .New}}<h3>New since the last run ({{len .New}})</h3>
<ul>{{range .New}}<li><span class="{{.Severity}}">{{.Severity}}</span> <code>{{.Object}}</code> {{.Rule}}: {{.Message}}</li>{{end}}</ul>{{end}}
{{if .Resolved}}<h3>Resolved since the last run ({{len .Resolved}})</h3>
<ul>{{range .Resolved}}<li><code>{{.Object}}</code> {{.Rule}}: {{.Message}}</li>{{end}}</ul>{{end}}
{{with .Result}}
{{if and (not .Findings) (eq .Verdict "pass")}}<p class="pass">No findings: dev reproduces prod.</p>{{end}}
{{range groups .}}
<h3><span class="{{.Severity}}">{{upper .Severity}}</span> · {{.Area}} ({{len .Findings}})</h3>
{{range .Findings}}<div class="finding"><div><code>{{.Object}}</code> <strong>{{.Rule}}</strong>: {{.Message}}</div>
{{with .Waiver}}<div class="muted">waived by {{.Owner}} until {{date .Expires}}: {{.Reason}}</div>{{end}}
{{if .Fields}}<table class="fields"><tr><th>Field</th><th>dev</th><th>prod</th></tr>
{{range .Fields}}<tr><td><code>{{.Path}}</code></td><td class="dev"><code>{{.DevString}}</code></td><td class="prod"><code>{{.ProdString}}</code></td></tr>{{end}}
</table>{{end}}</div>
{{end}}{{end}}
{{range .Notes}}<p class="muted">Note: {{.}}</p>{{end}}
{{end}}
{{end}}

<h2>Waivers</h2>
{{if .Waivers}}<table><tr><th>Rule</th><th>Object</th><th>Owner</th><th>Expires</th><th>Reason</th><th>Where</th></tr>
{{range .Waivers}}<tr><td><code>{{.Rule}}</code></td><td><code>{{.Object}}</code></td><td>{{.Owner}}</td><td{{if .Expired}} class="block"{{else if .Expiring}} class="warn"{{end}}>{{date .Expires}}{{if .Expired}} (expired){{else if .Expiring}} (within 14 days){{end}}</td><td>{{.Reason}}</td><td><code>{{.Where}}</code></td></tr>
{{end}}</table>{{else}}<p class="muted">No waivers.</p>{{end}}

<h2>Incidents since the last report</h2>
{{if .Incidents}}<table><tr><th>Incident</th><th>Time</th><th>Who</th><th>Ticket</th><th>Findings</th><th>Reason</th></tr>
{{range .Incidents}}<tr><td><code>{{.ID}}</code></td><td>{{when .Time}}</td><td>{{.Who}}</td><td>{{.Ticket}}</td><td>{{.Findings}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>{{else}}<p class="muted">No overrides since the last report.</p>{{end}}
</body>
</html>
`
