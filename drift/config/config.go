// Package config reads driftgate.yaml: the environments to compare, the
// scope, dev-to-prod mapping, rule sets, waivers, override policy, incident
// hooks and report pairs. Unknown keys are errors with file, line and column.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/blobstore"
	"github.com/driftgate/driftgate/drift/incident"
	"github.com/driftgate/driftgate/internal/regularfile"
	"github.com/driftgate/driftgate/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// Identifiers of a config file.
const (
	APIVersion = "driftgate.dev/v1alpha1"
	Kind       = "Config"
	// DefaultFile is looked up in the working directory when --config is not given.
	DefaultFile = "driftgate.yaml"
)

// Config is driftgate.yaml.
type Config struct {
	APIVersion   string                 `yaml:"apiVersion"`
	Kind         string                 `yaml:"kind"`
	Environments map[string]Environment `yaml:"environments"`
	Scope        Scope                  `yaml:"scope"`
	Mapping      drift.Mapping          `yaml:"mapping"`
	// Rules are rule-set files, or "builtin"; default [builtin].
	Rules     []string  `yaml:"rules"`
	Waivers   string    `yaml:"waivers"`
	Override  Override  `yaml:"override"`
	Incidents Incidents `yaml:"incidents"`
	Report    Report    `yaml:"report"`
	// DefaultsFrom names the cluster (context:NAME) whose API server fills
	// in the defaults of a manifests side, or none; default: the other
	// side when it is a live cluster.
	DefaultsFrom string `yaml:"defaultsFrom"`

	// File is where the config was read from; empty for the defaults.
	File string `yaml:"-"`
}

// Where names the config file for messages: its path, or DefaultFile for
// the defaults.
func (c *Config) Where() string {
	if c.File == "" {
		return DefaultFile
	}
	return c.File
}

// Environment is one side: a kube context, a snapshot file or a folder of manifests.
type Environment struct {
	Context    string `yaml:"context"`
	Kubeconfig string `yaml:"kubeconfig"`
	// Snapshot is a snapshot file, or the URL of one in object storage
	// (s3://, gs://, azblob://, file://; see drift/blobstore).
	Snapshot  string `yaml:"snapshot"`
	Manifests string `yaml:"manifests"`
	// Kustomize is a directory with a kustomization.yaml, rendered as
	// kubectl kustomize renders it (see drift/render).
	Kustomize string `yaml:"kustomize"`
	// Helm is a chart rendered with this environment's values.
	Helm *Helm `yaml:"helm"`
	// Trust is the public key (PEM file) this environment's snapshot must
	// be signed with, for this environment's name. It applies to the side
	// of that name whatever source a flag gives it, so a command line
	// cannot trade prod's signed snapshot for a file of its own.
	Trust string `yaml:"trust"`
	// Cluster, when set, is the cluster this environment must be: a
	// signed snapshot's statement, or a live cluster, must name it.
	Cluster *drift.ClusterIdentity `yaml:"cluster"`
}

// Helm is an environment rendered from a Helm chart.
type Helm struct {
	// Chart is a chart directory or a packaged chart (.tgz).
	Chart string `yaml:"chart"`
	// Values are values files, merged in order (a later one wins).
	Values []string `yaml:"values"`
	// Set are values set as helm's --set KEY=VALUE does (the value's
	// type inferred), applied after the files in the order of the keys.
	Set map[string]string `yaml:"set"`
	// Namespace is the release namespace (default "default").
	Namespace string `yaml:"namespace"`
	// ReleaseName is the release name (default "release-name", as helm template's).
	ReleaseName string `yaml:"releaseName"`
}

// Source renders the environment in the DEV/PROD argument syntax.
func (e Environment) Source() string {
	switch {
	case e.Context != "":
		return "context:" + e.Context
	case e.Snapshot != "":
		return e.Snapshot
	case e.Kustomize != "":
		return "kustomize:" + e.Kustomize
	case e.Helm != nil:
		return "helm:" + e.Helm.Chart
	}
	return e.Manifests
}

// Scope limits what is compared.
type Scope struct {
	Namespaces []string        `yaml:"namespaces"`
	Exclude    []drift.KindRef `yaml:"exclude"`
}

