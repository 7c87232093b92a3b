package blobstore

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
)

// memBuckets lets mem://NAME open one in-memory bucket per name for the
// test, as the product never does (a bucket that ends with the process).
func memBuckets(t *testing.T) map[string]*blob.Bucket {
	t.Helper()
	buckets := map[string]*blob.Bucket{}
	var mu sync.Mutex
	extraSchemes = []string{"mem"}
	testOpeners["mem"] = func(_ context.Context, l location, _ bool) (*blob.Bucket, func(), error) {
		mu.Lock()
		defer mu.Unlock()
		b := buckets[l.bucket]
		if b == nil {
			b = memblob.OpenBucket(nil)
			buckets[l.bucket] = b
		}
		return b, func() {}, nil
	}
	t.Cleanup(func() {
		extraSchemes = nil
		delete(testOpeners, "mem")
	})
	return buckets
}

// stores are the two kinds of bucket the unit tests run on: a folder
// and memory. Each returns the prefix URL to publish under.
var stores = []struct {
	name   string
	prefix func(t *testing.T) string
}{
	{"file", func(t *testing.T) string { return "file://" + filepath.ToSlash(t.TempDir()) + "/team/prod" }},
	{"mem", func(t *testing.T) string { memBuckets(t); return "mem://snapshots/team/prod" }},
}

func snapshotJSON(n int) []byte {
	return []byte(fmt.Sprintf(`{"apiVersion":"driftgate.dev/v1","kind":"Snapshot","n":%d,"pad":%q}`, n, strings.Repeat("x", 1000)))
}

var t0 = time.Date(2026, 11, 30, 5, 14, 15, 0, time.UTC)

func TestPublishThenRead(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			prefix := s.prefix(t)
			ctx := context.Background()
			want := snapshotJSON(1)
			obj, err := Publish(ctx, prefix, t0, want, 0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(prefix+"/20261130T051415Z.json.gz", obj); diff != "" {
				t.Errorf("object URL (-want +got):\n%s", diff)
			}
			for _, u := range []string{prefix, prefix + "/", obj} {
				got, resolved, err := Read(ctx, u, 0)
				if err != nil {
					t.Fatalf("Read(%s): %v", u, err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("Read(%s) = %q, want %q", u, got, want)
				}
				if resolved != obj {
					t.Errorf("Read(%s) resolved %s, want %s", u, resolved, obj)
				}
			}
		})
	}
}

// TestReadFaults: every way the pointer or the object may be wrong is an
// error wrapping its sentinel and naming the bucket and the key, never data.
func TestReadFaults(t *testing.T) {
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	good := gz(snapshotJSON(1))
	name := "20261130T051415Z.json.gz"
	ptr := func(object string, data []byte) []byte {
		sum := sha256.Sum256(data)
		b, _ := json.Marshal(pointer{APIVersion: pointerAPIVersion, Kind: pointerKind, Object: object, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), CapturedAt: t0})
		return b
	}
	tests := []struct {
		name    string
		objects map[string][]byte // under the prefix
		url     string            // relative to the prefix; "" reads the prefix
		limit   int64
		want    error
		says    []string
	}{
		{name: "missing latest", objects: map[string][]byte{name: good}, want: ErrNotFound, says: []string{"no latest pointer", "/team/prod/latest"}},
		{name: "latest names a missing object", objects: map[string][]byte{"latest": ptr(name, good)}, want: ErrNotFound,
			says: []string{"latest names", "/team/prod/" + name, "no such object", "publish the snapshot again"}},
		{name: "digest mismatch", objects: map[string][]byte{"latest": ptr(name, good), name: gz(snapshotJSON(2))}, want: ErrCorrupt,
			says: []string{"/team/prod/" + name, "partly written or replaced"}},
		{name: "partial object", objects: map[string][]byte{"latest": ptr(name, good), name: good[:len(good)/2]}, want: ErrCorrupt,
			says: []string{"partly written or replaced"}},
		{name: "truncated gzip named directly", objects: map[string][]byte{name: good[:len(good)-9]}, url: name, want: ErrCorrupt,
			says: []string{"truncated or damaged gzip", "/team/prod/" + name}},
		{name: "truncated gzip under a matching pointer", objects: map[string][]byte{"latest": ptr(name, good[:len(good)-9]), name: good[:len(good)-9]}, want: ErrCorrupt,
			says: []string{"truncated or damaged gzip"}},
		{name: "stored object over the limit", objects: map[string][]byte{name: good}, url: name, limit: int64(len(good)) - 1, want: ErrTooLarge,
			says: []string{"--max-snapshot-size"}},
		{name: "pointer says over the limit", objects: map[string][]byte{"latest": ptr(name, good), name: good}, limit: int64(len(good)) - 1, want: ErrTooLarge,
			says: []string{"latest says it holds"}},
		{name: "inflates over the limit", objects: map[string][]byte{"latest": ptr(name, good), name: good}, limit: int64(len(good)) + 10, want: ErrTooLarge,
			says: []string{"inflates to more than"}},
		{name: "pointer out of the prefix", objects: map[string][]byte{"latest": ptr("../dev/"+name, good)}, want: ErrCorrupt,
			says: []string{"not a snapshot name"}},
		{name: "pointer not JSON", objects: map[string][]byte{"latest": []byte("20261130T051415Z.json.gz")}, want: ErrCorrupt,
			says: []string{"not a snapshot pointer"}},
		{name: "pointer with an unknown field", objects: map[string][]byte{"latest": append(ptr(name, good)[:1], []byte(`"extra":1,`+string(ptr(name, good)[1:]))...), name: good}, want: ErrCorrupt,
			says: []string{"not a snapshot pointer"}},
	}
	for _, s := range stores {
		for _, tt := range tests {
			t.Run(s.name+"/"+tt.name, func(t *testing.T) {
				prefix := s.prefix(t)
				putRaw(t, prefix, tt.objects)
				u := prefix
				if tt.url != "" {
					u += "/" + tt.url
				}
				data, _, err := Read(context.Background(), u, tt.limit)
				if !errors.Is(err, tt.want) {
					t.Fatalf("Read = %q, %v; want an error wrapping %v", data, err, tt.want)
				}
				l, _ := parse(prefix)
				for _, w := range append(tt.says, l.bucket) {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
			})
		}
	}
}

