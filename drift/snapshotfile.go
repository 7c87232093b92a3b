package drift

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/driftgate/driftgate/internal/atomicfile"
)

// ErrCorruptSnapshot is wrapped by Load's error when a file is truncated, is
// not a snapshot, or does not match its digest.
var ErrCorruptSnapshot = errors.New("snapshot is corrupt or was edited")

// gzipLevel is the compression of a ".gz" snapshot.
const gzipLevel = 3

// Save writes the snapshot to path atomically, gzipped when path ends in ".gz".
func (s *Snapshot) Save(path string) error {
	err := atomicfile.Write(path, 0o666, func(w io.Writer) error {
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
// The objects share their equal small maps (jsonx.Decoder.ShareMaps): they
// are read-only; code that changes one copies what it changes first, as
// Mapping.apply does. Sharing takes two snapshots of 20,000 objects from
// 193 to 94 MiB of heap (BENCHMARKS.md).
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
