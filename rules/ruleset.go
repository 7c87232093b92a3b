package rules

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/google/cel-go/cel"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/internal/regularfile"
	"github.com/driftgate/driftgate/internal/yamlx"
)

// Rule-set identifiers.
const (
	APIVersion = "driftgate.dev/v1alpha1"
	Kind       = "RuleSet"
)

// Check types.
const (
	CheckPresence      = "presence"
	CheckFields        = "fields"
	CheckCEL           = "cel"
	CheckNetworkPolicy = "networkpolicy"
	CheckCorefile      = "corefile"
	CheckUnmanaged     = "unmanaged"
)

// Checks lists every check type; the last three are the semantic checks.
var Checks = []string{CheckPresence, CheckFields, CheckCEL, CheckNetworkPolicy, CheckCorefile, CheckUnmanaged}

// RuleSet is one file of rules and waivers.
type RuleSet struct {
	APIVersion string    `yaml:"apiVersion"`
	Kind       string    `yaml:"kind"`
	Metadata   Metadata  `yaml:"metadata"`
	Rules      []*Rule   `yaml:"rules"`
	Waivers    []*Waiver `yaml:"waivers"`

	// File is where the set was read from ("builtin" for the built-in pack).
	File string `yaml:"-"`
}

// Metadata names a rule set.
type Metadata struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
}

// Rule is one check over the objects it matches.
type Rule struct {
	ID          string `yaml:"id"`
	Description string `yaml:"description"`
	// Explain is the longer text `driftgate rules explain` shows: what the
	// rule checks, why it matters, how to waive it.
	Explain  string         `yaml:"explain"`
	Match    Match          `yaml:"match"`
	Check    string         `yaml:"check"`
	Severity drift.Severity `yaml:"severity"`
	// Presence: which absences to report: missing (in dev), extra (in dev), or both (default).
	Presence string `yaml:"presence"`
	// Fields: compare only these paths (default: everything) minus Ignore.
	Paths  []string `yaml:"paths"`
	Ignore []string `yaml:"ignore"`
	// CEL: an expression over dev and prod (either may be null) that is true
	// when they agree, and a text/template message for when it is not.
	Expression string `yaml:"expression"`
	Message    string `yaml:"message"`
	// Unmanaged: field managers (globs) that mean a change by hand, and
	// deploy tools trusted over them; defaults in README.
	ManualManagers  []string `yaml:"manualManagers"`
	TrustedManagers []string `yaml:"trustedManagers"`

	paths, ignore []Path
	program       cel.Program
	message       *template.Template
	selector      labels.Selector
	line          int
	file          string
}

// Match selects the objects a rule applies to. Empty fields match everything.
type Match struct {
	// Kinds are "Kind" (any group) or "Kind.group"; "*" matches all.
	Kinds        []string `yaml:"kinds"`
	ExcludeKinds []string `yaml:"excludeKinds"`
	// Namespaces and Names are globs. With Namespaces set, cluster-scoped
	// objects do not match.
	Namespaces   []string `yaml:"namespaces"`
	Names        []string `yaml:"names"`
	ExcludeNames []string `yaml:"excludeNames"`
	// LabelSelector is a kubectl-style selector ("app=web,tier!=db").
	LabelSelector string `yaml:"labelSelector"`
}

// Waiver accepts a known difference until it expires.
type Waiver struct {
	Rule string `yaml:"rule"`
	// Object is a glob over "namespace/Kind.group/name" (kubectl's spelling,
	// namespace left out for cluster-scoped objects).
	Object  string `yaml:"object"`
	Reason  string `yaml:"reason"`
	Owner   string `yaml:"owner"`
	Expires Date   `yaml:"expires"`

	file string
	line int
}

// Date is a day (2026-12-31) or a time (RFC 3339).
type Date struct{ time.Time }

// UnmarshalYAML reads a date or a time.
func (d *Date) UnmarshalYAML(n *yamlx.Node) error {
	for _, layout := range []string{"2006-01-02", time.RFC3339} {
		if t, err := time.Parse(layout, n.Value); err == nil {
			if layout == "2006-01-02" {
				t = t.Add(24*time.Hour - time.Second) // valid through the whole day
			}
			d.Time = t
			return nil
		}
	}
	return &drift.InputError{Line: n.Line, Column: n.Column, Msg: fmt.Sprintf("invalid date %q", n.Value), Hint: "use YYYY-MM-DD or RFC 3339"}
}

// Where is the file and line a waiver was written at.
func (w *Waiver) Where() string { return fmt.Sprintf("%s:%d", w.file, w.line) }

