package drift

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/driftgate/driftgate/drift/sign"
	"github.com/driftgate/driftgate/internal/jsonx"
)

// decodeSnapshotData decodes raw, the bytes read before rerr, on the fast
// path (see decodeSnapshotFast); whatever the fast path does not accept
// is decoded by decodeSnapshotReflect, the reference, so errors and edge
// cases are exactly its. JSON longer than limit, once inflated, is
// errOverLimit.
func decodeSnapshotData(raw []byte, rerr error, limit int64) (*Snapshot, error) {
	s, err := decodeSnapshotUnchecked(raw, rerr, limit)
	if err != nil {
		return nil, err
	}
	if err := s.checkIntegrity(); err != nil {
		return nil, err
	}
	if err := s.checkObjects(); err != nil {
		return nil, err
	}
	return s, nil
}

func decodeSnapshotUnchecked(raw []byte, rerr error, limit int64) (*Snapshot, error) {
	if rerr != nil {
		// Let the reference meet the same read error at the same place.
		return decodeSnapshotReflect(io.MultiReader(bytes.NewReader(raw), errReader{rerr}), limit)
	}
	if int64(len(raw)) > limit {
		return nil, errOverLimit
	}
	data := raw
	if bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return decodeSnapshotReflect(bytes.NewReader(raw), limit)
		}
		// gzip's trailer holds the uncompressed size (mod 4 GiB); a
		// damaged one must not make a small file allocate gigabytes.
		hint := 0
		if len(raw) >= 4 {
			hint = int(min(int64(binary.LittleEndian.Uint32(raw[len(raw)-4:])), 128*int64(len(raw)), limit))
		}
		// A gzip bomb is stopped at the limit, before it is held.
		data, err = readAll(&limitReader{r: zr, n: limit}, hint)
		if errors.Is(err, errOverLimit) {
			return nil, err
		}
		if err != nil {
			return decodeSnapshotReflect(bytes.NewReader(raw), limit)
		}
	}
	if s, ok := decodeSnapshotFast(data); ok {
		return s, nil
	}
	return decodeSnapshotReflect(bytes.NewReader(raw), limit)
}

// checkObjects puts the objects in order, as driftgate writes them and as
// Find needs them, and refuses an object twice: a file that holds one
// twice was not written by driftgate, and which copy a comparison met
// would decide what it found.
func (s *Snapshot) checkObjects() error {
	sorted := true
	for i := 1; i < len(s.Objects) && sorted; i++ {
		sorted = s.Objects[i-1].ID().Compare(s.Objects[i].ID()) < 0
	}
	if sorted {
		return nil
	}
	slices.SortStableFunc(s.Objects, func(a, b Object) int { return a.ID().Compare(b.ID()) })
	for i := 1; i < len(s.Objects); i++ {
		if s.Objects[i-1].ID() == s.Objects[i].ID() {
			return fmt.Errorf("%w: %s appears twice; take the snapshot again", ErrCorruptSnapshot, s.Objects[i].ID())
		}
	}
	return nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// decodeSnapshotReflect reads and verifies a snapshot from r with
// encoding/json: the reference decoder, and the one that words the errors.
// More than limit bytes of JSON is errOverLimit.
func decodeSnapshotReflect(r io.Reader, limit int64) (*Snapshot, error) {
	size := 1 << 20
	if br, ok := r.(*bytes.Reader); ok && br.Len() < size {
		size = br.Len() + 16 // the whole input, without a megabyte per small one
	}
	br := bufio.NewReaderSize(r, size)
	var in io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: bad gzip header: %v", ErrCorruptSnapshot, err)
		}
		defer zr.Close()
		in = zr
	}
	dec := strictDecoder(&limitReader{r: in, n: limit})
	var s Snapshot
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, errOverLimit) {
			return nil, err
		}
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
	got, err := s.computeDigestReflect()
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

// strictDecoder is how a snapshot's JSON is read by encoding/json: numbers
// kept exact, and no field the types do not know.
func strictDecoder(r io.Reader) *json.Decoder {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	dec.DisallowUnknownFields()
	return dec
}

