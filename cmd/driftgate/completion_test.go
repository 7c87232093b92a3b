package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/driftgate/driftgate/drift/output"
	"github.com/driftgate/driftgate/rules"
)

// writeKubeconfig writes a kubeconfig with these contexts (each with a
// cluster and user of the same name) and returns its path.
func writeKubeconfig(t *testing.T, contexts ...string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	for _, name := range contexts {
		cfg.Clusters[name] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:6443"}
		cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: "t"}
		cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	}
	if len(contexts) > 0 {
		cfg.CurrentContext = contexts[0]
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// complete runs cobra's hidden __complete command in-process, as the
// shell scripts do, and returns the candidates and the directive.
func complete(t *testing.T, args ...string) ([]string, cobra.ShellCompDirective) {
	t.Helper()
	r := runCLI(t, append([]string{cobra.ShellCompRequestCmd}, args...)...)
	if r.code != 0 {
		t.Fatalf("__complete %q: exit %d\n%s", args, r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	last := lines[len(lines)-1]
	dir, err := strconv.Atoi(strings.TrimPrefix(last, ":"))
	if !strings.HasPrefix(last, ":") || err != nil {
		t.Fatalf("__complete %q: no directive line in %q", args, r.stdout)
	}
	var out []string
	for _, l := range lines[:len(lines)-1] {
		name, _, _ := strings.Cut(l, "\t") // candidates may carry a description
		out = append(out, name)
	}
	return out, cobra.ShellCompDirective(dir)
}

func builtinRuleIDs(t *testing.T) []string {
	t.Helper()
	sets, err := rules.Load([]string{rules.BuiltinName})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range sets[0].Rules {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	kc := writeKubeconfig(t, "kind-dev", "prod-eu", "staging")
	other := writeKubeconfig(t, "only-here")
	ruleFile := filepath.Join(t.TempDir(), "team.yaml")
	writeTestFile(t, ruleFile, `apiVersion: driftgate.dev/v1alpha1
kind: RuleSet
rules:
- id: team-labels
  description: team labels match
  check: cel
  severity: warn
  expression: 'true'
`)
	noFiles := cobra.ShellCompDirectiveNoFileComp
	tests := []struct {
		name    string
		args    []string
		want    []string
		wantDir cobra.ShellCompDirective
	}{
		{"diff first side", []string{"diff", "--kubeconfig", kc, ""}, []string{"context:kind-dev", "context:prod-eu", "context:staging"}, noFiles},
		{"diff context prefix", []string{"diff", "--kubeconfig", kc, "context:p"}, []string{"context:prod-eu"}, noFiles},
		{"diff second side", []string{"diff", "--kubeconfig", kc, "dev.json", "con"}, []string{"context:kind-dev", "context:prod-eu", "context:staging"}, noFiles},
		{"diff a path", []string{"diff", "--kubeconfig", kc, "./snap"}, nil, cobra.ShellCompDirectiveDefault},
		{"diff no third side", []string{"diff", "a", "b", ""}, nil, noFiles},
		{"--kubeconfig is honoured", []string{"diff", "--kubeconfig", other, "context:"}, []string{"context:only-here"}, noFiles},
		{"--context", []string{"snapshot", "--kubeconfig", kc, "--context", "s"}, []string{"staging"}, noFiles},
		{"--context of report", []string{"report", "--kubeconfig", kc, "--context", ""}, []string{"kind-dev", "prod-eu", "staging"}, noFiles},
		{"--cluster", []string{"gate", "--kubeconfig", kc, "--cluster", "k"}, []string{"kind-dev"}, noFiles},
		{"gate --prod", []string{"gate", "--kubeconfig", kc, "--prod", "context:prod"}, []string{"context:prod-eu"}, noFiles},
		{"--defaults-from", []string{"diff", "--kubeconfig", kc, "--defaults-from", "n"}, []string{"none"}, noFiles},
		{"-o formats", []string{"diff", "-o", ""}, output.Formats, noFiles},
		{"gate --output formats", []string{"gate", "--output", ""}, output.Formats, noFiles},
		{"--color", []string{"diff", "--color", ""}, colorModes, noFiles},
		{"--rules builtin", []string{"gate", "--rules", "b"}, []string{"builtin"}, noFiles},
		{"--rules a file", []string{"gate", "--rules", "./"}, []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt},
		{"rules explain", []string{"rules", "explain", "--rules", "builtin", ""}, builtinRuleIDs(t), noFiles},
		{"rules explain from a rule file", []string{"rules", "explain", "--rules", "builtin", "--rules", ruleFile, "team"}, []string{"team-labels"}, noFiles},
		{"rules explain one id only", []string{"rules", "explain", "dns", ""}, nil, noFiles},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, dir := complete(t, tt.args...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("candidates (-want +got):\n%s", diff)
			}
			if dir != tt.wantDir {
				t.Errorf("directive %d, want %d", dir, tt.wantDir)
			}
		})
	}
}

// TestCompletionKUBECONFIG: without --kubeconfig, contexts come from the
// files KUBECONFIG lists, merged. Not parallel: it sets the environment.
func TestCompletionKUBECONFIG(t *testing.T) {
	a, b := writeKubeconfig(t, "from-a"), writeKubeconfig(t, "from-b")
	t.Setenv("KUBECONFIG", a+string(filepath.ListSeparator)+b)
	got, _ := complete(t, "diff", "context:")
	if diff := cmp.Diff([]string{"context:from-a", "context:from-b"}, got); diff != "" {
		t.Errorf("candidates (-want +got):\n%s", diff)
	}
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	if got, dir := complete(t, "gate", "--context", ""); len(got) != 0 || dir != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("no kubeconfig: %q %d, want nothing", got, dir)
	}
}

// TestCompletionScripts: cobra's completion command writes each shell's script.
func TestCompletionScripts(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		r := runCLI(t, "completion", shell)
		if r.code != 0 || !strings.Contains(r.stdout, "__complete") {
			t.Errorf("completion %s: exit %d, %d bytes\n%s", shell, r.code, len(r.stdout), r.stderr)
		}
	}
}

