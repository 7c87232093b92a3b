package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/driftgate/driftgate/drift/incident"
	"github.com/driftgate/driftgate/drift/report"
	"github.com/driftgate/driftgate/internal/textsafe"
	"github.com/driftgate/driftgate/internal/version"
)

type reportOptions struct {
	compareOptions
	out string
	// push is --push, the Pushgateway URL; pushGrouping its --push-grouping LABEL=VALUE.
	push         string
	pushGrouping []string

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
for chat or an issue), report.json and report.prom (the run's metrics as
OpenMetrics text, for node_exporter's textfile collector) into DIR. With
--push URL the same metrics go to a Prometheus Pushgateway (job driftgate);
a push that fails exits 2 once the files are written. Each run is kept in
report.history, so the report shows what is new and resolved since the last
run and a trend over the last 30 runs. report.hooks receive the Markdown.

Exit codes: 0 when every pair passes, 1 when one is blocked, 2 when one could
not be checked; the report is written in every case.`,
		Example: `  driftgate report --out ./report
  driftgate report --config /etc/driftgate/driftgate.yaml --out /reports
  driftgate report --out ./report --push http://pushgateway:9091 --push-grouping instance=eu-nightly`,
		Args: cobra.NoArgs,
		RunE: runOptions(o),
	}
	o.AddConfigFlags(cmd.Flags())
	o.AddLimitFlags(cmd.Flags())
	cmd.Flags().StringVar(&o.out, "out", "", "directory to write report.html, report.md, report.json and report.prom into")
	cmd.Flags().StringVar(&o.push, "push", "", "push the run's metrics to this Prometheus Pushgateway (http(s)://HOST:PORT; user:password@ in it is sent as basic auth)")
	cmd.Flags().StringArrayVar(&o.pushGrouping, "push-grouping", nil, "grouping label LABEL=VALUE for --push beside job=driftgate, such as instance=NAME (repeatable)")
	return cmd
}

// Validate requires --out, and checks --push and --push-grouping before
// the night's comparisons run.
func (o *reportOptions) Validate() error {
	if o.out == "" {
		return fmt.Errorf("--out DIR is required")
	}
	gw, err := o.pushgateway()
	if err != nil || gw == nil {
		return err
	}
	return report.ValidatePush(*gw)
}

// pushgateway is --push and --push-grouping, or nil without --push.
func (o *reportOptions) pushgateway() (*report.Pushgateway, error) {
	if o.push == "" {
		if len(o.pushGrouping) > 0 {
			return nil, fmt.Errorf("--push-grouping needs --push URL")
		}
		return nil, nil
	}
	gw := &report.Pushgateway{URL: o.push, Grouping: map[string]string{}}
	for _, g := range o.pushGrouping {
		name, value, ok := strings.Cut(g, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("invalid --push-grouping %q: use LABEL=VALUE", g)
		}
		if _, dup := gw.Grouping[name]; dup {
			return nil, fmt.Errorf("--push-grouping %s given twice", name)
		}
		gw.Grouping[name] = value
	}
	return gw, nil
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
		Version:   version.String(),
	}
	var err error
	if o.run.Push, err = o.pushgateway(); err != nil {
		return err
	}
	for _, p := range o.cfg.Report.Pairs {
		dev, _ := o.environment(p.Dev)
		prod, _ := o.environment(p.Prod)
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
	// The notes said why; the files are written in either case.
	if out.Undelivered != nil {
		return silentExit(exitCouldNoCheck, out.Undelivered)
	}
	if out.Unpushed != nil {
		return silentExit(exitCouldNoCheck, out.Unpushed)
	}
	return verdictError(out.Report.Verdict)
}
