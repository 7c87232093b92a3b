package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/driftgate/driftgate/drift/incident"
	"github.com/driftgate/driftgate/drift/report"
	"github.com/driftgate/driftgate/internal/textsafe"
)

type reportOptions struct {
	compareOptions
	out string

	// Set by Complete.
	run report.RunConfig
}

func newReportCmd(streams genericiooptions.IOStreams, g *globalOptions) *cobra.Command {
	o := &reportOptions{compareOptions: newCompareOptions(streams, g)}
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
		RunE: runOptions(o),
	}
	o.AddConfigFlags(cmd.Flags())
	o.AddLimitFlags(cmd.Flags())
	cmd.Flags().StringVar(&o.out, "out", "", "directory to write report.html, report.md and report.json into")
	return cmd
}

// Validate requires --out.
func (o *reportOptions) Validate() error {
	if o.out == "" {
		return fmt.Errorf("--out DIR is required")
	}
	return nil
}

// Complete turns the config's report section into the run's configuration.
func (o *reportOptions) Complete() error {
	if err := o.compareOptions.Complete(); err != nil {
		return err
	}
	if len(o.cfg.Report.Pairs) == 0 {
		return fmt.Errorf("no report pairs: add report.pairs to %s", o.cfg.Where())
	}
	o.run = report.RunConfig{
		Compare:   o.compare,
		Incidents: &incident.Store{Dir: o.cfg.Incidents.Dir},
		History:   report.History{Dir: o.cfg.Report.History},
		Out:       o.out,
		Hooks:     &incident.Deliverer{Hooks: o.cfg.Report.Hooks},
		Notes:     textsafe.NewWriter(o.streams.ErrOut),
	}
	for _, p := range o.cfg.Report.Pairs {
		dev, _ := o.environment(p.Dev)
		prod, _ := o.environment(p.Prod)
		var err error
		if dev, err = o.withTrust(dev); err != nil {
			return err
		}
		if prod, err = o.withTrust(prod); err != nil {
			return err
		}
		o.run.Pairs = append(o.run.Pairs, report.PairConfig{Name: p.Name, Dev: dev, Prod: prod})
	}
	return nil
}

// Run writes the report and maps its verdict to the exit code.
func (o *reportOptions) Run(ctx context.Context) error {
	out, err := report.Run(ctx, o.run)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.streams.Out, "%s: %d pair(s); report in %s\n", out.Report.Verdict, len(out.Report.Pairs), o.out)
	if out.Undelivered != nil {
		return silentExit(exitCouldNoCheck, out.Undelivered)
	}
	return verdictError(out.Report.Verdict)
}
