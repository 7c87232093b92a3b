package rules

import (
	"path/filepath"
	"testing"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/fixtures/bench/gen"
)

// TestEvaluateLeavesLoadedSnapshotsUnchanged: a loaded snapshot shares its
// equal small maps between objects (drift.LoadSnapshot), so evaluating the
// built-in rules, with a namespace mapping and substitutions that rewrite
// dev objects, must change none of them: each snapshot still has the
// digest it was loaded with.
func TestEvaluateLeavesLoadedSnapshotsUnchanged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var snaps [2]*drift.Snapshot
	for i, v := range []gen.Variant{gen.Dev, gen.Prod} {
		s, err := gen.Snapshot(20, 100, v)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, []string{"dev.json", "prod.json"}[i])
		if err := s.Save(path); err != nil {
			t.Fatal(err)
		}
		if snaps[i], err = drift.LoadSnapshot(path); err != nil {
			t.Fatal(err)
		}
	}
	sets, err := Load([]string{"builtin"})
	if err != nil {
		t.Fatal(err)
	}
	mapping := drift.Mapping{
		Namespaces:    map[string]string{gen.NamespaceName(1): gen.NamespaceName(1) + "-prod", gen.NamespaceName(2): gen.NamespaceName(3)},
		Substitutions: []drift.Substitution{{Dev: "registry.example.com", Prod: "mirror.example.com"}, {Dev: "app", Prod: "svc"}},
	}
	res, err := Evaluate(snaps[0], snaps[1], sets, Options{Mapping: mapping, Now: benchNow})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) == 0 {
		t.Fatal("no findings: the mapping should have made some")
	}
	for i, s := range snaps {
		d, err := s.ComputeDigest()
		if err != nil {
			t.Fatal(err)
		}
		if d != s.Digest {
			t.Errorf("%s snapshot changed by Evaluate: digest %s, loaded with %s", []string{"dev", "prod"}[i], d, s.Digest)
		}
	}
}

// TestProjectWholeItemDoesNotWriteIt: a path that selects list items whole
// (containers[*]) projects each item as itself; adding its identity keys
// must not write into it, for it may be a loaded snapshot's shared map.
func TestProjectWholeItemDoesNotWriteIt(t *testing.T) {
	t.Parallel()
	item := map[string]any{"name": "app", "image": "nginx:1.27"}
	got := withIdentity(item, item)
	m, ok := got.(map[string]any)
	if !ok || len(m) != 2 || m["name"] != "app" {
		t.Fatalf("withIdentity = %v", got)
	}
	m["image"] = "changed"
	if item["image"] != "nginx:1.27" {
		t.Fatal("withIdentity returned the item itself: writing to the result wrote to the snapshot's object")
	}
}