// LoadFile reads and validates a rule set.
func LoadFile(file string) (*RuleSet, error) {
	data, err := regularfile.ReadFile(file, "write the rule set to a file and give that file")
	if err != nil {
		var ie *drift.InputError
		if errors.As(err, &ie) {
			return nil, err
		}
		return nil, fmt.Errorf("reading rules: %w", err)
	}
	return Parse(file, data)
}

// Parse decodes and validates a rule set, compiling its CEL expressions.
// Every error names the file, line and column.
func Parse(file string, data []byte) (*RuleSet, error) {
	var node yamlx.Node
	rs := &RuleSet{File: file}
	if err := yamlx.Decode(file, data, rs); err != nil {
		return nil, err
	}
	// Decode again into a node tree to report positions of individual rules.
	if err := yamlx.Decode(file, data, &node); err != nil {
		return nil, err
	}
	if rs.APIVersion != APIVersion || rs.Kind != Kind {
		return nil, yamlx.Errorf(file, rootNode(&node), "start the file with apiVersion: "+APIVersion+" and kind: "+Kind,
			"not a rule set (apiVersion %q, kind %q)", rs.APIVersion, rs.Kind)
	}
	ruleNodes := seqItems(&node, "rules")
	waiverNodes := seqItems(&node, "waivers")
	ids := map[string]int{}
	for i, r := range rs.Rules {
		n := ruleNodes[i]
		if r == nil {
			return nil, yamlx.Errorf(file, n, "remove the empty item, or give the rule's keys", "empty rule")
		}
		r.file, r.line = file, n.Line
		if prev, dup := ids[r.ID]; dup {
			return nil, yamlx.Errorf(file, field(n, "id"), "rule ids must be unique", "rule id %q already used at line %d", r.ID, prev)
		}
		ids[r.ID] = n.Line
		if err := r.compile(file, data, n); err != nil {
			return nil, err
		}
	}
	for i, w := range rs.Waivers {
		n := waiverNodes[i]
		if w == nil {
			return nil, yamlx.Errorf(file, n, "remove the empty item, or give the waiver's keys", "empty waiver")
		}
		w.file, w.line = file, n.Line
		if err := w.validate(file, n); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

func rootNode(n *yamlx.Node) *yamlx.Node {
	if len(n.Content) == 1 {
		return n.Content[0]
	}
	return n
}

// field returns the value node of key in mapping n, or n itself, following
// aliases (an alias node has no content of its own).
func field(n *yamlx.Node, key string) *yamlx.Node {
	n = deref(n)
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return deref(n.Content[i+1])
		}
	}
	return n
}

func deref(n *yamlx.Node) *yamlx.Node {
	if n.Alias != nil {
		return n.Alias
	}
	return n
}

func seqItems(doc *yamlx.Node, key string) []*yamlx.Node {
	return field(rootNode(doc), key).Content
}

