package drift

import (
	"errors"
	"fmt"
)

// DecodeSnapshotBytes decodes and verifies a snapshot held in data (JSON,
// or gzip as in a .json.gz file), as LoadSnapshotWith does a file: one
// holding more than limit bytes of JSON, once inflated, wraps
// ErrSnapshotTooLarge (0: DefaultMaxSnapshotSize), one that does not match
// its digest ErrCorruptSnapshot. It is how a snapshot read from object
// storage (drift/blobstore) is decoded.
func DecodeSnapshotBytes(data []byte, limit int64) (*Snapshot, error) {
	if limit <= 0 {
		limit = DefaultMaxSnapshotSize
	}
	s, err := decodeSnapshotData(data, nil, limit)
	if errors.Is(err, errOverLimit) {
		return nil, fmt.Errorf("%w: it holds more than %s of JSON; if it is a real snapshot, raise the limit with --max-snapshot-size",
			ErrSnapshotTooLarge, formatBytes(limit))
	}
	return s, err
}
