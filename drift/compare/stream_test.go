package compare

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/blobstore"
	"github.com/driftgate/driftgate/drift/output"
	"github.com/driftgate/driftgate/drift/render"
	"github.com/driftgate/driftgate/fixtures/bench/gen"
	"github.com/driftgate/driftgate/rules"
)

// streamRules is a rule set of every check, with waivers (one applying,
// one a pattern, one expired, one of an unknown rule) and label selectors
// on checks that see the whole environments.
const streamRules = `apiVersion: driftgate.dev/v1alpha1
kind: RuleSet
rules:
- {id: all-fields, description: d, check: fields, severity: warn, match: {kinds: [Widget.acme.example, ConfigMap]}}
- {id: images, description: d, check: fields, severity: block, match: {kinds: [Deployment.apps]}, paths: ['spec.template.spec.containers[*].image'], ignore: ['spec.template.spec.containers[*].imagePullPolicy']}
- {id: extra, description: d, check: presence, presence: extra, severity: block}
- {id: missing, description: d, check: presence, presence: missing, severity: warn, match: {namespaces: ["bench-000*"]}}
- id: replicas
  description: same replicas
  check: cel
  expression: 'dev == null || prod == null || !has(dev.spec) || !has(dev.spec.replicas) || dev.spec.replicas == prod.spec.replicas'
  message: '{{ .Object }}: dev runs {{ .Dev.spec.replicas }}, prod {{ .Prod.spec.replicas }}'
  severity: info
  match: {kinds: [Deployment.apps]}
- {id: netpol-selected, description: d, check: networkpolicy, severity: block, match: {labelSelector: "app.kubernetes.io/managed-by=Helm"}}
- {id: netpol-none, description: d, check: networkpolicy, severity: block, match: {labelSelector: "app.kubernetes.io/managed-by=nobody"}}
- {id: dns, description: d, check: corefile, severity: warn}
- {id: hand, description: d, check: unmanaged, severity: warn, match: {namespaces: ["bench-0001", "bench-0002"]}}
waivers:
- {rule: extra, object: "bench-0001/*", reason: "pattern", owner: alice, expires: 2099-12-31}
- {rule: images, object: "bench-0002/Deployment.apps/api", reason: "canary", owner: bob, expires: 2099-12-31}
- {rule: extra, object: "old/*", reason: "expired", owner: carol, expires: 2026-01-01}
- {rule: nosuch, object: "x/y", reason: "typo", owner: dave, expires: 2099-12-31}
`

// streamCRD is a CRD of acme.example's Widget whose ports are a list
// keyed by slot: compared by key, not by position. Its group sorts before
// apiextensions.k8s.io, so its objects stream past before the CRD.
func streamCRD() drift.Object {
	ports := map[string]any{"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": []any{"slot"},
		"items": map[string]any{"type": "object", "required": []any{"slot"}, "properties": map[string]any{"slot": map[string]any{"type": "string"}, "port": map[string]any{"type": "string"}}}}
	schema := map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "properties": map[string]any{
		"spec": map[string]any{"type": "object", "properties": map[string]any{"ports": ports}}}}}
	return drift.Object{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition", Name: "widgets.acme.example",
		Object: map[string]any{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": map[string]any{"name": "widgets.acme.example"},
			"spec": map[string]any{"group": "acme.example", "scope": "Namespaced", "names": map[string]any{"kind": "Widget", "plural": "widgets"},
				"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true, "schema": schema}}}}}
}

func widget(ns, name string, ports ...string) drift.Object {
	var list []any
	for i := 0; i+1 < len(ports); i += 2 {
		list = append(list, map[string]any{"slot": ports[i], "port": ports[i+1]})
	}
	return drift.Object{Group: "acme.example", Version: "v1", Kind: "Widget", Namespace: ns, Name: name,
		Object: map[string]any{"apiVersion": "acme.example/v1", "kind": "Widget", "metadata": map[string]any{"name": name, "namespace": ns}, "spec": map[string]any{"ports": list}}}
}

// streamRename moves the objects of namespace from (and the Namespace
// itself) to namespace to, copying what it changes.
func streamRename(s *drift.Snapshot, from, to string) {
	for i := range s.Objects {
		o := &s.Objects[i]
		isNS := o.Group == "" && o.Kind == "Namespace" && o.Name == from
		if o.Namespace != from && !isNS {
			continue
		}
		obj := maps.Clone(o.Object)
		meta := maps.Clone(obj["metadata"].(map[string]any))
		obj["metadata"] = meta
		if isNS {
			o.Name, meta["name"] = to, to
			if l, ok := meta["labels"].(map[string]any); ok {
				l = maps.Clone(l)
				l["kubernetes.io/metadata.name"] = to
				meta["labels"] = l
			}
		} else {
			o.Namespace, meta["namespace"] = to, to
		}
		o.Object = obj
	}
}

// streamPair writes a generated dev and prod, changed by change, and
// returns their files.
func streamPair(t *testing.T, namespaces int, change func(dev, prod *drift.Snapshot)) (string, string) {
	t.Helper()
	var paths []string
	var snaps []*drift.Snapshot
	for _, v := range []gen.Variant{gen.Dev, gen.Prod} {
		s, err := gen.Snapshot(namespaces, 100, v)
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, s)
	}
	if change != nil {
		change(snaps[0], snaps[1])
	}
	dir := t.TempDir()
	for i, s := range snaps {
		if err := s.Seal(); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, []string{"dev.json", "prod.json"}[i])
		if err := s.Save(p); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths[0], paths[1]
}

// renderAll renders res in every format.
func renderAll(t *testing.T, res *drift.Result) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, format := range output.Formats {
		var b bytes.Buffer
		if err := output.Render(&b, format, res, output.Options{}); err != nil {
			t.Fatal(err)
		}
		out[format] = b.Bytes()
	}
	return out
}

