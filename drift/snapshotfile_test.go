package drift

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func sampleSnapshot(t *testing.T) *Snapshot {
	t.Helper()
	s := newSnapshot(SourceCluster, Scope{Namespaces: []string{"a"}}, NewNormalizer(nil), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	n := NewNormalizer(nil)
	for _, in := range []string{
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: a}\ndata: {k: v}",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: a}\nspec: {replicas: 3, ratio: 0.5, big: 9007199254740993}",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: a}\ndata: {k: v}",
	} {
		o, _, err := n.Normalize(decode(t, in))
		if err != nil {
			t.Fatal(err)
		}
		s.Objects = append(s.Objects, o)
	}
	s.Resources = []ResourceType{{Version: "v1", Kind: "ConfigMap", Resource: "configmaps", Namespaced: true}}
	return s
}

func TestSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"s.json", "s.json.gz"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), name)
			s := sampleSnapshot(t)
			if err := s.Save(path); err != nil {
				t.Fatal(err)
			}
			got, err := LoadSnapshot(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(s, got); diff != "" {
				t.Errorf("round trip (-saved +loaded):\n%s", diff)
			}
			if got.Objects[0].Name != "a" || got.Objects[2].Kind != "Deployment" {
				t.Errorf("objects not sorted by group/kind/namespace/name: %v", got.Objects)
			}
			raw, _ := os.ReadFile(path)
			if isGz := bytes.HasPrefix(raw, []byte{0x1f, 0x8b}); isGz != strings.HasSuffix(name, ".gz") {
				t.Errorf("gzip = %v for %s", isGz, name)
			}
		})
	}
}

func TestSnapshotDigestIgnoresCaptureTimeOnly(t *testing.T) {
	t.Parallel()
	a, b := sampleSnapshot(t), sampleSnapshot(t)
	b.Metadata.CapturedAt = b.Metadata.CapturedAt.Add(time.Hour)
	da, _ := a.ComputeDigest()
	db, _ := b.ComputeDigest()
	if da != db {
		t.Errorf("capture time changed the digest")
	}
	b.Objects[0].Object["data"] = map[string]any{"k": "other"}
	if dc, _ := b.ComputeDigest(); dc == da {
		t.Errorf("content change kept the digest")
	}
}

func TestLoadSnapshotRejectsDamage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	if err := sampleSnapshot(t).Save(good); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(good)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	tests := map[string][]byte{
		"truncated":      raw[:len(raw)/2],
		"edited value":   bytes.Replace(raw, []byte(`"replicas": 3`), []byte(`"replicas": 4`), 1),
		"trailing junk":  append(append([]byte{}, raw...), []byte("{}")...),
		"not a snapshot": []byte(`{"apiVersion":"v1","kind":"List","items":[]}`),
		"truncated gzip": gz.Bytes()[:gz.Len()-10],
		"unknown field":  bytes.Replace(raw, []byte(`"kind": "Snapshot"`), []byte(`"kind": "Snapshot", "extra": 1`), 1),
		"empty":          nil,
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadSnapshot(path)
			if !errors.Is(err, ErrCorruptSnapshot) {
				t.Fatalf("want ErrCorruptSnapshot, got %v", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error does not name the file: %v", err)
			}
		})
	}
}

