package config

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// StarterInput is what a starter driftgate.yaml is written from.
type StarterInput struct {
	// Contexts are the kubeconfig's context names.
	Contexts []string
	// Kubeconfig, when set, is the kubeconfig file both environments
	// name (an absolute path); empty for the default loading rules.
	Kubeconfig string
}

// Starter is a starter driftgate.yaml.
type Starter struct {
	// Data is the file's content.
	Data []byte
	// Dev and Prod are the contexts the environments name, "" where the
	// file holds a placeholder.
	Dev, Prod string
	// Skipped are the contexts that cannot be named in the file, with
	// why (for the user: they are cluster text, escape them to show them).
	Skipped []string
}

// Placeholders for an environment no context could be guessed for: the
// file loads, and gate says the context does not exist until it is edited.
const (
	StarterDevPlaceholder  = "REPLACE-WITH-THE-DEV-CONTEXT"
	StarterProdPlaceholder = "REPLACE-WITH-THE-PROD-CONTEXT"
)

// starterProdWords and starterDevWords are the words in a context's name
// that say what it is, most telling first: an environment before prod
// (staging) is a better dev than a developer's sandbox.
var (
	starterProdWords = []string{"prod", "production", "prd", "live"}
	starterDevWords  = []string{"staging", "stage", "stg", "preprod", "uat", "dev", "development", "develop", "qa", "test"}
)