// Comparing two snapshot files as they stream past gives the in-memory
// comparison's result, byte for byte in every output format (findings,
// summary, digests), over inputs that exercise what streaming must get
// right: namespace mappings that reorder dev's objects, substitutions,
// waivers, unobserved types, scope, CRD-keyed lists whose CRD comes after
// the objects, label selectors on whole-environment checks, the builtin
// pack and custom rules, gzipped files.
func TestStreamingMatchesInMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and compares a dozen snapshot pairs")
	}
	t.Parallel()
	builtin, both := streamRuleSets(t)
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	renamed := func(dev, _ *drift.Snapshot) {
		// bench-0001 sorts before bench-0001-dev, zz-bench-0003 after
		// everything it is renamed into, aa-bench-0004 before.
		streamRename(dev, "bench-0001", "bench-0001-dev")
		streamRename(dev, "bench-0003", "zz-bench-0003")
		streamRename(dev, "bench-0004", "aa-bench-0004")
	}
	mapping := drift.Mapping{
		Namespaces:    map[string]string{"bench-0001-dev": "bench-0001", "zz-bench-0003": "bench-0003", "aa-bench-0004": "bench-0004"},
		Substitutions: []drift.Substitution{{Dev: "Helm", Prod: "helm"}, {Dev: "bench-0002", Prod: "bench-0002"}},
	}
	withCRD := func(dev, prod *drift.Snapshot) {
		for _, s := range []*drift.Snapshot{dev, prod} {
			s.Objects = append(s.Objects, streamCRD())
		}
		dev.Objects = append(dev.Objects, widget("bench-0000", "same", "a", "1", "b", "2"), widget("bench-0000", "moved", "a", "1"), widget("bench-0001", "changed", "a", "1"))
		prod.Objects = append(prod.Objects, widget("bench-0000", "same", "b", "2", "a", "1"), widget("bench-0001", "changed", "a", "9"), widget("bench-0002", "gone"))
	}
	unobserved := func(dev, prod *drift.Snapshot) {
		dev.Unobserved = append(dev.Unobserved,
			drift.Unobserved{ResourceType: drift.ResourceType{Group: "acme.example", Version: "v1", Kind: "Gadget", Resource: "gadgets", Namespaced: true}, Reason: "forbidden"},
			drift.Unobserved{ResourceType: drift.ResourceType{Version: "v1", Kind: "Secret", Resource: "secrets", Namespaced: true}, Namespace: "bench-0001-dev", Reason: "forbidden"})
		prod.Unobserved = append(prod.Unobserved,
			drift.Unobserved{ResourceType: drift.ResourceType{Version: "v1", Kind: "ConfigMap", Resource: "configmaps", Namespaced: true}, Namespace: "bench-0009", Reason: "timeout"})
	}
	for _, tc := range []struct {
		name       string
		namespaces int
		change     func(dev, prod *drift.Snapshot)
		sets       []*rules.RuleSet
		opts       Options
		gzip       bool
	}{
		{name: "builtin", namespaces: 12, sets: builtin},
		{name: "builtin and custom rules, waivers", namespaces: 12, sets: both},
		{name: "mapping that reorders dev, substitutions", namespaces: 12, change: renamed, sets: both, opts: Options{Mapping: mapping}},
		{name: "CRD-keyed lists before their CRD", namespaces: 8, change: withCRD, sets: both},
		{name: "unobserved types, mapped", namespaces: 8, change: func(d, p *drift.Snapshot) { renamed(d, p); unobserved(d, p) }, sets: both, opts: Options{Mapping: mapping}},
		{name: "scope", namespaces: 12, change: renamed, sets: both, opts: Options{Mapping: mapping, Scope: drift.Scope{Namespaces: []string{"bench-0001", "bench-0003", "bench-0007"}}}},
		{name: "no rule set", namespaces: 2},
		{name: "gzipped", namespaces: 8, change: withCRD, sets: both, gzip: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			devPath, prodPath := streamPair(t, tc.namespaces, tc.change)
			if tc.gzip {
				devPath = gzipCopy(t, devPath)
			}
			opts := tc.opts
			opts.RuleSets = tc.sets
			opts.Now = func() time.Time { return now }
			dev, prod := Environment{Name: "dev", Source: devPath}, Environment{Name: "prod", Source: prodPath}
			want, err := runInMemory(context.Background(), dev, prod, opts, [2]*streamSide{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := streamOnly(t, dev, prod, opts)
			if err != nil {
				t.Fatalf("not streamed: %v", err)
			}
			if len(want.Findings) == 0 && len(tc.sets) > 0 {
				t.Fatal("no findings: the inputs show nothing")
			}
			sameOutputs(t, want, got)
		})
	}
}

