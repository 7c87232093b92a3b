package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/incident"
	"github.com/driftgate/driftgate/drift/report"
	"github.com/driftgate/driftgate/internal/atomicfile"
)

type reportOptions struct {
	streams genericiooptions.IOStreams
	global  *globalOptions
	kube    *kubeOptions
	compareOptions
	out string
	now func() time.Time
}

func newReportCmd(streams genericiooptions.IOStreams, g *globalOptions) *cobra.Command {
	o := &reportOptions{streams: streams, global: g, kube: newKubeOptions(), now: time.Now}
	o.kubeOpts = o.kube
	cmd := &cobra.Command{
		Use:   "report --out DIR",
		Short: "Write the nightly drift report for every pair in report.pairs",
		Long: `Compare every dev/prod pair of report.pairs in driftgate.yaml and write
report.html (self-contained, readable without JavaScript), report.md (short,
for chat or an issue) and report.json into DIR. Each run is kept in
report.history, so the report shows what is new and resolved since the last
run and a trend over the last 30 runs. report.hooks receive the Markdown.

Exit codes: 0 when every pair passes, 1 when one is blocked, 2 when one could
not be checked; the report is written in every case.`,
		Example: `  driftgate report --out ./report
  driftgate report --config /etc/driftgate/driftgate.yaml --out /reports`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.out == "" {
				return usageError(cmd, fmt.Errorf("--out DIR is required"))
			}
			if err := o.Complete(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.kube.AddFlags(cmd.Flags())
	cmd.Flags().StringVar(&o.configFile, "config", "", "config file (default: ./driftgate.yaml when present)")
	cmd.Flags().StringVar(&o.out, "out", "", "directory to write report.html, report.md and report.json into")
	return cmd
}

// Run compares every pair, builds the report against the history, writes
// it, records the run, and delivers the summary.
func (o *reportOptions) Run(ctx context.Context) error {
	if len(o.cfg.Report.Pairs) == 0 {
		return fmt.Errorf("no report pairs: add report.pairs to %s", orDefault(o.cfg.File, "driftgate.yaml"))
	}
	now := o.now()
	in := report.Input{Now: now}
	l := &environmentLoader{global: o.global, kube: o.kube, scope: o.scope(), errOut: o.streams.ErrOut, tty: isTerminal(o.streams.ErrOut)}
	for _, pr := range o.cfg.Report.Pairs {
		p := report.Pair{Name: pr.Name}
		res, err := o.comparePair(ctx, l, pr.Dev, pr.Prod)
		if err != nil {
			p.Error = err.Error()
			fmt.Fprintf(o.streams.ErrOut, "driftgate: pair %s could not be compared: %v\n", pr.Name, err)
		} else {
			p.Result = res
		}
		in.Pairs = append(in.Pairs, p)
	}
	for _, s := range o.sets {
		for _, w := range s.Waivers {
			in.Waivers = append(in.Waivers, report.Waiver{Rule: w.Rule, Object: w.Object, Reason: w.Reason, Owner: w.Owner, Expires: w.Expires.Time, Where: w.Where()})
		}
	}
	store := &incident.Store{Dir: o.cfg.Incidents.Dir}
	recs, err := store.List()
	if err != nil {
		return err
	}
	in.Incidents = recs
	history := report.History{Dir: o.cfg.Report.History}
	past, err := history.Load()
	if err != nil {
		return err
	}
	rep := report.Build(in, past)

	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", o.out, err)
	}
	var md bytes.Buffer
	for _, f := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"report.html", func(b *bytes.Buffer) error { return rep.HTML(b) }},
		{"report.md", func(b *bytes.Buffer) error { return rep.Markdown(b) }},
		{"report.json", func(b *bytes.Buffer) error { return rep.JSON(b) }},
	} {
		var b bytes.Buffer
		if err := f.write(&b); err != nil {
			return fmt.Errorf("rendering %s: %w", f.name, err)
		}
		if f.name == "report.md" {
			md = b
		}
		if err := atomicfile.WriteBytes(filepath.Join(o.out, f.name), 0o644, b.Bytes()); err != nil {
			return err
		}
	}
	if err := history.Save(rep); err != nil {
		return err
	}
	fmt.Fprintf(o.streams.Out, "%s: %d pair(s); report in %s\n", rep.Verdict, len(rep.Pairs), o.out)
	if len(o.cfg.Report.Hooks) > 0 {
		d := &incident.Deliverer{Hooks: o.cfg.Report.Hooks}
		for _, del := range d.DeliverText(ctx, "driftgate.report", md.String()) {
			if del.Err != nil {
				fmt.Fprintf(o.streams.ErrOut, "driftgate: report hook %d (%s) could not deliver: %v\n", del.Hook, del.Type, del.Err)
				if del.Required {
					return silentExit(exitCouldNoCheck, del.Err)
				}
			}
		}
	}
	switch rep.Verdict {
	case drift.VerdictBlocked:
		return silentExit(exitBlocked, fmt.Errorf("blocked"))
	case drift.VerdictCouldNotCheck:
		return silentExit(exitCouldNoCheck, fmt.Errorf("could not check"))
	}
	return nil
}

func (o *reportOptions) comparePair(ctx context.Context, l *environmentLoader, devName, prodName string) (*drift.Result, error) {
	snaps := make([]*drift.Snapshot, 2)
	locs := make([]string, 2)
	for i, name := range []string{devName, prodName} {
		env := o.cfg.Environments[name]
		s, loc, err := l.load(ctx, name, env.Source(), env.Kubeconfig)
		if err != nil {
			return nil, err
		}
		snaps[i], locs[i] = s, loc
	}
	return o.result(snaps[0], snaps[1], locs[0], locs[1])
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
