package drift

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/driftgate/driftgate/drift/sign"
	"github.com/driftgate/driftgate/internal/jsonx"
	"github.com/driftgate/driftgate/internal/regularfile"
)

// ErrNotStreamable is wrapped by the errors of a snapshot stream for a file
// it does not read as it streams past: one not as driftgate writes it (a
// field or key out of order, white space inside the digested JSON, objects
// out of order or twice), one whose digests or size do not check, or a read
// error. LoadSnapshot reads such a file the reference way and words the
// error, if there is one; a caller that meets ErrNotStreamable compares in
// memory instead.
var ErrNotStreamable = errors.New("snapshot cannot be streamed")

// streamWindow is how many bytes of a snapshot file a stream reads at a
// time; an object larger than it grows the window.
const streamWindow = 4 << 20

// streamBatchObjects and streamBatchBytes bound a batch of objects decoded
// together: small enough that a side holds only a few megabytes in
// flight, large enough that decoding goroutines share out the work.
const (
	streamBatchObjects = 512
	streamBatchBytes   = 1 << 20
)

// SnapshotStream reads a snapshot file's objects in order, as they stream
// past, without holding the file or the objects read before: the file is
// read a window at a time, its objects decoded in batches by a few
// goroutines, and its content digest hashed as it goes. Head is known when
// OpenSnapshotStream returns; Next gives the objects; once Next has
// reported the end, Head holds the digest, integrity digest and signature,
// all checked, and Count the number of objects.
type SnapshotStream struct {
	// Head is the snapshot without its objects.
	Head *Snapshot
	// Count is how many objects Next returned.
	Count int
	// Redacted is how many objects held secret values this version keeps
	// only as digests (see Normalizer.RedactSnapshot).
	Redacted int

	path    string
	f       io.Closer
	in      io.Reader
	win     []byte
	pos     int
	end     int
	eof     bool
	rerr    error
	h       hash.Hash
	redact  *Normalizer
	batches chan chan streamDecoded
	cancel  context.CancelFunc

	cur  []Object
	next int
	last ObjectID
	err  error
	tail []byte
	// ended is set once the objects have all been taken.
	ended bool
}

// streamDecoded is one decoded batch, or why it could not be.
type streamDecoded struct {
	objs     []Object
	redacted int
	err      error
}

// OpenSnapshotStream opens the snapshot file at path and reads its head
// (everything before the objects). Objects are redacted by norm as
// Normalizer.RedactSnapshot redacts a loaded snapshot's, when norm is not
// nil. Close must be called.
func OpenSnapshotStream(path string, opts LoadOptions, norm *Normalizer) (*SnapshotStream, error) {
	limit := opts.MaxSize
	if limit <= 0 {
		limit = DefaultMaxSnapshotSize
	}
	f, info, err := regularfile.Open(path, sideHint)
	if err != nil {
		return nil, streamErr(path, err)
	}
	if info.Size() > limit {
		f.Close()
		return nil, streamErr(path, errOverLimit)
	}
	s, err := openStream(path, f, f, limit, norm)
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// openStream reads the head of the snapshot in r (a file, plain or
// gzipped, at its start), named path in errors; the stream's Close closes
// c. It does not close c on an error.
func openStream(path string, r io.ReadSeeker, c io.Closer, limit int64, norm *Normalizer) (*SnapshotStream, error) {
	s := &SnapshotStream{path: path, f: c, win: make([]byte, streamWindow), h: sha256.New(), redact: norm}
	br := io.Reader(r)
	var magic [2]byte
	n, _ := io.ReadFull(r, magic[:])
	if n == 2 && magic == [2]byte{0x1f, 0x8b} {
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			return nil, streamErr(path, err)
		}
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, streamErr(path, err)
		}
		br = zr
	} else {
		copy(s.win, magic[:n])
		s.end = n
	}
	s.in = &limitReader{r: br, n: limit - int64(s.end)}
	if err := s.readHead(); err != nil {
		return nil, streamErr(path, err)
	}
	return s, nil
}

func streamErr(path string, err error) error {
	return fmt.Errorf("%w: %s: %v", ErrNotStreamable, path, err)
}

