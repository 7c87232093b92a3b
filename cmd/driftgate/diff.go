package main

import (
	"context"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/driftgate/driftgate/drift/compare"
	"github.com/driftgate/driftgate/drift/output"
)

type diffOptions struct {
	compareOptions
	devArg, prodArg string

	// Set by Complete.
	dev, prod compare.Environment
}

func newDiffCmd(streams genericiooptions.IOStreams, g *globalOptions) *cobra.Command {
	o := &diffOptions{compareOptions: newCompareOptions(streams, g)}
	cmd := &cobra.Command{
		Use:   "diff DEV PROD",
		Short: "Compare dev with prod against the rule set",
		Long: `Compare two environments against the rule set and report where dev does not
faithfully reproduce prod. DEV and PROD are each a snapshot file (.json,
.json.gz), a manifest file or folder (multi-document YAML and List kinds, such
as kubectl get -o yaml output), context:NAME for a live cluster, or a snapshot
in object storage: s3://BUCKET/PREFIX (gs://, azblob://, file:///PATH) reads
the snapshot PREFIX/latest names, checked against the digest latest holds.

Exit codes: 0 pass, 1 a blocking finding, 2 could not check (bad input, an
unreachable cluster, a resource type in scope that could not be listed).`,
		Example: `  driftgate diff dev.json.gz prod.json.gz
  driftgate diff context:dev context:prod -n payments -o markdown
  driftgate diff ./rendered/dev ./rendered/prod --rules builtin --rules team.yaml
  driftgate diff context:dev s3://acme-driftgate/snapshots/prod
  driftgate diff dev.json.gz prod.json.gz -o markdown --output-file sarif=driftgate.sarif --output-file junit=driftgate.xml`,
		Args: cobra.ExactArgs(2),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) >= 2 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return completeSide(cmd, args, toComplete)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.devArg, o.prodArg = args[0], args[1]
			return runOptions(o)(cmd, args)
		},
	}
	o.AddFlags(cmd.Flags())
	o.trust.AddTrustFlags(cmd.Flags())
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletion(output.Formats))
	return cmd
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
	o.prod, err = o.withTrust(compare.Environment{Name: "prod", Source: o.prodArg})
	return err
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
