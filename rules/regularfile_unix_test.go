//go:build unix

package rules

import (
	"path/filepath"
	"testing"

	"github.com/driftgate/driftgate/internal/regularfile/regularfiletest"
)

// TestLoadFileRefusesFIFOsAndDevices: a rule set (or waiver file) that is a
// FIFO, or a symlink to /dev/zero, is refused with its path, never read:
// reading a FIFO blocks until a writer comes, /dev/zero never ends.
func TestLoadFileRefusesFIFOsAndDevices(t *testing.T) {
	t.Parallel()
	regularfiletest.EachRefused(t, func(t *testing.T) string { return filepath.Join(t.TempDir(), "rules.yaml") }, func(path string) error {
		_, err := LoadFile(path)
		return err
	})
}
