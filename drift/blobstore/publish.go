package blobstore

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// gzipLevel is drift's for snapshot files: a 20,000-object snapshot
// compresses about 30 times in some 70 ms (BENCHMARKS.md).
const gzipLevel = 3

// Publish writes snapshotJSON, gzipped, to <prefix>/<capture time>.json.gz
// under the prefix url names, reads it back to check its sha256, then
// moves <prefix>/latest to it; with keep > 0 it then deletes the older
// snapshots under the prefix beyond the keep newest, never the one latest
// names. A publisher that stops before latest moved leaves latest on the
// previous snapshot; of publishers racing, the last to finish names latest.
//
// objectURL is the snapshot's URL with url's query, so that it reads back
// as written; show it through Redact. An error after latest moved (in
// pruning) comes with objectURL set.
func Publish(ctx context.Context, url string, capturedAt time.Time, snapshotJSON []byte, keep int) (objectURL string, err error) {
	var gz bytes.Buffer
	zw := NewGzipWriter(&gz)
	if _, err := zw.Write(snapshotJSON); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return PublishGzipped(ctx, url, capturedAt, gz.Bytes(), keep)
}

// NewGzipWriter compresses a snapshot as Publish does, for PublishGzipped.
func NewGzipWriter(w io.Writer) *gzip.Writer {
	zw, _ := gzip.NewWriterLevel(w, gzipLevel)
	return zw
}

// PublishGzipped is Publish for a snapshot already gzipped (NewGzipWriter):
// a snapshot written as it is merged (drift.SpilledSnapshot) is never held
// whole as JSON, only compressed, some thirty times smaller.
func PublishGzipped(ctx context.Context, url string, capturedAt time.Time, data []byte, keep int) (objectURL string, err error) {
	l, err := parse(url)
	if err != nil {
		return "", err
	}
	if err := l.checkPrefix(); err != nil {
		return "", err
	}
	if capturedAt.IsZero() {
		return "", errors.New("publishing a snapshot without a capture time")
	}
	if keep < 0 {
		return "", fmt.Errorf("keep %d: want 0 (keep all) or more", keep)
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()

	sum := sha256.Sum256(data)
	p := pointer{APIVersion: pointerAPIVersion, Kind: pointerKind, Object: capturedAt.UTC().Format(timeLayout) + objectSuffix,
		SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), CapturedAt: capturedAt.UTC()}
	key := l.child(p.Object)

	b, done, err := open(ctx, l, true)
	if err != nil {
		return "", err
	}
	defer done()
	// application/gzip, with no Content-Encoding: a gzip encoding would
	// let a store or client inflate it on the way (GCS transcodes), and
	// the bytes read would no longer match the digest.
	// Snapshots record their capture time to the second: another one
	// published in the same second must not be replaced under the latest
	// that names it.
	prev, err := readObject(ctx, b, l, key, int64(len(data)), "snapshot of the same capture time")
	switch {
	case err == nil && bytes.Equal(prev, data), errors.Is(err, ErrNotFound):
	case err == nil, errors.Is(err, ErrTooLarge):
		return "", fmt.Errorf("%s already holds another snapshot captured in the same second; latest was not moved: publish again", l.display(key))
	default:
		return "", err
	}
	if err := write(ctx, b, key, data, &blob.WriterOptions{ContentType: "application/gzip", Metadata: map[string]string{"sha256": p.SHA256}}); err != nil {
		return "", fail(ctx, l, "writing snapshot", key, err)
	}
	got, err := readObject(ctx, b, l, key, int64(len(data)), "snapshot just written")
	if err != nil {
		return "", err
	}
	if gotSum := sha256.Sum256(got); gotSum != sum {
		return "", fmt.Errorf("verifying %s after writing it: %w: the bucket holds other bytes than were written (another publisher with the same capture time?); latest was not moved",
			l.display(key), ErrCorrupt)
	}
	ptr, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	latest := l.child(latestName)
	// no-store: a cached latest would send readers to an older snapshot
	// (GCS caches public objects for an hour by default).
	if err := write(ctx, b, latest, append(ptr, '\n'), &blob.WriterOptions{ContentType: "application/json", CacheControl: "no-store"}); err != nil {
		return "", fail(ctx, l, "moving latest to "+p.Object+": writing", latest, err)
	}
	objectURL = l.withQuery(key)
	if keep > 0 {
		if err := prune(ctx, b, l, keep); err != nil {
			return objectURL, fmt.Errorf("published %s, but pruning older snapshots failed: %w", l.display(key), err)
		}
	}
	return objectURL, nil
}

// write writes data to key whole, with its MD5 for the store to check: a
// write that is cut short or damaged on the way is refused, not stored.
func write(ctx context.Context, b *blob.Bucket, key string, data []byte, opts *blob.WriterOptions) error {
	m := md5.Sum(data)
	opts.ContentMD5 = m[:]
	return b.WriteAll(ctx, key, data, opts)
}

// trimObject is key without its last element.
func trimObject(key string) string {
	if dir := path.Dir(key); dir != "." {
		return dir
	}
	return ""
}

// pruneGrace is how young a snapshot prune leaves alone whatever keep
// says: one a racing publisher has just written and has not yet named in
// latest. It is twice DefaultTimeout, the longest a publisher without a
// deadline takes from writing its object to moving latest.
var pruneGrace = 2 * DefaultTimeout

// prune deletes the snapshots under l's prefix older than the keep
// newest and than pruneGrace, except the one latest names, read again
// before each delete: a publisher racing this one may have moved it.
func prune(ctx context.Context, b *blob.Bucket, l location, keep int) error {
	names, err := listSnapshots(ctx, b, l)
	if err != nil {
		return err
	}
	if len(names) <= keep {
		return nil
	}
	now := time.Now()
	for _, o := range names[keep:] {
		if now.Sub(o.modTime) < pruneGrace {
			continue
		}
		current, err := readPointer(ctx, b, l)
		if err != nil {
			return fmt.Errorf("not pruning: %w", err)
		}
		if o.name == current.Object {
			continue
		}
		if err := b.Delete(ctx, l.child(o.name)); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return fail(ctx, l, "deleting old snapshot", l.child(o.name), err)
		}
	}
	return nil
}

type listed struct {
	name    string
	modTime time.Time
}

// listSnapshots lists the snapshots directly under l's prefix, newest
// first. A folder's listing fails when a file goes (a racing publisher's
// temporary file renamed, a racing pruner's delete) as it is walked: it
// is tried again.
func listSnapshots(ctx context.Context, b *blob.Bucket, l location) ([]listed, error) {
	prefix := l.child("")
	var err error
	for range 5 {
		var names []listed
		it := b.List(&blob.ListOptions{Prefix: prefix, Delimiter: "/"})
		for {
			var obj *blob.ListObject
			obj, err = it.Next(ctx)
			if err != nil {
				break
			}
			name := obj.Key[len(prefix):]
			if !obj.IsDir && objectName.MatchString(name) {
				names = append(names, listed{name, obj.ModTime})
			}
		}
		if errors.Is(err, io.EOF) {
			slices.SortFunc(names, func(a, b listed) int { return strings.Compare(b.name, a.name) })
			return names, nil
		}
		if gcerrors.Code(err) != gcerrors.NotFound {
			break
		}
	}
	return nil, fail(ctx, l, "listing", prefix, err)
}