// putRaw writes objects under prefix as they are, as a damaged or hostile
// bucket would hold them.
func putRaw(t *testing.T, prefix string, objects map[string][]byte) {
	t.Helper()
	l, err := parse(prefix)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	b, done, err := open(ctx, l, true)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	for name, data := range objects {
		if err := b.WriteAll(ctx, l.child(name), data, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// list is the names under prefix.
func list(t *testing.T, prefix string) []string {
	t.Helper()
	l, _ := parse(prefix)
	ctx := context.Background()
	b, done, err := open(ctx, l, false)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	var names []string
	it := b.List(&blob.ListOptions{Prefix: l.child("")})
	for {
		o, err := it.Next(ctx)
		if err != nil {
			break
		}
		names = append(names, strings.TrimPrefix(o.Key, l.child("")))
	}
	slices.Sort(names)
	return names
}

func TestKeepPrunes(t *testing.T) {
	grace := pruneGrace
	pruneGrace = 0
	t.Cleanup(func() { pruneGrace = grace })
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			prefix := s.prefix(t)
			ctx := context.Background()
			putRaw(t, prefix, map[string][]byte{"README": []byte("not a snapshot"), "eu/" + t0.Format(timeLayout) + ".json.gz": []byte("below the prefix")})
			var objs []string
			for i := range 5 {
				o, err := Publish(ctx, prefix, t0.Add(time.Duration(i)*time.Hour), snapshotJSON(i), 0)
				if err != nil {
					t.Fatal(err)
				}
				objs = append(objs, o[len(prefix)+1:])
			}
			if got := list(t, prefix); len(got) != 8 {
				t.Fatalf("before pruning: %v", got)
			}
			// latest names the oldest, as after a slow publisher finished last.
			l, _ := parse(prefix)
			b, done, _ := open(ctx, l, false)
			oldest, _ := b.ReadAll(ctx, l.child(objs[0]))
			sum := sha256.Sum256(oldest)
			p, _ := json.Marshal(pointer{APIVersion: pointerAPIVersion, Kind: pointerKind, Object: objs[0], SHA256: hex.EncodeToString(sum[:]), Size: int64(len(oldest)), CapturedAt: t0})
			if err := b.WriteAll(ctx, l.child("latest"), p, nil); err != nil {
				t.Fatal(err)
			}
			done()
			if err := prune(ctx, mustOpen(t, l), l, 2); err != nil {
				t.Fatal(err)
			}
			want := []string{"README", "eu/" + t0.Format(timeLayout) + ".json.gz", "latest", objs[0], objs[3], objs[4]}
			slices.Sort(want)
			if diff := cmp.Diff(want, list(t, prefix)); diff != "" {
				t.Errorf("after pruning with latest on the oldest (-want +got):\n%s", diff)
			}
			// Publish with --keep: the new one and the one before it stay.
			o, err := Publish(ctx, prefix, t0.Add(10*time.Hour), snapshotJSON(10), 2)
			if err != nil {
				t.Fatal(err)
			}
			want = []string{"README", "eu/" + t0.Format(timeLayout) + ".json.gz", "latest", objs[4], o[len(prefix)+1:]}
			slices.Sort(want)
			if diff := cmp.Diff(want, list(t, prefix)); diff != "" {
				t.Errorf("after publishing with keep 2 (-want +got):\n%s", diff)
			}
			if got, _, err := Read(ctx, prefix, 0); err != nil || !bytes.Equal(got, snapshotJSON(10)) {
				t.Errorf("Read after pruning = %q, %v", got, err)
			}
		})
	}
}

