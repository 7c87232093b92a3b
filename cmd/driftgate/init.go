package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/driftgate/driftgate/drift/config"
	"github.com/driftgate/driftgate/internal/atomicfile"
	"github.com/driftgate/driftgate/internal/textsafe"
)

type initOptions struct {
	streams    genericiooptions.IOStreams
	configFile string
	kubeconfig string
	force      bool

	// Set by Complete.
	starter *config.Starter
}

func newInitCmd(streams genericiooptions.IOStreams) *cobra.Command {
	o := &initOptions{streams: streams, configFile: config.DefaultFile}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented driftgate.yaml for the contexts in your kubeconfig",
		Long: `Write a starter driftgate.yaml: environments dev and prod on the kubeconfig
contexts whose names say so (staging, dev, ... and prod, production, ...),
placeholders where none does, the other contexts listed in comments, and
the optional sections commented out. The kubeconfig is --kubeconfig, else
KUBECONFIG's files, else ~/.kube/config.

An existing file is never replaced without --force; --config - writes the
file to standard output.`,
		Example: `  driftgate init
  driftgate init --kubeconfig ~/.kube/ci --config ci/driftgate.yaml
  driftgate init --config - | less`,
		Args: cobra.NoArgs,
		RunE: runOptions(o),
	}
	f := cmd.Flags()
	f.StringVar(&o.configFile, "config", o.configFile, "file to write, or - for standard output")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig whose contexts to use, named in the file (default: KUBECONFIG, else ~/.kube/config)")
	f.BoolVar(&o.force, "force", false, "replace the file when it exists")
	return cmd
}

// Validate refuses --force with standard output, where it means nothing.
func (o *initOptions) Validate() error {
	if o.configFile == "" {
		return errors.New("--config must name a file, or - for standard output")
	}
	if o.force && o.configFile == "-" {
		return errors.New("--force replaces a file; --config - writes to standard output")
	}
	return nil
}

// Complete reads the kubeconfig's contexts and writes the starter file's
// content, checking that it loads as driftgate.yaml.
func (o *initOptions) Complete() error {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	in := config.StarterInput{}
	if o.kubeconfig != "" {
		abs, err := filepath.Abs(o.kubeconfig)
		if err != nil {
			return err
		}
		rules.ExplicitPath, in.Kubeconfig = abs, abs
	}
	kc, err := rules.Load()
	if err != nil {
		return fmt.Errorf("loading kubeconfig: %w", err)
	}
	for name := range kc.Contexts {
		in.Contexts = append(in.Contexts, name)
	}
	if o.starter, err = config.NewStarter(in); err != nil {
		return err
	}
	// The file must be what gate will read: load it as gate would, from
	// where it will be (relative paths resolve against its folder).
	where := o.configFile
	if where == "-" {
		where = config.DefaultFile
	}
	c, err := config.Parse(where, o.starter.Data)
	if err != nil {
		return fmt.Errorf("the driftgate.yaml init wrote does not load (a bug; please report it): %w", err)
	}
	for env, want := range map[string]string{"dev": o.starter.Dev, "prod": o.starter.Prod} {
		if got := c.Environments[env].Context; want != "" && got != want {
			return fmt.Errorf("the driftgate.yaml init wrote names context %q for %s, not %q (a bug; please report it)", got, env, want)
		}
	}
	return nil
}

// Run writes the file, atomically and never over an existing one without
// --force, and says what it guessed.
func (o *initOptions) Run(context.Context) error {
	for _, s := range o.starter.Skipped {
		fmt.Fprintf(o.streams.ErrOut, "driftgate: init: left out %s\n", textsafe.Line(s))
	}
	if o.configFile == "-" {
		_, err := o.streams.Out.Write(o.starter.Data)
		return err
	}
	write := atomicfile.WriteNew
	if o.force {
		write = atomicfile.Write
	}
	err := write(o.configFile, 0o666, func(w io.Writer) error {
		_, err := w.Write(o.starter.Data)
		return err
	})
	if errors.Is(err, fs.ErrExist) {
		// Also when the file appeared while init was writing: never replaced.
		return fmt.Errorf("%s exists: init does not replace it; add --force to, or write elsewhere with --config PATH", o.configFile)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", o.configFile, err)
	}
	side := func(ctx string) string {
		if ctx == "" {
			return "a placeholder to edit"
		}
		return "context " + textsafe.Line(strconv.Quote(ctx))
	}
	fmt.Fprintf(o.streams.Out, "wrote %s: dev is %s, prod is %s; check them, then run driftgate gate\n",
		o.configFile, side(o.starter.Dev), side(o.starter.Prod))
	return nil
}
