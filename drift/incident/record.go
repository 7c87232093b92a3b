// Package incident handles overrides of the gate. Override checks the
// override policy and records an accepted override: an immutable record,
// appended to a hash-chained log so that an edited or removed record is
// detected, a blameless postmortem skeleton beside it, and delivery to
// hooks (webhook, Slack, PagerDuty, exec, Kubernetes Event) with retries
// and an outbox.
package incident

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/driftgate/driftgate/drift"
)

// Record identifiers.
const (
	APIVersion = "driftgate.dev/v1alpha1"
	Kind       = "Incident"
)

// Record is one accepted override: what was overridden, by whom, why, and
// against which snapshots. It never holds a secret value: findings carry
// only normalized values (Secret data is digested or dropped at capture).
type Record struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	ID         string    `json:"id"`
	Time       time.Time `json:"time"`
	Who        Identity  `json:"who"`
	Reason     string    `json:"reason"`
	Ticket     string    `json:"ticket"`
	// Findings are the blocking findings the override accepted.
	Findings []drift.Finding `json:"findings"`
	Dev      drift.Side      `json:"dev"`
	Prod     drift.Side      `json:"prod"`
	Rules    []string        `json:"rules"`
	Summary  drift.Summary   `json:"summary"`
}

// Identity is who overrode, and where that was learned.
type Identity struct {
	// Name is who overrides, as claimed: --override-by, else the CI
	// system's actor, else the OS user.
	Name string `json:"name"`
	// Source is "flag", the CI system ("github-actions", "gitlab-ci",
	// "jenkins", "buildkite", "azure-pipelines", "circleci") or "os-user".
	Source string `json:"source"`
	// Actor is who the environment says runs the gate (the CI system's
	// actor, else the OS user) and ActorSource where that was read. It is
	// recorded even when --override-by names someone else, which nothing
	// verifies, so a claimed name never hides who ran the override.
	Actor       string `json:"actor,omitempty"`
	ActorSource string `json:"actorSource,omitempty"`
	// Checked is which identity override.allowedBy was checked against:
	// CheckedName (Name) for now. Records written before it was kept lack
	// it and were checked against Name too.
	Checked     string `json:"checked,omitempty"`
	Commit      string `json:"commit,omitempty"`
	PipelineURL string `json:"pipelineURL,omitempty"`
}

// CheckedName says override.allowedBy was checked against Identity.Name.
const CheckedName = "name"

// Provenance is where Name came from and, when the environment names
// someone else, who that is: "flag; the environment says mallory
// (github-actions)".
func (id Identity) Provenance() string {
	if id.Actor == "" || strings.EqualFold(id.Actor, id.Name) {
		return id.Source
	}
	return fmt.Sprintf("%s; the environment says %s (%s)", id.Source, id.Actor, id.ActorSource)
}

// NewID returns a sortable, unique incident id: dg-20261122T050203Z-1a2b3c.
func NewID(now time.Time) (string, error) {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("making an incident id: %w", err)
	}
	return "dg-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b), nil
}

// New builds the record of an override of res.
func New(res *drift.Result, who Identity, reason, ticket string, now time.Time) (*Record, error) {
	id, err := NewID(now)
	if err != nil {
		return nil, err
	}
	r := &Record{APIVersion: APIVersion, Kind: Kind, ID: id, Time: now.UTC().Truncate(time.Second), Who: who,
		Reason: reason, Ticket: ticket, Dev: res.Dev, Prod: res.Prod, Rules: res.Rules, Summary: res.Summary}
	for _, f := range res.Findings {
		if f.Blocking() {
			r.Findings = append(r.Findings, f)
		}
	}
	return r, nil
}

// Namespace is the namespace most of the overridden findings are in, where
// a Kubernetes Event about the override belongs; "default" when none.
func (r *Record) Namespace() string {
	counts := map[string]int{}
	best := ""
	for _, f := range r.Findings {
		ns := f.Object.Namespace
		if ns == "" {
			continue
		}
		counts[ns]++
		if counts[ns] > counts[best] || (counts[ns] == counts[best] && ns < best) {
			best = ns
		}
	}
	if best == "" {
		return "default"
	}
	return best
}

// SummaryLine is one line about the override, for chat and event notes.
func (r *Record) SummaryLine() string {
	return fmt.Sprintf("driftgate override %s by %s (%s): %d blocking finding(s) accepted; ticket %s; reason: %s",
		r.ID, r.Who.Name, r.Who.Provenance(), len(r.Findings), r.Ticket, r.Reason)
}
