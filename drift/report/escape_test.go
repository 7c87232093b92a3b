package report

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/incident"

	"github.com/driftgate/driftgate/internal/textsafe/textsafetest"
)

// hostileReport puts s into every string the report shows: pair names and
// errors, a new and a resolved finding, a waiver and an incident.
func hostileReport(s string) *Report {
	f := func(name string) drift.Finding {
		return drift.Finding{Rule: s, Severity: drift.SeverityBlock, Kind: drift.FindingChanged,
			Object: drift.ObjectID{Group: s, Kind: s, Namespace: s, Name: name}, Message: s,
			Fields: []drift.FieldDiff{{Path: s, Dev: s, Prod: nil}}}
	}
	prev := Build(Input{Now: t0, Pairs: []Pair{{Name: s, Result: result(f(s + "old"))}}}, nil)
	res := result(f(s))
	res.Notes = []string{s}
	res.Unobserved = []drift.UnobservedSide{{Side: s, Unobserved: drift.Unobserved{ResourceType: drift.ResourceType{Kind: s}, Namespace: s, Reason: s}}}
	return Build(Input{
		Now:       t0.Add(24 * time.Hour),
		Pairs:     []Pair{{Name: s, Result: res}, {Name: s + "2", Error: s}},
		Waivers:   []Waiver{{Rule: s, Object: s, Reason: s, Owner: s, Expires: t0.Add(48 * time.Hour), Expiring: true, Where: s}},
		Incidents: []*incident.Record{{ID: "dg-1", Time: t0, Who: incident.Identity{Name: s}, Ticket: s, Reason: s, Findings: []drift.Finding{f(s)}}},
	}, []*Report{prev})
}

func TestMarkdownEscapesHostileInput(t *testing.T) {
	t.Parallel()
	for _, s := range textsafetest.Hostile {
		var b bytes.Buffer
		if err := hostileReport(s).Markdown(&b); err != nil {
			t.Fatal(err)
		}
		md := b.String()
		for _, bad := range []string{"](", "<", "@acme"} {
			if strings.Contains(textsafetest.Prose(md), bad) {
				t.Errorf("%q: report.md prose holds %q:\n%s", s, bad, md)
			}
		}
		for _, r := range md {
			if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
				t.Errorf("%q: raw %U in report.md:\n%s", s, r, md)
				break
			}
		}
		for _, line := range strings.Split(md, "\n") {
			if strings.HasPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), "::") || strings.Contains(line, "##[") {
				t.Errorf("%q: workflow command in report.md: %q", s, line)
			}
			if strings.HasPrefix(line, "| ") && strings.Count(line, "|")-strings.Count(line, `\|`) != 9 {
				t.Errorf("%q: table row split or joined: %q", s, line)
			}
		}
	}
}

// TestHTMLEscapesHostileInput checks html/template keeps every textsafetest.Hostile
// value text: no element, attribute or URL from the input survives.
func TestHTMLEscapesHostileInput(t *testing.T) {
	t.Parallel()
	for _, s := range textsafetest.Hostile {
		var b bytes.Buffer
		if err := hostileReport(s).HTML(&b); err != nil {
			t.Fatal(err)
		}
		html := b.String()
		for _, bad := range []string{"<img", "<https", "<!channel", "href=\"https://evil", "src=\"https://evil"} {
			if strings.Contains(html, bad) {
				t.Errorf("%q: report.html holds %q", s, bad)
			}
		}
	}
	var b bytes.Buffer
	if err := hostileReport("<img src=x onerror=alert(1)>").HTML(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "&lt;img src=x onerror=alert(1)&gt;") {
		t.Error("the value is not shown as text")
	}
}
