package drift

import (
	"bufio"
	"bytes"
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
)

// spillFile holds a snapshot's objects outside the heap while it is taken:
// sorted runs of encoded objects in two temporary files, one of keys (the
// object's identity and the length of its body) and one of bodies (the
// object as a snapshot file holds it, compact). The files are unlinked as
// soon as they are created, so they are gone however the process ends
// (an error, SIGINT, SIGKILL), and created 0600 by os.CreateTemp.
//
// Keys are apart from bodies so that the first pass of the merge, which
// only counts what is folded (twins), reads a tenth of the bytes.
type spillFile struct {
	keys, bodies *os.File

	mu              sync.Mutex
	keyOff, bodyOff int64
	runs            []spillRun
	dropped         map[int]bool
}

// spillRun is a sorted run of records: one page of a LIST (sorted there:
// an API server's order is etcd's key order, namespace/name, which is not
// the snapshot's order when one namespace's name is a prefix of another's
// followed by '-', team and team-a).
type spillRun struct {
	list             int
	keyOff, keyLen   int64
	bodyOff, bodyLen int64
	n                int
}

// spillTestHook, when set by a test, is called before each run is written
// and can fail it.
var spillTestHook func() error

// newSpillFile creates the temporary files in dir ("" for $TMPDIR).
func newSpillFile(dir string) (*spillFile, error) {
	f := &spillFile{dropped: map[int]bool{}}
	for _, p := range []**os.File{&f.keys, &f.bodies} {
		t, err := os.CreateTemp(dir, "driftgate-spill-*")
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("creating a temporary file for the snapshot's objects: %w", err)
		}
		*p = t
		// Unlinked at once: the open file stays usable, and nothing is
		// left behind on any exit. Where a system cannot unlink an open
		// file (Windows), Close removes it.
		if os.Remove(t.Name()) == nil {
			spillUnlinked(t)
		}
	}
	return f, nil
}

// spillUnlinked marks t as already removed, for Close.
func spillUnlinked(t *os.File) { spillRemoved.Store(t, true) }

var spillRemoved sync.Map

// Close closes (and, if not done already, removes) the files.
func (f *spillFile) Close() error {
	var errs []error
	for _, t := range []*os.File{f.keys, f.bodies} {
		if t == nil {
			continue
		}
		errs = append(errs, t.Close())
		if _, gone := spillRemoved.LoadAndDelete(t); !gone {
			errs = append(errs, os.Remove(t.Name()))
		}
	}
	return errors.Join(errs...)
}