// fill reads more of the file into the window after end, moving what is
// unread (from keep on) to its start or growing it first, and returns
// how far the window moved (what was at i is now at i-moved); at the end
// of the input it reports io.EOF.
func (s *SnapshotStream) fill(keep int) (moved int, err error) {
	if s.eof {
		if s.rerr != nil {
			return 0, s.rerr
		}
		return 0, io.EOF
	}
	if keep > 0 {
		copy(s.win, s.win[keep:s.end])
		s.end -= keep
		s.pos -= keep
		moved = keep
	}
	if s.end == len(s.win) {
		grown := make([]byte, 2*len(s.win))
		copy(grown, s.win[:s.end])
		s.win = grown
	}
	m, err := s.in.Read(s.win[s.end:])
	s.end += m
	if err != nil {
		s.eof = true
		if err != io.EOF {
			s.rerr = err
		}
		if m == 0 {
			if s.rerr != nil {
				return moved, s.rerr
			}
			return moved, io.EOF
		}
	}
	return moved, nil
}

// readHead reads the fields before the objects and hashes them as the
// digest covers them: the window is read until the top-level "objects"
// key, and what precedes it is decoded as a snapshot without objects by
// the strict decoder LoadSnapshot uses.
func (s *SnapshotStream) readHead() error {
	for {
		at, ok, err := headEnd(s.win[:s.end])
		if err != nil {
			return err
		}
		if ok {
			doc := append(bytes.Clone(s.win[:at]), `"objects":null,"digest":""}`...)
			d := snapshotDecoder{jsonx.NewDecoder(doc, false)}
			head, _, err := d.snapshot()
			if err != nil || head.APIVersion != SnapshotAPIVersion || head.Kind != SnapshotKind {
				return fmt.Errorf("the head is not as driftgate writes it")
			}
			meta := head.Metadata
			meta.CapturedAt = time.Time{}
			if err := head.writeHead(s.h, meta); err != nil {
				return err
			}
			s.Head = head
			s.pos = at + len(`"objects"`)
			return nil
		}
		if s.end >= maxStreamHead {
			return errors.New("no objects in the first 64 MiB")
		}
		if _, err := s.fill(0); err != nil {
			return err
		}
	}
}

// maxStreamHead bounds the fields before the objects (the metadata, the
// resource types): a file with more there is not streamed.
const maxStreamHead = 64 << 20

// headEnd returns where the top-level key "objects" starts in b, or false
// when b does not reach it yet.
func headEnd(b []byte) (int, bool, error) {
	i := skipSpace(b, 0)
	if i == len(b) {
		return 0, false, nil
	}
	if b[i] != '{' {
		return 0, false, errors.New("not a JSON object")
	}
	i++
	for {
		i = skipSpace(b, i)
		if i == len(b) {
			return 0, false, nil
		}
		if b[i] != '"' {
			return 0, false, errors.New("a key was expected")
		}
		start := i
		end, st := scanString(b, i)
		if st != scanOK {
			return 0, false, st.err()
		}
		if string(b[start:end]) == `"objects"` {
			return start, true, nil
		}
		i = skipSpace(b, end)
		if i == len(b) {
			return 0, false, nil
		}
		if b[i] != ':' {
			return 0, false, errors.New("a colon was expected")
		}
		i = skipSpace(b, i+1)
		end, st = scanValue(b, i)
		if st != scanOK {
			return 0, false, st.err()
		}
		i = skipSpace(b, end)
		if i == len(b) {
			return 0, false, nil
		}
		if b[i] != ',' {
			return 0, false, errors.New("the objects are missing")
		}
		i++
	}
}

// scanStatus says how scanning a value ended.
type scanStatus int

const (
	scanOK scanStatus = iota
	scanMore
	scanBad
)

func (st scanStatus) err() error {
	if st == scanMore {
		return nil
	}
	return errors.New("invalid JSON")
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the end of the string starting at b[i].
func scanString(b []byte, i int) (int, scanStatus) {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, scanMore
		}
		q := j + k
		// An escaped quote is preceded by an odd run of backslashes.
		bs := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			bs++
		}
		if bs%2 == 0 {
			return q + 1, scanOK
		}
		j = q + 1
	}
}

// scanValue returns the end of the JSON value starting at b[i], checking
// only its nesting: the strict decoder checks the rest.
func scanValue(b []byte, i int) (int, scanStatus) {
	if i >= len(b) {
		return 0, scanMore
	}
	switch b[i] {
	case '"':
		return scanString(b, i)
	case '{', '[':
		return scanCompact(nil, b, i)
	}
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\n', '\t', '\r':
			if j == i {
				return 0, scanBad
			}
			return j, scanOK
		}
		j++
	}
	return 0, scanMore
}

