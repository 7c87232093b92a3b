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

// Record identifiers. APIVersion v1alpha2 records say which identity was
// checked against override.allowedBy and how it was learned (Identity's
// Verified, Claims and Checked): their who.name is the identity a cluster
// verified unless who.checked says "claim". v1alpha1 records, written
// before, checked who.name as claimed. Both verify alike: the log's
// digests cover a record's bytes as written, whatever its version.
const (
	APIVersion = "driftgate.dev/v1alpha2"
	Kind       = "Incident"
)

// APIVersionV1Alpha1 is the version of records whose who.name was a claim
// that nothing verified.
const APIVersionV1Alpha1 = "driftgate.dev/v1alpha1"

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
	// Name is who overrode: the user a cluster verified (Checked is
	// CheckedVerified), or, with override.trustClaimedIdentity, the claim
	// (--override-by, else the CI system's actor, else the OS user).
	Name string `json:"name"`
	// Source is where Name came from: SourceVerified, "flag", the CI
	// system ("github-actions", "gitlab-ci", "jenkins", "buildkite",
	// "azure-pipelines", "circleci") or "os-user".
	Source string `json:"source"`
	// Actor is who the environment says runs the gate (the CI system's
	// actor, else the OS user) and ActorSource where that was read. It is
	// recorded even when --override-by names someone else, which nothing
	// verifies, so a claimed name never hides who ran the override.
	Actor       string `json:"actor,omitempty"`
	ActorSource string `json:"actorSource,omitempty"`
	// Checked is which identity override.allowedBy was checked against:
	// CheckedVerified or CheckedClaim; CheckedName on v1alpha1 records,
	// and records older still lack it (they were checked against the
	// claimed Name too).
	Checked string `json:"checked,omitempty"`
	// Verified is who a cluster authenticated the gate's credentials as;
	// nil when no cluster was asked (override.trustClaimedIdentity with no
	// live environment).
	Verified *Verified `json:"verified,omitempty"`
	// Claims are the identities nothing verified: --override-by, the CI
	// system's actor, the OS user. They are checked against allowedBy only
	// when Checked is CheckedClaim.
	Claims []Claim `json:"claims,omitempty"`
	// AllowedAs is the override.allowedBy entry that let Name override:
	// the user's name or group:NAME.
	AllowedAs   string `json:"allowedAs,omitempty"`
	Commit      string `json:"commit,omitempty"`
	PipelineURL string `json:"pipelineURL,omitempty"`
}

// What override.allowedBy was checked against (Identity.Checked).
const (
	// CheckedVerified: the user and groups a cluster verified (Verified).
	CheckedVerified = "verified"
	// CheckedClaim: the claimed Name, as override.trustClaimedIdentity allows.
	CheckedClaim = "claim"
	// CheckedName: the claimed Name, on v1alpha1 records, when nothing
	// else could be checked.
	CheckedName = "name"
)

// SourceVerified is Identity.Source when Name is the user a cluster verified.
const SourceVerified = "cluster"

// Provenance says where Name came from and what else was claimed:
// "verified by SelfSubjectReview on prod (context prod, server
// https://prod.example:6443); claimed: alice (flag)", or, for a claim,
// "flag; the environment says mallory (github-actions)".
func (id Identity) Provenance() string {
	if id.Checked == CheckedVerified && id.Verified != nil {
		s := "verified by " + id.Verified.By
		var other []string
		for _, c := range id.Claims {
			if c.Name != id.Name {
				other = append(other, c.String())
			}
		}
		if len(other) > 0 {
			s += "; claimed: " + strings.Join(other, ", ")
		}
		return s
	}
	s := id.Source
	if id.Actor != "" && !strings.EqualFold(id.Actor, id.Name) {
		s = fmt.Sprintf("%s; the environment says %s (%s)", id.Source, id.Actor, id.ActorSource)
	}
	if id.Verified != nil && id.Verified.User != id.Name {
		s += fmt.Sprintf("; the cluster says %s (%s)", id.Verified.User, id.Verified.By)
	}
	return s
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
