package drift

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// SpooledSnapshot is a snapshot written, as its file is, to a temporary
// file that is unlinked at once: a live capture or a folder of manifests
// that a comparison reads as it streams past (Stream), or whole (Load),
// as it reads a snapshot file, without holding it in between and without
// leaving anything behind on any exit. Close must be called.
type SpooledSnapshot struct {
	// Notes are the notes of the snapshot spooled (Snapshot.Notes), which
	// its file does not hold.
	Notes []string

	f    *os.File
	size int64
}

// Spool writes the snapshot (merging its runs, as Save does) to a
// temporary file in dir ("" for $TMPDIR). The file is readable by its
// owner only and unlinked before a byte is written.
func (s *SpilledSnapshot) Spool(dir string) (*SpooledSnapshot, error) {
	notes := s.Head.Notes
	if s.mem != nil {
		notes = s.mem.Notes
	}
	return spool(dir, notes, s.Encode)
}

// Spool writes the sealed snapshot to a temporary file as
// SpilledSnapshot.Spool does, for a comparison to stream it: a side
// loaded whole (a blob, a rendered chart, defaulted manifests) is then
// held only as long as it takes to write it.
func (s *Snapshot) Spool(dir string) (*SpooledSnapshot, error) {
	return spool(dir, s.Notes, s.Encode)
}

func spool(dir string, notes []string, encode func(io.Writer) error) (*SpooledSnapshot, error) {
	f, err := os.CreateTemp(dir, "driftgate-snapshot-*")
	if err != nil {
		return nil, fmt.Errorf("creating a temporary snapshot: %w", err)
	}
	if os.Remove(f.Name()) == nil {
		spillUnlinked(f)
	}
	sp := &SpooledSnapshot{Notes: notes, f: f}
	if err := encode(f); err != nil {
		sp.Close()
		return nil, fmt.Errorf("writing a temporary snapshot: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		sp.Close()
		return nil, fmt.Errorf("writing a temporary snapshot: %w", err)
	}
	sp.size = info.Size()
	return sp, nil
}

// Stream reads the spooled snapshot as OpenSnapshotStream reads a file,
// named name in its errors, with nothing redacted (it was normalized by
// this version). Closing the stream leaves the spool open; it can be
// streamed again or loaded.
func (sp *SpooledSnapshot) Stream(name string) (*SnapshotStream, error) {
	r := io.NewSectionReader(sp.f, 0, sp.size)
	return openStream(name, r, io.NopCloser(nil), max(int64(DefaultMaxSnapshotSize), sp.size), nil)
}

// Load reads the spooled snapshot whole, as LoadSnapshot reads a file,
// with its Notes.
func (sp *SpooledSnapshot) Load() (*Snapshot, error) {
	if _, err := sp.f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("reading back a temporary snapshot: %w", err)
	}
	limit := max(int64(DefaultMaxSnapshotSize), sp.size)
	s, err := loadOffHeap(sp.f, int(sp.size), limit)
	if s == nil && err == nil {
		s, err = decodeSnapshot(sp.f, int(sp.size), limit)
	}
	if err != nil {
		return nil, fmt.Errorf("reading back a temporary snapshot: %w", err)
	}
	s.Notes = sp.Notes
	return s, nil
}

// Close closes (and, if not done already, removes) the temporary file.
func (sp *SpooledSnapshot) Close() error {
	if sp.f == nil {
		return nil
	}
	err := sp.f.Close()
	if _, gone := spillRemoved.LoadAndDelete(sp.f); !gone {
		err = errors.Join(err, os.Remove(sp.f.Name()))
	}
	sp.f = nil
	return err
}
