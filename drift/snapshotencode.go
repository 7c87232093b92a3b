package drift

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/driftgate/driftgate/internal/jsonx"
)

// Encode seals the snapshot and writes it as indented JSON.
//
// Each object is encoded once, compact: that is hashed for the digest and
// indented for the output, which Seal and then an indented encoding would
// do in two passes.
func (s *Snapshot) Encode(w io.Writer) error {
	if err := s.canSign(); err != nil {
		return err
	}
	s.prepare()
	if s.encodable() {
		// Only the writer can fail now, as encoding/json's Encoder would.
		return s.encodeSealed(w)
	}
	// encoding/json refuses the snapshot (a NaN, say): with its error, and
	// before writing anything.
	if err := s.Expand(); err != nil {
		return err
	}
	if err := s.Seal(); err != nil {
		return err
	}
	if err := s.sign(); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(s)
}

// encode keeps o only as its compact JSON, written with e (whose buffer
// is reused), if that can be written: see CollectOptions.ForWriting.
func (o *Object) encode(e *jsonx.Writer) {
	e.Buf, e.Err = e.Buf[:0], nil
	if writeObject(e, o, 2) != nil || e.Err != nil {
		return // a value encoding/json must encode, or refuse
	}
	o.Encoded = bytes.Clone(e.Buf)
	o.Object, o.Provenance = nil, Provenance{}
}

