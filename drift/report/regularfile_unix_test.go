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
	tests := []struct {
		name string
		make func(t testing.TB, path string)
		want string
	}{
		{"fifo", regularfiletest.FIFO, "is a named pipe (FIFO), not a regular file; driftgate reads only regular files"},
		{"link to /dev/zero", regularfiletest.LinkToDevZero, "is a device, not a regular file; driftgate reads only regular files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := History{Dir: t.TempDir()}
			path := filepath.Join(h.Dir, "report-20260101T000000Z.json")
			tt.make(t, path)
			regularfiletest.Refused(t, path, path+": "+tt.want, func() error {
				_, err := h.Load()
				return err
			})
		})
	}
}
