package output

import (
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/fatih/color"

	"github.com/driftgate/driftgate/drift"
)

// hostile are values a cluster or manifest can carry into any field:
// GitHub Actions workflow commands at any indent and after a newline,
// terminal escapes (clear screen, OSC 52 clipboard write, a C1 CSI), a
// bidi override, and Markdown and Slack links, images, HTML and mentions.
var hostile = []string{
	"web\n::add-mask::secret",
	"   ::error title=Deploy approved::x",
	"::stop-commands::tok",
	"x ##[add-mask]secret",
	"\x1b[2J",
	"\x1b]52;c;ZXZpbA==\x07",
	"\u009b31m",
	"\u202eevil",
	"a\r::warning::b",
	"[click](https://evil)",
	"![x](https://evil/x.png)",
	"<https://evil>",
	"<img src=x onerror=alert(1)>",
	"@acme/sre",
	"<!channel>",
	"<https://evil|Approved by SRE>",
}

// hostileResult puts s into every string field a renderer prints.
func hostileResult(s string) *drift.Result {
	at := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	side := func(name string) drift.Side {
		return drift.Side{Name: name, Source: drift.SourceManifests, Location: s, Context: s, CapturedAt: at}
	}
	id := drift.ObjectID{Group: s, Kind: s, Namespace: s, Name: s}
	res := &drift.Result{
		Dev: side("dev"), Prod: side("prod"),
		Findings: []drift.Finding{
			{Rule: s, Severity: drift.SeverityBlock, Check: "fields", Kind: drift.FindingChanged, Object: id, Message: s,
				Fields: []drift.FieldDiff{
					{Path: s, Dev: s, Prod: s + "x"},
					{Path: s, Dev: "a\n" + s + "\nb\n", Prod: "a\n" + s + "\nc\n"},
					{Path: s, Dev: map[string]any{s: s}, Prod: []any{s}},
				}},
			{Rule: s, Severity: drift.SeverityWarn, Check: "presence", Kind: drift.FindingMissingInDev, Object: id, Message: s,
				Waiver: &drift.WaiverRef{Rule: s, Object: s, Reason: s, Owner: s, Expires: at}},
		},
		Unobserved: []drift.UnobservedSide{{Side: s, Unobserved: drift.Unobserved{
			ResourceType: drift.ResourceType{Group: s, Version: "v1", Kind: s}, Namespace: s, Reason: s}}},
		Notes: []string{s},
	}
	res.Finish()
	return res
}

// assertTerminalSafe fails when out holds a raw control or format character
// other than a newline, or a line the GitHub Actions runner would run as a
// workflow command ("::cmd::" after any blanks, or "##[cmd]" anywhere).
func assertTerminalSafe(t *testing.T, what, out string) {
	t.Helper()
	for _, r := range out {
		if r != '\n' && (unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)) {
			t.Errorf("%s: raw %U in output:\n%s", what, r, out)
			return
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), "::") {
			t.Errorf("%s: line runs as a workflow command: %q", what, line)
		}
	}
	if strings.Contains(out, "##[") {
		t.Errorf("%s: ##[ command in output:\n%s", what, out)
	}
}

func TestTextEscapesHostileInput(t *testing.T) {
	color.NoColor = true
	for _, s := range hostile {
		t.Run(s, func(t *testing.T) {
			assertTerminalSafe(t, "text", string(render(t, Text, hostileResult(s))))
		})
	}
}

// TestTextKeepsItsColour checks escaping leaves driftgate's own colour
// sequences, and only those, when colour is on.
func TestTextKeepsItsColour(t *testing.T) {
	defer func() { color.NoColor = true }()
	color.NoColor = false
	out := string(render(t, Text, hostileResult("\x1b]52;c;ZXZpbA==\x07")))
	if !strings.Contains(out, "\x1b[31;1mBLOCK") {
		t.Errorf("no colour when enabled:\n%q", out)
	}
	if strings.Contains(out, "\x1b]") {
		t.Errorf("an OSC sequence from the input reached the output:\n%q", out)
	}
}

// prose is md without its code spans and backslash-escaped characters:
// the text GitHub would scan for links, HTML and mentions.
func prose(md string) string {
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

// assertMarkdownInert fails when md's prose holds a link, an image, an
// autolink, raw HTML other than driftgate's own <details>, or a mention,
// or when a table row has more cells than its header.
func assertMarkdownInert(t *testing.T, md string) {
	t.Helper()
	p := strings.NewReplacer("<details>", "", "</details>", "", "<summary>", "", "</summary>", "").Replace(prose(md))
	for _, bad := range []string{"](", "<", "@acme", "&lt;!channel", "javascript:"} {
		if strings.Contains(p, bad) {
			t.Errorf("markdown prose holds %q:\n%s", bad, md)
		}
	}
	cells := 0
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			cells = 0
			continue
		}
		n := strings.Count(line, "|") - strings.Count(line, `\|`)
		if cells == 0 {
			cells = n
		} else if n != cells {
			t.Errorf("table row with %d cell borders, header has %d: %q", n, cells, line)
		}
	}
}

func TestMarkdownEscapesHostileInput(t *testing.T) {
	for _, s := range hostile {
		t.Run(s, func(t *testing.T) {
			md := string(render(t, Markdown, hostileResult(s)))
			assertMarkdownInert(t, md)
			assertTerminalSafe(t, "markdown", md)
		})
	}
}

// FuzzRender renders a result built from fuzzed strings in every field the
// text and Markdown renderers print, with colour off, and checks neither
// output holds a raw control character or a workflow command line, and the
// Markdown no live link, HTML or mention.
func FuzzRender(f *testing.F) {
	for _, s := range hostile {
		f.Add(s, s, s, s, s, s)
	}
	f.Add("shop", "web", "workload-spec", "image differs", "nginx:1", "note")
	f.Fuzz(func(t *testing.T, ns, name, rule, message, value, note string) {
		color.NoColor = true
		at := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
		id := drift.ObjectID{Group: value, Kind: rule, Namespace: ns, Name: name}
		res := &drift.Result{
			Dev:  drift.Side{Name: "dev", Location: ns, Context: name, Source: note},
			Prod: drift.Side{Name: "prod", Location: value},
			Findings: []drift.Finding{
				{Rule: rule, Severity: drift.SeverityBlock, Object: id, Message: message,
					Fields: []drift.FieldDiff{
						{Path: message, Dev: value, Prod: note},
						{Path: rule, Dev: value + "\n" + note, Prod: note + "\n" + value + "\n"},
						{Path: ns, Dev: map[string]any{name: value}, Prod: nil}}},
				{Rule: note, Severity: drift.SeverityWarn, Object: id, Message: value,
					Waiver: &drift.WaiverRef{Owner: name, Reason: message, Expires: at}},
			},
			Unobserved: []drift.UnobservedSide{{Side: note, Unobserved: drift.Unobserved{
				ResourceType: drift.ResourceType{Group: ns, Kind: name}, Namespace: rule, Reason: message}}},
			Notes:     []string{note, value},
			Unchecked: []string{note},
		}
		res.Finish()
		text := string(render(t, Text, res))
		assertTerminalSafe(t, "text", text)
		md := string(render(t, Markdown, res))
		assertTerminalSafe(t, "markdown", md)
		assertMarkdownInert(t, md)
	})
}
