package drift

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/driftgate/driftgate/internal/atomicfile"
)

// ErrCorruptSnapshot is wrapped by Load's error when a file is truncated, is
// not a snapshot, or does not match its digest.
var ErrCorruptSnapshot = errors.New("snapshot is corrupt or was edited")

// ComputeDigest returns the snapshot's content digest: SHA-256 over its
// canonical compact JSON with the capture time and digest left out.
func (s *Snapshot) ComputeDigest() (string, error) {
	c := *s
	c.Metadata.CapturedAt = time.Time{}
	c.Digest = ""
	h := sha256.New()
	if err := json.NewEncoder(h).Encode(&c); err != nil {
		return "", fmt.Errorf("computing snapshot digest: %w", err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// Seal puts the snapshot in canonical order and sets its digest, so a
// snapshot held in memory (live, or from manifests) is named the same way as
// the file it would be saved to.
func (s *Snapshot) Seal() error {
	s.Sort()
	if s.Resources == nil {
		s.Resources = []ResourceType{}
	}
	if s.Unobserved == nil {
		s.Unobserved = []Unobserved{}
	}
	if s.Objects == nil {
		s.Objects = []Object{}
	}
	d, err := s.ComputeDigest()
	if err != nil {
		return err
	}
	s.Digest = d
	return nil
}

// Encode seals the snapshot and writes it as indented JSON.
func (s *Snapshot) Encode(w io.Writer) error {
	if err := s.Seal(); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(s)
}

// Save writes the snapshot to path atomically, gzipped when path ends in ".gz".
func (s *Snapshot) Save(path string) error {
	err := atomicfile.Write(path, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		var zw *gzip.Writer
		var out io.Writer = bw
		if strings.HasSuffix(path, ".gz") {
			zw = gzip.NewWriter(bw)
			out = zw
		}
		if err := s.Encode(out); err != nil {
			return err
		}
		if zw != nil {
			if err := zw.Close(); err != nil {
				return err
			}
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("writing snapshot %s: %w", path, err)
	}
	return nil
}

// LoadSnapshot reads and verifies a snapshot file (gzipped or not, told
// apart by content). A truncated, edited or foreign file is an error naming it.
func LoadSnapshot(path string) (*Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading snapshot: %w", err)
	}
	defer f.Close()
	s, err := DecodeSnapshot(f)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", path, err)
	}
	return s, nil
}

// DecodeSnapshot reads and verifies a snapshot from r.
func DecodeSnapshot(r io.Reader) (*Snapshot, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var in io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: bad gzip header: %v", ErrCorruptSnapshot, err)
		}
		defer zr.Close()
		in = zr
	}
	dec := json.NewDecoder(in)
	dec.UseNumber()
	dec.DisallowUnknownFields()
	var s Snapshot
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %v (was the file truncated?)", ErrCorruptSnapshot, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: unexpected data after the snapshot", ErrCorruptSnapshot)
	}
	if s.APIVersion != SnapshotAPIVersion || s.Kind != SnapshotKind {
		return nil, fmt.Errorf("%w: not a driftgate snapshot (apiVersion %q, kind %q; want %s %s)",
			ErrCorruptSnapshot, s.APIVersion, s.Kind, SnapshotAPIVersion, SnapshotKind)
	}
	want := s.Digest
	got, err := s.ComputeDigest()
	if err != nil {
		return nil, err
	}
	if want != got {
		return nil, fmt.Errorf("%w: content digest %s does not match the recorded %s; take the snapshot again", ErrCorruptSnapshot, got, want)
	}
	for i := range s.Objects {
		canonicalNumbers(s.Objects[i].Object)
	}
	return &s, nil
}
