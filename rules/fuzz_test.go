package rules

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/internal/yamlx"
)

// fuzzSnapshots are a small dev and prod for fuzzed rules to run against:
// a workload, a ConfigMap with a Corefile, a policy and a Secret.
func fuzzSnapshots(f *testing.F) (dev, prod *drift.Snapshot) {
	f.Helper()
	dir := f.TempDir()
	common := `apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:53 {
        errors
        forward . /etc/resolv.conf
        cache 30
    }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}, policyTypes: [Egress]}
---
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: shop}
data: {k: dg==}
`
	deploy := `
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
  managedFields: [{manager: %s, operation: Update, fieldsType: FieldsV1, fieldsV1: {f:spec: {f:replicas: {}}}}]
spec:
  replicas: %d
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: "web:%s", env: [{name: A, value: "1"}]}]
`
	load := func(name, manager string, replicas int, tag string) *drift.Snapshot {
		p := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(p, []byte(common+fmt.Sprintf(deploy, manager, replicas, tag)), 0o644); err != nil {
			f.Fatal(err)
		}
		s, err := drift.SnapshotFromManifests([]string{p}, drift.ManifestOptions{Now: time.Unix(0, 0)})
		if err != nil {
			f.Fatal(err)
		}
		return s
	}
	return load("dev", "kubectl-edit", 1, "2"), load("prod", "argocd-controller", 3, "1")
}

// checkInputError fails unless err is an *drift.InputError naming file and
// a line of data.
func checkInputError(t *testing.T, err error, file string, data []byte) *drift.InputError {
	t.Helper()
	var ie *drift.InputError
	if !errors.As(err, &ie) {
		t.Fatalf("rejection is not an InputError: %v", err)
	}
	if lines := yamlx.Lines(data); ie.File != file || ie.Line < 1 || ie.Line > lines {
		t.Fatalf("rejection at %s:%d, want %s:1..%d: %v", ie.File, ie.Line, file, lines, err)
	}
	return ie
}

// FuzzParseRuleSet: no rule file makes Parse, or Evaluate with what it
// accepts, panic or hang, and every rejection is an *drift.InputError
// naming the file and a line in it.
func FuzzParseRuleSet(f *testing.F) {
	head := "apiVersion: driftgate.dev/v1alpha1\nkind: RuleSet\n"
	for _, seed := range []string{
		string(builtinYAML),
		head + "metadata: {name: team}\nrules:\n- id: images\n  description: d\n  match: {kinds: [Deployment.apps], namespaces: ['sh*'], labelSelector: 'app in (web),tier!=db'}\n  check: fields\n  paths: ['spec.template.spec.containers[*].image', 'metadata.labels[\"app.kubernetes.io/*\"]']\n  ignore: [spec.replicas]\n  severity: block\n",
		head + "rules:\n- id: replicas\n  description: d\n  check: cel\n  expression: |\n    dev == null || prod == null ||\n      dev.spec.replicas == prod.spec.replicas\n  message: '{{ .Object }}: {{ .Dev.spec.replicas }} {{ keys .Prod.spec }}'\n  severity: warn\n",
		head + "rules:\n- {id: extra, description: d, check: presence, presence: extra, severity: info}\n- {id: m, description: d, check: unmanaged, manualManagers: ['kubectl*'], trustedManagers: [helm], severity: block}\nwaivers:\n- {rule: extra, object: 'shop/*', reason: r, owner: o, expires: 2026-12-31}\n- {rule: m, object: '*', reason: r, owner: o, expires: '2026-01-02T03:04:05Z'}\n",
		head + "rules:\n- &r {id: a, description: d, check: fields, severity: block, match: {kinds: &g ['[']}}\n- {id: b, description: d, check: presence, severity: block, match: {names: *g}}\n",
		head + "rules:\n- ~\nwaivers: [~]\n",
		head + "rules:\n- id: a\n  description: d\n  check: cel\n  severity: block\n  expression: 'dev.spec == = prod'\n",
		head + "rules:\n- {id: a, description: d, check: fields, severity: block, paths: ['spec[0]']}\n",
		head + "waivers:\n- {rule: a, object: x, reason: r, owner: o, expires: tomorrow}\n",
		head + "rules:\n- {id: a, description: d, check: presence, severity: block, match: {labelSelector: 'a in ('}}\n",
		head + "rules:\n- {id: a, description: d, check: cel, expression: 'true', message: '{{ .Dev', severity: block}\n",
		head + "rules: *x\n",
		head + "metadata: {name: &a lol}\nrules:\n- &r {id: [*a, *a, *a, *a, *a, *a, *a, *a], description: &b [*a, *a, *a, *a, *a, *a, *a, *a]}\n- {id: [*b, *b, *b, *b, *b, *b, *b, *b]}\n",
		head + "rules:\n- id: a\n\tdescription: d\n",
		"apiVersion: v1\nkind: ConfigMap\n",
		"kind: RuleSet\n\x00",
		"",
	} {
		f.Add([]byte(seed))
	}
	dev, prod := fuzzSnapshots(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "fuzz/rules.yaml"
		rs, err := Parse(file, data)
		if err != nil {
			checkInputError(t, err, file, data)
			return
		}
		if _, err := Evaluate(dev, prod, []*RuleSet{rs}, Options{Now: time.Unix(0, 0)}); err != nil {
			t.Logf("evaluation error: %v", err)
		}
	})
}

