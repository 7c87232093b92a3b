package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/driftgate/driftgate/rules"
)

// completionFunc is what cobra calls to complete an argument or a flag.
type completionFunc = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective)

// contextPrefix is how a live cluster is given as a side: context:NAME.
const contextPrefix = "context:"

// completionKubeconfig loads the kubeconfig the command would use: its
// --kubeconfig when given, else KUBECONFIG's files, else ~/.kube/config,
// merged as kubectl merges them. Nil when none loads: completion offers
// nothing rather than an error in the middle of the user's line.
func completionKubeconfig(cmd *cobra.Command) *clientcmdapi.Config {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if f := cmd.Flags().Lookup("kubeconfig"); f != nil && f.Value.String() != "" {
		rules.ExplicitPath = f.Value.String()
	}
	cfg, err := rules.Load()
	if err != nil {
		return nil
	}
	return cfg
}

// completeKubeNames completes the names of the kubeconfig's contexts,
// clusters or users (by pick), each with prefix.
func completeKubeNames(prefix string, pick func(*clientcmdapi.Config) []string) completionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		cfg := completionKubeconfig(cmd)
		if cfg == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, name := range pick(cfg) {
			if shellSafe(name) && strings.HasPrefix(prefix+name, toComplete) {
				out = append(out, prefix+name)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func kubeContexts(c *clientcmdapi.Config) []string { return contextNames(c.Contexts) }
func kubeClusters(c *clientcmdapi.Config) []string { return contextNames(c.Clusters) }
func kubeUsers(c *clientcmdapi.Config) []string    { return contextNames(c.AuthInfos) }

// completeSide completes a DEV or PROD argument: context:NAME for the
// kubeconfig's contexts while what is typed can still become context:,
// else files and folders (snapshots, manifests).
func completeSide(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if !strings.HasPrefix(toComplete, contextPrefix) && !strings.HasPrefix(contextPrefix, toComplete) {
		return nil, cobra.ShellCompDirectiveDefault
	}
	return completeKubeNames(contextPrefix, kubeContexts)(cmd, args, toComplete)
}

// completeDefaultsFrom completes --defaults-from: none or context:NAME.
func completeDefaultsFrom(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	out, dir := completeKubeNames(contextPrefix, kubeContexts)(cmd, args, toComplete)
	if strings.HasPrefix("none", toComplete) {
		out = append([]string{"none"}, out...)
	}
	return out, dir
}

// completeRuleFiles completes --rules: builtin, or a rule set file.
func completeRuleFiles(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if toComplete != "" && strings.HasPrefix(rules.BuiltinName, toComplete) {
		return []string{rules.BuiltinName}, cobra.ShellCompDirectiveNoFileComp
	}
	return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
}

// completeRuleIDs completes a rule id from the rule sets load returns
// (--rules, else the config's rules, else builtin).
func completeRuleIDs(load func() ([]*rules.RuleSet, error)) completionFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		sets, err := load()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var out []string
		for _, s := range sets {
			for _, r := range s.Rules {
				if shellSafe(r.ID) && strings.HasPrefix(r.ID, toComplete) && !slices.Contains(out, r.ID) {
					out = append(out, r.ID)
				}
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// flagCompletions complete the flags that several commands share, by
// name: the kube flags, the sides, --rules, --config. A command's own
// registration (-o of diff and gate) wins; snapshot's -o is a file.
var flagCompletions = map[string]completionFunc{
	"context":       completeKubeNames("", kubeContexts),
	"cluster":       completeKubeNames("", kubeClusters),
	"user":          completeKubeNames("", kubeUsers),
	"dev":           completeSide,
	"prod":          completeSide,
	"defaults-from": completeDefaultsFrom,
	"rules":         completeRuleFiles,
	"config": func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
	},
}

// registerCompletions walks the command tree and registers
// flagCompletions for every flag of those names, once per flag.
func registerCompletions(root *cobra.Command) {
	seen := map[*pflag.Flag]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			fn, ok := flagCompletions[f.Name]
			if !ok || seen[f] {
				return
			}
			seen[f] = true
			if _, exists := c.GetFlagCompletionFunc(f.Name); !exists {
				_ = c.RegisterFlagCompletionFunc(f.Name, fn)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// shellSafe reports whether name can be offered to a shell: bash's
// completion script passes the candidates to compgen -W, which expands
// each word ($(...), backquotes, variables), so a kubeconfig's context
// named $(cmd) would run cmd at the next TAB. Names are offered only when
// made of letters, digits and the punctuation real context names use
// (kind-dev, arn:aws:eks:REGION:ACCOUNT:cluster/NAME, gke_P_Z_N,
// user@cluster).
func shellSafe(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("-_.:/@+=,%", r):
		default:
			return false
		}
	}
	return true
}
