package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/config"
	"github.com/driftgate/driftgate/drift/output"
	"github.com/driftgate/driftgate/internal/version"
	"github.com/driftgate/driftgate/rules"
)

// compareOptions are the flags diff and gate share: config, rules, scope, output.
type compareOptions struct {
	configFile string
	rules      []string
	namespaces []string
	output     string

	// Set by Complete.
	cfg  *config.Config
	sets []*rules.RuleSet
	// kubeOpts are the command's kube flags, for hooks that reach a cluster.
	kubeOpts *kubeOptions
}

func (o *compareOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.configFile, "config", "", "config file (default: ./driftgate.yaml when present)")
	fs.StringSliceVar(&o.rules, "rules", nil, "rule set file, or builtin (repeatable; replaces the config's rules)")
	fs.StringSliceVarP(&o.namespaces, "namespace", "n", nil, "compare only these (prod) namespaces (repeatable)")
	fs.StringVarP(&o.output, "output", "o", output.Text, fmt.Sprintf("output format: one of %v", output.Formats))
}

// Complete loads the config and the rule sets (with waivers).
func (o *compareOptions) Complete() error {
	cfg, err := config.Find(o.configFile)
	if err != nil {
		return err
	}
	o.cfg = cfg
	names := cfg.Rules
	if len(o.rules) > 0 {
		names = o.rules
	}
	if cfg.Waivers != "" {
		names = append(slices.Clone(names), cfg.Waivers)
	}
	o.sets, err = rules.Load(names)
	return err
}

// Validate checks the output format.
func (o *compareOptions) Validate() error { return output.Validate(o.output) }

// scope is the capture scope for live and manifest sources.
func (o *compareOptions) scope() drift.Scope {
	sc := drift.Scope{Namespaces: o.cfg.Scope.Namespaces, Exclude: append(slices.Clone(drift.DefaultExcludes), o.cfg.Scope.Exclude...)}
	if len(o.namespaces) > 0 {
		sc.Namespaces = o.namespaces
	}
	return sc
}

// result runs the rules over two loaded environments.
func (o *compareOptions) result(dev, prod *drift.Snapshot, devLoc, prodLoc string) (*drift.Result, error) {
	res, err := rules.Evaluate(dev, prod, o.sets, rules.Options{Mapping: o.cfg.Mapping, Namespaces: o.scope().Namespaces})
	if err != nil {
		return nil, err
	}
	res.Dev = drift.SideOf("dev", devLoc, dev)
	res.Prod = drift.SideOf("prod", prodLoc, prod)
	return res, nil
}

// evaluate runs the rules and renders the result.
func (o *compareOptions) evaluate(w genericiooptions.IOStreams, dev, prod *drift.Snapshot, devLoc, prodLoc string) (*drift.Result, error) {
	res, err := o.result(dev, prod, devLoc, prodLoc)
	if err != nil {
		return nil, err
	}
	opts := output.Options{ToolVersion: version.String()}
	for _, s := range o.sets {
		for _, r := range s.Rules {
			opts.Rules = append(opts.Rules, output.RuleInfo{ID: r.ID, Description: r.Description, Severity: r.Severity})
		}
	}
	if err := output.Render(w.Out, o.output, res, opts); err != nil {
		return nil, err
	}
	return res, nil
}

// verdictError maps a verdict to the exit code, with nothing more to print.
func verdictError(res *drift.Result) error {
	switch res.Verdict {
	case drift.VerdictBlocked:
		return silentExit(exitBlocked, fmt.Errorf("blocked"))
	case drift.VerdictCouldNotCheck:
		return silentExit(exitCouldNoCheck, fmt.Errorf("could not check"))
	}
	return nil
}

type diffOptions struct {
	streams genericiooptions.IOStreams
	global  *globalOptions
	kube    *kubeOptions
	compareOptions
}

func newDiffCmd(streams genericiooptions.IOStreams, g *globalOptions) *cobra.Command {
	o := &diffOptions{streams: streams, global: g, kube: newKubeOptions()}
	o.kubeOpts = o.kube
	cmd := &cobra.Command{
		Use:   "diff DEV PROD",
		Short: "Compare dev with prod against the rule set",
		Long: `Compare two environments against the rule set and report where dev does not
faithfully reproduce prod. DEV and PROD are each a snapshot file (.json,
.json.gz), a manifest file or folder (multi-document YAML and List kinds, such
as kubectl get -o yaml output), or context:NAME for a live cluster.

Exit codes: 0 pass, 1 a blocking finding, 2 could not check (bad input, an
unreachable cluster, a resource type in scope that could not be listed).`,
		Example: `  driftgate diff dev.json.gz prod.json.gz
  driftgate diff context:dev context:prod -n payments -o markdown
  driftgate diff ./rendered/dev ./rendered/prod --rules builtin --rules team.yaml`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Validate(); err != nil {
				return usageError(cmd, err)
			}
			if err := o.Complete(); err != nil {
				return err
			}
			return o.Run(cmd.Context(), args[0], args[1])
		},
	}
	o.kube.AddFlags(cmd.Flags())
	o.compareOptions.AddFlags(cmd.Flags())
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletion(output.Formats))
	return cmd
}

// Run loads both sides, compares them and renders the result.
func (o *diffOptions) Run(ctx context.Context, devArg, prodArg string) error {
	l := &environmentLoader{global: o.global, kube: o.kube, scope: o.scope(), errOut: o.streams.ErrOut, tty: isTerminal(o.streams.ErrOut)}
	dev, devLoc, err := l.load(ctx, "dev", devArg, "")
	if err != nil {
		return err
	}
	prod, prodLoc, err := l.load(ctx, "prod", prodArg, "")
	if err != nil {
		return err
	}
	res, err := o.evaluate(o.streams, dev, prod, devLoc, prodLoc)
	if err != nil {
		return err
	}
	return verdictError(res)
}
