package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.yaml.in/yaml/v3"
)

func TestStarterGuess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		contexts            []string
		wantDev, wantProd   string
		otherDev, otherProd []string
	}{
		{"kind", []string{"kind-dev", "kind-prod"}, "kind-dev", "kind-prod", nil, nil},
		{"staging before dev", []string{"dev", "staging-eu", "production"}, "staging-eu", "production", []string{"dev"}, nil},
		{"cloud names", []string{"gke_acme_europe-west1_prd-1", "arn:aws:eks:eu-west-1:1:cluster/Staging"}, "arn:aws:eks:eu-west-1:1:cluster/Staging", "gke_acme_europe-west1_prd-1", nil, nil},
		{"words, not substrings", []string{"developer-laptop", "products", "preprod"}, "preprod", "", nil, nil},
		{"both words is neither", []string{"dev-copy-of-prod", "prod"}, "", "prod", nil, nil},
		{"ties by name", []string{"prod-us", "prod-eu", "dev-b", "dev-a"}, "dev-a", "prod-eu", []string{"dev-b"}, []string{"prod-us"}},
		{"nothing to go by", []string{"minikube", "docker-desktop"}, "", "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dev, prod, od, op := starterGuess(tt.contexts)
			if diff := cmp.Diff([]any{tt.wantDev, tt.wantProd, tt.otherDev, tt.otherProd}, []any{dev, prod, od, op}, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("dev, prod, other devs, other prods (-want +got):\n%s", diff)
			}
		})
	}
}

// hostileNames are context names as a kubeconfig may hold them: YAML
// syntax, comment markers, line breaks of every kind, escapes, format
// characters. Each must read back exactly.
var hostileNames = []string{
	"a: b # c",
	"x\ny: z",
	"\"quoted\" and 'single'",
	`back\slash\n`,
	"- item",
	"*alias &anchor !tag %directive @at `tick` | > { } [ ] ,",
	"cr\rlf\r\n tab\t nul\x00 esc\x1b[2J del\x7f",
	"nel\u0085 ls\u2028 ps\u2029 bom\ufeff rlo\u202e nbsp\u00a0",
	"  leading and trailing  ",
	"null", "true", "~", "0x1F", "1e3", "---", "...", "#",
	"日本語の名前", "emoji 🚀 \U0001F9EA",
	strings.Repeat("long name with spaces ", 20),
}

func TestYAMLQuoteRoundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range hostileNames {
		q := YAMLQuote(s)
		if strings.ContainsAny(q, "\n\r\u0085\u2028\u2029") {
			t.Errorf("YAMLQuote(%q) = %q spans lines", s, q)
		}
		var got string
		if err := yaml.Unmarshal([]byte("v: "+q+" # trailing comment\n"), &struct{ V *string }{&got}); err != nil {
			t.Errorf("YAMLQuote(%q) = %s does not parse: %v", s, q, err)
			continue
		}
		if got != s {
			t.Errorf("YAMLQuote(%q) = %s reads back as %q", s, q, got)
		}
	}
}

// commentedContext matches the context lines the starter lists in comments.
var commentedContext = regexp.MustCompile(`(?m)^ *# context: (".*")$`)

// loadStarter writes the starter to a file and loads it as gate would.
func loadStarter(t *testing.T, in StarterInput) (*Starter, *Config) {
	t.Helper()
	st, err := NewStarter(in)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(write(t, string(st.Data)))
	if err != nil {
		t.Fatalf("the starter does not load: %v\n%s", err, st.Data)
	}
	return st, c
}

// TestStarterLoadsAndRoundTrips: whatever the contexts are called, the
// file loads, its environments name exactly the contexts guessed, and
// every context listed in a comment reads back exactly when uncommented.
func TestStarterLoadsAndRoundTrips(t *testing.T) {
	t.Parallel()
	for i, name := range hostileNames {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			dev, prod := "dev "+name, name+" prod"
			other := "other " + name
			kubeconfig := filepath.Join(t.TempDir(), "kube config: "+fmt.Sprint(i))
			st, c := loadStarter(t, StarterInput{Contexts: []string{prod, other, dev, "staging-" + name}, Kubeconfig: kubeconfig})
			if st.Dev != "staging-"+name || st.Prod != prod {
				t.Fatalf("guessed dev %q prod %q", st.Dev, st.Prod)
			}
			want := map[string]Environment{"dev": {Context: "staging-" + name, Kubeconfig: kubeconfig}, "prod": {Context: prod, Kubeconfig: kubeconfig}}
			if diff := cmp.Diff(want, c.Environments); diff != "" {
				t.Errorf("environments (-want +got):\n%s\n%s", diff, st.Data)
			}
			var listed []string
			for _, m := range commentedContext.FindAllStringSubmatch(string(st.Data), -1) {
				var v string
				if err := yaml.Unmarshal([]byte(m[1]), &v); err != nil {
					t.Fatalf("commented context %s: %v", m[1], err)
				}
				listed = append(listed, v)
			}
			if diff := cmp.Diff([]string{dev, other}, listed); diff != "" {
				t.Errorf("contexts listed in comments (-want +got):\n%s\n%s", diff, st.Data)
			}
			if len(c.Report.Pairs) != 1 || c.Rules[0] != "builtin" {
				t.Errorf("report pairs %v, rules %v", c.Report.Pairs, c.Rules)
			}
		})
	}
}

func TestStarterPlaceholdersAndSkipped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		contexts          []string
		wantDev, wantProd string
		wantSkipped       []string
	}{
		{"no contexts", nil, StarterDevPlaceholder, StarterProdPlaceholder, nil},
		{"no telling names", []string{"minikube"}, StarterDevPlaceholder, StarterProdPlaceholder, nil},
		{"only prod", []string{"prod"}, StarterDevPlaceholder, "prod", nil},
		{"unusable names", []string{"dev-${HOME}", "prod\xff", "", "prod"}, StarterDevPlaceholder, "prod", []string{
			`context "": its name is empty`,
			`context "dev-${HOME}": its name holds ${...}, which driftgate.yaml expands from the environment`,
			`context "prod\xff": its name is not valid UTF-8, which YAML cannot hold`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, c := loadStarter(t, StarterInput{Contexts: tt.contexts})
			if got := []string{c.Environments["dev"].Context, c.Environments["prod"].Context}; !cmp.Equal(got, []string{tt.wantDev, tt.wantProd}) {
				t.Errorf("contexts %q, want %q, %q", got, tt.wantDev, tt.wantProd)
			}
			if diff := cmp.Diff(tt.wantSkipped, sortedOrNil(st.Skipped)); diff != "" {
				t.Errorf("skipped (-want +got):\n%s", diff)
			}
			if strings.Contains(string(st.Data), "${HOME}") || strings.Contains(string(st.Data), "\xff") {
				t.Errorf("an unusable name reached the file:\n%s", st.Data)
			}
		})
	}
	if _, err := NewStarter(StarterInput{Kubeconfig: "/home/${USER}/kubeconfig"}); err == nil {
		t.Error("a kubeconfig path holding ${...} must be refused: the config would expand it")
	}
}

func sortedOrNil(s []string) []string {
	if s == nil {
		return nil
	}
	return slices.Sorted(slices.Values(s))
}
