package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/driftgate/driftgate/drift/config"
	"github.com/driftgate/driftgate/internal/textsafe"
	"github.com/driftgate/driftgate/rules"
)

func newRulesCmd(streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List, lint and explain rules",
	}
	var configFile string
	var ruleFiles []string
	load := func() ([]*rules.RuleSet, error) {
		if len(ruleFiles) > 0 {
			return rules.Load(ruleFiles)
		}
		cfg, err := config.Find(configFile)
		if err != nil {
			return nil, err
		}
		return rules.Load(cfg.Rules)
	}
	cmd.PersistentFlags().StringVar(&configFile, "config", "", "config file whose rules to show (default: ./driftgate.yaml when present, else builtin)")
	cmd.PersistentFlags().StringSliceVar(&ruleFiles, "rules", nil, "rule set file, or builtin (repeatable)")

	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the rules in effect",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			sets, err := load()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(streams.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSEVERITY\tCHECK\tSOURCE\tDESCRIPTION")
			for _, s := range sets {
				for _, r := range s.Rules {
					// A rule file is text someone else wrote: one cell, one
					// line, no escape sequence reaches the terminal.
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", textsafe.Line(r.ID), r.Severity, r.Check,
						textsafe.Line(s.File), textsafe.Line(r.Description))
				}
			}
			return tw.Flush()
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "lint FILE...",
		Short: "Check rule set files: schema, globs, paths and CEL expressions",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			var errs []error
			for _, f := range args {
				rs, err := rules.LoadFile(f)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(streams.Out, "%s: %d rules, %d waivers, ok\n", f, len(rs.Rules), len(rs.Waivers))
			}
			return errors.Join(errs...)
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:               "explain RULE_ID",
		Short:             "Explain what a rule checks and how to waive it",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRuleIDs(load),
		RunE: func(_ *cobra.Command, args []string) error {
			sets, err := load()
			if err != nil {
				return err
			}
			r, s := rules.Find(sets, args[0])
			if r == nil {
				var ids []string
				for _, s := range sets {
					for _, r := range s.Rules {
						ids = append(ids, r.ID)
					}
				}
				return fmt.Errorf("no rule %q; rules in effect: %s", args[0], strings.Join(ids, ", "))
			}
			var b strings.Builder
			fmt.Fprintf(&b, "%s (%s, from %s)\n\n%s.\n", r.ID, r.Severity, s.File, strings.TrimSuffix(r.Description, "."))
			if r.Explain != "" {
				fmt.Fprintf(&b, "\n%s\n", strings.TrimSpace(r.Explain))
			}
			fmt.Fprintf(&b, "\nCheck: %s\n", r.Check)
			m := r.Match
			if len(m.Kinds) > 0 {
				fmt.Fprintf(&b, "Kinds: %s\n", strings.Join(m.Kinds, ", "))
			}
			if len(m.ExcludeKinds) > 0 {
				fmt.Fprintf(&b, "Except kinds: %s\n", strings.Join(m.ExcludeKinds, ", "))
			}
			if len(m.Namespaces) > 0 {
				fmt.Fprintf(&b, "Namespaces: %s\n", strings.Join(m.Namespaces, ", "))
			}
			if m.LabelSelector != "" {
				fmt.Fprintf(&b, "Labels: %s\n", m.LabelSelector)
			}
			if len(r.Paths) > 0 {
				fmt.Fprintf(&b, "Fields: %s\n", strings.Join(r.Paths, ", "))
			}
			if len(r.Ignore) > 0 {
				fmt.Fprintf(&b, "Ignored: %s\n", strings.Join(r.Ignore, ", "))
			}
			if r.Expression != "" {
				fmt.Fprintf(&b, "Expression: %s\n", strings.TrimSpace(r.Expression))
			}
			fmt.Fprintf(&b, "\nTo accept a known difference, add a waiver to the file named by waivers: in driftgate.yaml:\n\n"+
				"  waivers:\n  - rule: %s\n    object: \"NAMESPACE/Kind.group/NAME\"   # a glob\n    reason: why this difference is acceptable\n    owner: who answers for it\n    expires: YYYY-MM-DD\n", r.ID)
			_, err = fmt.Fprint(streams.Out, textsafe.Lines(b.String()))
			return err
		},
	})
	return cmd
}
