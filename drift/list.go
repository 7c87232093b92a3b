package drift

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"

	"github.com/driftgate/driftgate/internal/jsonx"
)

type collector struct {
	rc   rest.Interface
	opts CollectOptions
	snap *Snapshot
	// spill, when set, takes each page's objects (CollectSpilled), and
	// lists numbers the LISTs for it.
	spill *spillFile
	lists atomic.Int64

	mu      sync.Mutex
	failed  map[ResourceType]bool
	total   int
	done    int
	objects atomic.Int64
	// decoding holds a token for every page being decoded apart from the
	// goroutine that read it: one per processor.
	decoding chan struct{}
	// buffers hold LIST bodies between pages: io.ReadAll, as the REST
	// client's Do reads them, grew and cleared a new buffer for every
	// page, a tenth of a snapshot's CPU (BENCHMARKS.md).
	buffers chan []byte
}

// list reads every page of one type (in one namespace, or all) into the
// snapshot. Pages are read one after another, as their continue tokens
// chain them, and each is decoded, normalized (and encoded) by a
// goroutine of its own while the next is read: one request in flight per
// type, and a large type's pages decoded on every processor rather than on
// one (c.decoding bounds them): one goroutine decoding them all is the snapshot's critical path.
func (c *collector) list(ctx context.Context, rt ResourceType, ns string) error {
	path := []string{"api"}
	if rt.Group != "" {
		path = []string{"apis", rt.Group}
	}
	path = append(path, rt.Version)
	if ns != "" {
		path = append(path, "namespaces", ns)
	}
	path = append(path, rt.Resource)
	start := time.Now()
	pages := &typePages{c: c, rt: rt, list: int(c.lists.Add(1))}
	var wg sync.WaitGroup
	defer wg.Wait()
	f := c.fetch(ctx, path, "", 0)
	for f.err == nil && pages.failure() == nil {
		size := len(f.data) // the next page's is likely close
		next := peekContinue(f.body())
		if next == "" {
			// The last page, or one whose token is not where
			// peekContinue looks: decoded here, for its token.
			wg.Wait()
			next = pages.decode(f, "", false)
			f.data = nil // decode gave the buffer back
			if next == "" {
				break
			}
		} else {
			select {
			case c.decoding <- struct{}{}:
			case <-ctx.Done():
				f.release()
				return ctx.Err()
			}
			wg.Add(1)
			go func(f fetched) {
				defer wg.Done()
				pages.decode(f, next, true)
				<-c.decoding
			}(f)
		}
		f = c.fetch(ctx, path, next, size)
	}
	wg.Wait()
	err, timedOut := pages.failure(), pages.timedOut
	if f.err != nil && err == nil {
		err, timedOut = f.err, f.timedOut
	}
	f.release()
	if pages.hard != nil {
		return pages.hard
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		reason, fatal := classify(err, timedOut, c.opts.RequestTimeout)
		if fatal {
			return fmt.Errorf("listing %s: %w", rt.GroupKind(), unreachable(c.snap.Metadata.Server, err))
		}
		if c.spill != nil {
			c.spill.drop(pages.list)
		}
		c.opts.Log.Warn("resource type not observed", "type", rt.GroupKind(), "namespace", ns, "reason", reason)
		c.mu.Lock()
		if c.failed == nil {
			c.failed = map[ResourceType]bool{}
		}
		c.failed[rt] = true
		c.snap.Unobserved = append(c.snap.Unobserved, Unobserved{ResourceType: rt, Namespace: ns, Reason: reason})
		c.mu.Unlock()
		c.finish(0)
		return nil
	}
	c.opts.Log.Debug("listed", "type", rt.GroupKind(), "namespace", ns, "objects", len(pages.objs), "folded", pages.folded, "took", time.Since(start))
	if c.spill != nil {
		// Twins are folded as the runs are merged (SpilledSnapshot.Encode).
		c.mu.Lock()
		c.snap.Metadata.Folded += pages.folded
		c.mu.Unlock()
		c.finish(pages.spilled)
		return nil
	}
	objs, twins := foldTwins(pages.objs)
	c.mu.Lock()
	c.snap.Objects = append(c.snap.Objects, objs...)
	c.snap.Metadata.Folded += pages.folded + twins
	c.mu.Unlock()
	c.finish(len(objs))
	return nil
}

