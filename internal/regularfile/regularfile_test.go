package regularfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/driftgate/driftgate/internal/inputerr"
)

func TestReadFileReadsRegularFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, size := range []int{0, 1, 511, 512, 513, 1 << 20} {
		path := filepath.Join(dir, "f")
		want := []byte(strings.Repeat("x", size))
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(path, "hint")
		if err != nil || string(got) != string(want) {
			t.Fatalf("size %d: got %d bytes, %v", size, len(got), err)
		}
	}
}

func TestReadFileRefusesAFolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := ReadFile(dir, "give a file")
	var ie *inputerr.Error
	if !errors.As(err, &ie) || ie.File != dir || ie.Error() != dir+": is a folder, not a regular file; driftgate reads only regular files (give a file)" {
		t.Fatalf("got %v", err)
	}
}

func TestReadFileMissing(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "none")
	if _, err := ReadFile(path, "hint"); !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "open "+path+": ") {
		t.Fatalf("got %v", err)
	}
}

func TestRefusalNamesTheKind(t *testing.T) {
	t.Parallel()
	for mode, want := range map[fs.FileMode]string{
		fs.ModeNamedPipe:                  "is a named pipe (FIFO), not a regular file",
		fs.ModeDevice | fs.ModeCharDevice: "is a device, not a regular file",
		fs.ModeDevice:                     "is a device, not a regular file",
		fs.ModeSocket:                     "is a socket, not a regular file",
		fs.ModeDir:                        "is a folder, not a regular file",
		fs.ModeIrregular:                  "is a special file, not a regular file",
	} {
		if got := Refusal("p", mode, "h").Error(); got != "p: "+want+"; driftgate reads only regular files (h)" {
			t.Errorf("%v: %q", mode, got)
		}
	}
}
