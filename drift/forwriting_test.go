package drift

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/driftgate/driftgate/internal/jsonx"
)

// TestObjectsKeptAsJSONWriteTheSameFile: a snapshot whose objects were
// kept only as JSON (CollectOptions.ForWriting) writes the file, digest
// included, that it would have written from the values, fails where that
// fails, and expands back to the values a load gives.
func TestObjectsKeptAsJSONWriteTheSameFile(t *testing.T) {
	t.Parallel()
	kept, loads := 0, 0
	for i := range 150 {
		gen := func() *Snapshot {
			r := rand.New(rand.NewPCG(uint64(i), 77))
			if i%25 == 3 {
				return validSnapshot(r, 300+r.IntN(600)) // encoded in chunks, in parallel
			}
			return randomSnapshot(r, r.IntN(6))
		}
		want, got := gen(), gen()
		e := &jsonx.Writer{}
		for j := range got.Objects {
			got.Objects[j].encode(e)
			if got.Objects[j].Encoded != nil {
				kept++
				if got.Objects[j].Object != nil {
					t.Fatal("an object kept as JSON still holds its values")
				}
			}
		}
		var wantBuf, gotBuf bytes.Buffer
		wantErr, gotErr := want.Encode(&wantBuf), got.Encode(&gotBuf)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("snapshot %d: error %v, from values %v", i, gotErr, wantErr)
		}
		if wantErr != nil {
			continue
		}
		if !bytes.Equal(wantBuf.Bytes(), gotBuf.Bytes()) {
			t.Fatalf("snapshot %d: the file differs from the one written from values:\n%s", i, cmp.Diff(wantBuf.String(), gotBuf.String()))
		}
		if got.Digest != want.Digest {
			t.Fatalf("snapshot %d: digest %s, from values %s", i, got.Digest, want.Digest)
		}
		if d, err := got.ComputeDigest(); err != nil || d != want.Digest {
			t.Fatalf("snapshot %d: ComputeDigest %s (%v), want %s", i, d, err, want.Digest)
		}
		if err := got.Expand(); err != nil {
			t.Fatalf("snapshot %d: %v", i, err)
		}
		loaded, err := DecodeSnapshot(bytes.NewReader(wantBuf.Bytes()))
		if err != nil {
			continue // random values that do not survive a round trip
		}
		loads++
		if d := cmp.Diff(loaded.Objects, got.Objects); d != "" {
			t.Fatalf("snapshot %d: expanded objects differ from loaded ones (-loaded +expanded):\n%s", i, d)
		}
	}
	t.Logf("%d objects kept as JSON; %d snapshots compared with their load", kept, loads)
	if loads < 50 {
		t.Errorf("only %d snapshots loaded back", loads)
	}
	if kept < 1000 {
		t.Errorf("%d objects kept as JSON; nearly all should be", kept)
	}
}
