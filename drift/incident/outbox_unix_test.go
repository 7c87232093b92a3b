//go:build unix

package incident

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/driftgate/driftgate/internal/regularfile/regularfiletest"
)

// TestOutboxRefusesFIFOsAndLinks: an outbox entry that is a FIFO, or a
// symlink (to /dev/zero here), is refused with its path, never read:
// reading a FIFO blocks until a writer comes, /dev/zero never ends. The
// outbox is in the store, so, like every store file, a link is not
// followed at all.
func TestOutboxRefusesFIFOsAndLinks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		make func(t testing.TB, path string)
		want string
	}{
		{"fifo", regularfiletest.FIFO, "is a named pipe (FIFO), not a regular file; driftgate reads only regular files"},
		{"link to /dev/zero", regularfiletest.LinkToDevZero, "is a symbolic link; driftgate does not follow links in the incident store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := &Deliverer{Store: &Store{Dir: t.TempDir()}}
			if err := os.MkdirAll(d.outboxDir(), dirMode); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(d.outboxDir(), "INC-1.0.json")
			tt.make(t, path)
			regularfiletest.Refused(t, path, tt.want, func() error {
				_, err := d.Outbox()
				return err
			})
			regularfiletest.Refused(t, path, tt.want, func() error {
				_, err := d.Flush(t.Context())
				return err
			})
		})
	}
}
