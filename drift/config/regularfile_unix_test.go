//go:build unix

package config

import (
	"path/filepath"
	"testing"

	"github.com/driftgate/driftgate/internal/regularfile/regularfiletest"
)

// TestLoadRefusesFIFOsAndDevices: a config file that is a FIFO, or a
// symlink to /dev/zero, is refused with its path, never read: reading a
// FIFO blocks until a writer comes, /dev/zero never ends.
func TestLoadRefusesFIFOsAndDevices(t *testing.T) {
	t.Parallel()
	regularfiletest.EachRefused(t, func(t *testing.T) string { return filepath.Join(t.TempDir(), DefaultFile) }, func(path string) error {
		_, err := Find(path)
		return err
	})
}
