// Package report builds the nightly drift report over several dev/prod
// pairs: each pair's result, what is new and what was resolved since the
// last run, blocking and warning trends over the last runs, waivers and
// those about to expire, and the incidents recorded since the last report.
// It renders the report as self-contained HTML, short Markdown and JSON,
// and the run as OpenMetrics text (report.prom) a Pushgateway can take too;
// Run does a whole nightly run, from comparing the pairs to delivering the
// Markdown.
package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/incident"
	"github.com/driftgate/driftgate/internal/atomicfile"
	"github.com/driftgate/driftgate/internal/regularfile"
)

// Schema versions the report JSON; each pair's result is a diff/v1 result.
const Schema = "driftgate.dev/report/v1"

// TrendRuns is how many runs the trend chart covers.
const TrendRuns = 30

// ExpiringWithin is how soon a waiver's expiry is called out.
const ExpiringWithin = 14 * 24 * time.Hour

// Report is one run of the nightly report.
type Report struct {
	Schema      string    `json:"schema"`
	GeneratedAt time.Time `json:"generatedAt"`
	Verdict     string    `json:"verdict"`
	Pairs       []Pair    `json:"pairs"`
	Waivers     []Waiver  `json:"waivers"`
	// Incidents are the overrides recorded since the previous report.
	Incidents []IncidentSummary `json:"incidents"`
	// PreviousRun is when the run compared against ran; zero for the first.
	PreviousRun time.Time `json:"previousRun,omitzero"`
}

// Pair is one dev/prod pair's part of the report.
type Pair struct {
	Name string `json:"name"`
	// Result is nil when the pair could not be compared at all (Error says why).
	Result *drift.Result `json:"result,omitempty"`
	Error  string        `json:"error,omitempty"`
	// New and Resolved are findings (by rule, object and kind) that appeared
	// or disappeared since the previous run.
	New      []FindingKey `json:"new"`
	Resolved []FindingKey `json:"resolved"`
	Trend    []TrendPoint `json:"trend"`
}

// Verdict is the pair's verdict, could-not-check when it failed to run.
func (p *Pair) Verdict() string {
	if p.Result == nil {
		return drift.VerdictCouldNotCheck
	}
	return p.Result.Verdict
}

// FindingKey identifies a finding across runs.
type FindingKey struct {
	Rule     string         `json:"rule"`
	Severity drift.Severity `json:"severity"`
	Kind     string         `json:"kind"`
	Object   drift.ObjectID `json:"object"`
	Message  string         `json:"message"`
}

func keyOf(f drift.Finding) FindingKey {
	return FindingKey{Rule: f.Rule, Severity: f.Severity, Kind: f.Kind, Object: f.Object, Message: f.Message}
}

func (k FindingKey) id() string { return k.Rule + "|" + k.Kind + "|" + k.Object.String() }

// TrendPoint is one run's counts for a pair.
type TrendPoint struct {
	Time  time.Time `json:"time"`
	Block int       `json:"block"`
	Warn  int       `json:"warn"`
	// Failed is set when the run could not compare the pair.
	Failed bool `json:"failed,omitempty"`
}

// Waiver is a waiver in effect, with how soon it expires.
type Waiver struct {
	Rule     string    `json:"rule"`
	Object   string    `json:"object"`
	Reason   string    `json:"reason"`
	Owner    string    `json:"owner"`
	Expires  time.Time `json:"expires"`
	Expired  bool      `json:"expired"`
	Expiring bool      `json:"expiring"` // within ExpiringWithin
	Where    string    `json:"where"`
}

// IncidentSummary is an override recorded since the previous report.
type IncidentSummary struct {
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
	Who      string    `json:"who"`
	Ticket   string    `json:"ticket"`
	Reason   string    `json:"reason"`
	Findings int       `json:"findings"`
}

// Input is what one run compared, before history is applied.
type Input struct {
	Now       time.Time
	Pairs     []Pair // Name and Result or Error set
	Waivers   []Waiver
	Incidents []*incident.Record
}

