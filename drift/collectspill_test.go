package drift

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// spillTestObjects are objects as an API server lists them, per of each
// of six namespaced kinds in five namespaces (ConfigMaps, Secrets,
// Services, Deployments with managed fields and status, Roles,
// NetworkPolicies) and the Namespaces, in namespaces whose names make
// etcd's key order differ from the snapshot's (team-a/x sorts before
// team/x), and two legacy token Secrets that normalize to one name (twins,
// folded).
func spillTestObjects(t testing.TB, per int) []map[string]any {
	t.Helper()
	var out []map[string]any
	for i, ns := range []string{"team", "team-a", "team-a-b", "bench-0001", "zeta"} {
		out = append(out, spillServed("v1", "Namespace", "", ns, i, nil))
		for j := range per {
			out = append(out, spillTestNamespaced(ns, i*per+j, j)...)
		}
	}
	for _, suffix := range []string{"7hzvd", "b2c4d"} {
		out = append(out, map[string]any{
			"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
			"metadata": map[string]any{"name": "builder-token-" + suffix, "namespace": "team",
				"annotations": map[string]any{"kubernetes.io/service-account.name": "builder"}},
			"data": map[string]any{"ca.crt": suffix},
		})
	}
	return out
}

// spillTestNamespaced is the j-th object of each namespaced kind in ns.
func spillTestNamespaced(ns string, seq, j int) []map[string]any {
	app := fmt.Sprintf("app-%d", j%7)
	labels := map[string]any{"app.kubernetes.io/name": app, "app.kubernetes.io/managed-by": "Helm"}
	name := func(kind string) string { return fmt.Sprintf("%s-%s-%03d", app, kind, j) }
	return []map[string]any{
		spillServed("v1", "ConfigMap", ns, name("config"), seq, map[string]any{
			"data": map[string]any{"LOG_LEVEL": "info", "settings.yaml": strings.Repeat(fmt.Sprintf("key%d: value\n", j), 20)}}),
		spillServed("v1", "Secret", ns, name("secret"), seq, map[string]any{
			"type": "Opaque", "data": map[string]any{"password": "aHVudGVyMg==", "user": "YWRtaW4="}}),
		spillServed("v1", "Service", ns, name("svc"), seq, map[string]any{
			"spec": map[string]any{"selector": map[string]any{"app": app}, "ports": []any{map[string]any{"port": int64(80), "targetPort": int64(8080 + j%3), "protocol": "TCP"}},
				"clusterIP": fmt.Sprintf("10.0.%d.%d", seq/250, seq%250)}}),
		spillServed("apps/v1", "Deployment", ns, name("web"), seq, map[string]any{
			"spec": map[string]any{"replicas": int64(1 + j%3), "selector": map[string]any{"matchLabels": map[string]any{"app": app}},
				"template": map[string]any{"metadata": map[string]any{"labels": labels},
					"spec": map[string]any{"containers": []any{map[string]any{"name": "web", "image": fmt.Sprintf("registry.example/%s:1.%d", app, j%4),
						"env":       []any{map[string]any{"name": "MODE", "value": "prod"}, map[string]any{"name": "DB_PASSWORD", "value": "hunter2"}},
						"resources": map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "64Mi"}}}}}}},
			"status": map[string]any{"replicas": int64(2), "readyReplicas": int64(2), "observedGeneration": int64(1)}}),
		spillServed("rbac.authorization.k8s.io/v1", "Role", ns, name("role"), seq, map[string]any{
			"rules": []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"configmaps"}, "verbs": []any{"get", "list"}}}}),
		spillServed("networking.k8s.io/v1", "NetworkPolicy", ns, name("netpol"), seq, map[string]any{
			"spec": map[string]any{"podSelector": map[string]any{"matchLabels": map[string]any{"app": app}}, "policyTypes": []any{"Ingress"},
				"ingress": []any{map[string]any{"from": []any{map[string]any{"podSelector": map[string]any{}}}}}}}),
	}
}

// spillServed is an object as a LIST serves it: uid, resourceVersion,
// creation time, labels, and the managedFields entry of its writer.
func spillServed(apiVersion, kind, ns, name string, seq int, rest map[string]any) map[string]any {
	meta := map[string]any{
		"name": name, "uid": fmt.Sprintf("%08x-1c2d-4e5f-8a9b-%012x", seq, seq*7919), "resourceVersion": fmt.Sprint(1000 + seq),
		"creationTimestamp": "2026-03-14T09:26:53Z", "labels": map[string]any{"app.kubernetes.io/managed-by": "Helm", "team": fmt.Sprint(seq % 5)},
		"annotations": map[string]any{"meta.helm.sh/release-name": name},
		"managedFields": []any{map[string]any{"manager": "helm", "operation": "Update", "apiVersion": apiVersion, "time": "2026-03-14T09:26:53Z",
			"fieldsType": "FieldsV1", "fieldsV1": map[string]any{"f:metadata": map[string]any{"f:labels": map[string]any{".": map[string]any{}}}}}},
	}
	if ns != "" {
		meta["namespace"] = ns
	}
	o := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": meta}
	for k, v := range rest {
		o[k] = v
	}
	return o
}