// starterWords splits a context name into lowercase words at everything
// that is not a letter or digit: kind-dev, gke_proj_zone_prod-1,
// arn:aws:eks:eu-west-1:1:cluster/production.
func starterWords(name string) []string {
	return strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// starterRank is the rank of name's most telling word in words, or -1.
func starterRank(name string, words []string) int {
	best := -1
	for _, w := range starterWords(name) {
		if i := slices.Index(words, w); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	return best
}

// starterGuess picks dev and prod among names by the words in them; a
// name with both kinds of word is neither. Ties go to the first name in
// sorted order. It returns the other candidates of each, in order.
func starterGuess(names []string) (dev, prod string, otherDev, otherProd []string) {
	type cand struct {
		name string
		rank int
	}
	var devs, prods []cand
	for _, n := range names {
		d, p := starterRank(n, starterDevWords), starterRank(n, starterProdWords)
		switch {
		case d >= 0 && p < 0:
			devs = append(devs, cand{n, d})
		case p >= 0 && d < 0:
			prods = append(prods, cand{n, p})
		}
	}
	order := func(cs []cand) []string {
		slices.SortStableFunc(cs, func(a, b cand) int {
			if a.rank != b.rank {
				return a.rank - b.rank
			}
			return strings.Compare(a.name, b.name)
		})
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = c.name
		}
		return out
	}
	ds, ps := order(devs), order(prods)
	if len(ds) > 0 {
		dev, otherDev = ds[0], ds[1:]
	}
	if len(ps) > 0 {
		prod, otherProd = ps[0], ps[1:]
	}
	return dev, prod, otherDev, otherProd
}

// YAMLQuote writes s as a YAML double-quoted scalar on one line: every
// character that is not printable (controls, line and paragraph
// separators, format characters such as bidi overrides and the BOM) is
// escaped, as are quotes and backslashes, so text from a kubeconfig
// reads back exactly and can neither end the line nor hide in it. s must
// be valid UTF-8: YAML has no way to write invalid bytes.
func YAMLQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// starterUsable says why a context name cannot be written in the file,
// or "" when it can.
func starterUsable(name string) string {
	switch {
	case !utf8.ValidString(name):
		return "its name is not valid UTF-8, which YAML cannot hold"
	case envRef.MatchString(name):
		return "its name holds ${...}, which driftgate.yaml expands from the environment"
	case name == "":
		return "its name is empty"
	}
	return ""
}

// NewStarter writes a commented driftgate.yaml for the contexts of a
// kubeconfig: dev and prod guessed from the contexts' names (staging,
// dev, prod, production...), placeholders otherwise, the other contexts
// listed in comments, and the optional sections commented out. The
// result loads with Parse; the caller checks that it did.
func NewStarter(in StarterInput) (*Starter, error) {
	if in.Kubeconfig != "" && (!utf8.ValidString(in.Kubeconfig) || envRef.MatchString(in.Kubeconfig)) {
		return nil, fmt.Errorf("kubeconfig path %q cannot be written in driftgate.yaml: it is not UTF-8 or holds ${...}", in.Kubeconfig)
	}
	st := &Starter{}
	var names []string
	for _, n := range in.Contexts {
		if why := starterUsable(n); why != "" {
			st.Skipped = append(st.Skipped, fmt.Sprintf("context %q: %s", n, why))
			continue
		}
		names = append(names, n)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	dev, prod, otherDev, otherProd := starterGuess(names)
	st.Dev, st.Prod = dev, prod
	var rest []string
	for _, n := range names {
		if n != dev && n != prod && !slices.Contains(otherDev, n) && !slices.Contains(otherProd, n) {
			rest = append(rest, n)
		}
	}

	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# driftgate.yaml: what driftgate compares and how (README: \"Configuration\").\n")
	p("# Written by `driftgate init` from the contexts of your kubeconfig. Check the\n")
	p("# environments below, then run `driftgate gate` to compare dev with prod.\n")
	p("apiVersion: %s\nkind: %s\n\n", APIVersion, Kind)
	p("# The two environments gate compares: dev must faithfully reproduce prod.\n")
	p("# Each is one of context: (a kube context), snapshot: (a snapshot file, or\n")
	p("# s3://, gs://, azblob:// URL) or manifests: (a folder of manifests).\n")
	p("environments:\n")
	env := func(name, chosen, placeholder, words string, others []string) {
		p("  %s:\n", name)
		switch {
		case chosen != "":
			p("    # Guessed from the context's name: check that it is your %s cluster.\n", name)
		case len(names) == 0:
			p("    # No context found in the kubeconfig: name the %s cluster's context here.\n", name)
			chosen = placeholder
		default:
			p("    # No context's name says %s (%s): name the %s cluster's context\n", name, words, name)
			p("    # here; the contexts found are listed under environments.\n")
			chosen = placeholder
		}
		p("    context: %s\n", YAMLQuote(chosen))
		if in.Kubeconfig != "" {
			p("    kubeconfig: %s\n", YAMLQuote(in.Kubeconfig))
		}
		if len(others) > 0 {
			p("    # Other contexts whose names say %s:\n", name)
			for _, o := range others {
				p("    # context: %s\n", YAMLQuote(o))
			}
		}
	}
	env("dev", dev, StarterDevPlaceholder, strings.Join(starterDevWords, ", "), otherDev)
	env("prod", prod, StarterProdPlaceholder, strings.Join(starterProdWords, ", "), otherProd)
	if len(rest) > 0 {
		p("  # The other contexts in the kubeconfig:\n")
		for _, o := range rest {
			p("  # context: %s\n", YAMLQuote(o))
		}
	}
	p("\n# Rule sets: builtin, and rule files of your own (driftgate rules list).\n")
	p("rules: [builtin]\n\n")
	p("# Compare only these namespaces (default: all of them).\n")
	p("# scope:\n#   namespaces: [payments, checkout]\n\n")
	p("# Known differences accepted for a while, each with an owner and an expiry.\n")
	p("# waivers: waivers.yaml\n\n")
	p("# Who may deploy despite blocking findings (gate --override), and how\n")
	p("# tickets look.\n")
	p("# override:\n#   allowedBy: [group:sre]\n#   ticketPattern: ^INC-[0-9]+$\n\n")
	p("# The nightly report (driftgate report --out DIR) compares these pairs.\n")
	p("report:\n  pairs:\n  - {name: main, dev: dev, prod: prod}\n")
	st.Data = b.Bytes()
	return st, nil
}