// Override says who may override the gate and how tickets look.
type Override struct {
	// AllowedBy are the users and groups (group:NAME) that may override,
	// as the cluster of IdentityFrom authenticates them.
	AllowedBy     []string `yaml:"allowedBy"`
	TicketPattern string   `yaml:"ticketPattern"`
	// IdentityFrom names the environment whose API server says who
	// overrides (a SelfSubjectReview with that environment's credentials):
	// dev, prod or another environment that is a live cluster. Default:
	// prod, or dev when prod is not a live cluster.
	IdentityFrom string `yaml:"identityFrom"`
	// TrustClaimedIdentity checks AllowedBy against the claimed identity
	// (--override-by, the CI system's actor, the OS user), which nothing
	// verifies, instead of the cluster's. For gates with no cluster to ask.
	TrustClaimedIdentity bool `yaml:"trustClaimedIdentity"`
}

// everyone are the groups every authenticated user, or every caller, is
// in: allowing one of them allows anybody the cluster lets in.
var everyone = []string{"system:authenticated", "system:unauthenticated"}

// Policy is the override policy these settings describe.
func (o Override) Policy() (incident.Policy, error) {
	p := incident.Policy{AllowedBy: o.AllowedBy, TrustClaims: o.TrustClaimedIdentity}
	if o.TicketPattern != "" {
		re, err := regexp.Compile(o.TicketPattern)
		if err != nil {
			return incident.Policy{}, fmt.Errorf("override.ticketPattern: %w", err)
		}
		p.TicketPattern = re
	}
	return p, nil
}

// Incidents configures incident records and their delivery.
type Incidents struct {
	Dir   string          `yaml:"dir"`
	Hooks []incident.Hook `yaml:"hooks"`
	// SignKey is the private key (a PEM file, or env:VAR) that signs each
	// entry's chain head, so that `incidents verify --trust KEY.pub`
	// detects a rewritten log without the HMAC key or a receiver's copy.
	SignKey string `yaml:"signKey"`
}

// Report configures the nightly report.
type Report struct {
	Pairs   []ReportPair `yaml:"pairs"`
	History string       `yaml:"history"`
	// Hooks receive the report's Markdown summary (slack, webhook, exec).
	Hooks []incident.Hook `yaml:"hooks"`
}

// ReportPair is one dev/prod pair of the nightly report, by environment name.
type ReportPair struct {
	Name string `yaml:"name"`
	Dev  string `yaml:"dev"`
	Prod string `yaml:"prod"`
}

// Default is the configuration without a file: the built-in rules.
func Default() *Config {
	return &Config{APIVersion: APIVersion, Kind: Kind, Rules: []string{"builtin"}, Incidents: Incidents{Dir: ".driftgate/incidents"}, Report: Report{History: ".driftgate/history"}}
}

