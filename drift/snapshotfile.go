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
	"github.com/driftgate/driftgate/internal/regularfile"
)

// ErrCorruptSnapshot is wrapped by Load's error when a file is truncated, is
// not a snapshot, or does not match its digest.
var ErrCorruptSnapshot = errors.New("snapshot is corrupt or was edited")

// gzipLevel is the compression of a ".gz" snapshot.
const gzipLevel = 3

// Save writes the snapshot to path atomically, gzipped when path ends in ".gz".
func (s *Snapshot) Save(path string) error { return saveEncoded(path, s.Encode) }

// saveEncoded writes what encode writes to path atomically, gzipped when
// path ends in ".gz": Snapshot.Save and SpilledSnapshot.Save.
func saveEncoded(path string, encode func(io.Writer) error) error {
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
		if err := encode(out); err != nil {
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

// DefaultMaxSnapshotSize is the largest snapshot LoadSnapshot reads, as
// JSON (after decompression, for a gzipped file): 1 GiB, about 500,000
// objects, some ten times the largest cluster measured (BENCHMARKS.md). A
// gzipped file inflates about 30 times; a crafted one a thousand times,
// and a 4 MB file would otherwise fill the memory.
const DefaultMaxSnapshotSize = 1 << 30

// ErrSnapshotTooLarge is wrapped by Load's error when a file holds more
// than the limit (LoadOptions.MaxSize).
var ErrSnapshotTooLarge = errors.New("snapshot is larger than the limit")

// LoadOptions configure LoadSnapshotWith.
type LoadOptions struct {
	// MaxSize is the largest snapshot read, in bytes of JSON after
	// decompression; 0 means DefaultMaxSnapshotSize.
	MaxSize int64
}

// LoadSnapshot is LoadSnapshotWith with the default options.
func LoadSnapshot(path string) (*Snapshot, error) { return LoadSnapshotWith(path, LoadOptions{}) }

// LoadSnapshotWith reads and verifies a snapshot file (gzipped or not, told
// apart by content). A truncated, edited or foreign file is an error naming
// it, as are a file that is not a regular file (a FIFO, a device) and one
// larger, once inflated, than opts.MaxSize.
// The objects share their equal small maps (jsonx.Decoder.ShareMaps): they
// are read-only; code that changes one copies what it changes first, as
// Mapping.apply does. Sharing takes two snapshots of 20,000 objects from
// 193 to 94 MiB of heap (BENCHMARKS.md).
//
// A large file is read into memory outside the Go heap (see offHeap),
// given back once decoded: held in the heap, its bytes would count
// towards the garbage collector's goal while the objects are decoded, and
// a diff's peak memory grew by up to twice the file (BENCHMARKS.md).
func LoadSnapshotWith(path string, opts LoadOptions) (*Snapshot, error) {
	limit := opts.MaxSize
	if limit <= 0 {
		limit = DefaultMaxSnapshotSize
	}
	f, info, err := regularfile.Open(path, sideHint)
	if err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			return nil, err
		}
		return nil, fmt.Errorf("reading snapshot: %w", err)
	}
	defer f.Close()
	if info.Size() > limit {
		return nil, tooLarge(path, limit, false)
	}
	size := int(info.Size())
	var s *Snapshot
	if size >= offHeapMin {
		s, err = loadOffHeap(f, size, limit)
	}
	if s == nil && err == nil {
		s, err = decodeSnapshot(f, size, limit)
	}
	if errors.Is(err, errOverLimit) {
		return nil, tooLarge(path, limit, true)
	}
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", path, err)
	}
	return s, nil
}

// errOverLimit is what reading a snapshot past its size limit meets.
var errOverLimit = errors.New("over the size limit")

// tooLarge is the refusal of the snapshot at path, larger than limit
// (once inflated, when gzipped).
func tooLarge(path string, limit int64, inflated bool) error {
	what := "holds"
	if inflated {
		what = "inflates to"
	}
	return fmt.Errorf("snapshot %s: %w: it %s more than %s of JSON; if it is a real snapshot, raise the limit with --max-snapshot-size",
		path, ErrSnapshotTooLarge, what, formatBytes(limit))
}

// formatBytes writes n in binary units, as the size flags take them: 1Gi, 512Mi.
func formatBytes(n int64) string {
	for _, u := range []struct {
		shift uint
		name  string
	}{{40, "Ti"}, {30, "Gi"}, {20, "Mi"}, {10, "Ki"}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d%s", n>>u.shift, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// limitReader reads r until more than n bytes came, then fails with errOverLimit.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, errOverLimit
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	m, err := l.r.Read(p)
	l.n -= int64(m)
	if l.n < 0 {
		return m, errOverLimit
	}
	return m, err
}

// offHeapMin is the smallest file LoadSnapshot reads outside the heap.
const offHeapMin = 1 << 20

// loadOffHeap reads f, of size bytes, into memory outside the heap and
// decodes it, or returns neither snapshot nor error, with f at its start,
// when it cannot: no such memory here, or a file that is not size bytes
// long now. Nothing decoded refers to that memory: every string is copied.
func loadOffHeap(f *os.File, size int, limit int64) (*Snapshot, error) {
	buf, free, ok := offHeap(size)
	if !ok {
		return nil, nil
	}
	defer free()
	_, err := io.ReadFull(f, buf)
	var probe [1]byte
	if err == nil {
		if m, _ := f.Read(probe[:]); m == 0 {
			return decodeSnapshotData(buf, nil, limit)
		}
	}
	// A read error, or a file that changed size since Stat: read it again
	// the ordinary way, which meets the error or the new size as it is.
	if _, serr := f.Seek(0, io.SeekStart); serr != nil {
		return nil, errors.Join(err, serr)
	}
	return nil, nil
}

// DecodeSnapshot reads and verifies a snapshot from r, of at most
// DefaultMaxSnapshotSize; as LoadSnapshot's, its objects are read-only.
func DecodeSnapshot(r io.Reader) (*Snapshot, error) {
	s, err := decodeSnapshot(r, 0, DefaultMaxSnapshotSize)
	if errors.Is(err, errOverLimit) {
		return nil, fmt.Errorf("%w: more than %s of JSON", ErrSnapshotTooLarge, formatBytes(DefaultMaxSnapshotSize))
	}
	return s, err
}

// decodeSnapshot reads r whole (sizeHint bytes, when known) and decodes
// it; more than limit bytes, read or inflated, is errOverLimit.
func decodeSnapshot(r io.Reader, sizeHint int, limit int64) (*Snapshot, error) {
	raw, err := readAll(&limitReader{r: r, n: limit}, sizeHint)
	if errors.Is(err, errOverLimit) {
		return nil, err
	}
	return decodeSnapshotData(raw, err, limit)
}