// Build assembles the report, comparing with the history's runs (oldest
// first) for new and resolved findings and trends.
func Build(in Input, history []*Report) *Report {
	r := &Report{Schema: Schema, GeneratedAt: in.Now.UTC().Truncate(time.Second), Pairs: in.Pairs, Waivers: in.Waivers}
	var prev *Report
	if n := len(history); n > 0 {
		prev = history[n-1]
		r.PreviousRun = prev.GeneratedAt
	}
	for i := range r.Pairs {
		p := &r.Pairs[i]
		var before *Pair
		if prev != nil {
			before = prev.pair(p.Name)
		}
		p.New, p.Resolved = changes(before, p)
		for _, h := range tail(history, TrendRuns-1) {
			if hp := h.pair(p.Name); hp != nil {
				p.Trend = append(p.Trend, hp.point(h.GeneratedAt))
			}
		}
		p.Trend = append(p.Trend, p.point(r.GeneratedAt))
	}
	for _, rec := range in.Incidents {
		if prev != nil && !rec.Time.After(prev.GeneratedAt) {
			continue
		}
		r.Incidents = append(r.Incidents, IncidentSummary{ID: rec.ID, Time: rec.Time, Who: rec.Who.Name, Ticket: rec.Ticket, Reason: rec.Reason, Findings: len(rec.Findings)})
	}
	for i := range r.Waivers {
		w := &r.Waivers[i]
		w.Expired = in.Now.After(w.Expires)
		w.Expiring = !w.Expired && w.Expires.Sub(in.Now) <= ExpiringWithin
	}
	sort.SliceStable(r.Waivers, func(i, j int) bool { return r.Waivers[i].Expires.Before(r.Waivers[j].Expires) })
	r.Verdict = drift.VerdictPass
	for i := range r.Pairs {
		switch r.Pairs[i].Verdict() {
		case drift.VerdictCouldNotCheck:
			r.Verdict = drift.VerdictCouldNotCheck
		case drift.VerdictBlocked:
			if r.Verdict == drift.VerdictPass {
				r.Verdict = drift.VerdictBlocked
			}
		}
	}
	if r.Incidents == nil {
		r.Incidents = []IncidentSummary{}
	}
	if r.Waivers == nil {
		r.Waivers = []Waiver{}
	}
	return r
}

func tail(h []*Report, n int) []*Report {
	if len(h) > n {
		return h[len(h)-n:]
	}
	return h
}

func (r *Report) pair(name string) *Pair {
	for i := range r.Pairs {
		if r.Pairs[i].Name == name {
			return &r.Pairs[i]
		}
	}
	return nil
}

func (p *Pair) point(t time.Time) TrendPoint {
	if p.Result == nil {
		return TrendPoint{Time: t, Failed: true}
	}
	return TrendPoint{Time: t, Block: p.Result.Summary.Block, Warn: p.Result.Summary.Warn}
}

// keys are the pair's unwaived findings by identity.
func (p *Pair) keys() map[string]FindingKey {
	out := map[string]FindingKey{}
	if p == nil || p.Result == nil {
		return out
	}
	for _, f := range p.Result.Findings {
		if f.Waiver == nil && f.Kind != drift.FindingWaiver {
			k := keyOf(f)
			out[k.id()] = k
		}
	}
	return out
}

// changes are the findings new in p and those gone since before. A pair
// that failed on either run has no changes: nothing is known to be resolved.
func changes(before, p *Pair) (added, resolved []FindingKey) {
	added, resolved = []FindingKey{}, []FindingKey{}
	if p.Result == nil || (before != nil && before.Result == nil) {
		return added, resolved
	}
	was, now := before.keys(), p.keys()
	for id, k := range now {
		if _, ok := was[id]; !ok {
			added = append(added, k)
		}
	}
	for id, k := range was {
		if _, ok := now[id]; !ok {
			resolved = append(resolved, k)
		}
	}
	sortKeys(added)
	sortKeys(resolved)
	return added, resolved
}

func sortKeys(ks []FindingKey) {
	slices.SortFunc(ks, func(a, b FindingKey) int {
		if c := a.Object.Compare(b.Object); c != 0 {
			return c
		}
		return strings.Compare(a.Rule, b.Rule)
	})
}

// History is the folder of previous runs' JSON, one file a run.
type History struct{ Dir string }

// Load returns the previous runs, oldest first. A file that does not parse
// is an error naming it: a trend silently missing a run would mislead.
func (h History) Load() ([]*Report, error) {
	files, err := filepath.Glob(filepath.Join(h.Dir, "report-*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []*Report
	for _, f := range files {
		b, err := regularfile.ReadFile(f, "remove it from the report history folder")
		if err != nil {
			var ie *drift.InputError
			if errors.As(err, &ie) {
				return nil, fmt.Errorf("report history %w", err)
			}
			return nil, fmt.Errorf("reading report history: %w", err)
		}
		var r Report
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("report history %s: %w (move it away to start a new history)", f, err)
		}
		if r.Schema != Schema {
			return nil, fmt.Errorf("report history %s: schema %q, want %s", f, r.Schema, Schema)
		}
		out = append(out, &r)
	}
	slices.SortStableFunc(out, func(a, b *Report) int { return a.GeneratedAt.Compare(b.GeneratedAt) })
	return out, nil
}

// Save adds the run to the history.
func (h History) Save(r *Report) error {
	if err := os.MkdirAll(h.Dir, 0o755); err != nil {
		return fmt.Errorf("creating report history: %w", err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	// The run's time to the second names the file; a counter keeps two runs
	// in the same second (a retried CI job) apart instead of overwriting.
	// Names sort in the order the runs happened.
	base := "report-" + r.GeneratedAt.UTC().Format("20060102T150405Z")
	var name string
	for i := 0; ; i++ {
		name = fmt.Sprintf("%s-%03d.json", base, i)
		if _, err := os.Stat(filepath.Join(h.Dir, name)); os.IsNotExist(err) {
			break
		}
	}
	return atomicfile.WriteBytes(filepath.Join(h.Dir, name), 0o666, b)
}