// streamOnly is Run without its fallback to memory: an error is the
// stream's.
func streamOnly(t *testing.T, dev, prod Environment, opts Options) (*drift.Result, error) {
	t.Helper()
	sides, order := streamSides(dev, prod, opts)
	t.Cleanup(func() {
		if err := closeSides(sides); err != nil {
			t.Error(err)
		}
	})
	if err := prepareSides(context.Background(), sides, order, opts); err != nil {
		return nil, err
	}
	return runStreaming(context.Background(), sides, order, opts)
}

// gzipCopy writes path's snapshot again, gzipped.
func gzipCopy(t *testing.T, path string) string {
	s, err := drift.LoadSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	gz := path + ".gz"
	if err := s.Save(gz); err != nil {
		t.Fatal(err)
	}
	return gz
}

// streamRuleSets are the builtin pack, and it with streamRules.
func streamRuleSets(t *testing.T) (builtin, both []*rules.RuleSet) {
	t.Helper()
	builtin, err := rules.Load([]string{"builtin"})
	if err != nil {
		t.Fatal(err)
	}
	custom, err := rules.Parse("custom.yaml", []byte(streamRules))
	if err != nil {
		t.Fatal(err)
	}
	return builtin, append(slices.Clone(builtin), custom)
}

// sameOutputs fails unless got renders as want in every format, and
// returns got's outputs.
func sameOutputs(t *testing.T, want, got *drift.Result) map[string][]byte {
	t.Helper()
	wantOut, gotOut := renderAll(t, want), renderAll(t, got)
	for _, f := range output.Formats {
		if !bytes.Equal(wantOut[f], gotOut[f]) {
			t.Errorf("-o %s differs:\n%s", f, firstDifference(wantOut[f], gotOut[f]))
		}
	}
	return gotOut
}

// inMemoryAndRun compares dev and prod in memory and with Run, fails
// unless both results render alike in every format, and returns the
// in-memory one.
func inMemoryAndRun(t *testing.T, dev, prod Environment, opts Options) *drift.Result {
	t.Helper()
	want, err := runInMemory(context.Background(), dev, prod, opts, [2]*streamSide{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Run(context.Background(), dev, prod, opts)
	if err != nil {
		t.Fatal(err)
	}
	sameOutputs(t, want, got)
	return want
}

// firstDifference shows where two outputs part.
func firstDifference(want, got []byte) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	from := max(0, i-300)
	return "in memory: ..." + string(want[from:min(len(want), i+300)]) + "\nstreamed:  ..." + string(got[from:min(len(got), i+300)])
}

// What the stream cannot read as it passes (a file whose objects are out
// of order, which only a hand-made file is; two dev objects the mapping
// makes one) is compared in memory, with the same result as before.
func TestStreamingFallsBackToMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("generates snapshot pairs")
	}
	t.Parallel()
	builtin, err := rules.Load([]string{"builtin"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	devPath, prodPath := streamPair(t, 3, func(dev, _ *drift.Snapshot) {
		streamRename(dev, "bench-0001", "bench-0001-dev")
	})
	// Out of order: the objects reversed, under a digest computed over
	// them as they are, written by encoding/json.
	s, err := drift.LoadSnapshot(prodPath)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(s.Objects)
	if s.Digest, err = s.ComputeDigest(); err != nil {
		t.Fatal(err)
	}
	if s.Integrity, err = s.IntegrityDigest(); err != nil {
		t.Fatal(err)
	}
	reversed := filepath.Join(t.TempDir(), "reversed.json")
	data, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(reversed, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		dev, prod string
		mapping   drift.Mapping
		why       string
	}{
		{"objects out of order", devPath, reversed, drift.Mapping{}, "does not follow"},
		// bench-0001-dev and bench-0001 both exist on dev: renamed, the
		// first lands on the second's objects.
		{"two dev objects made one", devPath, prodPath, drift.Mapping{Namespaces: map[string]string{"bench-0001-dev": "bench-0000"}}, "makes two dev objects"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{RuleSets: builtin, Mapping: tc.mapping, Now: func() time.Time { return now }}
			dev, prod := Environment{Name: "dev", Source: tc.dev}, Environment{Name: "prod", Source: tc.prod}
			_, err := streamOnly(t, dev, prod, opts)
			if !errors.Is(err, drift.ErrNotStreamable) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("streamed: %v; want ErrNotStreamable, %q", err, tc.why)
			}
			inMemoryAndRun(t, dev, prod, opts)
		})
	}
}