func TestSaveLeavesNothingHalfWritten(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "s.json")
	if err := os.WriteFile(path, []byte("previous"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := sampleSnapshot(t)
	s.Objects[0].Object["bad"] = func() {} // cannot be encoded
	if err := s.Save(path); err == nil {
		t.Fatal("want an error")
	}
	if b, _ := os.ReadFile(path); string(b) != "previous" {
		t.Errorf("destination changed to %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

// TestLoadSnapshotRefusesAnObjectTwice: a file with a valid digest (anyone
// can compute one) that holds an object twice is refused, naming it; one
// whose objects are out of order is put in order.
func TestLoadSnapshotRefusesAnObjectTwice(t *testing.T) {
	t.Parallel()
	cm := func(name, v string) Object {
		return Object{Version: "v1", Kind: "ConfigMap", Namespace: "app", Name: name,
			Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"k": v}}}
	}
	write := func(objs ...Object) []byte {
		s := newSnapshot(SourceCluster, Scope{}, NewNormalizer(nil), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
		s.Objects = objs
		d, err := s.ComputeDigest() // of the objects as given: no sort
		if err != nil {
			t.Fatal(err)
		}
		s.Digest = d
		b, err := json.MarshalIndent(s, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	_, err := DecodeSnapshot(bytes.NewReader(write(cm("a", "1"), cm("b", "2"), cm("b", "3"))))
	if !errors.Is(err, ErrCorruptSnapshot) || !strings.Contains(err.Error(), "app/ConfigMap/b appears twice") {
		t.Fatalf("an object twice: error %v", err)
	}
	s, err := DecodeSnapshot(bytes.NewReader(write(cm("c", "1"), cm("a", "2"), cm("b", "3"))))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range s.Objects {
		names = append(names, o.Name)
	}
	if strings.Join(names, ",") != "a,b,c" {
		t.Fatalf("objects in order %v, want a,b,c", names)
	}
	if s.Find(ObjectID{Kind: "ConfigMap", Namespace: "app", Name: "a"}) == nil {
		t.Fatal("Find does not see an object the file held out of order")
	}
}

// gzipBomb is a gzip file of members that each inflate to 16 MiB of
// spaces, inflating to size bytes in all (a multiple of 16 MiB).
func gzipBomb(t *testing.T, size int) []byte {
	t.Helper()
	const member = 16 << 20
	var one bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&one, gzip.BestCompression)
	zw.Write(bytes.Repeat([]byte(" "), member))
	zw.Close()
	return bytes.Repeat(one.Bytes(), size/member)
}

// TestLoadSnapshotCapsInflatedSize: a small gzip file that inflates far
// past the limit is refused once the limit is reached, naming the file,
// the limit and how to raise it, without holding what it inflates to; a
// plain file over the limit is refused before it is read. Not parallel:
// it measures what it allocates.
func TestLoadSnapshotCapsInflatedSize(t *testing.T) {
	dir := t.TempDir()
	bomb := filepath.Join(dir, "bomb.json.gz")
	if err := os.WriteFile(bomb, gzipBomb(t, 256<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "big.json")
	if err := os.WriteFile(plain, bytes.Repeat([]byte(" "), 3<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	fits := filepath.Join(dir, "fits.json.gz")
	if err := sampleSnapshot(t).Save(fits); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, want string
	}{
		{bomb, "snapshot " + bomb + ": snapshot is larger than the limit: it inflates to more than 2Mi of JSON; if it is a real snapshot, raise the limit with --max-snapshot-size"},
		{plain, "snapshot " + plain + ": snapshot is larger than the limit: it holds more than 2Mi of JSON"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := LoadSnapshotWith(tt.path, LoadOptions{MaxSize: 2 << 20})
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrSnapshotTooLarge) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
				t.Errorf("refusing allocated %d MiB", alloc>>20)
			}
		})
	}
	if _, err := LoadSnapshotWith(fits, LoadOptions{MaxSize: 2 << 20}); err != nil {
		t.Errorf("a snapshot within the limit: %v", err)
	}
}

// TestLoadSnapshotRefusesEditedCaptureTime: the capture time, which the
// content digest leaves out so that equal states have equal digests, is
// under the integrity digest: a snapshot dated 2099 to pass gate
// --max-age is refused as edited, plain or gzipped. A file written before
// the integrity digest still loads, with none.
func TestLoadSnapshotRefusesEditedCaptureTime(t *testing.T) {
	t.Parallel()
	s := sampleSnapshot(t)
	var b bytes.Buffer
	if err := s.Encode(&b); err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(b.Bytes(), []byte(`"capturedAt": "2026-01-02T03:04:05Z"`), []byte(`"capturedAt": "2099-01-02T03:04:05Z"`), 1)
	if bytes.Equal(edited, b.Bytes()) {
		t.Fatal("no capture time to edit")
	}
	dir := t.TempDir()
	for name, data := range map[string][]byte{"edited.json": edited, "edited.json.gz": gzipped(edited)} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadSnapshot(path)
			want := "snapshot " + path + ": snapshot is corrupt or was edited: the metadata (capturedAt 2099-01-02T03:04:05Z"
			if !errors.Is(err, ErrCorruptSnapshot) || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %v, want %q", err, want)
			}
		})
	}
	t.Run("written before the integrity digest", func(t *testing.T) {
		t.Parallel()
		old := bytes.Replace(b.Bytes(), []byte(",\n \"integrity\": \""+s.Integrity+"\""), nil, 1)
		if bytes.Equal(old, b.Bytes()) || s.Integrity == "" {
			t.Fatal("no integrity digest written")
		}
		got, err := DecodeSnapshot(bytes.NewReader(old))
		if err != nil {
			t.Fatal(err)
		}
		if got.Integrity != "" || got.Digest != s.Digest {
			t.Errorf("integrity %q, digest %s; want none and %s", got.Integrity, got.Digest, s.Digest)
		}
	})
}
