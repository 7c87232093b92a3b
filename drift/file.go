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
	"hash/maphash"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/driftgate/driftgate/internal/atomicfile"
)

// ErrCorruptSnapshot is wrapped by Load's error when a file is truncated, is
// not a snapshot, or does not match its digest.
var ErrCorruptSnapshot = errors.New("snapshot is corrupt or was edited")

// ComputeDigest returns the snapshot's content digest: SHA-256 over its
// canonical compact JSON with the capture time and digest left out.
//
// The canonical JSON is what encoding/json's Encoder writes for the
// Snapshot (HTML escaping on, a final newline). writeDigestJSON produces
// the same bytes without reflection; encoding/json is used when it cannot.
func (s *Snapshot) ComputeDigest() (string, error) {
	h := sha256.New()
	if err := s.writeDigestJSON(h); err != nil {
		if !errors.Is(err, errNotCanonical) {
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
	s.prepare()
	d, err := s.ComputeDigest()
	if err != nil {
		return err
	}
	s.Digest = d
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

// Encode seals the snapshot and writes it as indented JSON.
//
// Each object is encoded once, compact: that is hashed for the digest and
// indented for the output, which Seal and then an indented encoding would
// do in two passes.
func (s *Snapshot) Encode(w io.Writer) error {
	s.prepare()
	if s.encodable() {
		// Only the writer can fail now, as encoding/json's Encoder would.
		return s.encodeSealed(w)
	}
	// encoding/json refuses the snapshot (a NaN, say): with its error, and
	// before writing anything, as it always did.
	if err := s.Expand(); err != nil {
		return err
	}
	if err := s.Seal(); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(s)
}

// encode keeps o only as its compact JSON, written with e (whose buffer
// is reused), if that can be written: see CollectOptions.ForWriting.
func (o *Object) encode(e *jsonWriter) {
	e.buf, e.err = e.buf[:0], nil
	if e.snapshotObject(o, 2) != nil || e.err != nil {
		return // a value encoding/json must encode, or refuse
	}
	o.Encoded = bytes.Clone(e.buf)
	o.Object, o.Provenance = nil, Provenance{}
}

// Expand turns the objects CollectOptions.ForWriting kept as JSON back
// into values, as LoadSnapshot would decode them.
func (s *Snapshot) Expand() error {
	for i := range s.Objects {
		o := &s.Objects[i]
		if o.Encoded == nil {
			continue
		}
		d := &fastDecoder{data: o.Encoded, interned: map[string]any{}}
		v, err := d.object1()
		if err != nil || d.pos != len(d.data) {
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

// encodable reports whether jsonWriter encodes every value of the
// snapshot. The objects are looked at on as many goroutines as there are
// processors.
func (s *Snapshot) encodable() bool {
	if err := s.writeHead(io.Discard, s.Metadata); err != nil {
		return false
	}
	workers := min(runtime.GOMAXPROCS(0), 1+len(s.Objects)/encodeChunkSize, 8)
	var bad atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(s.Objects) && !bad.Load(); i += workers {
				if !encodableValue(s.Objects[i].Object) {
					bad.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	return !bad.Load()
}

func encodableValue(v any) bool {
	switch t := v.(type) {
	case nil, string, bool, int64, int:
		return true
	case float64:
		return !math.IsInf(t, 0) && !math.IsNaN(t)
	case json.Number:
		return t == "" || validJSONNumber(string(t))
	case map[string]any:
		for _, c := range t {
			if !encodableValue(c) {
				return false
			}
		}
		return true
	case []any:
		for _, c := range t {
			if !encodableValue(c) {
				return false
			}
		}
		return true
	}
	_, err := json.Marshal(v)
	return err == nil
}

// encodeSealed writes the indented snapshot and sets its digest, from one
// compact encoding of each object.
func (s *Snapshot) encodeSealed(w io.Writer) error {
	h := sha256.New()
	meta := s.Metadata
	meta.CapturedAt = time.Time{}
	if err := s.writeHead(h, meta); err != nil {
		return err
	}
	out := &jsonWriter{w: w, indent: true, buf: make([]byte, 0, jsonFlushSize+4096)}
	if err := out.snapshotHead(s, s.Metadata); err != nil {
		return err
	}
	if len(s.Objects) == 0 {
		h.Write([]byte("[]"))
		out.buf = append(out.buf, "[]"...)
	} else {
		h.Write([]byte("["))
		out.buf = append(out.buf, '[')
		err := s.encodeObjects(true, func(c *encodedChunk) error {
			h.Write(c.compact)
			out.flush()
			if out.err == nil {
				_, out.err = w.Write(c.indented)
			}
			return out.err
		})
		if err != nil {
			return err
		}
		h.Write([]byte("]"))
		out.newline(1)
		out.buf = append(out.buf, ']')
	}
	h.Write([]byte(`,"digest":""}` + "\n"))
	s.Digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	out.key("digest", false, 1)
	out.buf = appendJSONString(out.buf, s.Digest)
	out.newline(0)
	out.buf = append(out.buf, '}', '\n')
	out.flush()
	return out.err
}

// encodedChunk is a run of consecutive objects, encoded: compact as the
// digest covers them, and indented as a file holds them, each with the
// commas (and line breaks) that join it to the run before.
type encodedChunk struct {
	compact, indented []byte
	err               error
	done              chan struct{}
}

// encodeChunkSize is how many objects make a chunk.
const encodeChunkSize = 256

// encodeObjects encodes the objects in chunks, on as many goroutines as
// there are processors (the objects are only read), and hands each chunk
// to emit in order. At most two chunks per goroutine wait for emit.
func (s *Snapshot) encodeObjects(indent bool, emit func(*encodedChunk) error) error {
	n := (len(s.Objects) + encodeChunkSize - 1) / encodeChunkSize
	workers := min(runtime.GOMAXPROCS(0), n, 8)
	chunks := make([]*encodedChunk, n)
	for i := range chunks {
		chunks[i] = &encodedChunk{done: make(chan struct{})}
	}
	// Buffers go round: emitted chunks give theirs to the next ones.
	free := make(chan [2][]byte, 2*workers+1)
	encode := func(i int) {
		c := chunks[i]
		defer close(c.done)
		var bufs [2][]byte
		select {
		case bufs = <-free:
		default:
		}
		e := &jsonWriter{buf: bufs[0][:0]}
		ind := bufs[1][:0]
		for j := i * encodeChunkSize; j < min((i+1)*encodeChunkSize, len(s.Objects)); j++ {
			start := len(e.buf)
			if j > 0 {
				e.buf = append(e.buf, ',')
				ind = append(ind, ',')
			}
			if c.err = e.snapshotObject(&s.Objects[j], 2); c.err != nil {
				return
			}
			if indent {
				ind = append(ind, '\n', ' ', ' ')
				ind = appendIndented(ind, e.buf[start+min(j, 1):], 2)
			}
		}
		c.compact, c.indented = e.buf, ind
	}
	if workers <= 1 {
		for i, c := range chunks {
			encode(i)
			if c.err != nil {
				return c.err
			}
			if err := emit(c); err != nil {
				return err
			}
			free <- [2][]byte{c.compact, c.indented}
			c.compact, c.indented = nil, nil
		}
		return nil
	}
	tokens := make(chan struct{}, 2*workers)
	stop := make(chan struct{})
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case tokens <- struct{}{}:
				case <-stop:
					return
				}
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				encode(i)
			}
		}()
	}
	defer wg.Wait()
	defer close(stop)
	for _, c := range chunks {
		<-c.done
		if c.err != nil {
			return c.err
		}
		if err := emit(c); err != nil {
			return err
		}
		select {
		case free <- [2][]byte{c.compact, c.indented}:
		default:
		}
		c.compact, c.indented = nil, nil
		<-tokens
	}
	return nil
}

// appendIndented appends compact JSON indented as encoding/json's Indent
// does with one space, the value starting at depth.
func appendIndented(dst, compact []byte, depth int) []byte {
	newline := func(depth int) {
		dst = append(dst, '\n')
		for range depth {
			dst = append(dst, ' ')
		}
	}
	for i := 0; i < len(compact); i++ {
		switch c := compact[i]; c {
		case '"':
			j := i + 1 + bytes.IndexByte(compact[i+1:], '"')
			if bytes.IndexByte(compact[i+1:j], '\\') >= 0 {
				// An escape: find the quote that ends the string.
				for j = i + 1; compact[j] != '"'; j++ {
					if compact[j] == '\\' {
						j++
					}
				}
			}
			dst = append(dst, compact[i:j+1]...)
			i = j
		case '{', '[':
			if n := compact[i+1]; n == '}' || n == ']' {
				dst = append(dst, c, n) // empty: {} and []
				i++
				continue
			}
			depth++
			dst = append(dst, c)
			newline(depth)
		case '}', ']':
			depth--
			newline(depth)
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			newline(depth)
		case ':':
			dst = append(dst, c, ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// gzipLevel is the compression of a ".gz" snapshot.
const gzipLevel = 3

// Save writes the snapshot to path atomically, gzipped when path ends in ".gz".
func (s *Snapshot) Save(path string) error {
	err := atomicfile.Write(path, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		var zw *gzip.Writer
		var out io.Writer = bw
		if strings.HasSuffix(path, ".gz") {
			// Level 3: a 20,000-object snapshot (41 MiB) compresses in
			// 68 ms to 1.4 MiB, where the default level took 175 ms for
			// 0.9 MiB, on the one goroutine that writes.
			zw, _ = gzip.NewWriterLevel(bw, gzipLevel)
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
// The objects share their equal small maps (see sharedMaps): they are
// read-only.
//
// A large file is read into memory outside the Go heap (see offHeap),
// given back once decoded: held in the heap, its bytes would count
// towards the garbage collector's goal while the objects are decoded, and
// a diff's peak memory grew by up to twice the file (BENCHMARKS.md).
func LoadSnapshot(path string) (*Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading snapshot: %w", err)
	}
	defer f.Close()
	size := 0
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = int(fi.Size())
	}
	var s *Snapshot
	if size >= offHeapMin {
		s, err = loadOffHeap(f, size)
	}
	if s == nil && err == nil {
		s, err = decodeSnapshot(f, size)
	}
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", path, err)
	}
	return s, nil
}

// offHeapMin is the smallest file LoadSnapshot reads outside the heap.
const offHeapMin = 1 << 20

// loadOffHeap reads f, of size bytes, into memory outside the heap and
// decodes it, or returns neither snapshot nor error, with f at its start,
// when it cannot: no such memory here, or a file that is not size bytes
// long now. Nothing decoded refers to that memory: every string is copied.
func loadOffHeap(f *os.File, size int) (*Snapshot, error) {
	buf, free, ok := offHeap(size)
	if !ok {
		return nil, nil
	}
	defer free()
	_, err := io.ReadFull(f, buf)
	var probe [1]byte
	if err == nil {
		if m, _ := f.Read(probe[:]); m == 0 {
			return decodeSnapshotData(buf, nil)
		}
	}
	// A read error, or a file that changed size since Stat: read it again
	// the ordinary way, which meets the error or the new size as it is.
	if _, serr := f.Seek(0, io.SeekStart); serr != nil {
		return nil, errors.Join(err, serr)
	}
	return nil, nil
}

// DecodeSnapshot reads and verifies a snapshot from r; as LoadSnapshot's,
// its objects are read-only.
func DecodeSnapshot(r io.Reader) (*Snapshot, error) { return decodeSnapshot(r, 0) }

// decodeSnapshot reads r whole (sizeHint bytes, when known) and decodes it.
func decodeSnapshot(r io.Reader, sizeHint int) (*Snapshot, error) {
	raw, err := readAll(r, sizeHint)
	return decodeSnapshotData(raw, err)
}

// decodeSnapshotData decodes raw, the bytes read before rerr, on the fast
// path (see fastDecoder); whatever the fast path does not accept is
// decoded by decodeSnapshotReflect, the reference, so errors and edge
// cases are exactly its.
func decodeSnapshotData(raw []byte, rerr error) (*Snapshot, error) {
	s, err := decodeSnapshotUnchecked(raw, rerr)
	if err != nil {
		return nil, err
	}
	if err := s.checkObjects(); err != nil {
		return nil, err
	}
	return s, nil
}

func decodeSnapshotUnchecked(raw []byte, rerr error) (*Snapshot, error) {
	if rerr != nil {
		// Let the reference meet the same read error at the same place.
		return decodeSnapshotReflect(io.MultiReader(bytes.NewReader(raw), errReader{rerr}))
	}
	data := raw
	if bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return decodeSnapshotReflect(bytes.NewReader(raw))
		}
		// gzip's trailer holds the uncompressed size (mod 4 GiB); a
		// damaged one must not make a small file allocate gigabytes.
		hint := 0
		if len(raw) >= 4 {
			hint = min(int(binary.LittleEndian.Uint32(raw[len(raw)-4:])), 128*len(raw))
		}
		data, err = readAll(zr, hint)
		if err != nil {
			return decodeSnapshotReflect(bytes.NewReader(raw))
		}
	}
	if s, ok := decodeSnapshotFast(data); ok {
		return s, nil
	}
	return decodeSnapshotReflect(bytes.NewReader(raw))
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

// readAll is io.ReadAll with a first guess at the size.
func readAll(r io.Reader, sizeHint int) ([]byte, error) {
	if sizeHint <= 0 || sizeHint > 1<<31 {
		return io.ReadAll(r)
	}
	return readBody(r, make([]byte, 0, sizeHint+1)) // +1: EOF is seen without growing
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// decodeSnapshotReflect reads and verifies a snapshot from r with
// encoding/json: the reference decoder, and the one that words the errors.
func decodeSnapshotReflect(r io.Reader) (*Snapshot, error) {
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
	dec := strictDecoder(in)
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

// errNotCanonical is returned by jsonWriter for a value it does not encode
// itself (NaN, an invalid json.Number, ...): the caller then lets
// encoding/json encode, or refuse, the whole snapshot.
var errNotCanonical = errors.New("value outside the canonical encoder")

// jsonWriter writes JSON exactly as encoding/json's Encoder does with HTML
// escaping on, compact or indented by one space as Encoder.SetIndent("", " ")
// does, without reflection for the JSON-like values of objects (maps,
// slices, strings, numbers, booleans). Values of other types are encoded
// by encoding/json in place, which gives the same bytes.
type jsonWriter struct {
	w      io.Writer
	buf    []byte
	indent bool
	// members are the sorted keys and values of the maps being
	// written, one buffer per depth.
	members [][]member
	err     error
}

const jsonFlushSize = 64 << 10

func (e *jsonWriter) flush() {
	if e.err == nil && len(e.buf) > 0 {
		_, e.err = e.w.Write(e.buf)
	}
	e.buf = e.buf[:0]
}

// maybeFlush writes the buffer out when it is full; a writer without an
// io.Writer keeps everything in buf.
func (e *jsonWriter) maybeFlush() {
	if e.w != nil && len(e.buf) >= jsonFlushSize {
		e.flush()
	}
}

// newline starts a line at depth, when indenting.
func (e *jsonWriter) newline(depth int) {
	if !e.indent {
		return
	}
	e.buf = append(e.buf, '\n')
	for range depth {
		e.buf = append(e.buf, ' ')
	}
}

// key writes a member's name and colon, after a comma unless first.
func (e *jsonWriter) key(name string, first bool, depth int) {
	if !first {
		e.buf = append(e.buf, ',')
	}
	e.newline(depth)
	e.buf = appendJSONString(e.buf, name)
	e.buf = append(e.buf, ':')
	if e.indent {
		e.buf = append(e.buf, ' ')
	}
}

// reflectValue encodes v with encoding/json at depth.
func (e *jsonWriter) reflectValue(v any, depth int) error {
	var b []byte
	var err error
	if e.indent {
		b, err = json.MarshalIndent(v, strings.Repeat(" ", depth), " ")
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		return errNotCanonical
	}
	e.buf = append(e.buf, b...)
	return nil
}

// value encodes a JSON-like value at depth.
func (e *jsonWriter) value(v any, depth int) error {
	switch t := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		e.buf = appendJSONString(e.buf, t)
	case bool:
		e.buf = strconv.AppendBool(e.buf, t)
	case int64:
		e.buf = strconv.AppendInt(e.buf, t, 10)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(t), 10)
	case float64:
		b, ok := appendJSONFloat(e.buf, t)
		if !ok {
			return errNotCanonical
		}
		e.buf = b
	case json.Number:
		n := string(t)
		if n == "" {
			n = "0"
		}
		if !validJSONNumber(n) {
			return errNotCanonical
		}
		e.buf = append(e.buf, n...)
	case map[string]any:
		return e.object(t, depth)
	case []any:
		if t == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if len(t) == 0 {
			e.buf = append(e.buf, "[]"...)
			return nil
		}
		e.buf = append(e.buf, '[')
		for i, c := range t {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.newline(depth + 1)
			if err := e.value(c, depth+1); err != nil {
				return err
			}
			e.maybeFlush()
		}
		e.newline(depth)
		e.buf = append(e.buf, ']')
	default:
		return e.reflectValue(v, depth)
	}
	return nil
}

func (e *jsonWriter) object(m map[string]any, depth int) error {
	if m == nil {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	if len(m) == 0 {
		e.buf = append(e.buf, "{}"...)
		return nil
	}
	for len(e.members) <= depth {
		e.members = append(e.members, nil)
	}
	members := e.members[depth][:0]
	for k, v := range m {
		members = append(members, member{k, v})
	}
	slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	e.members[depth] = members
	e.buf = append(e.buf, '{')
	for i, kv := range members {
		e.key(kv.key, i == 0, depth+1)
		if err := e.value(kv.value, depth+1); err != nil {
			return err
		}
		e.maybeFlush()
	}
	clear(members) // let the values go
	e.newline(depth)
	e.buf = append(e.buf, '}')
	return nil
}

type member struct {
	key   string
	value any
}

// writeDigestJSON writes what ComputeDigest hashes: the snapshot as
// json.Encoder.Encode writes it (compact, with a final newline) without
// the capture time and the digest. It returns errNotCanonical, having
// written part of it, when encoding/json must encode it instead.
func (s *Snapshot) writeDigestJSON(w io.Writer) error {
	e := &jsonWriter{w: w, buf: make([]byte, 0, jsonFlushSize+4096)}
	meta := s.Metadata
	meta.CapturedAt = time.Time{}
	if err := e.snapshotHead(s, meta); err != nil {
		return err
	}
	switch {
	case s.Objects == nil:
		e.buf = append(e.buf, "null"...)
	case len(s.Objects) == 0:
		e.buf = append(e.buf, "[]"...)
	default:
		e.buf = append(e.buf, '[')
		e.flush()
		err := s.encodeObjects(false, func(c *encodedChunk) error {
			if e.err == nil {
				_, e.err = w.Write(c.compact)
			}
			return e.err
		})
		if err != nil {
			return err
		}
		e.buf = append(e.buf, ']')
	}
	e.buf = append(e.buf, `,"digest":""}`+"\n"...)
	e.flush()
	return e.err
}

// writeHead writes the compact JSON of the snapshot's fields before its
// objects, up to the colon after "objects", with meta as its metadata.
func (s *Snapshot) writeHead(w io.Writer, meta SnapshotMeta) error {
	e := &jsonWriter{w: w}
	if err := e.snapshotHead(s, meta); err != nil {
		return err
	}
	e.flush()
	return e.err
}

func (e *jsonWriter) snapshotHead(s *Snapshot, meta SnapshotMeta) error {
	e.buf = append(e.buf, '{')
	e.key("apiVersion", true, 1)
	e.buf = appendJSONString(e.buf, s.APIVersion)
	e.key("kind", false, 1)
	e.buf = appendJSONString(e.buf, s.Kind)
	for _, f := range []struct {
		name string
		v    any
	}{{"metadata", meta}, {"resources", s.Resources}, {"unobserved", s.Unobserved}} {
		e.key(f.name, false, 1)
		if err := e.reflectValue(f.v, 1); err != nil {
			return err
		}
	}
	e.key("objects", false, 1)
	return nil
}

// snapshotObject encodes an Object as encoding/json does (fields in
// declaration order, omitempty honoured).
func (e *jsonWriter) snapshotObject(o *Object, depth int) error {
	if o.Encoded != nil {
		if e.indent {
			e.buf = appendIndented(e.buf, o.Encoded, depth)
		} else {
			e.buf = append(e.buf, o.Encoded...)
		}
		e.maybeFlush()
		return nil
	}
	d := depth + 1
	e.buf = append(e.buf, '{')
	first := true
	str := func(name, v string, omitEmpty bool) {
		if omitEmpty && v == "" {
			return
		}
		e.key(name, first, d)
		first = false
		e.buf = appendJSONString(e.buf, v)
	}
	str("group", o.Group, true)
	str("version", o.Version, false)
	str("kind", o.Kind, false)
	str("namespace", o.Namespace, true)
	str("name", o.Name, false)
	e.key("object", false, d)
	if err := e.object(o.Object, d); err != nil {
		return err
	}
	e.key("provenance", false, d)
	e.provenance(&o.Provenance, d)
	e.newline(depth)
	e.buf = append(e.buf, '}')
	return nil
}

func (e *jsonWriter) provenance(p *Provenance, depth int) {
	d := depth + 1
	n := 0
	open := func(name string) {
		if n == 0 {
			e.buf = append(e.buf, '{')
		}
		e.key(name, n == 0, d)
		n++
	}
	if len(p.Managers) > 0 {
		open("managers")
		e.buf = append(e.buf, '[')
		for i := range p.Managers {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.newline(d + 1)
			e.manager(&p.Managers[i], d+1)
		}
		e.newline(d)
		e.buf = append(e.buf, ']')
	}
	if p.LastApplied {
		open("lastApplied")
		e.buf = append(e.buf, "true"...)
	}
	if p.Owner != nil {
		open("owner")
		o := p.Owner
		e.buf = append(e.buf, '{')
		e.key("apiVersion", true, d+1)
		e.buf = appendJSONString(e.buf, o.APIVersion)
		e.key("kind", false, d+1)
		e.buf = appendJSONString(e.buf, o.Kind)
		e.key("name", false, d+1)
		e.buf = appendJSONString(e.buf, o.Name)
		if o.Controller {
			e.key("controller", false, d+1)
			e.buf = append(e.buf, "true"...)
		}
		e.newline(d)
		e.buf = append(e.buf, '}')
	}
	if len(p.DeployTool) > 0 {
		open("deployTool")
		keys := make([]string, 0, len(p.DeployTool))
		for k := range p.DeployTool {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		e.buf = append(e.buf, '{')
		for i, k := range keys {
			e.key(k, i == 0, d+1)
			e.buf = appendJSONString(e.buf, p.DeployTool[k])
		}
		e.newline(d)
		e.buf = append(e.buf, '}')
	}
	if n == 0 {
		e.buf = append(e.buf, "{}"...)
		return
	}
	e.newline(depth)
	e.buf = append(e.buf, '}')
}

func (e *jsonWriter) manager(m *Manager, depth int) {
	d := depth + 1
	e.buf = append(e.buf, '{')
	e.key("manager", true, d)
	e.buf = appendJSONString(e.buf, m.Manager)
	e.key("operation", false, d)
	e.buf = appendJSONString(e.buf, m.Operation)
	if m.Subresource != "" {
		e.key("subresource", false, d)
		e.buf = appendJSONString(e.buf, m.Subresource)
	}
	for _, f := range []struct {
		name string
		v    []string
	}{{"fields", m.Fields}, {"paths", m.Paths}} {
		if len(f.v) == 0 {
			continue
		}
		e.key(f.name, false, d)
		e.buf = append(e.buf, '[')
		for i, s := range f.v {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.newline(d + 1)
			e.buf = appendJSONString(e.buf, s)
		}
		e.newline(d)
		e.buf = append(e.buf, ']')
	}
	e.newline(depth)
	e.buf = append(e.buf, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does with HTML escaping:
// control characters, quote, backslash, <, > and & escaped, invalid UTF-8
// replaced by U+FFFD, U+2028 and U+2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// jsonSafe holds the ASCII bytes encoding/json writes as they are, with
// HTML escaping on.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
	}
	return t
}()

// appendJSONFloat formats f as encoding/json does (like ES6: %f between
// 1e-6 and 1e21, else %e without a padded exponent); NaN and infinities
// are not JSON.
func appendJSONFloat(dst []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}

// validJSONNumber reports whether s is a JSON number literal.
func validJSONNumber(s string) bool {
	n, ok := scanJSONNumber(s)
	return ok && n == len(s)
}

// scanJSONNumber returns the length of the JSON number at the start of s.
func scanJSONNumber[T string | []byte](s T) (int, bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return i, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return i, false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return i, false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	return i, true
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
	d := &fastDecoder{data: data, interned: map[string]any{}}
	s, digest, err := d.snapshot()
	if err != nil || s.APIVersion != SnapshotAPIVersion || s.Kind != SnapshotKind || digest != s.Digest {
		return nil, false
	}
	return s, true
}

// errSlowPath makes decodeSnapshotFast give up.
var errSlowPath = errors.New("not on the fast path")

// fastDecoder parses canonical JSON into the values encoding/json's Decoder
// (with UseNumber) followed by canonicalNumbers produces. Short strings are
// interned: keys, kinds and label values repeat across thousands of objects.
type fastDecoder struct {
	data     []byte
	pos      int
	interned map[string]any // string -> the same string, boxed once
	scratch  []byte
	members  []member // of the objects being decoded, innermost last
	// shared, when set, makes equal small maps one (loading a snapshot).
	shared *sharedMaps
	// lenient takes any valid JSON, as an API server writes it, with
	// numbers as the dynamic client decodes them (int64 when written
	// without a fraction, else float64), rather than only canonical JSON.
	lenient bool
}

// maxInterned is the longest string interned.
const maxInterned = 64

func (d *fastDecoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\n', '\t', '\r':
			d.pos++
		default:
			return
		}
	}
}

// next skips white space and returns the next byte, or 0 at the end.
func (d *fastDecoder) next() byte {
	d.ws()
	if d.pos >= len(d.data) {
		return 0
	}
	return d.data[d.pos]
}

func (d *fastDecoder) expect(c byte) error {
	if d.next() != c {
		return errSlowPath
	}
	d.pos++
	return nil
}

// key reads a member name and its colon.
func (d *fastDecoder) key() ([]byte, error) {
	k, err := d.stringBytes()
	if err != nil {
		return nil, err
	}
	return k, d.expect(':')
}

// more reads the comma or the closing byte after a member or an element,
// and reports whether another follows.
func (d *fastDecoder) more(closing byte) (bool, error) {
	switch d.next() {
	case ',':
		d.pos++
		return true, nil
	case closing:
		d.pos++
		return false, nil
	}
	return false, errSlowPath
}

// structFields reads the members of a JSON object that encodes a struct,
// which must be names in order (encoding/json writes fields in declaration
// order); a name may be missing only where optional says (omitempty).
// field(i) decodes the value of names[i], and must refuse an empty value
// for an optional field: encoding/json would have left it out.
func (d *fastDecoder) structFields(names []string, optional []bool, field func(i int) error) error {
	if err := d.expect('{'); err != nil {
		return err
	}
	i := 0
	if d.next() == '}' {
		d.pos++
	} else {
		for more := true; more; {
			k, err := d.key()
			if err != nil {
				return err
			}
			for i < len(names) && names[i] != string(k) {
				if !optional[i] {
					return errSlowPath
				}
				i++
			}
			if i == len(names) {
				return errSlowPath // unknown, repeated or out of order
			}
			if err := field(i); err != nil {
				return err
			}
			i++
			if more, err = d.more('}'); err != nil {
				return err
			}
		}
	}
	for ; i < len(names); i++ {
		if !optional[i] {
			return errSlowPath
		}
	}
	return nil
}

var (
	snapshotFieldNames   = []string{"apiVersion", "kind", "metadata", "resources", "unobserved", "objects", "digest"}
	snapshotOptional     = make([]bool, 7)
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
func (d *fastDecoder) snapshot() (*Snapshot, string, error) {
	s := &Snapshot{}
	h := sha256.New()
	err := d.structFields(snapshotFieldNames, snapshotOptional, func(i int) error {
		var err error
		switch snapshotFieldNames[i] {
		case "apiVersion":
			s.APIVersion, err = d.str()
		case "kind":
			s.Kind, err = d.str()
		case "metadata":
			err = d.reflectInto(&s.Metadata)
		case "resources":
			err = d.reflectInto(&s.Resources)
		case "unobserved":
			err = d.reflectInto(&s.Unobserved)
		case "objects":
			s.Objects, err = d.objectsHashed(s, h)
		case "digest":
			s.Digest, err = d.str()
		}
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if d.ws(); d.pos != len(d.data) {
		return nil, "", errSlowPath // data after the snapshot
	}
	h.Write([]byte(`,"digest":""}` + "\n"))
	return s, "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// objectsHashed decodes the objects and hashes, into h, the canonical JSON
// of the snapshot up to and including them, as writeDigestJSON writes it
// for the digest: the fields before them encoded from what was decoded,
// the objects compacted from the file by another goroutine, which also
// cuts them into batches that goroutines (one per processor) decode
// meanwhile.
func (d *fastDecoder) objectsHashed(s *Snapshot, h io.Writer) ([]Object, error) {
	meta := s.Metadata
	meta.CapturedAt = time.Time{}
	if err := s.writeHead(h, meta); err != nil {
		return nil, errSlowPath
	}
	d.ws()
	start := d.pos
	if bytes.HasPrefix(d.data[start:], []byte("null")) {
		h.Write([]byte("null"))
		d.pos += 4
		return nil, nil
	}
	batches := make(chan objectBatch, 16)
	compacted := make(chan int, 1)
	go func() {
		compacted <- compactJSON(h, d.data[start:], func(i, from, to int) {
			batches <- objectBatch{i, start + from, start + to}
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
			w := &fastDecoder{data: d.data, interned: map[string]any{}, shared: newSharedMaps()}
			for b := range batches {
				if failed.Load() {
					continue
				}
				objs, err := w.batch(b)
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
		return nil, errSlowPath
	}
	d.pos = start + n
	out := []Object{}
	for i := range len(decoded) {
		objs, ok := decoded[i]
		if !ok {
			return nil, errSlowPath
		}
		out = append(out, objs...)
	}
	return out, nil
}

// objectBatch is a run of consecutive objects in the file, data[from:to],
// the index-th of its array.
type objectBatch struct{ index, from, to int }

// objectBatchSize is how many objects compactJSON puts in a batch.
const objectBatchSize = 256

// batch decodes a run of objects separated by commas.
func (d *fastDecoder) batch(b objectBatch) ([]Object, error) {
	d.pos = b.from
	var out []Object
	for {
		o, err := d.object1()
		if err != nil {
			return nil, err
		}
		out = append(out, o)
		if d.pos == b.to {
			return out, nil
		}
		if d.pos > b.to {
			return nil, errSlowPath
		}
		if err := d.expect(','); err != nil {
			return nil, err
		}
	}
}

// compactJSON writes the array (or null) at the start of b to w without
// white space outside strings, and returns its length, or -1 when it is
// not there whole. Runs between white space are copied whole. Its items
// must be objects: batch is called with every objectBatchSize of them (and
// the last few), after checking the commas between them.
func compactJSON(w io.Writer, b []byte, batch func(i, from, to int)) int {
	if bytes.HasPrefix(b, []byte("null")) {
		w.Write(b[:4])
		return 4
	}
	if len(b) == 0 || b[0] != '[' {
		return -1
	}
	out := make([]byte, 0, jsonFlushSize+4096)
	depth, run := 0, 0
	// Items: whether one is open, whether a comma is due before the next,
	// how many are done, where the current batch began, where the last ended.
	inItem, commaDue := false, false
	items, batches, batchFrom, lastEnd := 0, 0, 0, 0
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case ' ', '\n', '\t', '\r':
			out = append(out, b[run:i]...)
			for i+1 < len(b) && (b[i+1] == ' ' || b[i+1] == '\n' || b[i+1] == '\t' || b[i+1] == '\r') {
				i++
			}
			run = i + 1
			if len(out) >= jsonFlushSize {
				w.Write(out)
				out = out[:0]
			}
		case '"':
			if depth == 1 {
				return -1 // an item that is not an object
			}
			// Past the string; an escaped quote does not end it.
			end := bytes.IndexByte(b[i+1:], '"')
			if end < 0 {
				return -1
			}
			j := i + 1 + end
			if bytes.IndexByte(b[i+1:j], '\\') >= 0 {
				for j = i + 1; j < len(b) && b[j] != '"'; j++ {
					if b[j] == '\\' {
						j++
					}
				}
				if j >= len(b) {
					return -1
				}
			}
			i = j
		case '{', '[':
			if depth == 1 {
				if c != '{' || commaDue {
					return -1
				}
				inItem = true
				if items%objectBatchSize == 0 {
					batchFrom = i
				}
			}
			depth++
		case '}', ']':
			depth--
			switch {
			case depth == 1 && inItem:
				inItem, commaDue = false, true
				items++
				lastEnd = i + 1
				if items%objectBatchSize == 0 {
					batch(batches, batchFrom, lastEnd)
					batches++
				}
			case depth == 0:
				if items > 0 && !commaDue {
					return -1 // a comma before the closing bracket
				}
				if items%objectBatchSize != 0 {
					batch(batches, batchFrom, lastEnd)
				}
				w.Write(append(out, b[run:i+1]...))
				return i + 1
			}
		case ',':
			if depth == 1 {
				if !commaDue {
					return -1
				}
				commaDue = false
			}
		default:
			if depth == 1 {
				return -1 // an item that is not an object
			}
		}
	}
	return -1
}

// reflectInto decodes the next value, a small part of the file, with
// encoding/json as the reference does.
func (d *fastDecoder) reflectInto(v any) error {
	d.ws()
	start := d.pos
	if err := d.skipValue(); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(d.data[start:d.pos]))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errSlowPath
	}
	return nil
}

// object1 decodes one Object.
func (d *fastDecoder) object1() (Object, error) {
	var o Object
	err := d.structFields(objectFieldNames, objectOptional, func(i int) error {
		var err error
		switch i {
		case 0:
			o.Group, err = d.nonEmptyStr()
		case 1:
			o.Version, err = d.str()
		case 2:
			o.Kind, err = d.str()
		case 3:
			o.Namespace, err = d.nonEmptyStr()
		case 4:
			o.Name, err = d.str()
		case 5:
			o.Object, err = d.mapOrNull()
		case 6:
			err = d.provenance(&o.Provenance)
		}
		return err
	})
	return o, err
}

func (d *fastDecoder) provenance(p *Provenance) error {
	return d.structFields(provenanceFieldNames, provenanceOptional, func(i int) error {
		switch i {
		case 0:
			return d.elements(func() error {
				var m Manager
				err := d.structFields(managerFieldNames, managerOptional, func(i int) error {
					var err error
					switch i {
					case 0:
						m.Manager, err = d.str()
					case 1:
						m.Operation, err = d.str()
					case 2:
						m.Subresource, err = d.nonEmptyStr()
					case 3:
						m.Fields, err = d.strs()
					case 4:
						m.Paths, err = d.strs()
					}
					return err
				})
				p.Managers = append(p.Managers, m)
				return err
			})
		case 1:
			p.LastApplied = true
			return d.literal("true")
		case 2:
			o := &OwnerRef{}
			p.Owner = o
			return d.structFields(ownerFieldNames, ownerOptional, func(i int) error {
				var err error
				switch i {
				case 0:
					o.APIVersion, err = d.str()
				case 1:
					o.Kind, err = d.str()
				case 2:
					o.Name, err = d.str()
				case 3:
					o.Controller = true
					err = d.literal("true")
				}
				return err
			})
		case 3:
			p.DeployTool = map[string]string{}
			err := d.sortedMembers(func(k string) error {
				v, err := d.str()
				p.DeployTool[k] = v
				return err
			})
			if err == nil && len(p.DeployTool) == 0 {
				err = errSlowPath // an empty map is left out
			}
			return err
		}
		return nil
	})
}

// elements calls element for each item of a non-empty JSON array (an empty
// one is a field encoding/json leaves out).
func (d *fastDecoder) elements(element func() error) error {
	if err := d.expect('['); err != nil {
		return err
	}
	if d.next() == ']' {
		return errSlowPath
	}
	for more := true; more; {
		if err := element(); err != nil {
			return err
		}
		var err error
		if more, err = d.more(']'); err != nil {
			return err
		}
	}
	return nil
}

// strs decodes a non-empty array of strings.
func (d *fastDecoder) strs() ([]string, error) {
	var out []string
	err := d.elements(func() error {
		s, err := d.str()
		out = append(out, s)
		return err
	})
	return out, err
}

func (d *fastDecoder) literal(lit string) error {
	d.ws()
	if !bytes.HasPrefix(d.data[d.pos:], []byte(lit)) {
		return errSlowPath
	}
	d.pos += len(lit)
	return nil
}

// str decodes a string (a null is left to the reference: encoding/json
// keeps a struct field's old value).
func (d *fastDecoder) str() (string, error) {
	b, err := d.stringBytes()
	if err != nil {
		return "", err
	}
	return d.intern(b), nil
}

// nonEmptyStr decodes the string of an omitempty field, which is never empty.
func (d *fastDecoder) nonEmptyStr() (string, error) {
	s, err := d.str()
	if err == nil && s == "" {
		err = errSlowPath
	}
	return s, err
}

// intern returns b as a string, shared with earlier equal short strings.
func (d *fastDecoder) intern(b []byte) string {
	if len(b) > maxInterned {
		return string(b)
	}
	if v, ok := d.interned[string(b)]; ok {
		return v.(string)
	}
	s := string(b)
	d.interned[s] = s
	return s
}

// internValue is intern, boxed: the interface value is shared too.
func (d *fastDecoder) internValue(b []byte) any {
	if len(b) > maxInterned {
		return string(b)
	}
	if v, ok := d.interned[string(b)]; ok {
		return v
	}
	s := string(b)
	var v any = s
	d.interned[s] = v
	return v
}

// stringBytes decodes the string at the current position, which must be
// written as appendJSONString writes it. The bytes are the file's own, or
// scratch space valid until the next call.
func (d *fastDecoder) stringBytes() ([]byte, error) {
	if d.next() != '"' {
		return nil, errSlowPath
	}
	d.pos++
	start := d.pos
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if c < utf8.RuneSelf && jsonSafe[c] {
			d.pos++
			continue
		}
		if c == '"' {
			d.pos++
			return d.data[start : d.pos-1], nil
		}
		return d.unusualString(start)
	}
	return nil, errSlowPath
}

// unusualString finishes a string that began at start and holds escapes or
// bytes beyond ASCII: decoded, and accepted only when writing it back gives
// the same bytes.
func (d *fastDecoder) unusualString(start int) ([]byte, error) {
	b := d.scratch[:0]
	d.pos = start
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			raw := d.data[start-1 : d.pos+1]
			d.pos++
			if !utf8.Valid(b) {
				return nil, errSlowPath
			}
			if d.lenient {
				d.scratch = b
				return b, nil
			}
			n := len(b)
			b = appendJSONString(b, string(b[:n]))
			d.scratch = b
			if !bytes.Equal(b[n:], raw) {
				return nil, errSlowPath // not as encoding/json writes it
			}
			return b[:n], nil
		case c < 0x20:
			return nil, errSlowPath
		case c != '\\':
			b = append(b, c)
			d.pos++
			continue
		}
		if d.pos+1 >= len(d.data) {
			return nil, errSlowPath
		}
		esc := d.data[d.pos+1]
		d.pos += 2
		switch esc {
		case '"', '\\', '/':
			b = append(b, esc)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := d.hex4()
			if ok && utf16.IsSurrogate(r) && d.lenient && bytes.HasPrefix(d.data[d.pos:], []byte(`\u`)) {
				d.pos += 2
				var r2 rune
				r2, ok = d.hex4()
				r = utf16.DecodeRune(r, r2) // U+FFFD unless a valid pair
			}
			if !ok || utf16.IsSurrogate(r) || r == utf8.RuneError {
				// A lone surrogate becomes U+FFFD in encoding/json; the
				// reference decodes whatever is unusual.
				return nil, errSlowPath
			}
			b = utf8.AppendRune(b, r)
		default:
			return nil, errSlowPath
		}
	}
	return nil, errSlowPath
}

func (d *fastDecoder) hex4() (rune, bool) {
	if d.pos+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F' && d.lenient: // encoding/json writes lower case
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	d.pos += 4
	return r, true
}

func (d *fastDecoder) mapOrNull() (map[string]any, error) {
	switch d.next() {
	case 'n':
		return nil, d.literal("null")
	case '{':
		return d.object()
	}
	return nil, errSlowPath
}

// sortedMembers calls member for each key of a JSON object, whose keys must
// be in increasing order, as encoding/json writes a map.
func (d *fastDecoder) sortedMembers(member func(key string) error) error {
	if err := d.expect('{'); err != nil {
		return err
	}
	if d.next() == '}' {
		d.pos++
		return nil
	}
	prev := ""
	for more, first := true, true; more; first = false {
		k, err := d.key()
		if err != nil {
			return err
		}
		if !first && string(k) <= prev && !d.lenient {
			return errSlowPath
		}
		prev = d.intern(k)
		if err := member(prev); err != nil {
			return err
		}
		if more, err = d.more('}'); err != nil {
			return err
		}
	}
	return nil
}

// object decodes a JSON object into a map.
// The members are gathered first, so that the map is made at its size:
// a map grown one member at a time leaves its smaller tables behind.
//
// With d.shared set, a small object written exactly as an earlier one is
// returned as that earlier map; see sharedMaps.
func (d *fastDecoder) object() (map[string]any, error) {
	d.ws()
	start := d.pos
	return d.objectFrom(func(string) (any, bool, error) {
		v, err := d.value()
		return v, true, err
	}, start)
}

// sharedMaps makes equal small maps of a loaded snapshot one map. Most
// maps in Kubernetes objects are small and repeat (labels and selectors,
// resources, securityContext, ports), and a Go map costs about 300 bytes
// however few its members: sharing them takes two snapshots of 20,000
// objects from 193 to 94 MiB of heap (BENCHMARKS.md). Objects of a
// loaded snapshot are therefore read-only: code that changes one copies
// what it changes first, as Mapping.apply does.
//
// Two maps are equal when the file writes them with the same bytes: the
// file is canonical, so equal maps at the same depth are written alike.
// The table keeps a hash of those bytes and where they are; a hit is
// compared byte for byte, so a hash collision only costs a copy.
type sharedMaps struct {
	seed  maphash.Seed
	table map[uint64]*sharedMap
}

type sharedMap struct {
	from, to int
	m        map[string]any
}

// maxSharedSpan is the longest object, in bytes of the file, shared: the
// small maps that cost the most for what they hold, and each is hashed
// once more for every enclosing shared level, so the cost stays linear.
const maxSharedSpan = 512

func newSharedMaps() *sharedMaps {
	return &sharedMaps{seed: maphash.MakeSeed(), table: map[uint64]*sharedMap{}}
}

// lookup returns the map earlier decoded from the same bytes as
// data[from:to], or else, when those bytes are short enough to share, the
// slot to record the new map in.
func (s *sharedMaps) lookup(data []byte, from, to int) (map[string]any, *sharedMap) {
	span := data[from:to]
	if len(span) > maxSharedSpan {
		return nil, nil
	}
	h := maphash.Bytes(s.seed, span)
	e, ok := s.table[h]
	if !ok {
		e = &sharedMap{from: from, to: to}
		s.table[h] = e
		return nil, e
	}
	if e.m != nil && bytes.Equal(data[e.from:e.to], span) {
		return e.m, nil
	}
	return nil, nil // a collision: this one is not shared
}

// objectWith decodes a JSON object into a map, each member's value with
// decode, which may leave it out of the map (keep false).
func (d *fastDecoder) objectWith(decode func(key string) (v any, keep bool, err error)) (map[string]any, error) {
	return d.objectFrom(decode, -1)
}

// objectFrom is objectWith. shareFrom, when not negative, is where the
// object starts in d.data and says every member is kept: with d.shared
// set, an object written as an earlier one is that one's map, found
// before a map is made.
func (d *fastDecoder) objectFrom(decode func(key string) (v any, keep bool, err error), shareFrom int) (map[string]any, error) {
	start := len(d.members)
	err := d.sortedMembers(func(k string) error {
		v, keep, err := decode(k)
		if keep {
			d.members = append(d.members, member{k, v})
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var slot *sharedMap
	if shareFrom >= 0 && d.shared != nil {
		var m map[string]any
		if m, slot = d.shared.lookup(d.data, shareFrom, d.pos); m != nil {
			clear(d.members[start:])
			d.members = d.members[:start]
			return m, nil
		}
	}
	m := make(map[string]any, len(d.members)-start)
	for _, kv := range d.members[start:] {
		m[kv.key] = kv.value
	}
	clear(d.members[start:])
	d.members = d.members[:start]
	if slot != nil {
		slot.m = m
	}
	return m, nil
}

// skipValue passes over the next value, checking that it is JSON as a
// decoder would.
func (d *fastDecoder) skipValue() error {
	switch c := d.next(); {
	case c == '{' || c == '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		d.pos++
		if d.next() == closing {
			d.pos++
			return nil
		}
		for more := true; more; {
			if c == '{' {
				if d.next() != '"' {
					return errSlowPath
				}
				if err := d.skipString(); err != nil {
					return err
				}
				if err := d.expect(':'); err != nil {
					return err
				}
			}
			if err := d.skipValue(); err != nil {
				return err
			}
			var err error
			if more, err = d.more(closing); err != nil {
				return err
			}
		}
		return nil
	case c == '"':
		return d.skipString()
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		n, ok := scanJSONNumber(d.data[d.pos:])
		if !ok {
			return errSlowPath
		}
		d.pos += n
		return nil
	}
	return errSlowPath
}

// skipString passes over the string at the current position.
func (d *fastDecoder) skipString() error {
	b := d.data
	for i := d.pos + 1; i < len(b); i++ {
		c := b[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		switch {
		case c == '"':
			d.pos = i + 1
			return nil
		case c < 0x20:
			return errSlowPath
		}
		if i+1 >= len(b) {
			return errSlowPath
		}
		switch b[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i++
		case 'u':
			d.pos = i + 2
			if _, ok := d.hex4(); !ok {
				return errSlowPath
			}
			i = d.pos - 1
		default:
			return errSlowPath
		}
	}
	return errSlowPath
}

// value decodes any JSON value.
func (d *fastDecoder) value() (any, error) {
	switch c := d.next(); {
	case c == '{':
		return d.object()
	case c == '[':
		d.pos++
		out := []any{}
		if d.next() == ']' {
			d.pos++
			return out, nil
		}
		for more := true; more; {
			v, err := d.value()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			if more, err = d.more(']'); err != nil {
				return nil, err
			}
		}
		return out, nil
	case c == '"':
		b, err := d.stringBytes()
		if err != nil {
			return nil, err
		}
		return d.internValue(b), nil
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	return nil, errSlowPath
}

// number decodes a number as canonicalNumbers(json.Number(literal)) does,
// if writing that value back gives the literal.
func (d *fastDecoder) number() (any, error) {
	n, ok := scanJSONNumber(d.data[d.pos:])
	if !ok {
		return nil, errSlowPath
	}
	lit := d.data[d.pos : d.pos+n]
	d.pos += n
	if d.lenient {
		// As sigs.k8s.io/json's PreserveInts decodes numbers.
		if bytes.IndexByte(lit, '.') < 0 {
			if i, err := strconv.ParseInt(string(lit), 10, 64); err == nil {
				return i, nil
			}
		}
		f, err := strconv.ParseFloat(string(lit), 64)
		if err != nil {
			return nil, errSlowPath
		}
		return f, nil
	}
	v := canonicalNumbers(json.Number(lit))
	var back []byte
	switch t := v.(type) {
	case int64:
		back = strconv.AppendInt(d.scratch[:0], t, 10)
	case float64:
		back, ok = appendJSONFloat(d.scratch[:0], t)
		if !ok {
			return nil, errSlowPath
		}
	default:
		return nil, errSlowPath // out of range: kept as a string
	}
	d.scratch = back
	if !bytes.Equal(back, lit) {
		return nil, errSlowPath
	}
	return v, nil
}