// TestCompleteHostileContextNames: bash's completion script hands the
// candidates to compgen -W, which expands each word, command substitution
// included: a context named $(cmd) in a kubeconfig someone handed over
// would run cmd at the next TAB. Such names are not offered.
func TestCompleteHostileContextNames(t *testing.T) {
	kc := writeKubeconfig(t, "dev", "$(touch pwned)", "`id`", "a;b", "arn:aws:eks:eu-west-1:123456789012:cluster/prod", "gke_p_z_prod")
	got, _ := complete(t, "diff", "--kubeconfig", kc, "")
	want := []string{"context:arn:aws:eks:eu-west-1:123456789012:cluster/prod", "context:dev", "context:gke_p_z_prod"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("candidates (-want +got):\n%s", diff)
	}
	got, _ = complete(t, "snapshot", "--kubeconfig", kc, "--context", "")
	if diff := cmp.Diff([]string{"arn:aws:eks:eu-west-1:123456789012:cluster/prod", "dev", "gke_p_z_prod"}, got); diff != "" {
		t.Errorf("--context candidates (-want +got):\n%s", diff)
	}
}

// TestCompleteHostileRuleIDs: a rule file's ids reach bash's compgen -W
// like context names do, so ids holding shell syntax are not offered.
func TestCompleteHostileRuleIDs(t *testing.T) {
	f := filepath.Join(t.TempDir(), "hostile.yaml")
	writeTestFile(t, f, "apiVersion: driftgate.dev/v1alpha1\nkind: RuleSet\nrules:\n"+
		"- {id: team-ok, description: d, check: presence, severity: warn}\n"+
		"- {id: \"team$(id)\", description: d, check: presence, severity: warn}\n"+
		"- {id: \"team`id`\", description: d, check: presence, severity: warn}\n")
	got, _ := complete(t, "rules", "explain", "--rules", f, "team")
	if diff := cmp.Diff([]string{"team-ok"}, got); diff != "" {
		t.Errorf("candidates (-want +got):\n%s", diff)
	}
}
