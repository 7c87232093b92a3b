package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/driftgate/driftgate/drift"
)

func write(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "driftgate.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The example from the SPEC loads as written.
const specExample = `apiVersion: driftgate.dev/v1alpha1
kind: Config
environments:
  dev:  {context: dev-cluster}                 # or snapshot: path, or manifests: dir
  prod: {context: prod-cluster, kubeconfig: ~/.kube/prod}
scope:
  namespaces: [payments, kube-system]          # default: all
  exclude: [{kind: Event}, {kind: Lease}]
mapping:
  namespaces: {payments-dev: payments}         # dev name -> prod name
  substitutions: [{dev: dev.example.com, prod: example.com}]
rules: [builtin, ./team-rules.yaml]
waivers: ./waivers.yaml
override:
  allowedBy: [alice, release-bot]              # identities that may override
  ticketPattern: '^INC-[0-9]+$'
incidents:
  dir: .driftgate/incidents
  hooks:
    - {type: webhook, url: '${INCIDENT_WEBHOOK_URL}', secretEnv: INCIDENT_WEBHOOK_SECRET, required: true}
    - {type: slack, url: '${SLACK_WEBHOOK_URL}'}
    - {type: pagerduty, routingKeyEnv: PD_ROUTING_KEY}
    - {type: exec, command: [./scripts/open-ticket.sh]}
    - {type: kubernetes-event, environment: prod}
report:
  pairs: [{name: payments, dev: dev, prod: prod}]
  history: .driftgate/history
`

func TestLoadSpecExample(t *testing.T) {
	t.Setenv("INCIDENT_WEBHOOK_URL", "https://hooks.example.com/x")
	p := write(t, specExample)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(p)
	if diff := cmp.Diff([]string{"builtin", filepath.Join(dir, "team-rules.yaml")}, c.Rules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	if c.Incidents.Hooks[0].URL != "https://hooks.example.com/x" || c.Incidents.Hooks[1].URL != "" {
		t.Errorf("env expansion: %q %q", c.Incidents.Hooks[0].URL, c.Incidents.Hooks[1].URL)
	}
	if c.Mapping.Namespaces["payments-dev"] != "payments" || c.Scope.Exclude[1] != (drift.KindRef{Kind: "Lease"}) {
		t.Errorf("mapping/scope: %+v %+v", c.Mapping, c.Scope)
	}
	if c.Environments["dev"].Source() != "context:dev-cluster" || !strings.HasSuffix(c.Environments["prod"].Kubeconfig, "/.kube/prod") {
		t.Errorf("environments: %+v", c.Environments)
	}
	if c.Waivers != filepath.Join(dir, "waivers.yaml") || c.Incidents.Dir != filepath.Join(dir, ".driftgate/incidents") {
		t.Errorf("paths not resolved against the config: %q %q", c.Waivers, c.Incidents.Dir)
	}
}

func TestLoadErrors(t *testing.T) {
	head := "apiVersion: driftgate.dev/v1alpha1\nkind: Config\n"
	tests := []struct {
		name, src string
		line, col int
		msg       string
	}{
		{"unknown top-level key", head + "rule: [builtin]\n", 3, 1, `unknown key "rule"`},
		{"unknown nested key", head + "scope:\n  namespace: [a]\n", 4, 3, `unknown key "namespace"`},
		{"unknown key in a list item", head + "incidents:\n  hooks:\n  - {type: slack, uri: x}\n", 5, 19, `unknown key "uri"`},
		{"wrong type", head + "override:\n  allowedBy: alice\n", 4, 14, "expected a list"},
		{"two sources", head + "environments:\n  dev: {context: a, snapshot: b}\n", 4, 8, `environment "dev" has 2 sources`},
		{"unknown report environment", head + "environments:\n  dev: {context: a}\nreport:\n  pairs: [{name: p, dev: dev, prod: prod}]\n", 6, 11, `unknown environment "prod"`},
		{"not a config", "apiVersion: v1\nkind: ConfigMap\n", 1, 1, "not a driftgate config"},
		{"duplicate key", head + "rules: [a]\nrules: [b]\n", 4, 1, `key "rules" appears twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, tt.src)
			_, err := Load(p)
			var ie *drift.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("want InputError, got %v", err)
			}
			if ie.File != p || ie.Line != tt.line || ie.Column != tt.col || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %v (at %d:%d), want %s:%d:%d %q", err, ie.Line, ie.Column, p, tt.line, tt.col, tt.msg)
			}
		})
	}
}

func TestFindDefaults(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := Find("")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"builtin"}, c.Rules); diff != "" || c.File != "" {
		t.Errorf("defaults: %+v", c)
	}
	if _, err := Find("missing.yaml"); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("explicit missing config: %v", err)
	}
}
