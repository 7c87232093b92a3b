package report

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/driftgate/driftgate/drift/compare"
	"github.com/driftgate/driftgate/drift/incident"
	"github.com/driftgate/driftgate/internal/atomicfile"
)

// PairConfig is one dev/prod pair to compare.
type PairConfig struct {
	Name      string
	Dev, Prod compare.Environment
}

// RunConfig is one run of the nightly report.
type RunConfig struct {
	Pairs []PairConfig
	// Compare says how environments are loaded and compared; its rule sets'
	// waivers are listed in the report.
	Compare compare.Options
	// Incidents holds the override records the report lists.
	Incidents *incident.Store
	// History holds the earlier runs; this run is added to it.
	History History
	// Out is the directory report.html, report.md, report.json and
	// report.prom are written into.
	Out string
	// Hooks receive the Markdown report; nil for none.
	Hooks *incident.Deliverer
	// Now is when the run happens; default time.Now().
	Now time.Time
	// Clock reads the time the run's duration is measured with; default
	// time.Now. Tests fix it, so that report.prom is the same every run.
	Clock func() time.Time
	// Version is driftgate's version, for the metrics' driftgate_build_info.
	Version string
	// Push, when set, is the Pushgateway the run's metrics are pushed to
	// once the files are written.
	Push *Pushgateway
	// Notes receives a line per pair that could not be compared and per
	// hook that could not deliver (stderr); nil discards them.
	Notes io.Writer
}

// Outcome is what a run produced.
type Outcome struct {
	Report *Report
	// Undelivered is the failure of the first required hook that could not
	// deliver the Markdown report; the files are written regardless.
	Undelivered error
	// Unpushed is why the metrics could not be pushed to the Pushgateway;
	// the files are written regardless.
	Unpushed error
}

// Run compares every pair, builds the report against the history, writes
// its three files into Out, records the run in the history, writes the
// run's metrics (report.prom) and pushes them when asked, and delivers the
// Markdown to the hooks. report.prom is written last, once the run is
// recorded, so that a run that fails keeps the previous file and its
// last-success time. A pair that cannot be compared is reported as such, not an
// error; an error means the report could not be built or written.
func Run(ctx context.Context, cfg RunConfig) (Outcome, error) {
	notes := cfg.Notes
	if notes == nil {
		notes = io.Discard
	}
	clock := cfg.Clock
	if clock == nil {
		clock = time.Now
	}
	start := clock()
	in := Input{Now: cfg.Now}
	if in.Now.IsZero() {
		in.Now = start
	}
	for _, pc := range cfg.Pairs {
		p := Pair{Name: pc.Name}
		res, err := compare.Run(ctx, pc.Dev, pc.Prod, cfg.Compare)
		if err != nil {
			p.Error = err.Error()
			fmt.Fprintf(notes, "driftgate: pair %s could not be compared: %v\n", pc.Name, err)
		} else {
			p.Result = res
		}
		in.Pairs = append(in.Pairs, p)
	}
	for _, s := range cfg.Compare.RuleSets {
		for _, w := range s.Waivers {
			in.Waivers = append(in.Waivers, Waiver{Rule: w.Rule, Object: w.Object, Reason: w.Reason, Owner: w.Owner, Expires: w.Expires.Time, Where: w.Where()})
		}
	}
	recs, err := cfg.Incidents.List()
	if err != nil {
		return Outcome{}, err
	}
	in.Incidents = recs
	past, err := cfg.History.Load()
	if err != nil {
		return Outcome{}, err
	}
	rep := Build(in, past)
	md, err := rep.write(cfg.Out)
	if err != nil {
		return Outcome{}, err
	}
	if err := cfg.History.Save(rep); err != nil {
		return Outcome{}, err
	}
	reg, err := rep.MetricsRegistry(RunStats{Duration: clock().Sub(start), Version: cfg.Version})
	if err != nil {
		return Outcome{}, err
	}
	if err := writeMetrics(filepath.Join(cfg.Out, MetricsFile), reg); err != nil {
		return Outcome{}, err
	}
	out := Outcome{Report: rep}
	if cfg.Push != nil {
		if err := Push(ctx, *cfg.Push, reg); err != nil {
			fmt.Fprintf(notes, "driftgate: %v\n", err)
			out.Unpushed = err
		}
	}
	if cfg.Hooks == nil {
		return out, nil
	}
	for _, del := range cfg.Hooks.DeliverText(ctx, "driftgate.report", md) {
		if del.Err != nil {
			fmt.Fprintf(notes, "driftgate: report hook %d (%s) could not deliver: %v\n", del.Hook, del.Type, del.Err)
			if del.Required {
				out.Undelivered = del.Err
				break
			}
		}
	}
	return out, nil
}

// write renders the report into report.html, report.md and report.json in
// dir, and returns the Markdown.
func (r *Report) write(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", dir, err)
	}
	var md string
	for _, f := range []struct {
		name   string
		render func(io.Writer) error
	}{{"report.html", r.HTML}, {"report.md", r.Markdown}, {"report.json", r.JSON}} {
		var b bytes.Buffer
		if err := f.render(&b); err != nil {
			return "", fmt.Errorf("rendering %s: %w", f.name, err)
		}
		if f.name == "report.md" {
			md = b.String()
		}
		if err := atomicfile.WriteBytes(filepath.Join(dir, f.name), 0o666, b.Bytes()); err != nil {
			return "", err
		}
	}
	return md, nil
}
