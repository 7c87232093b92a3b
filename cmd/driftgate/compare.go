package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/compare"
	"github.com/driftgate/driftgate/drift/config"
	"github.com/driftgate/driftgate/drift/incident"
	"github.com/driftgate/driftgate/drift/output"
	"github.com/driftgate/driftgate/internal/textsafe"
	"github.com/driftgate/driftgate/internal/version"
	"github.com/driftgate/driftgate/rules"
)

// compareOptions are what diff, gate and report share: the kube flags,
// the config, rules, scope and output flags, and the compare.Options
// Complete makes of them. rbac and incidents use the config and kube parts.
type compareOptions struct {
	streams genericiooptions.IOStreams
	global  *globalOptions
	kube    *kubeOptions

	configFile string
	rules      []string
	namespaces []string
	output     string
	// outputFileSpecs is --output-file, FORMAT=PATH, repeatable.
	outputFileSpecs []string
	// defaultsFrom is --defaults-from: context:NAME or none.
	defaultsFrom string
	// maxSnapshotSize is --max-snapshot-size, a quantity such as 2Gi.
	maxSnapshotSize string
	trust           trustOptions

	// Set by Validate.
	outputFiles []output.File

	// Set by Complete.
	cfg     *config.Config
	compare compare.Options
}

func newCompareOptions(streams genericiooptions.IOStreams, g *globalOptions) compareOptions {
	return compareOptions{streams: streams, global: g, kube: newKubeOptions(), output: output.Text,
		maxSnapshotSize: resource.NewQuantity(drift.DefaultMaxSnapshotSize, resource.BinarySI).String()}
}

// AddConfigFlags adds the kube flags and --config.
func (o *compareOptions) AddConfigFlags(fs *pflag.FlagSet) {
	o.kube.AddFlags(fs)
	fs.StringVar(&o.configFile, "config", "", "config file (default: ./driftgate.yaml when present)")
}

// AddFlags adds AddConfigFlags' flags and those of diff and gate: rules, namespaces, output.
func (o *compareOptions) AddFlags(fs *pflag.FlagSet) {
	o.AddConfigFlags(fs)
	fs.StringSliceVar(&o.rules, "rules", nil, "rule set file, or builtin (repeatable; replaces the config's rules)")
	fs.StringSliceVarP(&o.namespaces, "namespace", "n", nil, "compare only these (prod) namespaces (repeatable)")
	fs.StringVarP(&o.output, "output", "o", o.output, fmt.Sprintf("output format: one of %v", output.Formats))
	fs.StringArrayVar(&o.outputFileSpecs, "output-file", nil, "also write the result to a file, as FORMAT=PATH (repeatable; the same run, written atomically once the verdict is final)")
	fs.StringVar(&o.defaultsFrom, "defaults-from", "", "cluster (context:NAME) whose API server fills in a manifests side's defaults by dry-run, or none (default: the other side when it is context:)")
	o.AddLimitFlags(fs)
}

// AddLimitFlags adds the flags that bound what reading a side may take.
func (o *compareOptions) AddLimitFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.maxSnapshotSize, "max-snapshot-size", o.maxSnapshotSize, "refuse a snapshot file holding more JSON than this once decompressed, such as 4Gi")
}

// Complete loads the config and the rule sets (with waivers) into the
// options the comparison takes.
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
	sets, err := rules.Load(names)
	if err != nil {
		return err
	}
	// Said before the comparison too, where a reader of the CI log sees
	// it whatever the output format; the result's notes repeat it.
	for _, w := range rules.WaiverWarnings(sets, time.Now()) {
		fmt.Fprintf(o.streams.ErrOut, "driftgate: warning: %s\n", textsafe.Line(w))
	}
	maxSize, err := parseSize("--max-snapshot-size", o.maxSnapshotSize)
	if err != nil {
		return err
	}
	o.compare = compare.Options{
		MaxSnapshotSize: maxSize,
		Scope:           o.scope(),
		DigestKey:       []byte(os.Getenv("DRIFTGATE_DIGEST_KEY")),
		RESTConfig:      o.kube.restConfigFor,
		RequestTimeout:  requestTimeout(o.kube),
		Log:             o.global.log,
		Progress:        newProgress(o.streams.ErrOut, isTerminal(o.streams.ErrOut)),
		RuleSets:        sets,
		Mapping:         cfg.Mapping,
		DefaultsFrom:    cmp.Or(o.defaultsFrom, cfg.DefaultsFrom),
		// The sides are compared as they stream past; this compares
		// them loaded whole, as before, to measure one against the
		// other (BENCHMARKS.md).
		InMemory: os.Getenv("DRIFTGATE_COMPARE_IN_MEMORY") == "1",
	}
	return nil
}

