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
	// Set but empty, as CI leaves a secret it does not give a pull request.
	t.Setenv("SLACK_WEBHOOK_URL", "")
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
		{"empty group", head + "override:\n  allowedBy: [alice, 'group:']\n", 4, 22, `empty override.allowedBy entry "group:"`},
		{"every authenticated user", head + "override:\n  allowedBy: ['group:system:authenticated']\n", 4, 15, `"group:system:authenticated" allows anyone the cluster lets in`},
		{"anonymous", head + "override:\n  allowedBy: [system:anonymous]\n", 4, 15, `allows unauthenticated callers`},
		{"unknown identityFrom", head + "environments:\n  dev: {context: a}\noverride:\n  identityFrom: staging\n", 6, 17, `override.identityFrom names unknown environment "staging"`},
		{"identityFrom not a bool", head + "override:\n  trustClaimedIdentity: yes please\n", 4, 25, "bool"},
		{"trust on a live environment", head + "environments:\n  prod:\n    context: prod\n    trust: prod.pub\n", 6, 12, `environment "prod" has a trusted key, but only a snapshot is signed`},
		{"cluster without uid", head + "environments:\n  prod:\n    snapshot: p.json\n    cluster: {server: https://x}\n", 6, 14, `environment "prod" names a cluster without its uid`},
		{"unknown cluster key", head + "environments:\n  prod:\n    snapshot: p.json\n    cluster: {uid: u, name: x}\n", 6, 23, `unknown key "name"`},
		{"snapshot URL with credentials", head + "environments:\n  prod:\n    snapshot: s3://AKIA:pw@bucket/prod\n", 5, 15, "the URL holds credentials"},
		{"snapshot URL of an unsupported scheme", head + "environments:\n  prod:\n    snapshot: mem://bucket/prod\n", 5, 15, `scheme "mem" is not supported`},
		{"snapshot URL with an unknown parameter", head + "environments:\n  prod:\n    snapshot: s3://bucket/prod?token=x\n", 5, 15, `query parameter "token" is not accepted`},
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

// TestSnapshotURLNotResolved: a snapshot URL is kept as written, where a
// relative snapshot path is taken from the config file's folder.
func TestSnapshotURLNotResolved(t *testing.T) {
	const u = "s3://bucket/team/prod?region=eu-west-1&endpoint=http://127.0.0.1:8333"
	p := write(t, "apiVersion: driftgate.dev/v1alpha1\nkind: Config\nenvironments:\n  prod: {snapshot: '"+u+"'}\n  dev: {snapshot: dev.json.gz}\n")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Environments["prod"].Source(); got != u {
		t.Errorf("prod source = %q, want %q", got, u)
	}
	if got, want := c.Environments["dev"].Source(), filepath.Join(filepath.Dir(p), "dev.json.gz"); got != want {
		t.Errorf("dev source = %q, want %q", got, want)
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

// TestEnvExpansion: ${VAR} is expanded only where its value is never
// shown, a variable not set is an error naming it and its line, and no
// error or name carries a variable's value.
func TestEnvExpansion(t *testing.T) {
	head := "apiVersion: driftgate.dev/v1alpha1\nkind: Config\n"
	t.Setenv("DG_TEST_RENDER_DIR", "/tmp/render-s3cr3t")
	t.Setenv("DG_TEST_TOKEN", "tok-s3cr3t")
	t.Setenv("DG_TEST_EMPTY", "")
	const value = "s3cr3t"
	tests := []struct {
		name      string
		src       string
		line, col int    // of the error; 0: loads
		msg       string // in the error
		check     func(t *testing.T, c *Config)
	}{
		{name: "unset in a manifests path", src: head + "environments:\n  dev: {manifests: '${DG_TEST_UNSET_DIR}/dev'}\n",
			line: 4, col: 20, msg: "${DG_TEST_UNSET_DIR} is not set (used in environments.dev.manifests)"},
		{name: "unset in a hook url", src: head + "incidents:\n  hooks:\n  - {type: slack, url: '${DG_TEST_UNSET_URL}'}\n",
			line: 5, col: 24, msg: "${DG_TEST_UNSET_URL} is not set (used in incidents.hooks.*.url)"},
		{name: "empty in a manifests path", src: head + "environments:\n  dev: {manifests: '${DG_TEST_EMPTY}/dev'}\n",
			line: 4, col: 20, msg: "${DG_TEST_EMPTY} is set to the empty string"},
		{name: "in a substitution", src: head + "mapping:\n  substitutions:\n  - {dev: dev.example.com, prod: '${DG_TEST_TOKEN}'}\n",
			line: 5, col: 34, msg: "${DG_TEST_TOKEN} is not expanded in mapping.substitutions.*.prod"},
		{name: "in the scope", src: head + "scope: {namespaces: ['${DG_TEST_TOKEN}']}\n",
			line: 3, col: 22, msg: "${DG_TEST_TOKEN} is not expanded in scope.namespaces.*"},
		{name: "in override", src: head + "override: {allowedBy: ['${DG_TEST_TOKEN}']}\n",
			line: 3, col: 24, msg: "not expanded in override.allowedBy.*"},
		{name: "expanded where it says where to read and send", src: head + "environments:\n  dev: {manifests: '${DG_TEST_RENDER_DIR}/dev'}\n  prod: {context: prod}\n" +
			"incidents:\n  hooks:\n  - {type: slack, url: 'https://hooks.example.com/${DG_TEST_TOKEN}'}\n  - {type: webhook, url: '${DG_TEST_EMPTY}'}\n" +
			"report:\n  pairs: [{name: '${DG_TEST_TOKEN} pair', dev: dev, prod: prod}]\n",
			check: func(t *testing.T, c *Config) {
				if got := c.Environments["dev"].Manifests; got != "/tmp/render-s3cr3t/dev" {
					t.Errorf("manifests %q", got)
				}
				if got := c.Incidents.Hooks[0].URL; got != "https://hooks.example.com/tok-s3cr3t" {
					t.Errorf("hook url %q", got)
				}
				if got := c.Report.Pairs[0].Name; got != "${DG_TEST_TOKEN} pair" {
					t.Errorf("a pair's name is shown: want it as written, got %q", got)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := write(t, tt.src)
			c, err := Load(p)
			if tt.line == 0 {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, c)
				return
			}
			var ie *drift.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("want InputError, got %v", err)
			}
			if ie.File != p || ie.Line != tt.line || ie.Column != tt.col || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %v (at %d:%d), want %s:%d:%d %q", err, ie.Line, ie.Column, p, tt.line, tt.col, tt.msg)
			}
			if strings.Contains(err.Error(), value) {
				t.Errorf("the error shows a variable's value: %v", err)
			}
		})
	}
}

