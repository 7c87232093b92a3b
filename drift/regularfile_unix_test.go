//go:build unix

package drift

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSidesMustBeRegularFiles: a FIFO or a device named like a manifest or
// a snapshot, or a symlink to one, is refused with its path, never read:
// reading a FIFO blocks until a writer comes, /dev/zero never ends.
func TestSidesMustBeRegularFiles(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero here")
	}
	fifo := func(t *testing.T, path string) {
		t.Helper()
		if err := syscall.Mkfifo(path, 0o644); err != nil {
			t.Skipf("no FIFOs here: %v", err)
		}
	}
	zeroLink := func(t *testing.T, path string) { symlink(t, "/dev/zero", path) }
	read := map[string]func(path string) error{
		"ParseSource":           func(p string) error { _, err := ParseSource(p); return err },
		"LoadSnapshot":          func(p string) error { _, err := LoadSnapshot(p); return err },
		"SnapshotFromManifests": func(p string) error { _, err := SnapshotFromManifests([]string{p}, ManifestOptions{}); return err },
	}
	tests := []struct {
		name   string
		make   func(t *testing.T, path string)
		file   string // made in a temporary folder
		inDir  bool   // the folder is what is read
		reader string
		what   string
	}{
		{"fifo side", fifo, "m.yaml", false, "ParseSource", "a named pipe (FIFO)"},
		{"fifo snapshot", fifo, "s.json.gz", false, "LoadSnapshot", "a named pipe (FIFO)"},
		{"fifo manifest file", fifo, "m.yaml", false, "SnapshotFromManifests", "a named pipe (FIFO)"},
		{"fifo in a manifest folder", fifo, "m.yaml", true, "SnapshotFromManifests", "a named pipe (FIFO)"},
		{"link to /dev/zero as side", zeroLink, "m.yaml", false, "ParseSource", "a device"},
		{"link to /dev/zero as snapshot", zeroLink, "s.json", false, "LoadSnapshot", "a device"},
		{"link to /dev/zero in a manifest folder", zeroLink, "zero.yml", true, "SnapshotFromManifests", "a device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, tt.file)
			tt.make(t, path)
			arg := path
			if tt.inDir {
				arg = dir
			}
			done := make(chan error, 1)
			go func() { done <- read[tt.reader](arg) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s(%s) still reading after 10s", tt.reader, arg)
			}
			var ie *InputError
			if !errors.As(err, &ie) || ie.File != path || !strings.Contains(err.Error(), tt.what+", not a regular file") {
				t.Fatalf("want a refusal of %s as %s, got %v", path, tt.what, err)
			}
		})
	}
}

// TestSkippedNonRegularFilesAreNoted: a FIFO that is not named like a
// manifest is passed over, and said to be.
func TestSkippedNonRegularFilesAreNoted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", configMap("a"))
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	_, s := manifestIDs(t, dir)
	want := "manifests " + dir + ": 1 skipped, not a regular file (a pipe, device or socket): " + filepath.Join(dir, "pipe")
	if len(s.Notes) != 1 || s.Notes[0] != want {
		t.Errorf("notes %q, want %q", s.Notes, want)
	}
}