// parseSize reads a size flag: a positive quantity such as 2Gi or 500Mi.
func parseSize(flag, v string) (int64, error) {
	q, err := resource.ParseQuantity(v)
	if n, ok := q.AsInt64(); err == nil && ok && n > 0 {
		return n, nil
	}
	return 0, fmt.Errorf("invalid %s %q: use a positive size such as 2Gi or 500Mi", flag, v)
}

// Validate checks the output format, --output-file and --defaults-from.
func (o *compareOptions) Validate() error {
	if err := compare.ValidateDefaultsFrom(o.defaultsFrom); err != nil {
		return err
	}
	var err error
	if o.outputFiles, err = output.ParseFiles(o.outputFileSpecs); err != nil {
		return err
	}
	return output.Validate(o.output)
}

// scope is the capture scope for live and manifest sources.
func (o *compareOptions) scope() drift.Scope {
	sc := drift.Scope{Namespaces: o.cfg.Scope.Namespaces, Exclude: append(slices.Clone(drift.DefaultExcludes), o.cfg.Scope.Exclude...)}
	if len(o.namespaces) > 0 {
		sc.Namespaces = o.namespaces
	}
	return sc
}

// environment is the config's environment name as a side of a comparison.
func (o *compareOptions) environment(name string) (compare.Environment, bool) {
	env, ok := o.cfg.Environments[name]
	out := compare.Environment{Name: name, Source: env.Source(), Kubeconfig: env.Kubeconfig}
	configHelm(&out, env.Helm)
	return out, ok
}

// compareEnvironments compares dev with prod.
func (o *compareOptions) compareEnvironments(ctx context.Context, dev, prod compare.Environment) (*drift.Result, error) {
	type outcome struct {
		res *drift.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := compare.Run(ctx, dev, prod, o.compare)
		done <- outcome{res, err}
	}()
	var res *drift.Result
	select {
	case out := <-done:
		if out.err != nil {
			return nil, out.err
		}
		res = out.res
	case <-ctx.Done():
		// Pairing and rules stop at once, but reading a large file or
		// folder does not look at ctx: the process is about to exit, and
		// the load ends with it.
		return nil, ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return nil, err // interrupted as the comparison ended: render nothing
	}
	return res, nil
}

// render writes the final result to Out in the output format, then to
// every --output-file. A report that could not be written fails the run
// (exit 2) whatever the verdict: a CI job reading a stale or missing
// report must not pass for want of it.
func (o *compareOptions) render(res *drift.Result) error {
	opts := output.Options{ToolVersion: version.String()}
	for _, s := range o.compare.RuleSets {
		for _, r := range s.Rules {
			opts.Rules = append(opts.Rules, output.RuleInfo{ID: r.ID, Description: r.Description, Severity: r.Severity})
		}
	}
	if err := output.Render(o.streams.Out, o.output, res, opts); err != nil {
		return err
	}
	if len(o.outputFiles) == 0 {
		return nil
	}
	// Files are read elsewhere, later, not on this terminal: no colour.
	defer func(was bool) { color.NoColor = was }(color.NoColor)
	color.NoColor = true
	if err := output.WriteFiles(o.outputFiles, res, opts); err != nil {
		return fmt.Errorf("%w\nthe verdict was %s, but not every --output-file was written, so this run could not be checked: fix the path and run again", err, res.Verdict)
	}
	return nil
}

// verdictError maps a verdict to the exit code, with nothing more to print.
func verdictError(verdict string) error {
	switch verdict {
	case drift.VerdictBlocked:
		return silentExit(exitBlocked, fmt.Errorf("blocked"))
	case drift.VerdictCouldNotCheck:
		return silentExit(exitCouldNoCheck, fmt.Errorf("could not check"))
	}
	return nil
}

// deliverer sends records to the config's incident hooks; Kubernetes
// Events go to the cluster of the environment the hook names.
func (o *compareOptions) deliverer(store *incident.Store) *incident.Deliverer {
	return &incident.Deliverer{Hooks: o.cfg.Incidents.Hooks, Store: store, Events: incident.KubeEvents(o.clientFor)}
}

func (o *compareOptions) clientFor(environment string) (kubernetes.Interface, error) {
	env, ok := o.cfg.Environments[environment]
	if !ok || env.Context == "" {
		return nil, errors.New("environment " + environment + " is not a live cluster (context:) in driftgate.yaml")
	}
	cfg, _, err := o.kube.restConfigFor(env.Context, env.Kubeconfig)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}
