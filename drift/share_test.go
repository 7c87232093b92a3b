package drift_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/fixtures/bench/gen"
)

// TestLoadSnapshotSharesMapsAndOwnsItsMemory loads a snapshot large enough
// to be read outside the heap, then reads every value of it after that
// memory was given back: a string left pointing into it would crash this
// test. Equal small maps must be one map, and the whole equal to what was
// saved.
func TestLoadSnapshotSharesMapsAndOwnsItsMemory(t *testing.T) {
	t.Parallel()
	saved, err := gen.Snapshot(20, 100, gen.Prod)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "prod.json")
	if err := saved.Save(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() < 1<<20 {
		t.Fatalf("the snapshot file must be over 1 MiB to be read outside the heap: %v, %v", fi, err)
	}
	loaded, err := drift.LoadSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	saved.Metadata.CapturedAt = loaded.Metadata.CapturedAt // written to the second
	if d := cmp.Diff(saved, loaded); d != "" {
		t.Fatalf("loaded snapshot differs from the saved one (-saved +loaded):\n%s", d)
	}
	savedMaps, savedDistinct := countMaps(saved)
	loadedMaps, loadedDistinct := countMaps(loaded)
	t.Logf("%d maps: %d distinct as saved, %d as loaded", loadedMaps, savedDistinct, loadedDistinct)
	if savedMaps != loadedMaps || savedDistinct != savedMaps {
		t.Fatalf("the saved snapshot has %d maps, %d distinct; loaded %d", savedMaps, savedDistinct, loadedMaps)
	}
	if loadedDistinct*2 > loadedMaps {
		t.Errorf("loaded snapshot: %d distinct maps of %d; equal small maps should be shared", loadedDistinct, loadedMaps)
	}
}

// countMaps counts the maps in every object, and how many distinct ones.
func countMaps(s *drift.Snapshot) (total, distinct int) {
	seen := map[uintptr]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			total++
			seen[reflect.ValueOf(t).Pointer()] = true
			for _, c := range t {
				walk(c)
			}
		case []any:
			for _, c := range t {
				walk(c)
			}
		}
	}
	for _, o := range s.Objects {
		walk(o.Object)
	}
	return total, len(seen)
}
