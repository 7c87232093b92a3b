package drift

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSpillManifestsWritesTheSameFile holds the spilled manifest snapshot
// to the one built in memory: the same file bytes (plain and gzipped) for
// every manifest folder of the fixtures and for folders that exercise what
// the settling decides late (a custom resource read before the CRD that
// makes it cluster-scoped, objects without a namespace, twins that fold,
// a List, scope), and the same error where there is one.
func TestSpillManifestsWritesTheSameFile(t *testing.T) {
	t.Parallel()
	late := t.TempDir()
	writeFiles(t, late, map[string]string{
		"a-widgets.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3}\n---\n" +
			"apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g1, namespace: team-a}\nspec: {size: 1.5}\n",
		"b-crds.yaml": "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\n" +
			"spec: {group: example.com, scope: Cluster, names: {kind: Widget, plural: widgets}}\n",
		"c-list.json": `{"apiVersion":"v1","kind":"List","items":[` +
			`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings"},"data":{"k":"<v&>"}},` +
			`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings","namespace":"team"},"data":{"k":"v"}}]}`,
		"d-tokens.yaml": "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/service-account-token\n" +
			"metadata: {name: builder-token-7hzvd, namespace: shop, annotations: {kubernetes.io/service-account.name: builder}}\ndata: {ca.crt: Yg==}\n---\n" +
			"apiVersion: v1\nkind: Secret\ntype: kubernetes.io/service-account-token\n" +
			"metadata: {name: builder-token-b2c4d, namespace: shop, annotations: {kubernetes.io/service-account.name: builder}}\ndata: {ca.crt: YQ==}\n",
	})
	dup := t.TempDir()
	writeFiles(t, dup, map[string]string{
		"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
		"b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: default}\n",
	})
	cases := map[string]struct {
		paths []string
		scope Scope
	}{
		"late CRD, List, twins":   {paths: []string{late}},
		"scoped to one namespace": {paths: []string{late}, scope: Scope{Namespaces: []string{"shop"}}},
		"duplicate":               {paths: []string{dup}},
	}
	for _, root := range []string{"../fixtures/scenarios", "../fixtures/demo", "../fixtures/crds"} {
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() && p != root {
				cases[p] = struct {
					paths []string
					scope Scope
				}{paths: []string{p}, scope: Scope{Exclude: DefaultExcludes}}
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			opts := ManifestOptions{Scope: tc.scope, Now: now}
			mem, merr := manifestsInMemory(tc.paths, opts)
			sp, serr := SpillManifests(tc.paths, opts, SpillOptions{Dir: t.TempDir()})
			if merr != nil || serr != nil {
				if merr == nil || serr == nil || merr.Error() != serr.Error() {
					t.Fatalf("errors differ: in memory %v, spilled %v", merr, serr)
				}
				return
			}
			defer sp.Close()
			if sp.mem != nil {
				t.Fatal("spilled in memory")
			}
			if strings.Contains(name, "twins") && mem.Metadata.Folded == 0 {
				t.Fatal("no twins folded")
			}
			dir := t.TempDir()
			for _, file := range []string{"s.json", "s.json.gz"} {
				a, b := filepath.Join(dir, "mem-"+file), filepath.Join(dir, "spilled-"+file)
				if err := mem.Save(a); err != nil {
					t.Fatal(err)
				}
				if err := sp.Save(b); err != nil {
					t.Fatal(err)
				}
				if want, got := readMaybeGzip(t, a), readMaybeGzip(t, b); !bytes.Equal(want, got) {
					t.Fatalf("%s differs:\n%s", file, firstDifference(want, got))
				}
			}
			if !equalStrings(mem.Notes, sp.Head.Notes) {
				t.Errorf("notes %q, want %q", sp.Head.Notes, mem.Notes)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00") && len(a) == len(b)
}

// writeFiles writes files (name: content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