// TestSpilledSnapshotWritesTheSameFile collects the same served objects
// in memory (Collect, then Save) and spilled (CollectSpilled, then Save):
// the files, plain and gzipped, are the same bytes, whatever the order the
// server lists them in and however they are paged, and with a type that
// could not be listed to its end.
func TestSpilledSnapshotWritesTheSameFile(t *testing.T) {
	t.Parallel()
	objs := spillTestObjects(t, 40)
	now := time.Date(2026, 11, 30, 7, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		order  fakeAPIOrder
		chunk  int64
		forbid string
	}{
		{"etcd order, pages of 7", spillEtcdOrder, 7, ""},
		{"etcd order, pages of 500", spillEtcdOrder, 500, ""},
		{"unsorted pages of 7", spillShuffled, 7, ""},
		{"unsorted pages of 1", spillShuffled, 1, ""},
		{"secrets forbidden on page 3", spillEtcdOrder, 7, "Secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			api := fakeAPIFrom(t, objs, tc.order)
			for _, ty := range api.types {
				if ty.kind == tc.forbid {
					ty.forbidPage = 3
				}
			}
			cfg := api.start(t)
			opts := CollectOptions{Context: "dev", Scope: Scope{Exclude: DefaultExcludes}, ChunkSize: tc.chunk, Concurrency: 3, Now: now, ForWriting: true}
			mem, err := Collect(context.Background(), cfg, opts)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			sp, err := CollectSpilled(context.Background(), cfg, opts, SpillOptions{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			defer sp.Close()
			if sp.mem != nil {
				t.Fatal("the spilled snapshot was taken in memory")
			}
			if tc.forbid != "" && len(mem.Unobserved) == 0 {
				t.Fatal("no type unobserved")
			}
			if tc.forbid == "" && mem.Metadata.Folded == 0 {
				t.Fatal("no twins folded: the input does not test folding")
			}
			for _, name := range []string{"s.json", "s.json.gz"} {
				a, b := filepath.Join(dir, "mem-"+name), filepath.Join(dir, "spilled-"+name)
				if err := mem.Save(a); err != nil {
					t.Fatal(err)
				}
				if err := sp.Save(b); err != nil {
					t.Fatal(err)
				}
				want, got := readMaybeGzip(t, a), readMaybeGzip(t, b)
				if !bytes.Equal(want, got) {
					t.Fatalf("%s: the spilled snapshot's file differs from the in-memory one (%d against %d bytes)\n%s", name, len(got), len(want), firstDifference(want, got))
				}
				if _, err := LoadSnapshot(b); err != nil {
					t.Fatalf("the spilled snapshot does not load: %v", err)
				}
			}
			if sp.Objects() != len(mem.Objects) || sp.Head.Digest != mem.Digest || sp.Head.Integrity != mem.Integrity {
				t.Errorf("spilled: %d objects, %s, %s; in memory: %d, %s, %s", sp.Objects(), sp.Head.Digest, sp.Head.Integrity, len(mem.Objects), mem.Digest, mem.Integrity)
			}
			var buf bytes.Buffer
			if err := sp.Encode(&buf); err != nil { // a second time, as -o - after Save
				t.Fatal(err)
			}
			if want := readMaybeGzip(t, filepath.Join(dir, "mem-s.json")); !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("a second Encode differs:\n%s", firstDifference(want, buf.Bytes()))
			}
		})
	}
}

func readMaybeGzip(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Ext(path) == ".gz" {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

// firstDifference shows where a and b part.
func firstDifference(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-200)
	return "want: ..." + string(a[from:min(len(a), i+200)]) + "\n got: ..." + string(b[from:min(len(b), i+200)])
}

// TestCollectSpilledLeavesNoTemporaryFiles: the spill's files are never
// visible in their directory (unlinked as soon as created, so no exit
// leaves them, SIGINT or SIGKILL included), are readable by the owner
// only, and a failure while spilling (a full disk, injected) is an error
// that leaves nothing either.
func TestCollectSpilledLeavesNoTemporaryFiles(t *testing.T) {
	api := fakeAPIFrom(t, spillTestObjects(t, 20), spillEtcdOrder)
	cfg := api.start(t)
	opts := CollectOptions{ChunkSize: 5, Concurrency: 2}
	dir := t.TempDir()
	runs := 0
	var seen []string
	var mu sync.Mutex // runs are spilled from several goroutines
	spillTestHook = func() error {
		mu.Lock()
		defer mu.Unlock()
		runs++
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			seen = append(seen, e.Name())
		}
		if runs == 4 {
			return errors.New("no space left on device (injected)")
		}
		return nil
	}
	defer func() { spillTestHook = nil }()
	_, err := CollectSpilled(context.Background(), cfg, opts, SpillOptions{Dir: dir})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("injected")) {
		t.Fatalf("err = %v, want the injected failure", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 || len(seen) != 0 {
		t.Errorf("temporary files left or visible: %v, seen while spilling %v", entries, seen)
	}

	spillTestHook = nil
	sp, err := CollectSpilled(context.Background(), cfg, opts, SpillOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []*os.File{sp.spill.keys, sp.spill.bodies} {
		fi, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("temporary file mode %v, want 0600", fi.Mode().Perm())
		}
	}
	if err := sp.Save(filepath.Join(dir, "out.json")); err != nil {
		t.Fatal(err)
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	entries, _ = os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "out.json" {
		t.Errorf("files left: %v, want out.json only", entries)
	}
}