// addRun sorts objs (each Encoded) and appends them as one run of list.
func (f *spillFile) addRun(list int, objs []Object) error {
	if len(objs) == 0 {
		return nil
	}
	if spillTestHook != nil {
		if err := spillTestHook(); err != nil {
			return err
		}
	}
	slices.SortFunc(objs, func(a, b Object) int {
		return cmp.Or(a.ID().Compare(b.ID()), bytes.Compare(a.Encoded, b.Encoded))
	})
	// Sized once: growing them by append was a seventh of a snapshot's
	// CPU in a profile (BENCHMARKS.md).
	keySize, bodySize := 0, 0
	for i := range objs {
		o := &objs[i]
		keySize += len(o.Group) + len(o.Kind) + len(o.Namespace) + len(o.Name) + 5*binary.MaxVarintLen64
		bodySize += len(o.Encoded)
	}
	keys, bodies := make([]byte, 0, keySize), make([]byte, 0, bodySize)
	for i := range objs {
		o := &objs[i]
		for _, s := range []string{o.Group, o.Kind, o.Namespace, o.Name} {
			keys = binary.AppendUvarint(keys, uint64(len(s)))
			keys = append(keys, s...)
		}
		keys = binary.AppendUvarint(keys, uint64(len(o.Encoded)))
		bodies = append(bodies, o.Encoded...)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	r := spillRun{list: list, keyOff: f.keyOff, keyLen: int64(len(keys)), bodyOff: f.bodyOff, bodyLen: int64(len(bodies)), n: len(objs)}
	if _, err := f.keys.WriteAt(keys, r.keyOff); err != nil {
		return fmt.Errorf("writing the snapshot's objects to a temporary file: %w", err)
	}
	if _, err := f.bodies.WriteAt(bodies, r.bodyOff); err != nil {
		return fmt.Errorf("writing the snapshot's objects to a temporary file: %w", err)
	}
	f.keyOff += r.keyLen
	f.bodyOff += r.bodyLen
	f.runs = append(f.runs, r)
	return nil
}

// drop leaves list's runs out of the snapshot: its type could not be
// listed to the end, and a half-listed type is not observed.
func (f *spillFile) drop(list int) {
	f.mu.Lock()
	f.dropped[list] = true
	f.mu.Unlock()
}

// spillCursor reads one run in order.
type spillCursor struct {
	run    int
	list   int
	left   int
	idx    int
	keys   *bufio.Reader
	bodies *bufio.Reader
	// bodyAt is where the current record's body starts in the bodies file.
	bodyAt, nextBody int64
	id               ObjectID
	bodyLen          int
	body             []byte
}

func (c *spillCursor) str() (string, error) {
	n, err := binary.ReadUvarint(c.keys)
	if err != nil {
		return "", err
	}
	b := make([]byte, n)
	_, err = io.ReadFull(c.keys, b)
	return string(b), err
}

// next reads the run's next record; false at its end.
func (c *spillCursor) next() (bool, error) {
	if c.left == 0 {
		return false, nil
	}
	c.left--
	c.idx++
	var err error
	for _, p := range []*string{&c.id.Group, &c.id.Kind, &c.id.Namespace, &c.id.Name} {
		if *p, err = c.str(); err != nil {
			return false, fmt.Errorf("reading back the snapshot's objects: %w", err)
		}
	}
	n, err := binary.ReadUvarint(c.keys)
	if err != nil {
		return false, fmt.Errorf("reading back the snapshot's objects: %w", err)
	}
	c.bodyLen = int(n)
	c.bodyAt = c.nextBody
	c.nextBody += int64(n)
	if c.bodies != nil {
		if cap(c.body) < c.bodyLen {
			c.body = make([]byte, c.bodyLen)
		}
		c.body = c.body[:c.bodyLen]
		if _, err := io.ReadFull(c.bodies, c.body); err != nil {
			return false, fmt.Errorf("reading back the snapshot's objects: %w", err)
		}
	}
	return true, nil
}

// spillHeap orders cursors by their current record: identity, then list
// and run, so that equal identities (twins) come out together and in one
// order every time.
type spillHeap []*spillCursor

func (h spillHeap) Len() int { return len(h) }
func (h spillHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if c := a.id.Compare(b.id); c != 0 {
		return c < 0
	}
	return cmp.Or(cmp.Compare(a.list, b.list), cmp.Compare(a.run, b.run)) < 0
}
func (h spillHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *spillHeap) Push(x any)   { *h = append(*h, x.(*spillCursor)) }
func (h *spillHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// spillRecord names one record: its run and place in it.
type spillRecord struct{ run, idx int }

// merge calls emit for every record of the runs not dropped, in the
// snapshot's order. With bodies, each record's body is read (and valid
// only during emit). Each run is read through buffers of a size that keeps
// all of them within about 32 MiB.
func (f *spillFile) merge(bodies bool, emit func(c *spillCursor) error) error {
	var live []int
	for i, r := range f.runs {
		if !f.dropped[r.list] {
			live = append(live, i)
		}
	}
	size := 64 << 10
	if len(live) > 0 {
		size = min(max(32<<20/len(live)/2, 4<<10), 64<<10)
	}
	h := make(spillHeap, 0, len(live))
	for _, i := range live {
		r := f.runs[i]
		c := &spillCursor{run: i, list: r.list, left: r.n, idx: -1, nextBody: r.bodyOff,
			keys: bufio.NewReaderSize(io.NewSectionReader(f.keys, r.keyOff, r.keyLen), size/4)}
		if bodies {
			c.bodies = bufio.NewReaderSize(io.NewSectionReader(f.bodies, r.bodyOff, r.bodyLen), size)
		}
		ok, err := c.next()
		if err != nil {
			return err
		}
		if ok {
			h = append(h, c)
		}
	}
	heap.Init(&h)
	for len(h) > 0 {
		c := h[0]
		if err := emit(c); err != nil {
			return err
		}
		ok, err := c.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(&h, 0)
		} else {
			heap.Pop(&h)
		}
	}
	return nil
}

// twins finds the records that fold into another of the same list and
// identity (see foldTwins: the one whose snapshot form sorts first is
// kept), and returns them with how many objects remain.
func (f *spillFile) twins() (map[spillRecord]bool, int, error) {
	folded := map[spillRecord]bool{}
	remain := 0
	var group []spillGroupMember
	flush := func() error {
		if len(group) > 1 {
			best := -1
			var bestBody []byte
			for i, g := range group {
				body := make([]byte, g.len)
				if _, err := f.bodies.ReadAt(body, g.at); err != nil {
					return fmt.Errorf("reading back the snapshot's objects: %w", err)
				}
				if best < 0 || bytes.Compare(body, bestBody) < 0 {
					best, bestBody = i, body
				}
			}
			for i, g := range group {
				if i != best {
					folded[g.rec] = true
				}
			}
		}
		group = group[:0]
		return nil
	}
	var lastID ObjectID
	lastList := -1
	err := f.merge(false, func(c *spillCursor) error {
		if c.list != lastList || c.id != lastID {
			if err := flush(); err != nil {
				return err
			}
			remain++
			lastID, lastList = c.id, c.list
		}
		group = append(group, spillGroupMember{rec: spillRecord{c.run, c.idx}, at: c.bodyAt, len: c.bodyLen})
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return folded, remain, flush()
}

type spillGroupMember struct {
	rec spillRecord
	at  int64
	len int
}