// Find loads path, or driftgate.yaml in the working directory when path is
// empty and that file exists, or the defaults.
func Find(path string) (*Config, error) {
	if path != "" {
		return Load(path)
	}
	if _, err := os.Stat(DefaultFile); err == nil {
		return Load(DefaultFile)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Default(), nil
}

// Load reads a config file, expands ${VAR} from the environment, and
// resolves relative paths against the file's directory.
func Load(path string) (*Config, error) {
	data, err := regularfile.ReadFile(path, "write the config to a file and give that file")
	if err != nil {
		var ie *drift.InputError
		if errors.As(err, &ie) {
			return nil, err
		}
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates data, the content of the config file path,
// as Load does. Every error is a *drift.InputError naming path and line.
func Parse(path string, data []byte) (*Config, error) {
	c := Default()
	c.Rules = nil
	if err := yamlx.Decode(path, data, c); err != nil {
		return nil, err
	}
	c.File = path
	var doc yamlx.Node
	_ = yamlx.Decode(path, data, &doc)
	root := &doc
	if len(root.Content) == 1 {
		root = root.Content[0]
	}
	if c.APIVersion != APIVersion || c.Kind != Kind {
		return nil, yamlx.Errorf(path, root, "start the file with apiVersion: "+APIVersion+" and kind: "+Kind,
			"not a driftgate config (apiVersion %q, kind %q)", c.APIVersion, c.Kind)
	}
	if len(c.Rules) == 0 {
		c.Rules = []string{"builtin"}
	}
	if err := checkEnvRefs(path, root, os.LookupEnv); err != nil {
		return nil, err
	}
	c.expandEnv()
	for name, e := range c.Environments {
		n := 0
		for _, v := range []string{e.Context, e.Snapshot, e.Manifests, e.Kustomize} {
			if v != "" {
				n++
			}
		}
		if e.Helm != nil {
			n++
		}
		if n != 1 {
			return nil, yamlx.Errorf(path, lookup(root, "environments", name), "give exactly one of context, snapshot, manifests, kustomize, helm",
				"environment %q has %d sources", name, n)
		}
		if e.Helm != nil && e.Helm.Chart == "" {
			return nil, yamlx.Errorf(path, lookup(root, "environments", name, "helm"), "helm: {chart: DIR-OR-TGZ, values: [FILE...]}",
				"environment %q: helm names no chart", name)
		}
		if blobstore.IsURL(e.Snapshot) {
			if err := blobstore.Validate(e.Snapshot); err != nil {
				return nil, yamlx.Errorf(path, lookup(root, "environments", name, "snapshot"), "a snapshot file, or s3://BUCKET/PREFIX, gs://, azblob:// or file:///PATH",
					"environment %q: %v", name, err)
			}
		}
	}
	for name, e := range c.Environments {
		switch {
		case e.Trust != "" && e.Snapshot == "":
			return nil, yamlx.Errorf(path, lookup(root, "environments", name, "trust"), "give the environment as a snapshot, or remove trust",
				"environment %q has a trusted key, but only a snapshot is signed", name)
		case e.Cluster != nil && e.Cluster.UID == "":
			return nil, yamlx.Errorf(path, lookup(root, "environments", name, "cluster"), "the uid of its kube-system namespace: kubectl get namespace kube-system -o jsonpath='{.metadata.uid}'",
				"environment %q names a cluster without its uid", name)
		}
	}
	if d := c.DefaultsFrom; d != "" && d != "none" && (!strings.HasPrefix(d, "context:") || d == "context:") {
		return nil, yamlx.Errorf(path, lookup(root, "defaultsFrom"), "context:NAME or none", "invalid defaultsFrom %q", d)
	}
	if c.Override.TicketPattern != "" {
		if _, err := regexp.Compile(c.Override.TicketPattern); err != nil {
			return nil, yamlx.Errorf(path, lookup(root, "override", "ticketPattern"), "a Go regular expression such as ^INC-[0-9]+$", "invalid ticketPattern: %v", err)
		}
	}
	if err := checkOverride(path, root, c); err != nil {
		return nil, err
	}
	for _, section := range []struct {
		key   string
		hooks []incident.Hook
		types []string
	}{{"incidents", c.Incidents.Hooks, incident.HookTypes}, {"report", c.Report.Hooks, incident.TextHookTypes}} {
		node := lookup(root, section.key, "hooks")
		for i, h := range section.hooks {
			if !slices.Contains(section.types, h.Type) {
				return nil, yamlx.Errorf(path, itemOf(node, i), "one of "+strings.Join(section.types, ", "), "%s hook type %q is not supported there", section.key, h.Type)
			}
			if h.Timeout != "" {
				if _, err := time.ParseDuration(h.Timeout); err != nil {
					return nil, yamlx.Errorf(path, itemOf(node, i), "a duration such as 10s", "invalid hook timeout %q", h.Timeout)
				}
			}
		}
	}
	for i, p := range c.Report.Pairs {
		for _, env := range []string{p.Dev, p.Prod} {
			if _, ok := c.Environments[env]; !ok {
				return nil, yamlx.Errorf(path, itemOf(lookup(root, "report", "pairs"), i), "name an environment under environments",
					"report pair %q names unknown environment %q", p.Name, env)
			}
		}
	}
	base := filepath.Dir(path)
	resolve := func(p *string) {
		if blobstore.IsURL(*p) {
			return // a snapshot in object storage, not a path
		}
		if *p != "" && !filepath.IsAbs(*p) && !strings.HasPrefix(*p, "~") {
			*p = filepath.Join(base, *p)
		}
		if strings.HasPrefix(*p, "~/") {
			if home, err := os.UserHomeDir(); err == nil {
				*p = filepath.Join(home, (*p)[2:])
			}
		}
	}
	for name, e := range c.Environments {
		c.Environments[name] = e.withPaths(resolve)
	}
	for i := range c.Rules {
		if c.Rules[i] != "builtin" {
			resolve(&c.Rules[i])
		}
	}
	resolve(&c.Waivers)
	resolve(&c.Incidents.Dir)
	if !strings.HasPrefix(c.Incidents.SignKey, "env:") {
		resolve(&c.Incidents.SignKey)
	}
	resolve(&c.Report.History)
	return c, nil
}

// checkOverride checks override.allowedBy's entries and that
// override.identityFrom names an environment.
func checkOverride(path string, root *yamlx.Node, c *Config) error {
	node := lookup(root, "override", "allowedBy")
	for i, a := range c.Override.AllowedBy {
		a = strings.TrimSpace(a)
		group, isGroup := strings.CutPrefix(a, incident.GroupPrefix)
		switch {
		case a == "" || (isGroup && group == ""):
			return yamlx.Errorf(path, itemOf(node, i), "a user name, or group:NAME", "empty override.allowedBy entry %q", a)
		case isGroup && slices.Contains(everyone, group):
			return yamlx.Errorf(path, itemOf(node, i), "name the group of the people who may override",
				"override.allowedBy %q allows anyone the cluster lets in", a)
		case a == "system:anonymous":
			return yamlx.Errorf(path, itemOf(node, i), "name the people who may override",
				"override.allowedBy %q allows unauthenticated callers", a)
		}
	}
	if from := c.Override.IdentityFrom; from != "" && from != "dev" && from != "prod" {
		if _, ok := c.Environments[from]; !ok {
			return yamlx.Errorf(path, lookup(root, "override", "identityFrom"), "dev, prod, or an environment under environments that is a live cluster (context:)",
				"override.identityFrom names unknown environment %q", from)
		}
	}
	return nil
}

func itemOf(seq *yamlx.Node, i int) *yamlx.Node {
	if i < len(seq.Content) {
		return seq.Content[i]
	}
	return seq
}

// lookup follows keys through mappings (and aliases), returning the deepest
// node found.
func lookup(n *yamlx.Node, keys ...string) *yamlx.Node {
	for _, k := range keys {
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				n, found = n.Content[i+1], true
				if n.Alias != nil {
					n = n.Alias
				}
				break
			}
		}
		if !found {
			return n
		}
	}
	return n
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// ${VAR} is expanded from the environment only where a value says where to
// read or where to send, and is never printed: the environments' contexts,
// kubeconfigs, snapshot and manifest paths, the rule and waiver files, the
// incident and history folders, and the hooks' settings (URLs with tokens
// in them). Everywhere else a value is shown (mapping substitutions end up
// in findings, scope and override in messages and records), so ${VAR}
// there is an error rather than an expansion that would print the
// variable's value; a report pair's name is shown as written.
//
// A variable that is not set is an error naming it and the line using it:
// expanding it to nothing turns ${RENDER_DIR}/dev into /dev. Outside the
// hooks, a variable set to the empty string is an error too, for the same
// reason; a hook whose URL is empty says so when it is used (CI leaves a
// secret empty where it is not available, as in pull requests from forks).
var (
	// expandedPaths are the keys under which ${VAR} is expanded; "*" is any
	// key or list item.
	expandedPaths = [][]string{
		{"environments", "*", "context"}, {"environments", "*", "kubeconfig"},
		{"environments", "*", "snapshot"}, {"environments", "*", "manifests"}, {"environments", "*", "trust"},
		{"environments", "*", "kustomize"}, {"environments", "*", "helm", "chart"}, {"environments", "*", "helm", "values", "*"},
		{"rules", "*"}, {"waivers"}, {"incidents", "dir"}, {"incidents", "signKey"}, {"report", "history"},
	}
	// hookPaths are expanded too, and may expand to the empty string.
	hookPaths = [][]string{{"incidents", "hooks"}, {"report", "hooks"}}
	// literalPaths are shown as written, ${VAR} and all.
	literalPaths = [][]string{{"report", "pairs", "*", "name"}}
)

// pathMatches reports whether path begins with pattern ("*" matching any
// element) and, unless prefix, is as long.
func pathMatches(path, pattern []string, prefix bool) bool {
	if len(path) < len(pattern) || (!prefix && len(path) != len(pattern)) {
		return false
	}
	for i, p := range pattern {
		if p != "*" && p != path[i] {
			return false
		}
	}
	return true
}

func matchesAny(path []string, patterns [][]string, prefix bool) bool {
	for _, p := range patterns {
		if pathMatches(path, p, prefix) {
			return true
		}
	}
	return false
}

// checkEnvRefs finds every ${VAR} in the config's values and refuses those
// used where they are not expanded, and variables not set (see
// expandedPaths), naming the variable and its line.
func checkEnvRefs(file string, root *yamlx.Node, lookupEnv func(string) (string, bool)) error {
	var walk func(n *yamlx.Node, path []string) error
	walk = func(n *yamlx.Node, path []string) error {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, d := range n.Content {
				if err := walk(d, path); err != nil {
					return err
				}
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if err := walk(n.Content[i+1], append(path[:len(path):len(path)], n.Content[i].Value)); err != nil {
					return err
				}
			}
		case yaml.SequenceNode:
			for _, item := range n.Content {
				if err := walk(item, append(path[:len(path):len(path)], "*")); err != nil {
					return err
				}
			}
		case yaml.ScalarNode:
			refs := envRef.FindAllStringSubmatch(n.Value, -1)
			if len(refs) == 0 || matchesAny(path, literalPaths, false) {
				return nil
			}
			where := strings.Join(path, ".")
			hook := matchesAny(path, hookPaths, true)
			if !hook && !matchesAny(path, expandedPaths, false) {
				return yamlx.Errorf(file, n, "write the value itself; ${VAR} is expanded only in environments, rules, waivers, incidents.dir, incidents.signKey, report.history and hooks",
					"%s is not expanded in %s: its value would be shown in findings, reports or records", refs[0][0], where)
			}
			for _, r := range refs {
				v, ok := lookupEnv(r[1])
				switch {
				case !ok:
					return yamlx.Errorf(file, n, "set "+r[1]+" in the environment, or write the value in the config",
						"%s is not set (used in %s)", r[0], where)
				case v == "" && !hook:
					return yamlx.Errorf(file, n, "set "+r[1]+" to the value, or write the value in the config",
						"%s is set to the empty string (used in %s)", r[0], where)
				}
			}
		}
		return nil
	}
	return walk(root, nil)
}

// withPaths returns e with f applied to every file or folder it names
// (kubeconfig, snapshot, manifests, kustomize, trust, the chart and its
// values files); the Helm settings are copied first, so the Config the
// caller read from stays as it was.
func (e Environment) withPaths(f func(*string)) Environment {
	for _, p := range []*string{&e.Kubeconfig, &e.Snapshot, &e.Manifests, &e.Kustomize, &e.Trust} {
		f(p)
	}
	if e.Helm != nil {
		h := *e.Helm
		h.Values = slices.Clone(h.Values)
		f(&h.Chart)
		for i := range h.Values {
			f(&h.Values[i])
		}
		e.Helm = &h
	}
	return e
}

// expandEnv replaces ${VAR} in the values listed by expandedPaths and
// hookPaths, checked by checkEnvRefs. The expanded values live only in
// memory; nothing writes them out.
func (c *Config) expandEnv() {
	expand := func(s *string) {
		if strings.Contains(*s, "${") {
			*s = envRef.ReplaceAllStringFunc(*s, func(m string) string { return os.Getenv(m[2 : len(m)-1]) })
		}
	}
	for name, e := range c.Environments {
		expand(&e.Context)
		c.Environments[name] = e.withPaths(expand)
	}
	for i := range c.Rules {
		expand(&c.Rules[i])
	}
	expand(&c.Waivers)
	expand(&c.Incidents.Dir)
	expand(&c.Incidents.SignKey)
	expand(&c.Report.History)
	// Every setting of a hook, as its fields come.
	expandStrings(reflect.ValueOf(c.Incidents.Hooks), expand)
	expandStrings(reflect.ValueOf(c.Report.Hooks), expand)
}

// expandStrings calls expand on every settable string in v.
func expandStrings(v reflect.Value, expand func(*string)) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			s := v.String()
			expand(&s)
			v.SetString(s)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				expandStrings(v.Field(i), expand)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			expandStrings(v.Index(i), expand)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			expandStrings(e, expand)
			v.SetMapIndex(k, e)
		}
	case reflect.Pointer:
		if !v.IsNil() {
			expandStrings(v.Elem(), expand)
		}
	}
}
