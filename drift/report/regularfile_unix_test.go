//go:build unix

package report

import (
	"path/filepath"
	"testing"

	"github.com/driftgate/driftgate/internal/regularfile/regularfiletest"
)

// TestHistoryLoadRefusesFIFOsAndDevices: a report history file that is a
// FIFO, or a symlink to /dev/zero, is refused with its path, never read:
// reading a FIFO blocks until a writer comes, /dev/zero never ends.
func TestHistoryLoadRefusesFIFOsAndDevices(t *testing.T) {
	t.Parallel()
	regularfiletest.EachRefused(t, func(t *testing.T) string { return filepath.Join(t.TempDir(), "report-20260101T000000Z.json") }, func(path string) error {
		_, err := History{Dir: filepath.Dir(path)}.Load()
		return err
	})
}
