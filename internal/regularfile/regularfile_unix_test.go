//go:build unix

package regularfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/driftgate/driftgate/internal/regularfile/regularfiletest"
)

// TestRefusesFIFOsAndDevices: a FIFO, a device, or a symlink to one is
// refused with its path, never read: reading a FIFO blocks until a writer
// comes, /dev/zero never ends.
func TestRefusesFIFOsAndDevices(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		make func(t testing.TB, path string)
		want string
	}{
		{"fifo", regularfiletest.FIFO, "is a named pipe (FIFO), not a regular file; driftgate reads only regular files (hint)"},
		{"link to /dev/zero", regularfiletest.LinkToDevZero, "is a device, not a regular file; driftgate reads only regular files (hint)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "f.yaml")
			tt.make(t, path)
			regularfiletest.Refused(t, path, path+": "+tt.want, func() error {
				_, err := ReadFile(path, "hint")
				return err
			})
			regularfiletest.Refused(t, path, path+": "+tt.want, func() error {
				f, _, err := Open(path, "hint")
				if err == nil {
					f.Close()
				}
				return err
			})
		})
	}
	t.Run("/dev/null", func(t *testing.T) {
		t.Parallel()
		if _, err := os.Stat(os.DevNull); err != nil {
			t.Skip("no /dev/null here")
		}
		regularfiletest.Refused(t, os.DevNull, "is a device", func() error {
			_, err := ReadFile(os.DevNull, "hint")
			return err
		})
	})
}