func (r *Rule) compile(file string, src []byte, n *yamlx.Node) error {
	errAt := func(key, hint, format string, args ...any) error {
		return yamlx.Errorf(file, field(n, key), hint, format, args...)
	}
	if r.ID == "" || strings.ContainsAny(r.ID, " \t/") {
		return errAt("id", "use a short id such as team-images", "rule needs an id without spaces or slashes")
	}
	if r.Description == "" {
		return errAt("description", "say in one line what the rule checks", "rule %s needs a description", r.ID)
	}
	if !slices.Contains(Checks, r.Check) {
		return errAt("check", "one of "+strings.Join(Checks, ", "), "rule %s: unknown check %q", r.ID, r.Check)
	}
	if _, err := drift.ParseSeverity(string(r.Severity)); err != nil {
		return errAt("severity", "one of "+drift.SeverityChoices(), "rule %s: unknown severity %q", r.ID, r.Severity)
	}
	switch r.Presence {
	case "", "both", "missing", "extra":
	default:
		return errAt("presence", "one of missing, extra, both", "rule %s: unknown presence %q", r.ID, r.Presence)
	}
	if r.Presence != "" && r.Check != CheckPresence {
		return errAt("presence", "remove it, or use check: presence", "rule %s: presence applies only to check: presence", r.ID)
	}
	if (len(r.Paths) > 0 || len(r.Ignore) > 0) && r.Check != CheckFields {
		return errAt("paths", "paths and ignore apply to check: fields", "rule %s: paths and ignore need check: fields", r.ID)
	}
	if (len(r.ManualManagers) > 0 || len(r.TrustedManagers) > 0) && r.Check != CheckUnmanaged {
		return errAt("manualManagers", "manualManagers and trustedManagers apply to check: unmanaged", "rule %s: manager lists need check: unmanaged", r.ID)
	}
	if (r.Expression != "") != (r.Check == CheckCEL) {
		return errAt("expression", "check: cel needs an expression, and only it", "rule %s: expression goes with check: cel", r.ID)
	}
	for _, list := range []struct {
		key string
		in  []string
		out *[]Path
	}{{"paths", r.Paths, &r.paths}, {"ignore", r.Ignore, &r.ignore}} {
		for i, s := range list.in {
			p, err := ParsePath(s)
			if err != nil {
				return yamlx.Errorf(file, field(n, list.key).Content[i], "see README: Rule sets", "rule %s: %v", r.ID, err)
			}
			*list.out = append(*list.out, p)
		}
	}
	m := field(n, "match")
	for _, g := range []struct {
		key   string
		globs []string
	}{{"namespaces", r.Match.Namespaces}, {"names", r.Match.Names}, {"excludeNames", r.Match.ExcludeNames}} {
		for i, glob := range g.globs {
			if _, err := path.Match(glob, ""); err != nil {
				return yamlx.Errorf(file, field(m, g.key).Content[i], "a glob with * and ?", "rule %s: bad glob %q", r.ID, glob)
			}
		}
	}
	sel, err := labels.Parse(r.Match.LabelSelector)
	if err != nil {
		return yamlx.Errorf(file, field(m, "labelSelector"), "kubectl -l syntax, e.g. app=web,tier!=db", "rule %s: %v", r.ID, err)
	}
	r.selector = sel
	if r.Check == CheckCEL {
		if err := r.compileCEL(file, src, field(n, "expression")); err != nil {
			return err
		}
	}
	if r.Message != "" {
		t, err := template.New(r.ID).Funcs(templateFuncs).Option("missingkey=zero").Parse(r.Message)
		if err != nil {
			return errAt("message", "a Go text/template over .Dev, .Prod and .Object", "rule %s: %v", r.ID, err)
		}
		r.message = t
	}
	return nil
}

func (w *Waiver) validate(file string, n *yamlx.Node) error {
	for _, req := range []struct{ key, val string }{{"rule", w.Rule}, {"object", w.Object}, {"reason", w.Reason}, {"owner", w.Owner}} {
		if strings.TrimSpace(req.val) == "" {
			return yamlx.Errorf(file, n, "a waiver needs rule, object, reason, owner and expires", "waiver has no %s", req.key)
		}
	}
	if w.Expires.IsZero() {
		return yamlx.Errorf(file, n, "a waiver needs rule, object, reason, owner and expires", "waiver has no expires date")
	}
	if strings.ContainsAny(w.Rule, globMeta) {
		// A rule id is matched exactly: "*" would match no finding and
		// read as if it waived every rule.
		return yamlx.Errorf(file, field(n, "rule"), "a waiver names one rule by its id (driftgate rules list); write one waiver per rule",
			"waiver rule %q is a pattern, not a rule id", w.Rule)
	}
	if _, err := path.Match(w.Object, ""); err != nil {
		return yamlx.Errorf(file, field(n, "object"), "a glob over namespace/Kind.group/name", "bad object glob %q", w.Object)
	}
	return nil
}

// Matches reports whether the rule applies to an object with this id and labels.
func (m *Match) matches(id drift.ObjectID, lbls map[string]string, sel labels.Selector) bool {
	if len(m.Kinds) > 0 && !kindIn(m.Kinds, id) {
		return false
	}
	if kindIn(m.ExcludeKinds, id) {
		return false
	}
	if len(m.Namespaces) > 0 && (id.Namespace == "" || !anyGlob(m.Namespaces, id.Namespace)) {
		return false
	}
	if len(m.Names) > 0 && !anyGlob(m.Names, id.Name) {
		return false
	}
	if anyGlob(m.ExcludeNames, id.Name) {
		return false
	}
	return sel == nil || sel.Empty() || sel.Matches(labels.Set(lbls))
}

func kindIn(kinds []string, id drift.ObjectID) bool {
	for _, k := range kinds {
		if k == "*" {
			return true
		}
		kind, group, hasGroup := strings.Cut(k, ".")
		if kind == id.Kind && (!hasGroup || group == id.Group) {
			return true
		}
	}
	return false
}

func anyGlob(globs []string, s string) bool {
	for _, g := range globs {
		if globMatch(g, s) {
			return true
		}
	}
	return false
}
