package output

import (
	"strings"
	"testing"
	"time"

	"github.com/fatih/color"

	"github.com/driftgate/driftgate/drift"

	"github.com/driftgate/driftgate/internal/textsafe/textsafetest"
)

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

func TestTextEscapesHostileInput(t *testing.T) {
	color.NoColor = true
	for _, s := range textsafetest.Hostile {
		t.Run(s, func(t *testing.T) {
			textsafetest.AssertTerminalSafe(t, "text", string(render(t, Text, hostileResult(s))))
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

// assertMarkdownInert fails when md's prose holds a link, an image, an
// autolink, raw HTML other than driftgate's own <details>, or a mention,
// or when a table row has more cells than its header.
func assertMarkdownInert(t *testing.T, md string) {
	t.Helper()
	p := strings.NewReplacer("<details>", "", "</details>", "", "<summary>", "", "</summary>", "").Replace(textsafetest.Prose(md))
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
	for _, s := range textsafetest.Hostile {
		t.Run(s, func(t *testing.T) {
			md := string(render(t, Markdown, hostileResult(s)))
			assertMarkdownInert(t, md)
			textsafetest.AssertTerminalSafe(t, "markdown", md)
		})
	}
}

// FuzzRender renders a result built from fuzzed strings in every field the
// text and Markdown renderers print, with colour off, and checks neither
// output holds a raw control character or a workflow command line, and the
// Markdown no live link, HTML or mention.
func FuzzRender(f *testing.F) {
	for _, s := range textsafetest.Hostile {
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
		textsafetest.AssertTerminalSafe(t, "text", text)
		md := string(render(t, Markdown, res))
		textsafetest.AssertTerminalSafe(t, "markdown", md)
		assertMarkdownInert(t, md)
	})
}
