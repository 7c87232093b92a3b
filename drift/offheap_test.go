package drift

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLoadOffHeapRefusesAFileOfAnotherSize: a file that grew or shrank
// since its size was taken is left to the ordinary read, from its start.
func TestLoadOffHeapRefusesAFileOfAnotherSize(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := validSnapshot(rand.New(rand.NewPCG(5, 6)), 50).Encode(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := DecodeSnapshot(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{buf.Len() - 100, buf.Len() + 100, buf.Len()} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := loadOffHeap(f, size, DefaultMaxSnapshotSize)
		if err != nil {
			t.Fatalf("size %d of %d: %v", size, buf.Len(), err)
		}
		if size != buf.Len() {
			if s != nil {
				t.Fatalf("size %d of %d: decoded", size, buf.Len())
			}
			s, err = decodeSnapshot(f, size, DefaultMaxSnapshotSize)
			if err != nil {
				t.Fatalf("size %d of %d, read again: %v", size, buf.Len(), err)
			}
		}
		f.Close()
		if d := cmp.Diff(want, s); d != "" {
			t.Fatalf("size %d of %d (-want +got):\n%s", size, buf.Len(), d)
		}
	}
}