// scanCompact returns the end of the object or array starting at b[i],
// appending it to *dst, when dst is not nil, without the white space
// outside its strings.
func scanCompact(dst *[]byte, b []byte, i int) (int, scanStatus) {
	depth, run := 0, i
	for j := i; j < len(b); j++ {
		switch b[j] {
		case ' ', '\n', '\t', '\r':
			if dst != nil {
				*dst = append(*dst, b[run:j]...)
			}
			j = skipSpace(b, j) - 1
			run = j + 1
		case '"':
			end, st := scanString(b, j)
			if st != scanOK {
				return 0, st
			}
			j = end - 1
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				if dst != nil {
					*dst = append(*dst, b[run:j+1]...)
				}
				return j + 1, scanOK
			}
		}
	}
	return 0, scanMore
}

// start begins reading the objects: one goroutine reads and hashes the
// file, cutting it into batches that workers decode meanwhile; Next takes
// the batches in order. workers, shared by the streams of a comparison,
// run the jobs they are sent.
func (s *SnapshotStream) start(ctx context.Context, workers chan<- func()) {
	ctx, s.cancel = context.WithCancel(ctx)
	s.batches = make(chan chan streamDecoded, 4)
	go func() {
		defer close(s.batches)
		err := s.readObjects(ctx, workers)
		if err != nil {
			res := make(chan streamDecoded, 1)
			res <- streamDecoded{err: err}
			select {
			case s.batches <- res:
			case <-ctx.Done():
			}
		}
	}()
}

// readObjects reads the objects' array and the fields after it.
func (s *SnapshotStream) readObjects(ctx context.Context, workers chan<- func()) error {
	// "objects" is followed by a colon and the array.
	for {
		i := skipSpace(s.win[:s.end], s.pos)
		if i < s.end {
			if s.win[i] != ':' {
				return errors.New("a colon was expected")
			}
			s.pos = i + 1
			break
		}
		if _, err := s.fill(s.pos); err != nil {
			return err
		}
	}
	for {
		i := skipSpace(s.win[:s.end], s.pos)
		if i < s.end {
			if s.win[i] != '[' {
				return errors.New("objects is not an array")
			}
			s.pos = i + 1
			break
		}
		if _, err := s.fill(s.pos); err != nil {
			return err
		}
	}
	s.h.Write([]byte{'['})
	batch := make([]byte, 0, streamBatchBytes+64<<10)
	n, total := 0, 0
	send := func() error {
		if n == 0 {
			return nil
		}
		if total > 0 {
			s.h.Write([]byte{','})
		}
		s.h.Write(batch)
		total += n
		data := batch
		res := make(chan streamDecoded, 1)
		job := func() { res <- s.decodeBatch(data) }
		select {
		case s.batches <- res:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case workers <- job:
		case <-ctx.Done():
			return ctx.Err()
		}
		batch = make([]byte, 0, streamBatchBytes+64<<10)
		n = 0
		return nil
	}
	first := true
	for {
		i := skipSpace(s.win[:s.end], s.pos)
		if i == s.end {
			if _, err := s.fill(s.pos); err != nil {
				return err
			}
			continue
		}
		c := s.win[i]
		switch {
		case c == ']' && first:
			s.pos = i + 1
		case c == '{' && first:
		case c == ',' && !first:
			j := skipSpace(s.win[:s.end], i+1)
			if j == s.end {
				if _, err := s.fill(s.pos); err != nil {
					return err
				}
				continue
			}
			if s.win[j] != '{' {
				return errors.New("an object was expected")
			}
			i = j
		case c == ']':
			s.pos = i + 1
		default:
			return errors.New("the objects array is not as driftgate writes it")
		}
		if c == ']' {
			break
		}
		mark := len(batch)
		if n > 0 {
			batch = append(batch, ',')
		}
		end, st := scanCompact(&batch, s.win[:s.end], i)
		if st == scanBad {
			return errors.New("invalid JSON")
		}
		if st == scanMore {
			batch = batch[:mark]
			if _, err := s.fill(s.pos); err != nil {
				return err
			}
			continue
		}
		s.pos = end
		first = false
		n++
		if n == streamBatchObjects || len(batch) >= streamBatchBytes {
			if err := send(); err != nil {
				return err
			}
		}
	}
	if err := send(); err != nil {
		return err
	}
	s.h.Write([]byte{']'})
	// The rest of the file: the digests and signature, which are small.
	const maxTail = 1 << 20
	for !s.eof && s.end-s.pos < maxTail {
		if _, err := s.fill(s.pos); err != nil && err != io.EOF {
			return err
		}
	}
	if s.rerr != nil {
		return s.rerr
	}
	if !s.eof {
		return errors.New("too much data after the objects")
	}
	s.tail = bytes.Clone(s.win[s.pos:s.end])
	return nil
}

