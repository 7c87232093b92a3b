package atomicfile

import (
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
