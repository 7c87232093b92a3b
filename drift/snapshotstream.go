package drift

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"time"

	"github.com/driftgate/driftgate/internal/jsonx"
)

// SpilledSnapshot is a snapshot whose objects wait in temporary files, in
// sorted runs, rather than in memory: what CollectSpilled takes. Encode and
// Save write the same bytes as Snapshot's for the same objects (the same
// order, digest and integrity digest), merging the runs as they write, so
// a snapshot of 200,000 objects is written without holding them.
//
// Close removes the temporary files; it must be called.
type SpilledSnapshot struct {
	// Head is the snapshot without its objects: metadata, resource types,
	// unobserved types; Encode sets its Digest, Integrity and Signature,
	// and SignWith set on it signs the file. Objects stays empty (but
	// when the objects could not be spilled, see mem).
	Head *Snapshot

	spill *spillFile
	// mem, when set, is the whole snapshot in memory, which Encode
	// writes: an object spilling cannot encode as the file holds it
	// (encoding/json must), as Snapshot.Encode does.
	mem *Snapshot
	// folded and count are set by the first Encode: twins folded and the
	// objects written.
	folded  map[spillRecord]bool
	count   int
	counted bool
}

// Objects is how many objects the snapshot holds, once written (Encode,
// Save).
func (s *SpilledSnapshot) Objects() int {
	if s.mem != nil {
		return len(s.mem.Objects)
	}
	return s.count
}

// Close removes the temporary files.
func (s *SpilledSnapshot) Close() error {
	if s.spill == nil {
		return nil
	}
	err := s.spill.Close()
	s.spill = nil
	return err
}

// Save writes the snapshot to path atomically, gzipped when path ends in
// ".gz", as Snapshot.Save.
func (s *SpilledSnapshot) Save(path string) error { return saveEncoded(path, s.Encode) }

// Encode writes the snapshot as indented JSON, as Snapshot.Encode.
func (s *SpilledSnapshot) Encode(w io.Writer) error {
	if s.mem != nil {
		return s.mem.Encode(w)
	}
	if s.spill == nil {
		return errors.New("writing a spilled snapshot after Close")
	}
	head := s.Head
	if err := head.canSign(); err != nil {
		return err
	}
	head.prepare()
	if !s.counted {
		// Twins are known only once the runs are merged, and Folded is
		// in the metadata, which comes first: a first pass reads only
		// the keys.
		folded, remain, err := s.spill.twins()
		if err != nil {
			return err
		}
		head.Metadata.Folded += len(folded)
		s.folded, s.count, s.counted = folded, remain, true
	}
	head.Objects = []Object{}
	h := sha256.New()
	meta := head.Metadata
	meta.CapturedAt = time.Time{}
	if err := head.writeHead(h, meta); err != nil {
		return err
	}
	out := &jsonx.Writer{W: w, Indent: true, Buf: make([]byte, 0, jsonx.FlushSize+4096)}
	if err := writeSnapshotHead(out, head, head.Metadata); err != nil {
		return err
	}
	if s.count == 0 {
		h.Write([]byte("[]"))
		out.Buf = append(out.Buf, "[]"...)
	} else {
		h.Write([]byte("["))
		out.Buf = append(out.Buf, '[')
		if err := s.writeObjects(h, out); err != nil {
			return err
		}
		h.Write([]byte("]"))
		out.Newline(1)
		out.Buf = append(out.Buf, ']')
	}
	h.Write([]byte(`,"digest":""}` + "\n"))
	head.Digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return head.writeTail(out)
}

// writeObjects merges the runs into the digest (compact, comma-joined)
// and out (indented, as encodeObjects indents). Indenting and writing run
// on a goroutine of their own, a chunk behind the merge.
func (s *SpilledSnapshot) writeObjects(h io.Writer, out *jsonx.Writer) error {
	type chunk struct {
		compact []byte
		ends    []int
	}
	const chunkBytes = 256 << 10
	todo := make(chan *chunk, 4)
	free := make(chan *chunk, 6)
	done := make(chan error, 1)
	go func() {
		var err error
		var ind []byte
		for c := range todo {
			if err == nil {
				ind = ind[:0]
				start := 0
				for _, end := range c.ends {
					p := c.compact[start:end]
					if p[0] == ',' { // the separator: objects start with '{'
						ind = append(ind, ',')
						p = p[1:]
					}
					ind = append(ind, '\n', ' ', ' ')
					ind = jsonx.AppendIndented(ind, p, 2)
					start = end
				}
				out.Flush()
				if out.Err == nil {
					_, out.Err = out.W.Write(ind)
				}
				err = out.Err
			}
			select {
			case free <- c:
			default:
			}
		}
		done <- err
	}()
	cur := &chunk{}
	first := true
	send := func() {
		h.Write(cur.compact)
		todo <- cur
		select {
		case cur = <-free:
			cur.compact, cur.ends = cur.compact[:0], cur.ends[:0]
		default:
			cur = &chunk{}
		}
	}
	err := s.spill.merge(true, func(c *spillCursor) error {
		if s.folded[spillRecord{c.run, c.idx}] {
			return nil
		}
		if !first {
			cur.compact = append(cur.compact, ',')
		}
		first = false
		cur.compact = append(cur.compact, c.body...)
		cur.ends = append(cur.ends, len(cur.compact))
		if len(cur.compact) >= chunkBytes {
			send()
		}
		return nil
	})
	if len(cur.ends) > 0 {
		send()
	}
	close(todo)
	werr := <-done
	return errors.Join(err, werr)
}

// writeTail sets the integrity digest and signature, the content digest
// being set, and writes them and the end of the file: the one tail of
// every snapshot file, written in memory (encodeSealed) or streamed.
func (s *Snapshot) writeTail(out *jsonx.Writer) error {
	integrity, err := s.IntegrityDigest()
	if err != nil {
		return err
	}
	s.Integrity = integrity
	if err := s.sign(); err != nil {
		return err
	}
	out.Key("digest", false, 1)
	out.Str(s.Digest)
	out.Key("integrity", false, 1)
	out.Str(s.Integrity)
	if s.Signature != nil {
		out.Key("signature", false, 1)
		if err := out.Reflect(s.Signature, 1); err != nil {
			return err
		}
	}
	out.Newline(0)
	out.Buf = append(out.Buf, '}', '\n')
	out.Flush()
	return out.Err
}
