package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/fatih/color"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Colour modes for --color.
const (
	colorAuto   = "auto"
	colorAlways = "always"
	colorNever  = "never"
)

var colorModes = []string{colorAuto, colorAlways, colorNever}

// globalOptions are the flags every command shares, resolved once by the root.
type globalOptions struct {
	color     string
	verbosity int

	// Set by resolve.
	log *slog.Logger
	tty bool // whether Out and ErrOut are terminals: progress and colour go by it
}

// run builds the command tree, executes it with args, prints any error once
// and returns the exit code. It is main without os.Exit, so tests call it.
func run(ctx context.Context, streams genericiooptions.IOStreams, args []string) int {
	root := newRootCmd(streams)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if msg := errorMessage(err); msg != "" {
		fmt.Fprintln(streams.ErrOut, msg)
	}
	return exitCode(err)
}

func newRootCmd(streams genericiooptions.IOStreams) *cobra.Command {
	g := &globalOptions{color: colorAuto}
	cmd := &cobra.Command{
		Use:   "driftgate",
		Short: "Block a deploy when dev does not faithfully reproduce prod",
		Long: `driftgate snapshots a dev and a prod cluster, diffs them against a rule set,
and blocks the deploy when dev does not faithfully reproduce prod.

Exit codes: 0 pass, 1 blocked, 2 could not check.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.resolve(streams)
		},
	}
	if name := pluginName(os.Args[0]); name != "" {
		cmd.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: name}
	}
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError(c, err)
	})

	f := cmd.PersistentFlags()
	f.StringVar(&g.color, "color", g.color, "colour output: auto (on a terminal, unless NO_COLOR is set), always or never")
	f.IntVarP(&g.verbosity, "v", "v", 0, "log verbosity: 1 adds structured logs to stderr, higher adds more")
	f.Lookup("v").NoOptDefVal = "1"
	_ = cmd.RegisterFlagCompletionFunc("color", fixedCompletion(colorModes))

	cmd.AddCommand(
		newVersionCmd(streams),
		newSnapshotCmd(streams, g),
		newDiffCmd(streams, g),
		newRulesCmd(streams),
		newGateCmd(streams, g),
		newIncidentsCmd(streams, g),
		newReportCmd(streams, g),
		newRBACCmd(streams, g),
		newInitCmd(streams),
	)
	registerCompletions(cmd)
	return cmd
}

// resolve decides colour and logging once, for the whole run.
func (g *globalOptions) resolve(streams genericiooptions.IOStreams) error {
	g.tty = isTerminal(streams.Out)
	switch g.color {
	case colorAlways:
		color.NoColor = false
	case colorNever:
		color.NoColor = true
	case colorAuto:
		_, noColor := os.LookupEnv("NO_COLOR")
		color.NoColor = noColor || os.Getenv("TERM") == "dumb" || !g.tty
	default:
		return fmt.Errorf("invalid --color %q: use one of %v", g.color, colorModes)
	}
	level := slog.LevelWarn
	switch {
	case g.verbosity >= 2:
		level = slog.LevelDebug
	case g.verbosity == 1:
		level = slog.LevelInfo
	}
	g.log = slog.New(slog.NewTextHandler(streams.ErrOut, &slog.HandlerOptions{Level: level}))
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// options is the shape of a command's options: Validate checks flag
// combinations, Complete turns the flags into the domain's typed config,
// Run makes the call into the domain.
type options interface {
	Validate() error
	Complete() error
	Run(ctx context.Context) error
}

// runOptions is the RunE of a command with options o.
func runOptions(o options) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		if err := o.Validate(); err != nil {
			return usageError(cmd, err)
		}
		if err := o.Complete(); err != nil {
			return err
		}
		return o.Run(cmd.Context())
	}
}

// usageError reports a flag or argument mistake with the command's usage line.
func usageError(c *cobra.Command, err error) error {
	return fmt.Errorf("%w\nSee '%s --help' for usage", err, c.CommandPath())
}

func fixedCompletion(values []string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// pluginName is how kubectl names this program when it runs as a kubectl
// plugin (installed as kubectl-driftgate, run as `kubectl driftgate`), so
// help and usage show the command the user typed; "" otherwise.
// kubectl maps an underscore in a plugin's file name to a dash.
func pluginName(argv0 string) string {
	base, ok := strings.CutPrefix(filepath.Base(argv0), "kubectl-")
	if !ok || base == "" {
		return ""
	}
	return "kubectl " + strings.ReplaceAll(strings.ReplaceAll(base, "-", " "), "_", "-")
}
