package blobstore

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"gocloud.dev/blob"
)

// The latest pointer's type.
const (
	pointerAPIVersion = "driftgate.dev/v1"
	pointerKind       = "SnapshotPointer"
	// maxPointerSize bounds reading latest: a pointer is some 250 bytes.
	maxPointerSize = 64 << 10
)

// DefaultLimit is Read's limit when given none: drift's
// DefaultMaxSnapshotSize, 1 GiB of JSON.
const DefaultLimit = 1 << 30

// pointer is the content of <prefix>/latest.
type pointer struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Object is the snapshot's name under the prefix: a pointer cannot
	// send a reader elsewhere in the bucket.
	Object string `json:"object"`
	// SHA256 and Size are of the object's bytes as stored (gzipped).
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size"`
	CapturedAt time.Time `json:"capturedAt"`
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Read returns the snapshot JSON that url names, inflated when gzipped,
// and the URL of the object read (with url's query; show it through
// Redact). A URL ending in .json or .json.gz names the object; any other
// names a prefix, whose latest pointer is followed, and the object must
// then have the size and sha256 the pointer holds. An object holding
// more than limit bytes, stored or inflated, is refused (ErrTooLarge);
// limit <= 0 means DefaultLimit. Errors name the scheme, bucket and key.
func Read(ctx context.Context, url string, limit int64) (data []byte, resolved string, err error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	l, err := parse(url)
	if err != nil {
		return nil, "", err
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	b, done, err := open(ctx, l, false)
	if err != nil {
		return nil, "", err
	}
	defer done()

	key := l.key
	var want *pointer
	if !l.object {
		p, err := readPointer(ctx, b, l)
		if err != nil {
			return nil, "", err
		}
		want = &p
		key = l.child(p.Object)
		if p.Size > limit {
			return nil, "", fmt.Errorf("reading snapshot %s: %w: latest says it holds %d bytes, more than %s; if it is a real snapshot, raise the limit with --max-snapshot-size",
				l.display(key), ErrTooLarge, p.Size, formatBytes(limit))
		}
	}
	raw, err := readObject(ctx, b, l, key, limit, "snapshot")
	if err != nil {
		if want != nil && errors.Is(err, ErrNotFound) {
			return nil, "", fmt.Errorf("%s names %s, but bucket %s has no such object: %w (deleted, or pruned by a racing publisher); publish the snapshot again",
				l.display(l.child(latestName)), l.display(key), l.bucket, ErrNotFound)
		}
		return nil, "", err
	}
	if want != nil {
		sum := sha256.Sum256(raw)
		if int64(len(raw)) != want.Size || hex.EncodeToString(sum[:]) != want.SHA256 {
			return nil, "", fmt.Errorf("snapshot %s in bucket %s: %w: it is not the object %s names (size %d, sha256 %s; latest says %d, %s): it was partly written or replaced; publish the snapshot again",
				l.display(key), l.bucket, ErrCorrupt, l.display(l.child(latestName)), len(raw), hex.EncodeToString(sum[:])[:12], want.Size, want.SHA256[:12])
		}
	}
	data, err = inflate(raw, limit)
	if err != nil {
		return nil, "", fmt.Errorf("snapshot %s in bucket %s: %w", l.display(key), l.bucket, err)
	}
	return data, l.withQuery(key), nil
}

// readPointer reads and checks l's latest pointer.
func readPointer(ctx context.Context, b *blob.Bucket, l location) (pointer, error) {
	key := l.child(latestName)
	raw, err := readObject(ctx, b, l, key, maxPointerSize, "latest pointer")
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return pointer{}, fmt.Errorf("%s: %w: bucket %s has no latest pointer under that prefix (or there is no such bucket): publish a snapshot there with driftgate snapshot -o, or name the snapshot object (.json.gz)",
				l.display(key), ErrNotFound, l.bucket)
		}
		return pointer{}, err
	}
	var p pointer
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err = dec.Decode(&p)
	switch {
	case err != nil:
		err = fmt.Errorf("not a snapshot pointer: %v", err)
	case dec.More():
		err = errors.New("not a snapshot pointer: data after the JSON object")
	case p.APIVersion != pointerAPIVersion || p.Kind != pointerKind:
		err = fmt.Errorf("not a snapshot pointer: apiVersion %q, kind %q; want %s %s", p.APIVersion, p.Kind, pointerAPIVersion, pointerKind)
	case !objectName.MatchString(p.Object):
		err = fmt.Errorf("object %q is not a snapshot name under the prefix (<capture time>.json.gz)", p.Object)
	case !hexSHA256.MatchString(p.SHA256) || p.Size <= 0:
		err = errors.New("no valid sha256 and size")
	}
	if err != nil {
		return pointer{}, fmt.Errorf("%s in bucket %s: %w: %v", l.display(key), l.bucket, ErrCorrupt, err)
	}
	return p, nil
}

// inflate is raw, gunzipped when it starts as gzip does, and no longer
// than limit bytes.
func inflate(raw []byte, limit int64) ([]byte, error) {
	if !bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) {
		return raw, nil // ≤ limit: readObject saw to it
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: not valid gzip: %v", ErrCorrupt, err)
	}
	var out bytes.Buffer
	n, err := io.Copy(&out, io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: truncated or damaged gzip: %v", ErrCorrupt, err)
	}
	if n > limit {
		return nil, fmt.Errorf("%w: it inflates to more than %s of JSON; if it is a real snapshot, raise the limit with --max-snapshot-size", ErrTooLarge, formatBytes(limit))
	}
	return out.Bytes(), nil
}

// formatBytes writes n in binary units, as --max-snapshot-size takes them.
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
