package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriteHonoursUmask checks that perm is filtered by the umask, as
// os.Create does, and that a private file is private whatever the umask.
// Not parallel: the umask belongs to the whole process.
func TestWriteHonoursUmask(t *testing.T) {
	tests := []struct {
		name  string
		umask int
		perm  os.FileMode
		want  os.FileMode
	}{
		{"shared file, umask 022", 0o022, 0o666, 0o644},
		{"shared file, umask 077", 0o077, 0o666, 0o600},
		{"shared file, umask 002", 0o002, 0o666, 0o664},
		{"private file, umask 000", 0o000, 0o600, 0o600},
		{"private file, umask 022", 0o022, 0o600, 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := syscall.Umask(tt.umask)
			defer syscall.Umask(old)
			path := filepath.Join(t.TempDir(), "f")
			for range 2 { // create, then replace
				if err := WriteBytes(path, tt.perm, []byte("x")); err != nil {
					t.Fatal(err)
				}
				fi, err := os.Lstat(path)
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != tt.want {
					t.Errorf("mode %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// TestWriteReplacesSymlink checks that a symlink where the file goes is
// replaced, never written through.
func TestWriteReplacesSymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(link, 0o600, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the write went through the link: target now %q", b)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink != 0 {
		t.Errorf("link not replaced by a file: %v %v", fi, err)
	}
}

// TestWriteNewNeverReplaces: WriteNew refuses a path that exists, also
// when the file appears while the content is being written, and leaves
// neither the other file changed nor a temporary file behind.
func TestWriteNewNeverReplaces(t *testing.T) {
	for _, tt := range []struct {
		name   string
		before bool // the file exists before WriteNew starts
		during bool // another writer creates it while fill runs
	}{
		{name: "exists", before: true},
		{name: "appears while writing", during: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "driftgate.yaml")
			if tt.before {
				if err := os.WriteFile(path, []byte("theirs"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := WriteNew(path, 0o666, func(w io.Writer) error {
				if tt.during {
					if err := os.WriteFile(path, []byte("theirs"), 0o600); err != nil {
						return err
					}
				}
				_, err := w.Write([]byte("ours"))
				return err
			})
			if !errors.Is(err, fs.ErrExist) {
				t.Fatalf("WriteNew over an existing file: %v, want fs.ErrExist", err)
			}
			if b, _ := os.ReadFile(path); string(b) != "theirs" {
				t.Errorf("the existing file holds %q, want it unchanged", b)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("left behind: %v", entries)
			}
		})
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "new.yaml")
	if err := WriteNew(path, 0o600, func(w io.Writer) error { _, err := w.Write([]byte("ours")); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "ours" {
		t.Errorf("new file holds %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}
