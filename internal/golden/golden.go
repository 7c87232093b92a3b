// Package golden compares test output with golden files under
// testdata/<TestName>/<name>.golden and rewrites them when the tests run
// with -update.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// Assert fails the test when got differs from the golden file name of the
// running test, testdata/<TestName>/<name>.golden; with -update it writes
// got there first.
func Assert(t testing.TB, name string, got []byte) {
	t.Helper()
	AssertFile(t, filepath.Join("testdata", t.Name(), name+".golden"), got)
}

// AssertFile is Assert for a file kept elsewhere, such as a manifest the
// project ships that a test regenerates.
func AssertFile(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s is not what the test produced; go test -update rewrites it (-want +got):\n%s", path, diff)
	}
}
