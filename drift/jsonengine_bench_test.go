package drift

// BenchmarkJSONEngine measures internal/jsonx, the hand-written engine,
// against github.com/go-json-experiment/json (encoding/json/v2 to be) and
// encoding/json, on the two documents driftgate reads and writes: a LIST
// page as an API server sends it and a snapshot file. Each decodes into
// map[string]any and encodes that back. BENCHMARKS.md has the figures.

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/driftgate/driftgate/internal/jsonx"
)

// engineDocuments returns a LIST page of 500 Deployment-like objects (as
// BenchmarkDecodeListPage) and the indented snapshot file of 2,000 such
// objects, normalized.
func engineDocuments(b *testing.B) (page, file []byte) {
	b.Helper()
	r := rand.New(rand.NewPCG(13, 14))
	n := NewNormalizer([]byte("key"))
	s := newSnapshot(SourceCluster, Scope{}, n, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	var items []any
	for i := range 2000 {
		o := podLike(r)
		o["apiVersion"], o["kind"] = "apps/v1", "Deployment"
		o["metadata"] = servedMetadata(r, i)
		o["status"] = map[string]any{"replicas": int64(3), "readyReplicas": int64(3), "observedGeneration": int64(4)}
		if i < 500 {
			items = append(items, o)
		}
		raw, err := json.Marshal(o)
		if err != nil {
			b.Fatal(err)
		}
		var copied map[string]any
		if err := json.Unmarshal(raw, &copied); err != nil {
			b.Fatal(err)
		}
		obj, fold, err := n.Normalize(canonicalNumbers(copied).(map[string]any))
		if err != nil {
			b.Fatal(err)
		}
		if !fold {
			s.Objects = append(s.Objects, obj)
		}
	}
	page, err := json.Marshal(map[string]any{"kind": "DeploymentList", "apiVersion": "apps/v1", "metadata": map[string]any{"continue": "x"}, "items": items})
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Encode(&buf); err != nil {
		b.Fatal(err)
	}
	return page, buf.Bytes()
}

// v2Canonical are the options under which go-json-experiment writes what
// encoding/json writes: keys sorted, HTML and JavaScript escaping.
var v2Canonical = jsonv2.JoinOptions(jsonv2.Deterministic(true), jsontext.EscapeForHTML(true), jsontext.EscapeForJS(true))

func BenchmarkJSONEngine(b *testing.B) {
	page, file := engineDocuments(b)
	// The engine reads both leniently here, into map[string]any as the
	// libraries do; reading the file into a Snapshot, digest checked, is
	// BenchmarkDecodeSnapshot's.
	for _, doc := range []struct {
		name string
		data []byte
	}{{"list-page", page}, {"snapshot-file", file}} {
		var value any
		if err := json.Unmarshal(doc.data, &value); err != nil {
			b.Fatal(err)
		}
		want, _ := json.Marshal(value)
		if got, err := jsonv2.Marshal(value, v2Canonical); err != nil || !bytes.Equal(got, want) {
			b.Fatalf("%s: go-json-experiment does not write encoding/json's bytes (%v)", doc.name, err)
		}
		b.Run(doc.name+"/decode/jsonx", func(b *testing.B) {
			b.SetBytes(int64(len(doc.data)))
			for b.Loop() {
				d := jsonx.NewDecoder(doc.data, true)
				if _, err := d.Value(); err != nil || !d.AtEnd() {
					b.Fatal("refused", err)
				}
			}
		})
		b.Run(doc.name+"/decode/go-json-experiment", func(b *testing.B) {
			b.SetBytes(int64(len(doc.data)))
			for b.Loop() {
				var v any
				if err := jsonv2.Unmarshal(doc.data, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(doc.name+"/decode/encoding-json", func(b *testing.B) {
			b.SetBytes(int64(len(doc.data)))
			for b.Loop() {
				var v any
				if err := json.Unmarshal(doc.data, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(doc.name+"/encode/jsonx", func(b *testing.B) {
			b.SetBytes(int64(len(want)))
			w := &jsonx.Writer{}
			for b.Loop() {
				w.Buf = w.Buf[:0]
				if err := w.Value(value, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(doc.name+"/encode/go-json-experiment", func(b *testing.B) {
			b.SetBytes(int64(len(want)))
			for b.Loop() {
				if _, err := jsonv2.Marshal(value, v2Canonical); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(doc.name+"/encode/encoding-json", func(b *testing.B) {
			b.SetBytes(int64(len(want)))
			for b.Loop() {
				if _, err := json.Marshal(value); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