// Expand turns the objects CollectOptions.ForWriting kept as JSON back
// into values, as LoadSnapshot would decode them.
func (s *Snapshot) Expand() error {
	for i := range s.Objects {
		o := &s.Objects[i]
		if o.Encoded == nil {
			continue
		}
		d := snapshotDecoder{jsonx.NewDecoder(o.Encoded, false)}
		v, err := d.object()
		if err != nil || d.Pos != len(d.Data) {
			// What the fast path does not take, as decodeSnapshotReflect
			// decodes it.
			dec := strictDecoder(bytes.NewReader(o.Encoded))
			v = Object{}
			if err := dec.Decode(&v); err != nil {
				return fmt.Errorf("expanding %s: %w", o.ID(), err)
			}
			canonicalNumbers(v.Object)
		}
		*o = v
	}
	return nil
}

// decodeSnapshotFast decodes and verifies a snapshot as
// decodeSnapshotReflect does, several times faster and with less memory,
// when the file is as driftgate writes it. It reports false for anything
// else (a field out of order, a key out of order in an object, a string or
// number not written the canonical way, a null where a struct is, a bad
// digest, ...), and the reference decoder then decides.
//
// Accepting only canonical input is what makes it fast: the objects'
// canonical JSON, which the digest covers, is then the file's bytes without
// white space, so the digest is hashed from the file (by a second
// goroutine, while this one decodes) instead of encoding every object
// again, and it is the digest the reference computes.
func decodeSnapshotFast(data []byte) (*Snapshot, bool) {
	d := snapshotDecoder{jsonx.NewDecoder(data, false)}
	s, digest, err := d.snapshot()
	if err != nil || s.APIVersion != SnapshotAPIVersion || s.Kind != SnapshotKind || digest != s.Digest {
		return nil, false
	}
	return s, true
}

// snapshotDecoder reads the snapshot file's structure with the engine's
// strict decoder, which takes only canonical JSON.
type snapshotDecoder struct{ *jsonx.Decoder }

var (
	snapshotFieldNames   = []string{"apiVersion", "kind", "metadata", "resources", "unobserved", "objects", "digest", "integrity", "signature"}
	snapshotOptional     = []bool{false, false, false, false, false, false, false, true, true} // files before integrity have none; unsigned files no signature
	objectFieldNames     = []string{"group", "version", "kind", "namespace", "name", "object", "provenance"}
	objectOptional       = []bool{true, false, false, true, false, false, false}
	provenanceFieldNames = []string{"managers", "lastApplied", "owner", "deployTool"}
	provenanceOptional   = []bool{true, true, true, true}
	managerFieldNames    = []string{"manager", "operation", "subresource", "fields", "paths"}
	managerOptional      = []bool{false, false, true, true, true}
	ownerFieldNames      = []string{"apiVersion", "kind", "name", "controller"}
	ownerOptional        = []bool{false, false, false, true}
)