func mustOpen(t *testing.T, l location) *blob.Bucket {
	t.Helper()
	b, done, err := open(context.Background(), l, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(done)
	return b
}

// TestConcurrentPublishers: publishers racing on one prefix while readers
// read it. Every read returns one whole published snapshot, never a part;
// at the end latest names the snapshot of the publisher that finished
// last, whatever its capture time.
func TestConcurrentPublishers(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			prefix := s.prefix(t)
			ctx := context.Background()
			const publishers = 6
			published := map[string]bool{}
			for i := range publishers {
				published[string(snapshotJSON(i))] = true
			}
			var mu sync.Mutex
			var finished []int
			var wg sync.WaitGroup
			stop := make(chan struct{})
			var readErr error
			reads := 0
			var rwg sync.WaitGroup
			rwg.Add(1)
			go func() {
				defer rwg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					data, _, err := Read(ctx, prefix, 0)
					if errors.Is(err, ErrNotFound) && (strings.Contains(err.Error(), "no latest pointer") || strings.Contains(err.Error(), "no such folder")) {
						continue // nothing published yet
					}
					if err != nil || !published[string(data)] {
						readErr = fmt.Errorf("read %d: %q, %v", reads, data, err)
						return
					}
					reads++
				}
			}()
			for i := range publishers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Later publishers hold older capture times.
					if _, err := Publish(ctx, prefix, t0.Add(-time.Duration(i)*time.Minute), snapshotJSON(i), 3); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					finished = append(finished, i)
					mu.Unlock()
				}()
			}
			wg.Wait()
			close(stop)
			rwg.Wait()
			if readErr != nil {
				t.Fatal(readErr)
			}
			got, _, err := Read(ctx, prefix, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !published[string(got)] {
				t.Fatalf("latest holds %q, which no publisher wrote", got)
			}
			t.Logf("%d reads during publishing; finish order %v", reads, finished)
		})
	}
}