// encodable reports whether jsonx.Writer encodes every value of the
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
				if !jsonx.Encodable(s.Objects[i].Object) {
					bad.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	return !bad.Load()
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
	out := &jsonx.Writer{W: w, Indent: true, Buf: make([]byte, 0, jsonx.FlushSize+4096)}
	if err := writeSnapshotHead(out, s, s.Metadata); err != nil {
		return err
	}
	if len(s.Objects) == 0 {
		h.Write([]byte("[]"))
		out.Buf = append(out.Buf, "[]"...)
	} else {
		h.Write([]byte("["))
		out.Buf = append(out.Buf, '[')
		err := s.encodeObjects(true, func(c *encodedChunk) error {
			h.Write(c.compact)
			out.Flush()
			if out.Err == nil {
				_, out.Err = w.Write(c.indented)
			}
			return out.Err
		})
		if err != nil {
			return err
		}
		h.Write([]byte("]"))
		out.Newline(1)
		out.Buf = append(out.Buf, ']')
	}
	h.Write([]byte(`,"digest":""}` + "\n"))
	s.Digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return s.writeTail(out)
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
		e := &jsonx.Writer{Buf: bufs[0][:0]}
		ind := bufs[1][:0]
		for j := i * encodeChunkSize; j < min((i+1)*encodeChunkSize, len(s.Objects)); j++ {
			start := len(e.Buf)
			if j > 0 {
				e.Buf = append(e.Buf, ',')
				ind = append(ind, ',')
			}
			if c.err = writeObject(e, &s.Objects[j], 2); c.err != nil {
				return
			}
			if indent {
				ind = append(ind, '\n', ' ', ' ')
				ind = jsonx.AppendIndented(ind, e.Buf[start+min(j, 1):], 2)
			}
		}
		c.compact, c.indented = e.Buf, ind
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

// writeSnapshotHead writes the snapshot's fields before its objects, up
// to the colon after "objects", with meta as its metadata.
func writeSnapshotHead(e *jsonx.Writer, s *Snapshot, meta SnapshotMeta) error {
	e.Buf = append(e.Buf, '{')
	e.Key("apiVersion", true, 1)
	e.Str(s.APIVersion)
	e.Key("kind", false, 1)
	e.Str(s.Kind)
	for _, f := range []struct {
		name string
		v    any
	}{{"metadata", meta}, {"resources", s.Resources}, {"unobserved", s.Unobserved}} {
		e.Key(f.name, false, 1)
		if err := e.Reflect(f.v, 1); err != nil {
			return err
		}
	}
	e.Key("objects", false, 1)
	return nil
}

// writeObject encodes an Object as encoding/json does (fields in
// declaration order, omitempty honoured).
func writeObject(e *jsonx.Writer, o *Object, depth int) error {
	if o.Encoded != nil {
		if e.Indent {
			e.Buf = jsonx.AppendIndented(e.Buf, o.Encoded, depth)
		} else {
			e.Buf = append(e.Buf, o.Encoded...)
		}
		e.MaybeFlush()
		return nil
	}
	d := depth + 1
	e.Buf = append(e.Buf, '{')
	first := true
	str := func(name, v string, omitEmpty bool) {
		if omitEmpty && v == "" {
			return
		}
		e.Key(name, first, d)
		first = false
		e.Str(v)
	}
	str("group", o.Group, true)
	str("version", o.Version, false)
	str("kind", o.Kind, false)
	str("namespace", o.Namespace, true)
	str("name", o.Name, false)
	e.Key("object", false, d)
	if err := e.Object(o.Object, d); err != nil {
		return err
	}
	e.Key("provenance", false, d)
	writeProvenance(e, &o.Provenance, d)
	e.Newline(depth)
	e.Buf = append(e.Buf, '}')
	return nil
}

func writeProvenance(e *jsonx.Writer, p *Provenance, depth int) {
	d := depth + 1
	n := 0
	open := func(name string) {
		if n == 0 {
			e.Buf = append(e.Buf, '{')
		}
		e.Key(name, n == 0, d)
		n++
	}
	if len(p.Managers) > 0 {
		open("managers")
		e.Buf = append(e.Buf, '[')
		for i := range p.Managers {
			if i > 0 {
				e.Buf = append(e.Buf, ',')
			}
			e.Newline(d + 1)
			writeManager(e, &p.Managers[i], d+1)
		}
		e.Newline(d)
		e.Buf = append(e.Buf, ']')
	}
	if p.LastApplied {
		open("lastApplied")
		e.Buf = append(e.Buf, "true"...)
	}
	if p.Owner != nil {
		open("owner")
		o := p.Owner
		e.Buf = append(e.Buf, '{')
		e.Key("apiVersion", true, d+1)
		e.Str(o.APIVersion)
		e.Key("kind", false, d+1)
		e.Str(o.Kind)
		e.Key("name", false, d+1)
		e.Str(o.Name)
		if o.Controller {
			e.Key("controller", false, d+1)
			e.Buf = append(e.Buf, "true"...)
		}
		e.Newline(d)
		e.Buf = append(e.Buf, '}')
	}
	if len(p.DeployTool) > 0 {
		open("deployTool")
		keys := make([]string, 0, len(p.DeployTool))
		for k := range p.DeployTool {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		e.Buf = append(e.Buf, '{')
		for i, k := range keys {
			e.Key(k, i == 0, d+1)
			e.Str(p.DeployTool[k])
		}
		e.Newline(d)
		e.Buf = append(e.Buf, '}')
	}
	if n == 0 {
		e.Buf = append(e.Buf, "{}"...)
		return
	}
	e.Newline(depth)
	e.Buf = append(e.Buf, '}')
}

func writeManager(e *jsonx.Writer, m *Manager, depth int) {
	d := depth + 1
	e.Buf = append(e.Buf, '{')
	e.Key("manager", true, d)
	e.Str(m.Manager)
	e.Key("operation", false, d)
	e.Str(m.Operation)
	if m.Subresource != "" {
		e.Key("subresource", false, d)
		e.Str(m.Subresource)
	}
	for _, f := range []struct {
		name string
		v    []string
	}{{"fields", m.Fields}, {"paths", m.Paths}} {
		if len(f.v) == 0 {
			continue
		}
		e.Key(f.name, false, d)
		e.Strings(f.v, d)
	}
	e.Newline(depth)
	e.Buf = append(e.Buf, '}')
}