// celRuleSet is a rule set whose one rule's expression is expr, as a
// literal block scalar (content from line 9, column 5) when YAML can hold
// expr verbatim, else as a double-quoted scalar with escapes.
func celRuleSet(expr string) (src []byte, literal bool) {
	head := "apiVersion: driftgate.dev/v1alpha1\nkind: RuleSet\nrules:\n- id: fuzz\n  description: d\n  check: cel\n  severity: warn\n  expression: "
	literal = utf8.ValidString(expr) && !strings.HasPrefix(expr, "\n") && !strings.ContainsFunc(expr, func(r rune) bool {
		return r != '\t' && r != '\n' && needsEscape(r)
	})
	if literal {
		chomp := "-"
		if strings.HasSuffix(expr, "\n") {
			chomp = "+"
		}
		var b strings.Builder
		b.WriteString(head + "|2" + chomp + "\n")
		for l := range strings.SplitSeq(strings.TrimSuffix(expr, "\n"), "\n") {
			if l != "" {
				b.WriteString("    " + l)
			}
			b.WriteString("\n")
		}
		if chomp == "-" {
			return []byte(strings.TrimSuffix(b.String(), "\n")), true
		}
		return []byte(b.String()), true
	}
	var b strings.Builder
	b.WriteString(head + `"`)
	for _, r := range expr {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case needsEscape(r):
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString("\"\n")
	return []byte(b.String()), false
}

// needsEscape reports whether YAML cannot hold r as it is: control
// characters (tab and line feed included), C1 controls, line and paragraph
// separators, the byte-order mark and non-characters.
func needsEscape(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 || r == 0xfeff || (r >= 0xfffe && r <= 0xffff)
}

// FuzzCompileCEL: a rule whose expression is the input compiles, or is
// refused with an *drift.InputError inside the expression's lines; when
// the expression is written verbatim (a literal block), a syntax error
// points at the very character CEL names. What compiles also evaluates
// against a small dev and prod without panicking or hanging.
func FuzzCompileCEL(f *testing.F) {
	for _, seed := range []string{
		"dev == null || prod == null || dev.spec.replicas == prod.spec.replicas",
		"dev.spec == = prod",
		"dev != null &&\n  prod.spec ==\n",
		"has(dev.data) && dev.data.all(k, has(prod.data) && k in prod.data)",
		"dev.metadata.labels.exists(k, k.startsWith('app')) || size(prod) > 0",
		"1 + 2",
		"'unterminated",
		"dev.spec.template.spec.containers.map(c, c.image) == prod.spec.template.spec.containers.map(c, c.image)",
		"[1,2,3].map(a, [1,2,3].map(b, [1,2,3].map(c, a+b+c))).size() == 3",
		"dev.spec.replicas / 0 == 1",
		"\t'é' == \"\\u00e9\" && b'\\xff' != b''",
		"dev\r\n== prod",
		"((((((((((((((((((((((((((((((((true))))))))))))))))))))))))))))))))",
		"dev.x.y.z.w == prod.x.y.z.w ? true : false",
		"int('9223372036854775808') > 0",
		"",
	} {
		f.Add(seed)
	}
	dev, prod := fuzzSnapshots(f)
	f.Fuzz(func(t *testing.T, expr string) {
		const file = "fuzz/cel.yaml"
		src, literal := celRuleSet(expr)
		rs, err := Parse(file, src)
		if err != nil {
			ie := checkInputError(t, err, file, src)
			if ie.Line < 8 {
				t.Fatalf("error before the expression (line 8): %v", err)
			}
			_, iss := celEnv.Compile(expr)
			if !literal || iss == nil || iss.Err() == nil || !strings.Contains(err.Error(), "CEL: ") {
				return
			}
			loc := iss.Errors()[0].Location
			if loc.Line() < 1 || loc.Column() < 0 { // CEL does not know where
				return
			}
			lines := strings.Split(expr, "\n")
			if ie.Line != 8+loc.Line() {
				t.Fatalf("CEL error on expression line %d reported at file line %d, want %d: %v", loc.Line(), ie.Line, 8+loc.Line(), err)
			}
			if line := []rune(lines[loc.Line()-1]); ie.Column != 5+loc.Column() && loc.Column() <= len(line) {
				t.Fatalf("CEL error at expression column %d reported at file column %d, want %d: %v", loc.Column(), ie.Column, 5+loc.Column(), err)
			}
			return
		}
		if literal && rs.Rules[0].Expression != expr {
			t.Fatalf("literal block decoded to %q, want %q", rs.Rules[0].Expression, expr)
		}
		if _, err := Evaluate(dev, prod, []*RuleSet{rs}, Options{Now: time.Unix(0, 0)}); err != nil {
			t.Fatalf("evaluation error: %v", err)
		}
	})
}
