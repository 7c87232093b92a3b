// Package blobstore publishes snapshots to object storage and reads them
// back: s3://, gs://, azblob:// and file:// URLs through gocloud.dev/blob.
//
// Publishing writes <prefix>/<capture time>.json.gz whole, reads it back to
// check its digest, and only then moves <prefix>/latest, a small pointer
// holding the object's name and sha256: a reader that resolves latest
// never sees a half-written snapshot, and one whose object went missing or
// changed is an error, never a pass. The package only moves bytes; what a
// snapshot holds, and its signature, are drift's and drift/sign's.
//
// Credentials come only from each cloud's standard chain (environment,
// shared config, workload identity); a URL holding any (user:password@)
// is refused. Errors name the scheme, bucket and key and never the URL's
// query, whose parameters (endpoint, profile, ...) stay out of every
// message and log.
package blobstore

import (
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Schemes are the URL schemes a snapshot may be published to and read from.
var Schemes = []string{"s3", "gs", "azblob", "file"}

// extraSchemes are schemes tests add (mem://); the product accepts none.
var extraSchemes []string

// allowedParams are the query parameters each scheme's driver takes in
// gocloud.dev v0.47.0 that concern where and how to reach the bucket; the
// rest (signing keys, static credentials) are refused.
var allowedParams = map[string][]string{
	// gocloud.dev/aws.V2ConfigFromURLParams and s3blob.URLOpener.
	"s3": {"region", "endpoint", "profile", "role", "hostname_immutable", "dualstack", "fips", "anonymous",
		"request_checksum_calculation", "response_checksum_validation",
		"use_path_style", "s3ForcePathStyle", "disable_https", "accelerate", "ssetype", "kmskeyid"},
	// gcsblob.URLOpener, less access_id and private_key_path (for signed URLs only).
	"gs": {"anonymous", "universe_domain"},
	// azureblob's ServiceURLOptions overrides.
	"azblob": {"domain", "protocol", "cdn", "localemu", "storage_account"},
}

// urlLike is what IsURL takes for a URL rather than a path or context:NAME.
var urlLike = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// IsURL reports whether s is a URL (scheme://...) rather than a file path
// or context:NAME. It says nothing of whether the scheme is supported:
// Read and Publish refuse the others by name.
func IsURL(s string) bool { return urlLike.MatchString(s) }

// Objects are named <capture time>.json.gz, to the second as snapshots
// record it: fixed width, so that their names sort as their capture times.
const (
	objectSuffix = ".json.gz"
	timeLayout   = "20060102T150405Z"
	latestName   = "latest"
)

// objectName matches the names Publish gives; only those are pruned or
// followed from a latest pointer.
var objectName = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z\.json\.gz$`)

// location is a parsed snapshot URL.
type location struct {
	scheme string
	// bucket is the bucket's name, or for file:// its directory.
	bucket string
	// key is the object's key, or the prefix (no leading or trailing
	// slash, possibly empty) when object is false.
	key    string
	object bool
	// open is the URL the driver opens: scheme://bucket?query.
	open *url.URL
}

// parse reads a snapshot URL. A URL whose last element ends in .json or
// .json.gz names one object; any other names a prefix whose latest is
// resolved.
func parse(raw string) (location, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole URL, query and all.
		return location{}, fmt.Errorf("%s: not a valid URL", Redact(raw))
	}
	scheme := strings.ToLower(u.Scheme)
	if !slices.Contains(Schemes, scheme) && !slices.Contains(extraSchemes, scheme) {
		return location{}, fmt.Errorf("%s: scheme %q is not supported: use one of %s", Redact(raw), u.Scheme, strings.Join(schemeList(), ", "))
	}
	if u.User != nil {
		return location{}, fmt.Errorf("%s://%s: the URL holds credentials; remove them: driftgate takes credentials only from the cloud's standard chain (environment, shared config, workload identity)", scheme, u.Hostname())
	}
	if u.Fragment != "" || u.Opaque != "" {
		return location{}, fmt.Errorf("%s: not a bucket URL: write %s://BUCKET/PREFIX", Redact(raw), scheme)
	}
	q := u.Query()
	for k := range q {
		if !slices.Contains(allowedParams[scheme], k) {
			return location{}, fmt.Errorf("%s: query parameter %q is not accepted for %s://: use %s", Redact(raw), k, scheme, paramList(scheme))
		}
	}
	l := location{scheme: scheme}
	p := u.Path
	if scheme == "file" {
		if u.Host != "" && u.Host != "localhost" {
			return location{}, fmt.Errorf("%s: a file URL names a path on this machine: write file:///ABSOLUTE/PATH", Redact(raw))
		}
		if !strings.HasPrefix(p, "/") || p == "/" {
			return location{}, fmt.Errorf("%s: a file URL needs an absolute path below /: write file:///ABSOLUTE/PATH", Redact(raw))
		}
		p = strings.TrimSuffix(p, "/")
		if err := checkSegments(raw, strings.TrimPrefix(p, "/")); err != nil {
			return location{}, err
		}
		p = path.Clean(p)
		l.object = isObjectName(path.Base(p))
		// The bucket of a file URL is the prefix's directory, so the
		// driver never walks or writes above it.
		if l.object {
			l.bucket, l.key = path.Dir(p), path.Base(p)
		} else {
			l.bucket = p
		}
		l.open = &url.URL{Scheme: scheme, Path: filepath.ToSlash(l.bucket)}
		return l, nil
	}
	if u.Host == "" {
		return location{}, fmt.Errorf("%s: no bucket: write %s://BUCKET/PREFIX", Redact(raw), scheme)
	}
	key := strings.TrimSuffix(strings.TrimPrefix(p, "/"), "/")
	if err := checkSegments(raw, key); err != nil {
		return location{}, err
	}
	l.bucket, l.key = u.Host, key
	l.object = key != "" && isObjectName(path.Base(key))
	l.open = &url.URL{Scheme: scheme, Host: u.Host, RawQuery: q.Encode()}
	return l, nil
}

// checkSegments refuses empty, . and .. segments in a key: they would make
// two spellings of one object, or step out of a file bucket.
func checkSegments(raw, key string) error {
	if key == "" {
		return nil
	}
	for _, s := range strings.Split(key, "/") {
		if s == "" || s == "." || s == ".." {
			return fmt.Errorf("%s: the path holds an empty, . or .. element: write the prefix plainly, as BUCKET/team/prod", Redact(raw))
		}
	}
	return nil
}

// isObjectName says whether the last element of a URL names an object
// rather than a prefix.
func isObjectName(name string) bool {
	return strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".json.gz")
}

// child is the key of name under the location's prefix.
func (l location) child(name string) string {
	if l.key == "" {
		return name
	}
	return l.key + "/" + name
}

// display is what messages show for key in the location's bucket:
// scheme, bucket and key, never the query.
func (l location) display(key string) string {
	if l.scheme == "file" {
		return "file://" + path.Join(l.bucket, key)
	}
	if key == "" {
		return l.scheme + "://" + l.bucket
	}
	return l.scheme + "://" + l.bucket + "/" + key
}

// withQuery is the URL of key in the location's bucket with the query the
// bucket was opened with, so that it can be read back as it was written.
func (l location) withQuery(key string) string {
	s := l.display(key)
	if l.open.RawQuery != "" {
		s += "?" + l.open.RawQuery
	}
	return s
}

// Redact is raw without its query, fragment or user information, for
// messages and logs: a URL's parameters and credentials never reach them.
// A string that is not a URL is returned as it is.
func Redact(raw string) string {
	if !IsURL(raw) {
		return raw
	}
	s, _, _ := strings.Cut(raw, "?")
	s, _, _ = strings.Cut(s, "#")
	scheme, rest, _ := strings.Cut(s, "://")
	if at := strings.LastIndex(hostPart(rest), "@"); at >= 0 {
		rest = rest[at+1:]
	}
	return scheme + "://" + rest
}

// hostPart is the authority of a URL's text after "scheme://".
func hostPart(rest string) string {
	h, _, _ := strings.Cut(rest, "/")
	return h
}

func schemeList() []string {
	out := make([]string, len(Schemes))
	for i, s := range Schemes {
		out[i] = s + "://"
	}
	return out
}

func paramList(scheme string) string {
	if len(allowedParams[scheme]) == 0 {
		return "none"
	}
	return strings.Join(allowedParams[scheme], ", ")
}

// Validate checks that raw is a snapshot URL driftgate can use: a
// supported scheme, a bucket, accepted query parameters and no
// credentials. It reaches no server.
func Validate(raw string) error {
	_, err := parse(raw)
	return err
}

// ValidateDestination is Validate for a URL to publish to: it must name a
// prefix, not an object.
func ValidateDestination(raw string) error {
	l, err := parse(raw)
	if err != nil {
		return err
	}
	return l.checkPrefix()
}

// checkPrefix refuses a location naming an object, where a prefix is wanted.
func (l location) checkPrefix() error {
	if !l.object {
		return nil
	}
	return fmt.Errorf("%s names an object: publish to a prefix, such as %s, under which driftgate writes <capture time>.json.gz and latest",
		l.display(l.key), l.display(trimObject(l.key)))
}
