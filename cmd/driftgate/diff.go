package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/driftgate/driftgate/drift/compare"
	"github.com/driftgate/driftgate/drift/output"
)

type diffOptions struct {
	compareOptions
	chart           renderFlags
	devArg, prodArg string
	// oneChart is set when one helm:CHART argument is both sides.
	oneChart bool

	// Set by Complete.
	dev, prod compare.Environment
}

func newDiffCmd(streams genericiooptions.IOStreams, g *globalOptions) *cobra.Command {
	o := &diffOptions{compareOptions: newCompareOptions(streams, g)}
	cmd := &cobra.Command{
		Use:   "diff DEV PROD | diff helm:CHART --values-dev FILE --values-prod FILE",
		Short: "Compare dev with prod against the rule set",
		Long: `Compare two environments against the rule set and report where dev does not
faithfully reproduce prod. DEV and PROD are each a snapshot file (.json,
.json.gz), a manifest file or folder (multi-document YAML and List kinds, such
as kubectl get -o yaml output), context:NAME for a live cluster, a snapshot
in object storage: s3://BUCKET/PREFIX (gs://, azblob://, file:///PATH) reads
the snapshot PREFIX/latest names, checked against the digest latest holds,
kustomize:DIR for a kustomization (built as kubectl kustomize DIR), or
helm:CHART for a chart directory or .tgz rendered with --values/--set (and
--values-dev/--values-prod, --set-dev/--set-prod for one side), client-only:
a chart that calls lookup cannot be checked. A chart is rendered for the
other side's server version when that side is a live cluster or a snapshot.
One helm:CHART argument alone is the same chart on both sides, with each
side's values.

Exit codes: 0 pass, 1 a blocking finding, 2 could not check (bad input, an
unreachable cluster, a resource type in scope that could not be listed).`,
		Example: `  driftgate diff dev.json.gz prod.json.gz
  driftgate diff context:dev context:prod -n payments -o markdown
  driftgate diff ./rendered/dev ./rendered/prod --rules builtin --rules team.yaml
  driftgate diff context:dev s3://acme-driftgate/snapshots/prod
  driftgate diff dev.json.gz prod.json.gz -o markdown --output-file sarif=driftgate.sarif --output-file junit=driftgate.xml
  driftgate diff helm:./chart --values-dev values-dev.yaml --values-prod values-prod.yaml
  driftgate diff kustomize:overlays/dev kustomize:overlays/prod
  driftgate diff helm:./chart context:prod --values values-prod.yaml`,
		Args: cobra.RangeArgs(1, 2),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) >= 2 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return completeSide(cmd, args, toComplete)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.devArg, o.prodArg = args[0], args[len(args)-1]
			o.oneChart = len(args) == 1
			return runOptions(o)(cmd, args)
		},
	}
	o.AddFlags(cmd.Flags())
	o.chart.AddRenderFlags(cmd.Flags())
	o.trust.AddTrustFlags(cmd.Flags())
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletion(output.Formats))
	return cmd
}

// Validate checks the flags, and that one argument is a chart with
// values for each side: anything else alone compares a side with itself.
func (o *diffOptions) Validate() error {
	if err := o.compareOptions.Validate(); err != nil {
		return err
	}
	if !o.oneChart {
		return nil
	}
	if !isHelmSource(o.devArg) {
		return fmt.Errorf("diff takes DEV and PROD; only helm:CHART may stand alone (the same chart on both sides, with --values-dev/--values-prod or --set-dev/--set-prod)")
	}
	if !o.chart.perSide() {
		return fmt.Errorf("one chart with the same values on both sides is compared with itself: give --values-dev/--values-prod or --set-dev/--set-prod, or DEV and PROD")
	}
	return nil
}

// Complete loads the config and rules, and the keys DEV and PROD must be
// signed with (--trust, environments.<dev|prod>.trust).
func (o *diffOptions) Complete() error {
	if err := o.compareOptions.Complete(); err != nil {
		return err
	}
	var err error
	if o.dev, err = o.withTrust(compare.Environment{Name: "dev", Source: o.devArg}); err != nil {
		return err
	}
	if o.prod, err = o.withTrust(compare.Environment{Name: "prod", Source: o.prodArg}); err != nil {
		return err
	}
	return o.chart.apply(&o.dev, &o.prod)
}

// Run compares DEV with PROD and renders the result.
func (o *diffOptions) Run(ctx context.Context) error {
	res, err := o.compareEnvironments(ctx, o.dev, o.prod)
	if err != nil {
		return err
	}
	if err := o.render(res); err != nil {
		return err
	}
	return verdictError(res.Verdict)
}