// typePages gathers the decoded pages of one type, in any order: the
// snapshot is sorted once whole.
type typePages struct {
	c  *collector
	rt ResourceType
	// list numbers this LIST for the spill.
	list int

	mu     sync.Mutex
	objs   []Object
	folded int
	// spilled counts the objects given to the spill.
	spilled int
	// err is the first page that could not be read or decoded (the type
	// is then unobserved), hard the first object Normalize refused.
	err      error
	timedOut bool
	hard     error
}

func (p *typePages) failure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cmp.Or(p.hard, p.err)
}

// decode decodes, normalizes and (for writing) encodes the page f and
// returns its continue token; when want is set, the token must be the one
// peekContinue read. A failure is kept for list, which stops. A token
// that differs (a body with two metadata members: no API server writes
// one) leaves the type unobserved: the pages read after it with the other
// token cannot be trusted.
func (p *typePages) decode(f fetched, next string, want bool) string {
	dec := &listDecoder{}
	items, cont, err := dec.page(f)
	f.release()
	if err == nil && want && cont != next {
		err = fmt.Errorf("the page's continue token %q is not the %q read ahead of it", cont, next)
	}
	if err != nil {
		p.mu.Lock()
		if p.err == nil {
			p.err, p.timedOut = err, f.timedOut
		}
		p.mu.Unlock()
		return ""
	}
	var enc *jsonx.Writer
	if p.c.opts.ForWriting || p.c.spill != nil {
		enc = &jsonx.Writer{}
	}
	rt := p.rt
	objs := make([]Object, 0, len(items))
	folded := 0
	for i, item := range items {
		items[i] = nil // each map is garbage once normalized
		meta, _ := item["metadata"].(map[string]any)
		if !p.c.opts.Scope.includes(rt.Group, rt.Kind, rt.Namespaced, meta) {
			continue
		}
		o, fold, err := p.c.opts.Normalizer.Normalize(item)
		if err != nil {
			p.mu.Lock()
			if p.hard == nil {
				p.hard = fmt.Errorf("normalizing %s: %w", rt.GroupKind(), err)
			}
			p.mu.Unlock()
			return ""
		}
		if fold {
			folded++
			continue
		}
		o.Version = rt.Version
		if enc != nil {
			o.encode(enc)
		}
		if p.c.spill != nil && o.Encoded == nil {
			p.mu.Lock()
			if p.hard == nil {
				p.hard = fmt.Errorf("%w: %s", errNotSpillable, o.ID())
			}
			p.mu.Unlock()
			return ""
		}
		objs = append(objs, o)
	}
	if p.c.spill != nil {
		if err := p.c.spill.addRun(p.list, objs); err != nil {
			p.mu.Lock()
			if p.hard == nil {
				p.hard = err
			}
			p.mu.Unlock()
			return ""
		}
		p.mu.Lock()
		p.spilled += len(objs)
		p.folded += folded
		p.mu.Unlock()
		return cont
	}
	p.mu.Lock()
	p.objs = append(p.objs, objs...)
	p.folded += folded
	p.mu.Unlock()
	return cont
}

// fetched is a LIST response, read whole and not decoded yet.
type fetched struct {
	// data is the body, in a buffer from buffers: release gives it back
	// once the page is decoded (nothing decoded refers to it).
	data    []byte
	buffers chan []byte
	err     error
	// timedOut is set when the request's own timeout expired.
	timedOut bool
}

func (f *fetched) body() []byte { return f.data }