// snapshot decodes the whole file and returns the digest of its content,
// as ComputeDigest would compute it for the result.
func (d snapshotDecoder) snapshot() (*Snapshot, string, error) {
	s := &Snapshot{}
	h := sha256.New()
	err := d.StructFields(snapshotFieldNames, snapshotOptional, func(i int) error {
		var err error
		switch snapshotFieldNames[i] {
		case "apiVersion":
			s.APIVersion, err = d.Str()
		case "kind":
			s.Kind, err = d.Str()
		case "metadata":
			err = d.ReflectInto(&s.Metadata)
		case "resources":
			err = d.ReflectInto(&s.Resources)
		case "unobserved":
			err = d.ReflectInto(&s.Unobserved)
		case "objects":
			s.Objects, err = d.objectsHashed(s, h)
		case "digest":
			s.Digest, err = d.Str()
		case "integrity":
			s.Integrity, err = d.NonEmptyStr()
		case "signature":
			s.Signature = &sign.Envelope{}
			err = d.ReflectInto(s.Signature)
		}
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if !d.AtEnd() {
		return nil, "", jsonx.ErrSlowPath // data after the snapshot
	}
	h.Write([]byte(`,"digest":""}` + "\n"))
	return s, "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// objectBatchSize is how many objects a batch holds.
const objectBatchSize = 256

// objectsHashed decodes the objects and hashes, into h, the canonical JSON
// of the snapshot up to and including them, as writeDigestJSON writes it
// for the digest: the fields before them encoded from what was decoded,
// the objects compacted from the file by another goroutine, which also
// cuts them into batches that goroutines (one per processor) decode
// meanwhile.
func (d snapshotDecoder) objectsHashed(s *Snapshot, h io.Writer) ([]Object, error) {
	meta := s.Metadata
	meta.CapturedAt = time.Time{}
	if err := s.writeHead(h, meta); err != nil {
		return nil, jsonx.ErrSlowPath
	}
	d.SkipSpace()
	start := d.Pos
	if bytes.HasPrefix(d.Data[start:], []byte("null")) {
		h.Write([]byte("null"))
		d.Pos += 4
		return nil, nil
	}
	type batch struct{ index, from, to int }
	batches := make(chan batch, 16)
	compacted := make(chan int, 1)
	go func() {
		compacted <- jsonx.CompactArray(h, d.Data[start:], objectBatchSize, func(i, from, to int) {
			batches <- batch{i, start + from, start + to}
		})
		close(batches)
	}()
	var (
		mu      sync.Mutex
		decoded = map[int][]Object{}
		failed  atomic.Bool
		wg      sync.WaitGroup
	)
	for range min(runtime.GOMAXPROCS(0), 8) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := snapshotDecoder{jsonx.NewDecoder(d.Data, false)}
			w.ShareMaps()
			for b := range batches {
				if failed.Load() {
					continue
				}
				objs, err := w.objects(b.from, b.to)
				if err != nil {
					failed.Store(true)
					continue
				}
				mu.Lock()
				decoded[b.index] = objs
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	n := <-compacted
	if n < 0 || failed.Load() {
		return nil, jsonx.ErrSlowPath
	}
	d.Pos = start + n
	out := []Object{}
	for i := range len(decoded) {
		objs, ok := decoded[i]
		if !ok {
			return nil, jsonx.ErrSlowPath
		}
		out = append(out, objs...)
	}
	return out, nil
}

// objects decodes the run of objects, separated by commas, at Data[from:to].
func (d snapshotDecoder) objects(from, to int) ([]Object, error) {
	d.Pos = from
	var out []Object
	for {
		o, err := d.object()
		if err != nil {
			return nil, err
		}
		out = append(out, o)
		if d.Pos == to {
			return out, nil
		}
		if d.Pos > to {
			return nil, jsonx.ErrSlowPath
		}
		if err := d.Expect(','); err != nil {
			return nil, err
		}
	}
}

// object decodes one Object.
func (d snapshotDecoder) object() (Object, error) {
	var o Object
	err := d.StructFields(objectFieldNames, objectOptional, func(i int) error {
		var err error
		switch i {
		case 0:
			o.Group, err = d.NonEmptyStr()
		case 1:
			o.Version, err = d.Str()
		case 2:
			o.Kind, err = d.Str()
		case 3:
			o.Namespace, err = d.NonEmptyStr()
		case 4:
			o.Name, err = d.Str()
		case 5:
			o.Object, err = d.MapOrNull()
		case 6:
			err = d.provenance(&o.Provenance)
		}
		return err
	})
	return o, err
}

func (d snapshotDecoder) provenance(p *Provenance) error {
	return d.StructFields(provenanceFieldNames, provenanceOptional, func(i int) error {
		switch i {
		case 0:
			return d.Elements(func() error {
				var m Manager
				err := d.StructFields(managerFieldNames, managerOptional, func(i int) error {
					var err error
					switch i {
					case 0:
						m.Manager, err = d.Str()
					case 1:
						m.Operation, err = d.Str()
					case 2:
						m.Subresource, err = d.NonEmptyStr()
					case 3:
						m.Fields, err = d.Strings()
					case 4:
						m.Paths, err = d.Strings()
					}
					return err
				})
				p.Managers = append(p.Managers, m)
				return err
			})
		case 1:
			p.LastApplied = true
			return d.Literal("true")
		case 2:
			o := &OwnerRef{}
			p.Owner = o
			return d.StructFields(ownerFieldNames, ownerOptional, func(i int) error {
				var err error
				switch i {
				case 0:
					o.APIVersion, err = d.Str()
				case 1:
					o.Kind, err = d.Str()
				case 2:
					o.Name, err = d.Str()
				case 3:
					o.Controller = true
					err = d.Literal("true")
				}
				return err
			})
		case 3:
			p.DeployTool = map[string]string{}
			err := d.SortedMembers(func(k string) error {
				v, err := d.Str()
				p.DeployTool[k] = v
				return err
			})
			if err == nil && len(p.DeployTool) == 0 {
				err = jsonx.ErrSlowPath // an empty map is left out
			}
			return err
		}
		return nil
	})
}
