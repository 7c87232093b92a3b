package drift

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// streamObjects reads path's objects through a stream (paired with
// themselves), in order.
func streamObjects(t *testing.T, path string) ([]Object, *Snapshot, error) {
	t.Helper()
	open := func() *SnapshotStream {
		s, err := OpenSnapshotStream(path, LoadOptions{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	dev, prod := open(), open()
	var got []Object
	err := StreamPairs(context.Background(), dev, prod, Mapping{}, func(r PairRun) error {
		got = append(got, r.Prod...)
		return nil
	})
	return got, prod.Head, err
}

// A stream gives the objects LoadSnapshot gives, in order, with the head,
// digests and signature it reads, for files plain and gzipped, with an
// object larger than the window and strings holding escaped quotes and
// backslashes; a truncated or edited file is ErrNotStreamable.
func TestSnapshotStreamReadsWhatLoadReads(t *testing.T) {
	t.Parallel()
	big := strings.Repeat(`a\"b\\`, 1<<20) // 6 MiB: more than the window
	s := &Snapshot{APIVersion: SnapshotAPIVersion, Kind: SnapshotKind, Metadata: SnapshotMeta{Source: SourceCluster, Context: "c", SecretDigest: "none"},
		Resources: []ResourceType{{Version: "v1", Kind: "ConfigMap", Resource: "configmaps", Namespaced: true}}}
	for i, ns := range []string{"b", "a", "c"} {
		for _, name := range []string{"x", `q"uote\`, "big"} {
			data := map[string]any{"k": name, "n": int64(i)}
			if name == "big" && ns == "a" {
				data["v"] = big
			}
			s.Objects = append(s.Objects, Object{Version: "v1", Kind: "ConfigMap", Namespace: ns, Name: name,
				Object:     map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name, "namespace": ns}, "data": data},
				Provenance: Provenance{Managers: []Manager{{Manager: "helm", Operation: "Update", Fields: []string{"data"}}}, DeployTool: map[string]string{"app.kubernetes.io/managed-by": "Helm"}}})
		}
	}
	s.Objects = append(s.Objects, Object{Version: "v1", Kind: "Namespace", Name: "a", Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "a"}}})
	dir := t.TempDir()
	for _, name := range []string{"snap.json", "snap.json.gz"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := s.Save(path); err != nil {
				t.Fatal(err)
			}
			want, err := LoadSnapshot(path)
			if err != nil {
				t.Fatal(err)
			}
			got, head, err := streamObjects(t, path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want.Objects, got); diff != "" {
				t.Errorf("objects (-load +stream):\n%s", diff)
			}
			wantHead := *want
			wantHead.Objects = nil
			if diff := cmp.Diff(&wantHead, head); diff != "" {
				t.Errorf("head (-load +stream):\n%s", diff)
			}
		})
	}
	data, err := os.ReadFile(filepath.Join(dir, "snap.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"truncated": data[:len(data)/2],
		"edited":    []byte(strings.Replace(string(data), `"k": "x"`, `"k": "y"`, 1)),
		"no digest": []byte(strings.Replace(string(data), `"digest"`, `"digestx"`, 1)),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.json")
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, _, err := streamObjects(t, path); !errors.Is(err, ErrNotStreamable) {
				t.Errorf("stream: %v, want ErrNotStreamable", err)
			}
		})
	}
}