// TestLastCompleteWins: latest follows the order publishers finish in,
// not capture times; a publisher stopped before it finished moves nothing.
func TestLastCompleteWins(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			prefix := s.prefix(t)
			ctx := context.Background()
			if _, err := Publish(ctx, prefix, t0, snapshotJSON(1), 0); err != nil {
				t.Fatal(err)
			}
			if _, err := Publish(ctx, prefix, t0.Add(-time.Hour), snapshotJSON(2), 0); err != nil {
				t.Fatal(err)
			}
			// Another snapshot of the same second is refused; the same one again is not.
			if _, err := Publish(ctx, prefix, t0.Add(-time.Hour), snapshotJSON(4), 0); err == nil || !strings.Contains(err.Error(), "captured in the same second") {
				t.Errorf("publishing another snapshot of the same second: %v", err)
			}
			if _, err := Publish(ctx, prefix, t0.Add(-time.Hour), snapshotJSON(2), 0); err != nil {
				t.Errorf("publishing the same snapshot again: %v", err)
			}
			canceled, cancel := context.WithCancel(ctx)
			cancel()
			if _, err := Publish(canceled, prefix, t0.Add(time.Hour), snapshotJSON(3), 0); !errors.Is(err, context.Canceled) {
				t.Fatalf("Publish with a canceled context: %v, want context.Canceled", err)
			}
			got, _, err := Read(ctx, prefix, 0)
			if err != nil || !bytes.Equal(got, snapshotJSON(2)) {
				t.Errorf("Read = %q, %v; want the last snapshot published whole", got, err)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		url     string
		display string // display of the key, "" for an error
		bucket  string
		object  bool
		err     string
	}{
		{url: "s3://bkt/team/prod", display: "s3://bkt/team/prod", bucket: "bkt"},
		{url: "s3://bkt/team/prod/?region=eu-west-1&endpoint=http://127.0.0.1:9000&use_path_style=true&disable_https=true", display: "s3://bkt/team/prod", bucket: "bkt"},
		{url: "s3://bkt?s3ForcePathStyle=true", display: "s3://bkt", bucket: "bkt"},
		{url: "gs://bkt/prod/20261130T051415Z.json.gz", display: "gs://bkt/prod/20261130T051415Z.json.gz", bucket: "bkt", object: true},
		{url: "azblob://container/prod", display: "azblob://container/prod", bucket: "container"},
		{url: "file:///srv/snaps/prod", display: "file:///srv/snaps/prod", bucket: "/srv/snaps/prod"},
		{url: "file:///srv/snaps/prod/x.json", display: "file:///srv/snaps/prod/x.json", bucket: "/srv/snaps/prod", object: true},
		{url: "s3://AKIAEXAMPLE:hunter2@bkt/prod", err: "holds credentials"},
		{url: "s3://bkt/prod?awssdk=v1", err: `query parameter "awssdk" is not accepted`},
		{url: "gs://bkt/prod?private_key_path=/k", err: `query parameter "private_key_path" is not accepted`},
		{url: "file:///srv/prod?create_dir=1", err: `query parameter "create_dir" is not accepted for file://: use none`},
		{url: "mem://bkt/prod", err: `scheme "mem" is not supported: use one of s3://, gs://, azblob://, file://`},
		{url: "https://bkt/prod", err: `scheme "https" is not supported`},
		{url: "s3:///prod", err: "no bucket"},
		{url: "s3://bkt/a/../prod", err: "empty, . or .. element"},
		{url: "s3://bkt/a//prod", err: "empty, . or .. element"},
		{url: "file://host/srv", err: "names a path on this machine"},
		{url: "file:///", err: "absolute path below /"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			l, err := parse(tt.url)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parse = %v, want an error saying %q", err, tt.err)
				}
				for _, secret := range []string{"hunter2", "AKIAEXAMPLE", "/k"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q shows %q", err, secret)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := struct {
				Display, Bucket string
				Object          bool
			}{l.display(l.key), l.bucket, l.object}
			want := struct {
				Display, Bucket string
				Object          bool
			}{tt.display, tt.bucket, tt.object}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"s3://bkt/prod?endpoint=http://u:p@127.0.0.1:9000&kmskeyid=k": "s3://bkt/prod",
		"s3://AKIA:secret@bkt/prod#frag":                              "s3://bkt/prod",
		"./prod.json.gz":                                              "./prod.json.gz",
		"context:prod":                                                "context:prod",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsURL(t *testing.T) {
	for in, want := range map[string]bool{
		"s3://b/p": true, "file:///x": true, "mem://x": true, "gs://b": true,
		"./s3:/x": false, "prod.json.gz": false, "context:prod": false, "/abs/path": false, "C:\\x": false,
	} {
		if got := IsURL(in); got != want {
			t.Errorf("IsURL(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestPublishRefuses(t *testing.T) {
	dir := "file://" + filepath.ToSlash(t.TempDir())
	for _, tt := range []struct {
		url  string
		keep int
		at   time.Time
		says string
	}{
		{url: dir + "/prod.json.gz", at: t0, says: "publish to a prefix, such as file://"},
		{url: dir + "/prod", keep: -1, at: t0, says: "want 0 (keep all) or more"},
		{url: dir + "/prod", says: "without a capture time"},
	} {
		if _, err := Publish(context.Background(), tt.url, tt.at, snapshotJSON(1), tt.keep); err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("Publish(%s, keep %d) = %v, want an error saying %q", tt.url, tt.keep, err, tt.says)
		}
	}
}

// TestFileLayout: a file:// prefix holds the objects and latest, nothing
// else (no .attrs side files, no temporary files left).
func TestFileLayout(t *testing.T) {
	dir := t.TempDir()
	if _, err := Publish(context.Background(), "file://"+filepath.ToSlash(dir)+"/prod", t0, snapshotJSON(1), 0); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(filepath.Join(dir, "prod"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"20261130T051415Z.json.gz", "latest"}, names); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
