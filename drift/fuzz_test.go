package drift

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fuzzSnapshot is a small real snapshot, encoded as Save writes it.
func fuzzSnapshot(f *testing.F) []byte {
	f.Helper()
	s := newSnapshot(SourceCluster, Scope{Namespaces: []string{"a"}, Exclude: DefaultExcludes}, NewNormalizer(nil), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	n := NewNormalizer(nil)
	for _, in := range []string{
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: a, labels: {app.kubernetes.io/managed-by: Helm}}\ndata: {k: v}",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: a}\nspec: {replicas: 3, ratio: 0.5, big: 9007199254740993, template: {spec: {containers: [{name: app, image: web:1, resources: {limits: {cpu: 500m}}}]}}}",
		"apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: a, managedFields: [{manager: kubectl-edit, operation: Update, fieldsType: FieldsV1, fieldsV1: {f:data: {f:k: {}}}}]}\ndata: {k: dg==}",
	} {
		obj, err := decodeDocument([]byte(in))
		if err != nil {
			f.Fatal(err)
		}
		o, _, err := n.Normalize(obj)
		if err != nil {
			f.Fatal(err)
		}
		s.Objects = append(s.Objects, o)
	}
	s.Resources = []ResourceType{{Version: "v1", Kind: "ConfigMap", Resource: "configmaps", Namespaced: true}}
	s.Unobserved = []Unobserved{{ResourceType: ResourceType{Group: "apps", Version: "v1", Kind: "DaemonSet", Resource: "daemonsets", Namespaced: true}, Reason: "forbidden"}}
	var b bytes.Buffer
	if err := s.Encode(&b); err != nil {
		f.Fatal(err)
	}
	return b.Bytes()
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// FuzzDecodeSnapshot: no file makes LoadSnapshot panic, hang or allocate
// more than its size warrants; every rejection wraps ErrCorruptSnapshot and
// names the file; whatever is accepted can be saved and loaded again. Each input is tried as it is and, when it
// decodes at all, with its digest recomputed, so the fuzzer also reaches the
// code after the digest check.
func FuzzDecodeSnapshot(f *testing.F) {
	good := fuzzSnapshot(f)
	for _, seed := range [][]byte{
		good,
		gzipped(good),
		good[:len(good)/2],
		gzipped(good)[:40],
		append(gzipped([]byte("{}"))[:20], 0xff, 0xff, 0xff, 0x7f), // a trailer that claims 2 GiB
		bytes.Replace(good, []byte(`"replicas": 3`), []byte(`"replicas": 4`), 1),
		bytes.Replace(good, []byte(`"capturedAt": "2026-`), []byte(`"capturedAt": "2099-`), 1),
		regexp.MustCompile(`,\s*"integrity": "[^"]*"`).ReplaceAll(good, nil), // as written before the integrity digest
		bytes.Replace(good, []byte(`"kind": "Snapshot"`), []byte(`"kind": "Snapshot", "x": 1`), 1),
		append(append([]byte{}, good...), "{}"...),
		[]byte(`{"apiVersion":"v1","kind":"List","items":[]}`),
		[]byte(`{"apiVersion":"driftgate.dev/v1alpha1","kind":"Snapshot","objects":[{"object":{"a":1e400}}]}`),
		[]byte(`{"apiVersion":"driftgate.dev/v1alpha1","kind":"Snapshot","metadata":{"capturedAt":"0000-01-01T00:00:00+23:59"}}`),
		{0x1f, 0x8b},
		nil,
	} {
		f.Add(seed)
	}
	path := filepath.Join(f.TempDir(), "s.json.gz")
	f.Fuzz(func(t *testing.T, data []byte) {
		loadSnapshotChecked(t, path, data)
		// Recompute the digest so that edited content gets past the check.
		var s Snapshot
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		dec.DisallowUnknownFields()
		if dec.Decode(&s) != nil {
			return
		}
		d, err := s.ComputeDigest()
		if err != nil {
			return
		}
		s.Digest = d
		if s.Integrity != "" {
			if s.Integrity, err = s.IntegrityDigest(); err != nil {
				return
			}
		}
		resealed, err := json.Marshal(&s)
		if err != nil {
			return
		}
		loadSnapshotChecked(t, path, resealed)
	})
}

// loadSnapshotChecked writes data to path and loads it, checking the
// properties FuzzDecodeSnapshot promises.
func loadSnapshotChecked(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s, err := LoadSnapshot(path)
	runtime.ReadMemStats(&after)
	// Bounded by the input: a gzip member expands at most about 1,000
	// times, so a small file never needs more than a few megabytes.
	if alloc, bound := after.TotalAlloc-before.TotalAlloc, uint64(8<<20+2048*len(data)); alloc > bound {
		t.Fatalf("loading %d bytes allocated %d MiB (bound %d MiB)", len(data), alloc>>20, bound>>20)
	}
	if err != nil {
		if !errors.Is(err, ErrCorruptSnapshot) || !strings.Contains(err.Error(), path) {
			t.Fatalf("rejection does not wrap ErrCorruptSnapshot or name the file: %v", err)
		}
		return
	}
	var b bytes.Buffer
	if err := s.Encode(&b); err != nil {
		t.Fatalf("an accepted snapshot cannot be written again: %v", err)
	}
	if _, err := DecodeSnapshot(&b); err != nil {
		t.Fatalf("an accepted snapshot, written again, is refused: %v", err)
	}
}

// FuzzReadManifests: no manifest file makes ReadManifestBytes or the
// snapshot built from it panic or hang, and every rejection is an
// *InputError naming the file and a line inside it.
func FuzzReadManifests(f *testing.F) {
	for _, seed := range []string{
		"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n  labels: {app: web}\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{}'\nspec:\n  replicas: 2\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: app\n        image: web:1.2\n        env: [{name: DB_PASSWORD, value: hunter2}]\n        resources: {limits: {cpu: 1000m, memory: 256Mi}}\n",
		"# a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n--- # second\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {p: x}\n...\n---\n",
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: shop}\n- apiVersion: apps/v1\n  kind: ReplicaSet\n  metadata: {name: web-1, namespace: shop, ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, controller: true}]}\n",
		`{"apiVersion":"v1","kind":"ConfigMapList","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"x","managedFields":[{"manager":"kubectl-edit","operation":"Update","fieldsType":"FieldsV1","fieldsV1":{"f:data":{"f:a":{}}}}]},"data":{"a":"1"}}]}`,
		"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: ws.example.com}\nspec: {group: example.com, scope: Cluster, names: {kind: W, plural: ws}}\n---\napiVersion: example.com/v1\nkind: W\nmetadata: {name: w}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\ndata:\n  x: %{X}%\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n",
		"{{- if .Values.enabled }}\napiVersion: v1\nkind: Service\n{{- end }}\n",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: &a {containers: [*a]}\n",
		"a: &a [*a, *a]\nb: &b [*a, *a]\nc: [*b, *b]\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
		"apiVersion: v1\nkind: ConfigMap\n\x01metadata: {}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \xff}\n",
		"\tapiVersion: v1\n",
		"- a\n- b\n",
		"apiVersion: v1\nkind: List\nitems: {a: 1}\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "fuzz/m.yaml"
		lines := yamlLines(data)
		checkErr := func(err error) {
			t.Helper()
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("rejection is not an InputError: %v", err)
			}
			if ie.File != file || ie.Line < 1 || ie.Line > lines {
				t.Fatalf("rejection at %s:%d, want %s:1..%d: %v", ie.File, ie.Line, file, lines, err)
			}
		}
		ms, err := ReadManifestBytes(file, data)
		if err != nil {
			checkErr(err)
			return
		}
		for _, m := range ms {
			if m.File != file || m.Line < 1 || m.Line > lines {
				t.Fatalf("manifest at %s:%d, want %s:1..%d", m.File, m.Line, file, lines)
			}
		}
		b := newManifestBuilder(ManifestOptions{Now: time.Unix(0, 0)})
		b.add(ms)
		s, err := b.snapshot([]string{file})
		if err != nil {
			checkErr(err)
			return
		}
		if err := s.Seal(); err != nil {
			t.Fatalf("a snapshot of manifests cannot be sealed: %v", err)
		}
	})
}
