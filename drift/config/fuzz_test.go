package config

import (
	"errors"
	"testing"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/internal/yamlx"
)

// FuzzParseConfig: no driftgate.yaml makes Parse panic or hang, and every
// rejection is an *drift.InputError naming the file and a line in it.
func FuzzParseConfig(f *testing.F) {
	head := "apiVersion: driftgate.dev/v1alpha1\nkind: Config\n"
	for _, seed := range []string{
		specExample,
		head,
		head + "environments:\n  dev: {snapshot: dev.json.gz}\n  prod: {manifests: ./rendered}\nrules: [builtin]\n",
		head + "rule: [builtin]\n",
		head + "scope:\n  namespace: [a]\n",
		head + "override:\n  allowedBy: alice\n  ticketPattern: '(['\n",
		head + "environments:\n  dev: {context: a, snapshot: b}\n",
		head + "environments:\n  dev: ~\n",
		head + "environments:\n  dev: {context: a}\nreport:\n  pairs: [{name: p, dev: dev, prod: prod}]\n",
		head + "scope: {exclude: &h [{}]}\nreport: {pairs: *h}\n", // an alias has no items of its own
		head + "incidents:\n  hooks:\n  - {type: slack, timeout: soon}\n  - {type: carrier-pigeon}\n",
		head + "report:\n  hooks: [{type: pagerduty}]\n",
		head + "rules: [a]\nrules: [b]\n",
		head + "environments: {dev: {context: '${KUBE_CONTEXT}'}}\n",
		head + "waivers: *nothing\n",
		head + "\x01",
		"apiVersion: v1\nkind: ConfigMap\n",
		"kind: Config\n---\nkind: Config\n",
		"[",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "fuzz/driftgate.yaml"
		c, err := Parse(file, data)
		if err != nil {
			var ie *drift.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("rejection is not an InputError: %v", err)
			}
			if lines := yamlx.Lines(data); ie.File != file || ie.Line < 1 || ie.Line > lines {
				t.Fatalf("rejection at %s:%d, want %s:1..%d: %v", ie.File, ie.Line, file, lines, err)
			}
			return
		}
		if c.File != file || len(c.Rules) == 0 {
			t.Fatalf("accepted config without its file or rules: %+v", c)
		}
	})
}