// writeManifests writes s's objects as a folder of manifests: a file a
// namespace (a multi-document YAML), cluster-scoped objects in one more,
// and a README the walk passes over with a note.
func writeManifests(t *testing.T, s *drift.Snapshot) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]*bytes.Buffer{}
	for _, o := range s.Objects {
		name := cmp.Or(o.Namespace, "cluster") + ".yaml"
		b := files[name]
		if b == nil {
			b = &bytes.Buffer{}
			files[name] = b
		}
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(data)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# not a manifest\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A folder of manifests on either side is spilled, spooled and compared as
// it streams past, with the in-memory comparison's result, notes
// included, byte for byte in every format; when the stream cannot pair
// the sides, the in-memory comparison Run falls back to reads the spools
// it has, with the same result.
func TestStreamingManifestsMatchesInMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and compares folders of manifests")
	}
	t.Parallel()
	_, sets := streamRuleSets(t)
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	devPath, prodPath := streamPair(t, 6, func(dev, prod *drift.Snapshot) {
		streamRename(dev, "bench-0001", "bench-0001-dev")
		dev.Objects = append(dev.Objects, streamCRD(), widget("bench-0000", "same", "a", "1", "b", "2"), widget("bench-0002", "changed", "a", "1"))
		prod.Objects = append(prod.Objects, streamCRD(), widget("bench-0000", "same", "b", "2", "a", "1"), widget("bench-0002", "changed", "a", "9"))
	})
	var folders []string
	for _, p := range []string{devPath, prodPath} {
		s, err := drift.LoadSnapshot(p)
		if err != nil {
			t.Fatal(err)
		}
		folders = append(folders, writeManifests(t, s))
	}
	mapping := drift.Mapping{Namespaces: map[string]string{"bench-0001-dev": "bench-0001"}}
	for _, tc := range []struct {
		name      string
		dev, prod string
		mapping   drift.Mapping
		// fallback: the stream cannot pair the sides; Run reads the spools.
		fallback bool
		note     string
	}{
		{name: "two folders", dev: folders[0], prod: folders[1], mapping: mapping, note: "dev: manifests " + folders[0] + ": 1 skipped"},
		{name: "folder and snapshot", dev: folders[0], prod: prodPath, mapping: mapping, note: "server defaults not applied to the dev manifests"},
		{name: "snapshot and folder", dev: devPath, prod: folders[1], mapping: mapping, note: "server defaults not applied to the prod manifests"},
		{name: "two dev objects made one", dev: folders[0], prod: folders[1], mapping: drift.Mapping{Namespaces: map[string]string{"bench-0001-dev": "bench-0000"}}, fallback: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{RuleSets: sets, Mapping: tc.mapping, Now: func() time.Time { return now }}
			dev, prod := Environment{Name: "dev", Source: tc.dev}, Environment{Name: "prod", Source: tc.prod}
			want, err := runInMemory(context.Background(), dev, prod, opts, [2]*streamSide{})
			if err != nil {
				t.Fatal(err)
			}
			if len(want.Findings) == 0 {
				t.Fatal("no findings: the inputs show nothing")
			}
			if tc.note != "" && !slices.ContainsFunc(want.Notes, func(n string) bool { return strings.Contains(n, tc.note) }) {
				t.Fatalf("notes %q: none says %q", want.Notes, tc.note)
			}
			streamed, err := streamOnly(t, dev, prod, opts)
			if tc.fallback != (err != nil) {
				t.Fatalf("streamed: %v; want an error: %v", err, tc.fallback)
			}
			got, err := Run(context.Background(), dev, prod, opts)
			if err != nil {
				t.Fatal(err)
			}
			sameOutputs(t, want, got)
			if streamed != nil {
				sameOutputs(t, want, streamed)
			}
		})
	}
}

