package drift

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/driftgate/driftgate/internal/jsonx"
)

// ComputeDigest returns the snapshot's content digest: SHA-256 over its
// canonical compact JSON with the capture time and digest left out.
//
// The canonical JSON is what encoding/json's Encoder writes for the
// Snapshot (HTML escaping on, a final newline). writeDigestJSON produces
// the same bytes without reflection; encoding/json is used when it cannot.
func (s *Snapshot) ComputeDigest() (string, error) {
	h := sha256.New()
	if err := s.writeDigestJSON(h); err != nil {
		if !errors.Is(err, jsonx.ErrNotCanonical) {
			return "", fmt.Errorf("computing snapshot digest: %w", err)
		}
		return s.computeDigestReflect()
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// computeDigestReflect is ComputeDigest through encoding/json, for values
// writeDigestJSON does not handle (and the errors encoding/json gives).
func (s *Snapshot) computeDigestReflect() (string, error) {
	if err := s.Expand(); err != nil {
		return "", err
	}
	c := *s
	c.Metadata.CapturedAt = time.Time{}
	c.Digest, c.Integrity, c.Signature = "", "", nil
	h := sha256.New()
	if err := json.NewEncoder(h).Encode(&c); err != nil {
		return "", fmt.Errorf("computing snapshot digest: %w", err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// Seal puts the snapshot in canonical order and sets its digests, so a
// snapshot held in memory (live, or from manifests) is named the same way as
// the file it would be saved to.
func (s *Snapshot) Seal() error {
	s.prepare()
	d, err := s.ComputeDigest()
	if err != nil {
		return err
	}
	s.Digest = d
	s.Integrity, err = s.IntegrityDigest()
	return err
}

// IntegrityDigest returns the snapshot's integrity digest: SHA-256 over
// the compact JSON (as encoding/json's Encoder writes it) of
// {"metadata": ..., "digest": ...}, for the metadata with its capture time
// and the content digest as they are. Digest leaves the capture time out,
// so that equal states have equal digests; this one covers it, and
// through Digest everything else.
func (s *Snapshot) IntegrityDigest() (string, error) {
	h := sha256.New()
	err := json.NewEncoder(h).Encode(struct {
		Metadata SnapshotMeta `json:"metadata"`
		Digest   string       `json:"digest"`
	}{s.Metadata, s.Digest})
	if err != nil {
		return "", fmt.Errorf("computing snapshot integrity digest: %w", err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// checkIntegrity refuses a snapshot whose integrity digest, when it has
// one, does not match its metadata and content digest (checked already).
func (s *Snapshot) checkIntegrity() error {
	if s.Integrity == "" {
		return nil // written before the integrity digest: see Integrity
	}
	got, err := s.IntegrityDigest()
	if err != nil {
		return err
	}
	if got != s.Integrity {
		return fmt.Errorf("%w: the metadata (capturedAt %s, context %q) does not match the recorded integrity digest %s: the file was changed after driftgate wrote it; take the snapshot again",
			ErrCorruptSnapshot, s.Metadata.CapturedAt.Format(time.RFC3339), s.Metadata.Context, s.Integrity)
	}
	return nil
}

// prepare puts the snapshot in canonical order, with empty lists rather
// than none.
func (s *Snapshot) prepare() {
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
}

// writeDigestJSON writes what ComputeDigest hashes: the snapshot as
// json.Encoder.Encode writes it (compact, with a final newline) without
// the capture time and the digest. It returns jsonx.ErrNotCanonical,
// having written part of it, when encoding/json must encode it instead.
func (s *Snapshot) writeDigestJSON(w io.Writer) error {
	e := &jsonx.Writer{W: w, Buf: make([]byte, 0, jsonx.FlushSize+4096)}
	meta := s.Metadata
	meta.CapturedAt = time.Time{}
	if err := writeSnapshotHead(e, s, meta); err != nil {
		return err
	}
	switch {
	case s.Objects == nil:
		e.Buf = append(e.Buf, "null"...)
	case len(s.Objects) == 0:
		e.Buf = append(e.Buf, "[]"...)
	default:
		e.Buf = append(e.Buf, '[')
		e.Flush()
		err := s.encodeObjects(false, func(c *encodedChunk) error {
			if e.Err == nil {
				_, e.Err = w.Write(c.compact)
			}
			return e.Err
		})
		if err != nil {
			return err
		}
		e.Buf = append(e.Buf, ']')
	}
	e.Buf = append(e.Buf, `,"digest":""}`+"\n"...)
	e.Flush()
	return e.Err
}

// writeHead writes the compact JSON of the snapshot's fields before its
// objects, up to the colon after "objects", with meta as its metadata:
// the start of what the digest covers.
func (s *Snapshot) writeHead(w io.Writer, meta SnapshotMeta) error {
	e := &jsonx.Writer{W: w}
	if err := writeSnapshotHead(e, s, meta); err != nil {
		return err
	}
	e.Flush()
	return e.Err
}