// release gives the body's buffer back for another page.
func (f *fetched) release() {
	if f.data != nil {
		select {
		case f.buffers <- f.data[:0]:
		default:
		}
		f.data = nil
	}
}

// fetch sends one LIST request, as the dynamic client's List does (the
// same request, throttling, retries and errors), and reads the body.
// The REST client asks only for JSON.
// sizeHint is the size the body is likely to have: the page before's.
func (c *collector) fetch(ctx context.Context, path []string, cont string, sizeHint int) fetched {
	rctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	req := c.rc.Get().AbsPath(path...).Param("limit", strconv.FormatInt(c.opts.ChunkSize, 10))
	if cont != "" {
		req = req.Param("continue", cont)
	}
	f := fetched{buffers: c.buffers}
	body, err := streamRetrying(rctx, req)
	if err == nil {
		var buf []byte
		select {
		case buf = <-c.buffers:
		default:
		}
		if want := sizeHint + sizeHint/8; cap(buf) < want {
			buf = make([]byte, 0, want)
		}
		f.data, err = readBody(body, buf)
		if cerr := body.Close(); err == nil {
			err = cerr
		}
	}
	f.err = err
	f.timedOut = rctx.Err() != nil && ctx.Err() == nil
	return f
}

// listRetries is how many times a LIST is sent when the connection fails
// before an answer, as the REST client's Do retries a GET.
const listRetries = 10

// streamRetrying is req.Stream, sent again a second later when the
// connection was reset or lost before an answer, as Do would (Stream
// itself retries only on a Retry-After): a load balancer dropping an idle
// connection, or an API server restarting, is not a cluster that cannot be
// read. The same context bounds every attempt.
func streamRetrying(ctx context.Context, req *rest.Request) (io.ReadCloser, error) {
	for attempt := 1; ; attempt++ {
		body, err := req.Stream(ctx)
		if err == nil || attempt == listRetries ||
			!(utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) || utilnet.IsHTTP2ConnectionLost(err)) {
			return body, err
		}
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return nil, err
		}
	}
}

func (c *collector) finish(objects int) {
	n := c.objects.Add(int64(objects))
	c.mu.Lock()
	c.done++
	p := Progress{TypesDone: c.done, Types: c.total, Objects: int(n)}
	c.mu.Unlock()
	if c.opts.Progress != nil {
		c.opts.Progress(p)
	}
}

// classify turns a LIST error into the reason recorded for an unobserved
// type, or reports it fatal when the server itself is gone.
func classify(err error, timedOut bool, timeout time.Duration) (reason string, fatal bool) {
	var status apierrors.APIStatus
	switch {
	case timedOut || apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) || isNetTimeout(err):
		return fmt.Sprintf("timed out after %s: %v", timeout, err), false
	case apierrors.IsForbidden(err):
		return "forbidden: " + err.Error(), false
	case apierrors.IsNotFound(err):
		return "not found (was the resource or its version removed since discovery?): " + err.Error(), false
	case apierrors.IsServiceUnavailable(err):
		return "service unavailable (an aggregated API that is down?): " + err.Error(), false
	case errors.As(err, &status):
		return err.Error(), false
	case isConnectionError(err):
		return "", true
	}
	return err.Error(), false
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isConnectionError reports a failure of the connection itself: refused,
// reset, or cut in the middle of a response (the server stopped). No later
// request can be trusted, so the snapshot is abandoned, not half-written.
func isConnectionError(err error) bool {
	var ue *url.Error
	var oe *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.As(err, &oe) || (errors.As(err, &ue) && !isNetTimeout(err)) ||
		strings.Contains(err.Error(), "unexpected EOF") || strings.Contains(err.Error(), "connection reset by peer")
}

func unreachable(host string, err error) error {
	if isNetTimeout(err) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w at %s: it did not answer in time (timed out; raise --request-timeout if it is only slow): %v", ErrUnreachable, host, err)
	}
	return fmt.Errorf("%w at %s: %v", ErrUnreachable, host, err)
}
