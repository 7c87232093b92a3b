package output

import (
	"bytes"
	"strings"
	"testing"

	"github.com/driftgate/driftgate/drift"
)

// Every format says how many objects and rules were compared, and why a
// comparison of nothing could not check.
func TestEveryFormatSaysWhatWasCompared(t *testing.T) {
	t.Parallel()
	const why = "nothing in scope on prod: 0 objects in namespaces [paymnts]"
	res := &drift.Result{Compared: drift.Compared{Dev: 7, Prod: 0, Rules: 23}, Unchecked: []string{why}}
	res.Finish()
	if res.Verdict != drift.VerdictCouldNotCheck {
		t.Fatalf("verdict %s with nothing in scope", res.Verdict)
	}
	counts := "compared 7 dev and 0 prod objects under 23 rules"
	want := map[string][]string{
		Text:     {"could not check: " + why, counts},
		Markdown: {"could not check: " + `nothing in scope on prod: 0 objects in namespaces \[paymnts\]`, counts}, // Markdown-escaped
		GitHub:   {"::error title=driftgate%3A could not check::" + why, counts},
		JUnit:    {`type="unchecked"`, why, counts},
		SARIF:    {`"level": "error"`, why, `"compared": {`, `"dev": 7`, `"rules": 23`},
		// Code Quality lists issues only: a pass is an empty list, and a
		// could-not-check issue carries the counts.
		CodeClimate: {`"check_name": "driftgate/could-not-check"`, `"severity": "blocker"`, why + "; " + counts},
		JSON:        {`"unchecked": [`, why, `"compared": {`, `"dev": 7`, `"prod": 0`, `"rules": 23`},
	}
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			if err := Render(&b, format, res, Options{}); err != nil {
				t.Fatal(err)
			}
			if want[format] == nil {
				t.Fatalf("no expectation for format %s", format)
			}
			for _, w := range want[format] {
				if !strings.Contains(b.String(), w) {
					t.Errorf("-o %s lacks %q:\n%s", format, w, b.String())
				}
			}
		})
	}
}