// decodeBatch decodes a batch of compact objects separated by commas.
func (s *SnapshotStream) decodeBatch(data []byte) streamDecoded {
	d := snapshotDecoder{jsonx.NewDecoder(data, false)}
	d.ShareMaps()
	objs, err := d.objects(0, len(data))
	if err != nil {
		return streamDecoded{err: fmt.Errorf("an object is not as driftgate writes it: %w", err)}
	}
	redacted := 0
	if s.redact != nil {
		for i := range objs {
			if s.redact.redactObject(&objs[i]) {
				redacted++
			}
		}
	}
	return streamDecoded{objs: objs, redacted: redacted}
}

// redactObject redacts one object as RedactSnapshot does, and reports
// whether it changed.
func (n *Normalizer) redactObject(o *Object) bool {
	if o.Object == nil {
		return false
	}
	obj, ok := (redactor{Normalizer: n}).redact(o.Group, o.Kind, o.Name, o.Object)
	if ok {
		o.Object = obj
	}
	return ok
}

// Peek returns the next object without taking it, or nil at the end (or
// on an error, which Next then returns).
func (s *SnapshotStream) Peek() *Object {
	for s.next == len(s.cur) && s.err == nil {
		if s.ended || !s.advance() {
			return nil
		}
	}
	if s.err != nil {
		return nil
	}
	return &s.cur[s.next]
}

// Next returns the next object, or nil at the end of the objects, where the
// digests have been checked; a file not as driftgate writes it is an
// error wrapping ErrNotStreamable. Objects come in the order of their
// IDs, each once: a file that holds them otherwise is such an error.
func (s *SnapshotStream) Next() (*Object, error) {
	o := s.Peek()
	if o == nil {
		return nil, s.err
	}
	s.next++
	return o, nil
}

// advance takes the next batch; false at the end or on an error.
func (s *SnapshotStream) advance() bool {
	res, ok := <-s.batches
	if !ok {
		s.ended = true
		s.err = s.finish()
		s.cur, s.next = nil, 0
		return false
	}
	b := <-res
	if b.err != nil {
		s.err = streamErr(s.path, b.err)
		return false
	}
	for i := range b.objs {
		id := b.objs[i].ID()
		if s.Count+i > 0 && s.last.Compare(id) >= 0 {
			s.err = streamErr(s.path, fmt.Errorf("%s does not follow %s", id, s.last))
			return false
		}
		s.last = id
	}
	s.Count += len(b.objs)
	s.Redacted += b.redacted
	s.cur, s.next = b.objs, 0
	return true
}

// finish checks the fields after the objects and the digests, once every
// object was read; it is called once.
func (s *SnapshotStream) finish() error {
	if s.err != nil {
		return s.err
	}
	if s.tail == nil {
		return streamErr(s.path, errors.New("the objects end early"))
	}
	// The tail is `, "digest": ..., "integrity": ..., "signature": ... }`.
	t := skipSpace(s.tail, 0)
	if t == len(s.tail) || s.tail[t] != ',' {
		return streamErr(s.path, errors.New("the digest is missing"))
	}
	doc := append([]byte{'{'}, s.tail[t+1:]...)
	d := snapshotDecoder{jsonx.NewDecoder(doc, false)}
	head := s.Head
	err := d.StructFields(snapshotFieldNames[6:], snapshotOptional[6:], func(i int) error {
		var err error
		switch snapshotFieldNames[6+i] {
		case "digest":
			head.Digest, err = d.Str()
		case "integrity":
			head.Integrity, err = d.NonEmptyStr()
		case "signature":
			head.Signature = &sign.Envelope{}
			err = d.ReflectInto(head.Signature)
		}
		return err
	})
	if err != nil || !d.AtEnd() {
		return streamErr(s.path, errors.New("the fields after the objects are not as driftgate writes them"))
	}
	s.h.Write([]byte(`,"digest":""}` + "\n"))
	if got := "sha256:" + hex.EncodeToString(s.h.Sum(nil)); got != head.Digest {
		return streamErr(s.path, fmt.Errorf("the content digest %s does not match the recorded %s", got, head.Digest))
	}
	if err := head.checkIntegrity(); err != nil {
		return streamErr(s.path, err)
	}
	return nil
}

// Close stops reading and closes the file.
func (s *SnapshotStream) Close() error {
	s.stop()
	return s.f.Close()
}
