package drift

import (
	"fmt"
	"strings"
	"time"
)

// ResultSchema versions the JSON form of a Result; see README "JSON output".
const ResultSchema = "driftgate.dev/diff/v1"

// Severity is how serious a finding is: block, warn or info. It marshals as
// that word in JSON and YAML.
type Severity string

// Severities, from most to least serious.
const (
	SeverityBlock Severity = "block"
	SeverityWarn  Severity = "warn"
	SeverityInfo  Severity = "info"
)

// severities is the one place the order of severities is declared: most
// serious first.
var severities = [...]Severity{SeverityBlock, SeverityWarn, SeverityInfo}

// Severities lists the valid severities, most serious first.
func Severities() []Severity { return severities[:] }

// ParseSeverity reads block, warn or info.
func ParseSeverity(s string) (Severity, error) {
	if v := Severity(s); v.Valid() {
		return v, nil
	}
	return "", fmt.Errorf("unknown severity %q: want one of %s", s, SeverityChoices())
}

// SeverityChoices lists the severities for help and hints: "block, warn, info".
func SeverityChoices() string {
	names := make([]string, len(severities))
	for i, s := range severities {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// Valid reports whether s is one of the severities.
func (s Severity) Valid() bool { return s.Rank() < len(severities) }

// Rank orders severities: 0 for the most serious; an unknown severity ranks
// after every valid one, at len(Severities()).
func (s Severity) Rank() int {
	for i, v := range severities {
		if v == s {
			return i
		}
	}
	return len(severities)
}

// Compare is negative when s is more serious than t, zero when they are
// the same, positive when s is less serious.
func (s Severity) Compare(t Severity) int { return s.Rank() - t.Rank() }

// AtMost is s, lowered to limit when limit is less serious: a check's own
// severity capped by its rule's (a team may run a check as warn).
func (s Severity) AtMost(limit Severity) Severity {
	if s.Compare(limit) < 0 {
		return limit
	}
	return s
}

// String is the severity's word.
func (s Severity) String() string { return string(s) }

// Verdicts.
const (
	VerdictPass          = "pass"
	VerdictBlocked       = "blocked"
	VerdictCouldNotCheck = "could-not-check"
)

// Finding kinds.
const (
	FindingMissingInDev = "missing-in-dev"
	FindingExtraInDev   = "extra-in-dev"
	FindingChanged      = "changed"
	FindingWaiver       = "waiver" // about a waiver itself: expired or stale
	// FindingUnchecked is a difference the rule could not judge (network
	// policy conditions that cannot be decided statically): unless waived,
	// the verdict is could-not-check.
	FindingUnchecked = "unchecked"
)

// Finding is one way dev does not reproduce prod, as one rule sees it for one object.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Check    string   `json:"check"`
	Kind     string   `json:"kind"`
	Object   ObjectID `json:"object"`
	Message  string   `json:"message"`
	// Fields are the differing fields, for field comparisons.
	Fields []FieldDiff `json:"fields,omitempty"`
	// Waiver is set when an active waiver accepts this finding: it is shown
	// but does not block.
	Waiver *WaiverRef `json:"waiver,omitempty"`
}

// Blocking reports whether the finding blocks a deploy.
func (f *Finding) Blocking() bool { return f.Severity == SeverityBlock && f.Waiver == nil }

// Waived is the heading listings give findings a waiver accepts, after every
// severity.
const Waived = "waived"

// Listed is the heading a finding is listed under: its severity, or Waived.
func (f *Finding) Listed() string {
	if f.Waiver != nil {
		return Waived
	}
	return f.Severity.String()
}

// Rank orders findings for listing: by severity, most serious first (an
// unknown severity as the least), and waived findings last, at
// len(Severities()).
func (f *Finding) Rank() int {
	if f.Waiver != nil {
		return len(severities)
	}
	return min(f.Severity.Rank(), len(severities)-1)
}

// WaiverRef identifies the waiver that accepted a finding.
type WaiverRef struct {
	Rule    string    `json:"rule"`
	Object  string    `json:"object"`
	Reason  string    `json:"reason"`
	Owner   string    `json:"owner"`
	Expires time.Time `json:"expires"`
}

// Side describes one environment of a comparison.
type Side struct {
	Name          string    `json:"name"` // dev or prod
	Source        string    `json:"source"`
	Location      string    `json:"location,omitempty"` // file, folder or context
	Context       string    `json:"context,omitempty"`
	ServerVersion string    `json:"serverVersion,omitempty"`
	CapturedAt    time.Time `json:"capturedAt"`
	Digest        string    `json:"digest"`
	Objects       int       `json:"objects"`
	// SignedBy is the id of the trusted key the side's snapshot was
	// verified with (see drift/sign), when one was required.
	SignedBy string `json:"signedBy,omitempty"`
}

// UnobservedSide is a type one side could not observe.
type UnobservedSide struct {
	Side string `json:"side"`
	Unobserved
}

// Summary counts findings by severity; waived findings are counted apart.
type Summary struct {
	Block  int `json:"block"`
	Warn   int `json:"warn"`
	Info   int `json:"info"`
	Waived int `json:"waived"`
}

// Result is the outcome of comparing dev with prod; every output format renders it.
type Result struct {
	Schema     string           `json:"schema"`
	Verdict    string           `json:"verdict"`
	Summary    Summary          `json:"summary"`
	Dev        Side             `json:"dev"`
	Prod       Side             `json:"prod"`
	Rules      []string         `json:"rules"` // rule sets used
	Findings   []Finding        `json:"findings"`
	Unobserved []UnobservedSide `json:"unobserved"`
	// Compared counts what was compared: objects in scope on each side and
	// rules evaluated.
	Compared Compared `json:"compared"`
	// Unchecked says why a comparison in which every type was observed
	// still proves nothing (a side with nothing in scope, no rules); any
	// makes the verdict could-not-check.
	Unchecked []string `json:"unchecked,omitempty"`
	// Notes are things the user should know that are not findings (for
	// example, Secret digests made with different keys).
	Notes []string `json:"notes,omitempty"`
}

// Compared counts what a comparison covered.
type Compared struct {
	// Dev and Prod are the objects in scope on each side (dev's in prod's
	// names), cluster-scoped ones included.
	Dev  int `json:"dev"`
	Prod int `json:"prod"`
	// Rules is how many rules were evaluated.
	Rules int `json:"rules"`
}

// String says what was compared, for the verdict line of every format.
func (c Compared) String() string {
	return fmt.Sprintf("compared %d dev and %d prod objects under %d rules", c.Dev, c.Prod, c.Rules)
}

// Finish counts the findings and sets the verdict: could-not-check when any
// type in scope was unobserved or the comparison covered nothing
// (Unchecked), else blocked when any finding blocks.
func (r *Result) Finish() {
	r.Schema = ResultSchema
	r.Summary = Summary{}
	for i := range r.Findings {
		f := &r.Findings[i]
		switch {
		case f.Waiver != nil:
			r.Summary.Waived++
		case f.Severity == SeverityBlock:
			r.Summary.Block++
		case f.Severity == SeverityWarn:
			r.Summary.Warn++
		default:
			r.Summary.Info++
		}
	}
	switch {
	case len(r.Unobserved) > 0 || len(r.Unchecked) > 0:
		r.Verdict = VerdictCouldNotCheck
	case r.Summary.Block > 0:
		r.Verdict = VerdictBlocked
	default:
		r.Verdict = VerdictPass
	}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	if r.Unobserved == nil {
		r.Unobserved = []UnobservedSide{}
	}
}

// SideOf describes a snapshot as one side of a comparison.
func SideOf(name, location string, s *Snapshot) Side {
	return Side{
		Name: name, Source: s.Metadata.Source, Location: location, Context: s.Metadata.Context,
		ServerVersion: s.Metadata.ServerVersion, CapturedAt: s.Metadata.CapturedAt, Digest: s.Digest, Objects: len(s.Objects),
	}
}
