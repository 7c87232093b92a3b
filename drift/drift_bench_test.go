package drift_test

import (
	"bytes"
	"io"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/fixtures/bench/gen"
)

// The benchmarks run on the objects `make bench` fills a cluster with
// (fixtures/bench/gen): 200 namespaces of 100 objects, about 20,000 a side.
const benchNamespaces, benchPerNamespace = 200, 100

var (
	benchOnce       sync.Once
	benchDev, bProd *drift.Snapshot
	benchErr        error
)

func benchSnapshots(b *testing.B) (dev, prod *drift.Snapshot) {
	b.Helper()
	benchOnce.Do(func() {
		benchDev, benchErr = gen.Snapshot(benchNamespaces, benchPerNamespace, gen.Dev)
		if benchErr == nil {
			bProd, benchErr = gen.Snapshot(benchNamespaces, benchPerNamespace, gen.Prod)
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDev, bProd
}

// BenchmarkNormalize normalizes objects as a LIST returns them (managed
// fields, status, last-applied, Secrets): the collector's per-object work.
func BenchmarkNormalize(b *testing.B) {
	served, err := gen.Served(10, benchPerNamespace, gen.Prod)
	if err != nil {
		b.Fatal(err)
	}
	n := drift.NewNormalizer(nil)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		objs := make([]map[string]any, len(served))
		for i, o := range served {
			objs[i] = runtime.DeepCopyJSON(o)
		}
		b.StartTimer()
		for _, o := range objs {
			if _, _, err := n.Normalize(o); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(served)), "ns/object")
}

// BenchmarkEncode writes a 20,000-object snapshot as a file holds it
// (sealing included: sort and digest).
func BenchmarkEncode(b *testing.B) {
	dev, _ := benchSnapshots(b)
	var buf bytes.Buffer
	if err := dev.Encode(&buf); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if err := dev.Encode(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkComputeDigest digests a 20,000-object snapshot.
func BenchmarkComputeDigest(b *testing.B) {
	dev, _ := benchSnapshots(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dev.ComputeDigest(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeSnapshot reads and verifies a 20,000-object snapshot file.
func BenchmarkDecodeSnapshot(b *testing.B) {
	dev, _ := benchSnapshots(b)
	var buf bytes.Buffer
	if err := dev.Encode(&buf); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := drift.DecodeSnapshot(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedactSnapshot is what reading a 20,000-object snapshot file
// adds for redaction (compare.Load): a walk that finds nothing to change
// in a file this version wrote.
func BenchmarkRedactSnapshot(b *testing.B) {
	dev, _ := benchSnapshots(b)
	var buf bytes.Buffer
	if err := dev.Encode(&buf); err != nil {
		b.Fatal(err)
	}
	s, err := drift.DecodeSnapshot(bytes.NewReader(buf.Bytes()))
	if err != nil {
		b.Fatal(err)
	}
	n := drift.NewNormalizer(nil)
	b.ReportAllocs()
	for b.Loop() {
		if changed := n.RedactSnapshot(s); changed != 0 {
			b.Fatalf("%d objects redacted again", changed)
		}
	}
}

// BenchmarkPairObjects pairs 20,000 objects a side, without a mapping and
// with one that renames every dev namespace (which copies dev's objects),
// and 20,000 dev-only objects (issue 15 reported them paired in quadratic
// time; they are a hash join, as the others).
func BenchmarkPairObjects(b *testing.B) {
	dev, prod := benchSnapshots(b)
	renames := map[string]string{}
	for i := range benchNamespaces {
		renames[gen.NamespaceName(i)] = gen.NamespaceName(i)
	}
	for _, bc := range []struct {
		name string
		m    drift.Mapping
	}{
		{"no-mapping", drift.Mapping{}},
		{"namespaces-and-substitutions", drift.Mapping{Namespaces: renames, Substitutions: []drift.Substitution{{Dev: "dev.example.com", Prod: "example.com"}}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if p := drift.PairObjects(dev, prod, bc.m); len(p) < len(prod.Objects) {
					b.Fatalf("%d pairs for %d prod objects", len(p), len(prod.Objects))
				}
			}
		})
	}
	b.Run("dev-only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if p := drift.PairObjects(dev, &drift.Snapshot{}, drift.Mapping{}); len(p) != len(dev.Objects) {
				b.Fatalf("%d pairs for %d dev-only objects", len(p), len(dev.Objects))
			}
		}
	})
}

// benchDeployments returns the dev and prod Deployment of a drifted
// namespace (dev runs another image tag).
func benchDeployments(b *testing.B) (dev, prod map[string]any) {
	d, p := benchSnapshots(b)
	id := drift.ObjectID{Group: "apps", Kind: "Deployment", Namespace: gen.NamespaceName(7), Name: "checkout-web-2"}
	for i := range benchNamespaces {
		if gen.Drifted(i) {
			id.Namespace = gen.NamespaceName(i)
			break
		}
	}
	do, po := d.Find(id), p.Find(id)
	if do == nil || po == nil {
		// Name the first Deployment of the namespace instead.
		for _, o := range p.Objects {
			if o.Kind == "Deployment" && o.Namespace == id.Namespace {
				id.Name = o.Name
				break
			}
		}
		do, po = d.Find(id), p.Find(id)
	}
	if do == nil || po == nil {
		b.Fatalf("no Deployment %s on both sides", id)
	}
	return do.Object, po.Object
}

// BenchmarkDiffFields compares a Deployment whose image differs, and the
// same Deployment with itself.
func BenchmarkDiffFields(b *testing.B) {
	dev, prod := benchDeployments(b)
	for _, bc := range []struct {
		name      string
		dev, prod map[string]any
		want      int
	}{{"image-differs", dev, prod, 1}, {"equal", prod, prod, 0}} {
		b.Run(bc.name, func(b *testing.B) {
			if d := drift.DiffFields(bc.dev, bc.prod); len(d) != bc.want {
				b.Fatalf("DiffFields found %d differences (%v), want %d", len(d), d, bc.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				drift.DiffFields(bc.dev, bc.prod)
			}
		})
	}
}