// TestOverridePolicy: the override section's keys reach the policy.
func TestOverridePolicy(t *testing.T) {
	p := write(t, `apiVersion: driftgate.dev/v1alpha1
kind: Config
environments:
  dev: {context: dev}
  auth: {context: ci-auth}
override:
  allowedBy: [alice, 'group:deployers']
  identityFrom: auth
  trustClaimedIdentity: true
`)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := c.Override.Policy()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"alice", "group:deployers"}, pol.AllowedBy); diff != "" || !pol.TrustClaims || c.Override.IdentityFrom != "auth" {
		t.Errorf("policy %+v, identityFrom %q (-want +got allowedBy):\n%s", pol, c.Override.IdentityFrom, diff)
	}
}

// TestTrustSettings: the trust key and the incident signing key are paths
// resolved against the config (env:VAR kept as it is), ${VAR} expanded.
func TestTrustSettings(t *testing.T) {
	t.Setenv("DRIFTGATE_TEST_KEYS", "/keys")
	p := write(t, `apiVersion: driftgate.dev/v1alpha1
kind: Config
environments:
  prod:
    snapshot: prod.json.gz
    trust: keys/prod.pub
    cluster: {server: "https://prod:6443", uid: 0b5e}
  staging: {snapshot: s.json, trust: "${DRIFTGATE_TEST_KEYS}/staging.pub"}
incidents:
  signKey: env:INCIDENT_KEY
`)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(p)
	got := []string{c.Environments["prod"].Trust, c.Environments["staging"].Trust, c.Incidents.SignKey}
	if diff := cmp.Diff([]string{filepath.Join(dir, "keys/prod.pub"), "/keys/staging.pub", "env:INCIDENT_KEY"}, got); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&drift.ClusterIdentity{Server: "https://prod:6443", UID: "0b5e"}, c.Environments["prod"].Cluster); diff != "" {
		t.Errorf("cluster (-want +got):\n%s", diff)
	}
	p = write(t, "apiVersion: driftgate.dev/v1alpha1\nkind: Config\nincidents: {signKey: key.pem}\n")
	if c, err := Load(p); err != nil || c.Incidents.SignKey != filepath.Join(filepath.Dir(p), "key.pem") {
		t.Errorf("signKey %q, error %v", c.Incidents.SignKey, err)
	}
}
