package incident

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/driftgate/driftgate/drift"

	"github.com/driftgate/driftgate/internal/textsafe/textsafetest"
)

// hostileRecord puts s into every string of a record that people read.
func hostileRecord(s string) *Record {
	f := drift.Finding{Rule: s, Severity: drift.SeverityBlock, Check: s, Kind: drift.FindingChanged,
		Object: drift.ObjectID{Group: s, Kind: s, Namespace: s, Name: s}, Message: s}
	side := drift.Side{Location: s, Context: s, Digest: s}
	return &Record{ID: "dg-20261122T050000Z-abcdef", Time: time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC),
		Who:    Identity{Name: s, Source: s, Commit: s, PipelineURL: "https://ci.example/run/1?x=" + s},
		Reason: s + "\nsecond line " + s, Ticket: s, Findings: []drift.Finding{f, f}, Dev: side, Prod: side}
}

func TestPostmortemEscapesHostileInput(t *testing.T) {
	t.Parallel()
	for _, s := range textsafetest.Hostile {
		md := Postmortem(hostileRecord(s))
		p := textsafetest.Prose(md)
		for _, bad := range []string{"](", "<img", "<https://evil", "<!channel", "@acme"} {
			if strings.Contains(p, bad) {
				t.Errorf("%q: postmortem prose holds %q:\n%s", s, bad, md)
			}
		}
		textsafetest.AssertNoControl(t, "postmortem", md)
		for _, line := range strings.Split(md, "\n") {
			if strings.HasPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), "::") || strings.Contains(line, "##[") {
				t.Errorf("%q: workflow command in postmortem: %q", s, line)
			}
			if cells := strings.Count(line, "|") - strings.Count(line, `\|`); strings.HasPrefix(line, "| ") && cells != 3 && cells != 4 {
				t.Errorf("%q: table row split or joined (%d borders): %q", s, cells, line)
			}
		}
	}
}

// TestPostmortemPipelineLink keeps a plain CI URL clickable.
func TestPostmortemPipelineLink(t *testing.T) {
	t.Parallel()
	r := hostileRecord("x")
	r.Who.PipelineURL = "https://github.com/acme/shop/actions/runs/42"
	if md := Postmortem(r); !strings.Contains(md, "| Pipeline | <https://github.com/acme/shop/actions/runs/42> |") {
		t.Errorf("pipeline not linked:\n%s", md)
	}
}

func TestSlackTextEscapesHostileInput(t *testing.T) {
	t.Parallel()
	for _, s := range textsafetest.Hostile {
		text := slackText(hostileRecord(s))
		// In mrkdwn, < starts every link, mention and broadcast; the only
		// one driftgate writes is the pipeline link, whose URL must not
		// carry a label or a second link.
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "<https://ci.example/") {
				if strings.Count(line, "<") != 1 || strings.Count(line, "|") != 1 || strings.Count(line, ">") != 1 {
					t.Errorf("%q: pipeline link carries more: %q", s, line)
				}
			} else if strings.Contains(line, "<") {
				t.Errorf("%q: Slack text holds a raw '<': %q", s, line)
			}
		}
		textsafetest.AssertNoControl(t, "slack", text)
	}
	r := hostileRecord("x")
	r.Who.PipelineURL = "https://github.com/acme/shop/actions/runs/42"
	if text := slackText(r); !strings.Contains(text, "<https://github.com/acme/shop/actions/runs/42|pipeline>") {
		t.Errorf("pipeline not linked:\n%s", text)
	}
	// The channel sees who the environment says ran the gate when it is
	// not who the flag named.
	r.Who.Name, r.Who.Source, r.Who.Actor, r.Who.ActorSource = "alice", "flag", "mallory", "github-actions"
	if text := slackText(r); !strings.Contains(text, "the environment says mallory (github-actions)") {
		t.Errorf("the environment's actor is not in the Slack text:\n%s", text)
	}
}

// TestDeliverTextToSlackIsInert sends the report's Markdown, whose code
// spans keep '<' for GitHub, to Slack, where it must not broadcast.
func TestDeliverTextToSlackIsInert(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rc.record(r) }))
	defer srv.Close()
	d := deliverer(t, Hook{Type: HookSlack, URL: srv.URL})
	if dels := d.DeliverText(context.Background(), "driftgate.report", "- `<!channel>` on `<https://evil|Approved by SRE>`"); dels[0].Err != nil {
		t.Fatal(dels[0].Err)
	}
	var slack map[string]string
	if err := json.Unmarshal(rc.bodies[0], &slack); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(slack["text"], "<") {
		t.Errorf("Slack text holds a raw '<': %s", slack["text"])
	}
}

// TestEventNoteEscapesHostileInput: the Kubernetes Event's note reaches
// terminals through kubectl get events and describe.
func TestEventNoteEscapesHostileInput(t *testing.T) {
	t.Parallel()
	for _, h := range textsafetest.Hostile {
		ev := EventFor(hostileRecord(h))
		textsafetest.AssertNoControl(t, "event note", ev.Note)
	}
}
