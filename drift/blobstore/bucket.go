package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // registers azblob:// on blob.DefaultURLMux
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/gcsblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"
	"gocloud.dev/gcp"
	"golang.org/x/oauth2/google"
)

// Errors wrapped by Read's and Publish's, for callers and tests to tell
// them apart; every one means the snapshot could not be used (exit 2).
var (
	// ErrNotFound: no such bucket, object or latest pointer.
	ErrNotFound = errors.New("not found")
	// ErrPermission: the bucket refused the credentials (403, AccessDenied).
	ErrPermission = errors.New("permission denied")
	// ErrTimeout: the bucket did not answer in time.
	ErrTimeout = errors.New("timed out")
	// ErrCorrupt: a latest pointer or object that is not what was
	// published: a digest mismatch, a truncated gzip, an invalid pointer.
	ErrCorrupt = errors.New("corrupt or changed")
	// ErrTooLarge: an object holding more than the size limit.
	ErrTooLarge = errors.New("larger than the limit")
)

// DefaultTimeout bounds one Read or Publish whose context has no deadline:
// an endpoint that accepts connections and never answers must not hold a
// gate forever.
const DefaultTimeout = 5 * time.Minute

// openFunc opens the bucket of l; done releases it.
type openFunc func(ctx context.Context, l location, forWrite bool) (b *blob.Bucket, done func(), err error)

// testOpeners open the extraSchemes of tests.
var testOpeners = map[string]openFunc{}

// open opens l's bucket through its scheme's driver. Each cloud's driver
// finds credentials in its standard chain; none come from the URL.
func open(ctx context.Context, l location, forWrite bool) (*blob.Bucket, func(), error) {
	var b *blob.Bucket
	var err error
	switch l.scheme {
	case "file":
		// Temporary files next to the object, not in $TMPDIR: a rename
		// across file systems would fail. No .attrs side files: the
		// prefix holds the objects and latest only.
		b, err = fileblob.OpenBucket(l.bucket, &fileblob.Options{NoTempDir: true, Metadata: fileblob.MetadataDontWrite, CreateDir: forWrite})
	case "gs":
		b, err = openGCS(ctx, l)
	case "s3":
		b, err = (&s3blob.URLOpener{}).OpenBucketURL(ctx, l.open)
	case "azblob":
		b, err = blob.DefaultURLMux().OpenBucketURL(ctx, l.open) // azureblob's opener reads the AZURE_* environment
	default:
		if o := testOpeners[l.scheme]; o != nil {
			return o(ctx, l, forWrite)
		}
		return nil, nil, fmt.Errorf("%s: scheme %s:// is not supported", l.display(""), l.scheme)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, fmt.Errorf("opening %s: %w: no such folder %s", l.display(""), ErrNotFound, l.bucket)
	case errors.Is(err, fs.ErrPermission):
		return nil, nil, fmt.Errorf("opening %s: %w: folder %s cannot be read (%s)", l.display(""), ErrPermission, l.bucket, sanitize(l, err))
	case err != nil:
		return nil, nil, fmt.Errorf("opening bucket %s: %s", l.display(""), sanitize(l, err))
	}
	return b, func() { _ = b.Close() }, nil
}

// openGCS opens a gs:// bucket with Application Default Credentials.
// gcsblob's own URL opener prints a warning to standard output when it
// finds none and goes on without credentials; driftgate's standard output
// carries results, so the lack is an error here instead.
func openGCS(ctx context.Context, l location) (*blob.Bucket, error) {
	q := l.open.Query()
	var client *gcp.HTTPClient
	if q.Get("anonymous") == "true" || os.Getenv("STORAGE_EMULATOR_HOST") != "" {
		client = gcp.NewAnonymousHTTPClient(gcp.DefaultTransport())
	} else {
		var creds *google.Credentials
		var err error
		if d := q.Get("universe_domain"); d != "" {
			creds, err = gcp.DefaultCredentialsWithParams(ctx, google.CredentialsParams{UniverseDomain: d})
		} else {
			creds, err = gcp.DefaultCredentials(ctx)
		}
		if err != nil {
			return nil, fmt.Errorf("no Google Cloud credentials in the standard chain (GOOGLE_APPLICATION_CREDENTIALS, gcloud's application default, workload identity): %w", err)
		}
		client, err = gcp.NewHTTPClient(gcp.DefaultTransport(), gcp.CredentialsTokenSource(creds))
		if err != nil {
			return nil, err
		}
	}
	return (&gcsblob.URLOpener{Client: client}).OpenBucketURL(ctx, l.open)
}

// sanitize is err's text without the URL's query, which drivers quote in
// their errors ("open bucket s3://b?endpoint=...").
func sanitize(l location, err error) string {
	s := err.Error()
	if q := l.open.RawQuery; q != "" {
		s = strings.ReplaceAll(s, l.open.String(), l.display(""))
		s = strings.ReplaceAll(s, q, "…")
	}
	return s
}

// fail describes err, met doing what (reading, writing, ...) on key of
// l's bucket, with the sentinel it wraps and what to do next. The
// driver's text comes last, without the URL's query.
func fail(ctx context.Context, l location, what, key string, err error) error {
	where := l.display(key)
	bucket := l.bucket
	cause := sanitize(l, err)
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		return fmt.Errorf("%s %s: %w: no such object in bucket %s (or no such bucket) (%s)", what, where, ErrNotFound, bucket, cause)
	case gcerrors.PermissionDenied:
		return fmt.Errorf("%s %s: %w by bucket %s (403/AccessDenied): give the identity driftgate runs as, from the cloud's standard credential chain, access to it (%s)",
			what, where, ErrPermission, bucket, cause)
	case gcerrors.DeadlineExceeded:
		return fmt.Errorf("%s %s: %w: bucket %s did not answer in time (%s)", what, where, ErrTimeout, bucket, cause)
	case gcerrors.Canceled:
		if ctx.Err() != nil {
			return fmt.Errorf("%s %s: %w", what, where, context.Canceled)
		}
	}
	return fmt.Errorf("%s %s in bucket %s: %s", what, where, bucket, cause)
}

// readObject reads key of l's bucket whole, refusing one larger than
// limit bytes before and while reading it.
func readObject(ctx context.Context, b *blob.Bucket, l location, key string, limit int64, what string) ([]byte, error) {
	r, err := b.NewReader(ctx, key, nil)
	if err != nil {
		return nil, fail(ctx, l, "reading "+what, key, err)
	}
	defer r.Close()
	if r.Size() > limit {
		return nil, fmt.Errorf("reading %s %s: %w: it holds %d bytes, more than %s; if it is a real snapshot, raise the limit with --max-snapshot-size", what, l.display(key), ErrTooLarge, r.Size(), formatBytes(limit))
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fail(ctx, l, "reading "+what, key, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("reading %s %s: %w: it holds more than %s", what, l.display(key), ErrTooLarge, formatBytes(limit))
	}
	return data, nil
}

// withDefaultTimeout bounds ctx by DefaultTimeout when it has no deadline.
func withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}