// Sides that load whole (a snapshot in object storage, a chart, a
// kustomization) are loaded by load, spooled and streamed, with the
// in-memory comparison's result, notes and digests byte for byte in
// every format: a chart on either side is rendered for the other side's
// server, which is loaded first.
func TestStreamingLoadedSidesMatchInMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("generates, publishes and renders sides")
	}
	t.Parallel()
	ctx := context.Background()
	builtin, both := streamRuleSets(t)
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	devPath, prodPath := streamPair(t, 4, nil)
	bucket := "file://" + filepath.ToSlash(t.TempDir())
	publish := func(path, prefix string) string {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := drift.LoadSnapshot(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := blobstore.Publish(ctx, bucket+prefix, s.Metadata.CapturedAt, data, 0); err != nil {
			t.Fatal(err)
		}
		return bucket + prefix
	}
	devURL, prodURL := publish(devPath, "/dev"), publish(prodPath, "/prod")
	// The chart rendered with prod's values, as a snapshot of a cluster
	// of a server version Helm does not default to.
	chartProd, _, err := Load(ctx, Environment{Name: "prod", Source: "helm:" + shopChart, Helm: render.Helm{Values: []string{filepath.Join(shopValues, "values-prod.yaml")}}}, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	chartProd.Metadata.Source, chartProd.Metadata.ServerVersion = drift.SourceCluster, "v1.33.4"
	chartProd.Resources = append(chartProd.Resources, drift.ResourceType{Group: "policy.example", Version: "v1", Kind: "Gate", Resource: "gates"})
	if err := chartProd.Seal(); err != nil {
		t.Fatal(err)
	}
	chartProdPath := filepath.Join(t.TempDir(), "prod.json")
	if err := chartProd.Save(chartProdPath); err != nil {
		t.Fatal(err)
	}
	chartDev := Environment{Name: "dev", Source: "helm:" + shopChart, Helm: render.Helm{Values: []string{filepath.Join(shopValues, "values-dev.yaml")}}}
	for _, tc := range []struct {
		name      string
		dev, prod Environment
		sets      []*rules.RuleSet
		note      string
	}{
		{name: "two URLs", dev: Environment{Name: "dev", Source: devURL}, prod: Environment{Name: "prod", Source: prodURL}, sets: both},
		{name: "URL and file", dev: Environment{Name: "dev", Source: devURL}, prod: Environment{Name: "prod", Source: prodPath}, sets: both},
		{name: "chart rendered for prod's server", dev: chartDev, prod: Environment{Name: "prod", Source: chartProdPath}, sets: builtin, note: "rendered for Kubernetes v1.33.4"},
		{name: "chart on both sides", dev: chartDev, prod: Environment{Name: "prod", Source: "helm:" + shopChart, Helm: render.Helm{Values: []string{filepath.Join(shopValues, "values-prod.yaml")}}}, sets: builtin, note: "Helm's default"},
		{name: "kustomizations", dev: Environment{Name: "dev", Source: "kustomize:../../fixtures/render/kustomize/overlays/dev"}, prod: Environment{Name: "prod", Source: "kustomize:../../fixtures/render/kustomize/overlays/prod"}, sets: builtin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{RuleSets: tc.sets, Now: func() time.Time { return now }}
			want, err := runInMemory(ctx, tc.dev, tc.prod, opts, [2]*streamSide{})
			if err != nil {
				t.Fatal(err)
			}
			if len(want.Findings) == 0 {
				t.Fatal("no findings: the inputs show nothing")
			}
			if tc.note != "" && !slices.ContainsFunc(want.Notes, func(n string) bool { return strings.Contains(n, tc.note) }) {
				t.Fatalf("notes %q: none says %q", want.Notes, tc.note)
			}
			sides, _ := streamSides(tc.dev, tc.prod, opts)
			if sides[0].way == readFile && sides[1].way == readFile {
				t.Fatal("two snapshot files: nothing is loaded")
			}
			closeSides(sides)
			streamed, err := streamOnly(t, tc.dev, tc.prod, opts)
			if err != nil {
				t.Fatalf("not streamed: %v", err)
			}
			sameOutputs(t, want, streamed)
			got, err := Run(ctx, tc.dev, tc.prod, opts)
			if err != nil {
				t.Fatal(err)
			}
			sameOutputs(t, want, got)
		})
	}
}
