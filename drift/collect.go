package drift

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// CollectOptions configure a live snapshot.
type CollectOptions struct {
	// Context is the kubeconfig context name, recorded in the snapshot.
	Context string
	Scope   Scope
	// ChunkSize is the page size of each LIST (limit); 0 means 500.
	ChunkSize int64
	// Concurrency is how many LIST requests run at once; 0 means 8.
	Concurrency int
	// RequestTimeout bounds each request; 0 means 60s.
	RequestTimeout time.Duration
	Normalizer     *Normalizer
	// Progress, when set, is called as resource types complete.
	Progress func(Progress)
	Log      *slog.Logger
	Now      time.Time
	// ForWriting keeps each object only as the JSON a snapshot file holds,
	// made as it is listed: for a snapshot that is written and not
	// compared (driftgate snapshot). Twenty thousand objects held as maps
	// cost the garbage collector about a fifth of the command's CPU
	// (BENCHMARKS.md); as bytes, nothing. Such a snapshot's objects have
	// their identity but no Object or Provenance: Encode, Save, Seal and
	// ComputeDigest read the JSON, and Expand turns it back into values.
	ForWriting bool
}

// Progress is how far a live snapshot has got.
type Progress struct {
	TypesDone, Types int
	Objects          int
}

// ErrUnreachable is wrapped when the API server cannot be reached at all; no
// snapshot is produced.
var ErrUnreachable = errors.New("cannot reach the API server")

// ReaderConfig returns a copy of cfg tuned for a one-shot reader: client-go's
// default 5 QPS / 10 burst would throttle a snapshot of a large cluster for
// minutes; the server's own priority and fairness still applies.
func ReaderConfig(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	if c.QPS == 0 || c.QPS < 100 {
		c.QPS = 200
	}
	if c.Burst < 400 {
		c.Burst = 400
	}
	return c
}

// Collect takes a live snapshot of the cluster behind cfg: every listable
// resource type (built-in, aggregated and CRD) at its preferred version, in
// scope, paginated, several types at once. A type that cannot be listed is
// recorded as unobserved with the reason; an unreachable server is an error.
func Collect(ctx context.Context, cfg *rest.Config, opts CollectOptions) (*Snapshot, error) {
	if opts.Normalizer == nil {
		opts.Normalizer = NewNormalizer(nil)
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 500
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 60 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	cfg = ReaderConfig(cfg)
	dc, err := discovery.NewDiscoveryClientForConfig(withTimeout(cfg, opts.RequestTimeout))
	if err != nil {
		return nil, fmt.Errorf("creating discovery client: %w", err)
	}
	rc, err := listClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("creating dynamic client: %w", err)
	}

	s := newSnapshot(SourceCluster, opts.Scope, opts.Normalizer, opts.Now)
	s.Metadata.Context = opts.Context
	s.Metadata.Server = cfg.Host
	sv, err := dc.ServerVersion()
	if err != nil {
		return nil, unreachable(cfg.Host, err)
	}
	s.Metadata.ServerVersion = sv.GitVersion

	types, unobserved, err := discoverTypes(dc, opts.Scope)
	if err != nil {
		return nil, unreachable(cfg.Host, err)
	}
	s.Unobserved = unobserved
	opts.Log.Info("discovered resource types", "server", cfg.Host, "types", len(types), "unobserved", len(unobserved))

	c := &collector{rc: rc, opts: opts, snap: s, total: len(types), decoding: make(chan struct{}, max(2, goruntime.GOMAXPROCS(0)))}
	c.buffers = make(chan []byte, 2*opts.Concurrency+cap(c.decoding))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Concurrency)
	for _, rt := range types {
		namespaces := []string{""}
		if rt.Namespaced && len(opts.Scope.Namespaces) > 0 {
			namespaces = opts.Scope.Namespaces
		}
		for _, ns := range namespaces {
			g.Go(func() error { return c.list(gctx, rt, ns) })
		}
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	for _, rt := range types {
		if !c.failed[rt] {
			s.Resources = append(s.Resources, rt)
		}
	}
	s.Sort()
	return s, nil
}

func withTimeout(cfg *rest.Config, d time.Duration) *rest.Config {
	c := rest.CopyConfig(cfg)
	if c.Timeout == 0 {
		c.Timeout = d
	}
	return c
}

// DiscoverTypes returns the listable resource types in scope on the cluster
// behind cfg, at their preferred versions, and the API groups discovery
// could not read.
func DiscoverTypes(cfg *rest.Config, scope Scope) ([]ResourceType, []Unobserved, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(withTimeout(ReaderConfig(cfg), 60*time.Second))
	if err != nil {
		return nil, nil, err
	}
	types, unobserved, err := discoverTypes(dc, scope)
	if err != nil {
		return nil, nil, unreachable(cfg.Host, err)
	}
	return types, unobserved, nil
}

// discoverTypes returns the listable types in scope, at their preferred
// versions, and the groups discovery could not read.
func discoverTypes(dc discovery.DiscoveryInterface, scope Scope) ([]ResourceType, []Unobserved, error) {
	lists, err := dc.ServerPreferredResources()
	var unobserved []Unobserved
	if err != nil {
		var gerr *discovery.ErrGroupDiscoveryFailed
		if !errors.As(err, &gerr) || len(lists) == 0 {
			return nil, nil, err
		}
		for gv, e := range gerr.Groups {
			unobserved = append(unobserved, Unobserved{
				ResourceType: ResourceType{Group: gv.Group, Version: gv.Version, Kind: "*", Resource: "*"},
				Reason:       "API group discovery failed: " + e.Error(),
			})
		}
	}
	var types []ResourceType
	seen := map[schema.GroupKind]bool{}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") {
				continue
			}
			gk := schema.GroupKind{Group: gv.Group, Kind: r.Kind}
			if seen[gk] || scope.excludes(gv.Group, r.Kind) {
				continue
			}
			seen[gk] = true
			types = append(types, ResourceType{Group: gv.Group, Version: gv.Version, Kind: r.Kind, Resource: r.Name, Namespaced: r.Namespaced})
		}
	}
	slices.SortFunc(types, compareResourceType)
	return types, unobserved, nil
}

// listClient is the REST client the dynamic client lists with, made the
// same way (dynamic.NewForConfig): same content types, user agent, rate
// limiter and error decoding. Collect sends its requests, but decodes the
// pages itself.
func listClient(cfg *rest.Config) (rest.Interface, error) {
	config := dynamic.ConfigFor(cfg)
	config.GroupVersion = nil
	config.APIPath = "/if-you-see-this-search-for-the-break"
	hc, err := rest.HTTPClientFor(config)
	if err != nil {
		return nil, err
	}
	return rest.UnversionedRESTClientForConfigAndClient(config, hc)
}

type collector struct {
	rc   rest.Interface
	opts CollectOptions
	snap *Snapshot

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
// one (c.decoding bounds them), which was the snapshot's critical path.
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
	pages := &typePages{c: c, rt: rt}
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
	c.mu.Lock()
	c.snap.Objects = append(c.snap.Objects, pages.objs...)
	c.snap.Metadata.Folded += pages.folded
	c.mu.Unlock()
	c.finish(len(pages.objs))
	return nil
}

// typePages gathers the decoded pages of one type, in any order: the
// snapshot is sorted once whole.
type typePages struct {
	c  *collector
	rt ResourceType

	mu     sync.Mutex
	objs   []Object
	folded int
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
	var enc *jsonWriter
	if p.c.opts.ForWriting {
		enc = &jsonWriter{}
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
		objs = append(objs, o)
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

// dynamicJSON is the dynamic client's JSON decoder, which its List uses.
var dynamicJSON = sync.OnceValue(func() runtime.Decoder {
	for _, info := range dynamic.ConfigFor(&rest.Config{}).NegotiatedSerializer.SupportedMediaTypes() {
		if info.MediaType == runtime.ContentTypeJSON {
			return info.Serializer
		}
	}
	return unstructured.UnstructuredJSONScheme
})

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

// readBody appends r to buf until EOF, growing it as needed (by half
// again: pages of one size class settle in a buffer or two).
func readBody(r io.Reader, buf []byte) ([]byte, error) {
	buf = buf[:0]
	if cap(buf) == 0 {
		buf = make([]byte, 0, 256<<10)
	}
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, cap(buf)/2)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// page returns a response's items and continue token. The body is decoded
// in one pass into the values the dynamic client would give
// (unstructured.UnstructuredList, which decodes each page three times); a
// body the decoder does not take is decoded by the dynamic client's own.
func (d *listDecoder) page(f fetched) ([]map[string]any, string, error) {
	if f.err != nil {
		return nil, "", f.err
	}
	if items, next, ok := d.decode(f.body()); ok {
		return items, next, nil
	}
	var list unstructured.UnstructuredList
	if _, _, err := dynamicJSON().Decode(f.body(), nil, &list); err != nil {
		return nil, "", err
	}
	items := make([]map[string]any, len(list.Items))
	for i := range list.Items {
		items[i] = list.Items[i].Object
	}
	return items, list.GetContinue(), nil
}

// peekContinue reads a list body's continue token from its metadata, which
// an API server writes before the items, or returns "" when there is none
// or the items come first.
func peekContinue(body []byte) string {
	d := &fastDecoder{data: body, lenient: true, interned: map[string]any{}}
	cont := ""
	errDone := errors.New("done")
	err := d.sortedMembers(func(k string) error {
		switch k {
		case "items":
			return errDone
		case "metadata":
			v, err := d.value()
			m, _ := v.(map[string]any)
			cont, _ = m["continue"].(string)
			if err == nil {
				err = errDone
			}
			return err
		}
		return d.skipValue()
	})
	if !errors.Is(err, errDone) {
		return ""
	}
	return cont
}

// listDecoder decodes LIST responses as unstructured.UnstructuredList does,
// in one pass, sharing short strings across the items of a page.
//
// Its items go to Normalize and nowhere else, so it leaves out what
// Normalize drops without reading (see normalizeShortcuts), which is about
// half of what an API server sends: the field sets of managedFields,
// status, and the body of the last-applied annotation.
type listDecoder struct {
	fastDecoder
	// full turns the shortcuts off: items are decoded whole.
	full bool
}

// decode returns the items of a list body and its continue token; items
// without kind and apiVersion get the list's (built-in types' lists leave
// them out). It reports false for anything unusual, which the dynamic
// client's decoder then handles.
func (d *listDecoder) decode(body []byte) (items []map[string]any, cont string, ok bool) {
	d.data, d.pos, d.lenient = body, 0, true
	if d.interned == nil {
		d.interned = map[string]any{}
	}
	defer func() { d.data = nil }()
	var kind, apiVersion string
	err := d.sortedMembers(func(k string) error {
		switch k {
		case "kind", "apiVersion":
			v, err := d.value()
			s, _ := v.(string)
			if k == "kind" {
				kind = s
			} else {
				apiVersion = s
			}
			return err
		case "metadata":
			v, err := d.value()
			m, _ := v.(map[string]any)
			cont, _ = m["continue"].(string)
			return err
		case "items":
			if d.next() == 'n' {
				items = nil
				return d.literal("null")
			}
			items = []map[string]any{}
			if err := d.expect('['); err != nil {
				return err
			}
			if d.next() == ']' {
				d.pos++
				return nil
			}
			// Normalize keeps the status of Nodes only.
			skipStatus := kind != "" && kind != "NodeList" && !d.full
			for more := true; more; {
				if d.next() != '{' {
					return errSlowPath
				}
				m, err := d.item(skipStatus)
				if err != nil {
					return err
				}
				items = append(items, m)
				if more, err = d.more(']'); err != nil {
					return err
				}
			}
			return nil
		}
		_, err := d.value()
		return err
	})
	if err != nil || kind == "" {
		return nil, "", false
	}
	if d.ws(); d.pos != len(d.data) {
		return nil, "", false
	}
	itemKind := strings.TrimSuffix(kind, "List")
	for _, it := range items {
		k, _ := it["kind"].(string)
		av, _ := it["apiVersion"].(string)
		if k == "" && av == "" {
			it["kind"], it["apiVersion"] = itemKind, apiVersion
		}
	}
	return items, cont, true
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

// The shortcuts listDecoder takes, because Normalize (the only reader of
// its items) drops these parts after reading no more than is kept:
//   - status, except on Nodes: deleted unread;
//   - managedFields[*].fieldsV1 of a manager that does not look manual:
//     only its top-level keys are read (Manager.Fields); the sets below
//     them are walked for manual managers only (Manager.Paths);
//   - the last-applied annotation: only its presence is read.
// TestListDecoderNormalizesAsDynamicClient holds them to this.

// item decodes one list item, taking the shortcuts.
func (d *listDecoder) item(skipStatus bool) (map[string]any, error) {
	if d.full {
		return d.object()
	}
	return d.objectWith(func(k string) (any, bool, error) {
		switch k {
		case "status":
			if skipStatus {
				return nil, false, d.skipValue()
			}
		case "metadata":
			if d.next() != '{' {
				break
			}
			v, err := d.objectWith(d.metadataMember)
			return v, true, err
		}
		v, err := d.value()
		return v, true, err
	})
}

func (d *listDecoder) metadataMember(k string) (any, bool, error) {
	switch {
	case k == "managedFields" && d.next() == '[':
		d.pos++
		out := []any{}
		if d.next() == ']' {
			d.pos++
			return out, true, nil
		}
		for more := true; more; {
			var v any
			var err error
			if d.next() == '{' {
				v, err = d.managedFieldsEntry()
			} else {
				v, err = d.value()
			}
			if err != nil {
				return nil, false, err
			}
			out = append(out, v)
			if more, err = d.more(']'); err != nil {
				return nil, false, err
			}
		}
		return out, true, nil
	case k == "annotations" && d.next() == '{':
		v, err := d.objectWith(func(k string) (any, bool, error) {
			if k == LastAppliedAnnotation {
				return "", true, d.skipValue() // present, its body unread
			}
			v, err := d.value()
			return v, true, err
		})
		return v, true, err
	}
	v, err := d.value()
	return v, true, err
}

// managedFieldsEntry decodes an entry of managedFields. Its fieldsV1 is
// read once, into its top-level keys (what provenance keeps of a
// manager), and decoded whole again only for a manager whose paths a
// snapshot keeps (KeepsManagerPaths):
// the manager comes after fieldsV1 in the API server's output, so which it
// is is known only then.
func (d *listDecoder) managedFieldsEntry() (any, error) {
	fieldsAt, fieldsEnd := -1, -1
	var fields any
	entry, err := d.objectWith(func(k string) (any, bool, error) {
		if k == "fieldsV1" {
			d.ws()
			fieldsAt = d.pos
			var err error
			if d.next() == '{' {
				fields, err = d.objectWith(func(string) (any, bool, error) { return nil, true, d.skipValue() })
			} else {
				err = d.skipValue()
			}
			fieldsEnd = d.pos
			return nil, true, err
		}
		v, err := d.value()
		return v, true, err
	})
	if err != nil || fieldsAt < 0 {
		return entry, err
	}
	manager, _ := entry["manager"].(string)
	if fields == nil || KeepsManagerPaths(manager) {
		end := d.pos
		d.pos = fieldsAt
		fields, err = d.value()
		if err == nil && d.pos != fieldsEnd {
			err = errSlowPath
		}
		d.pos = end
	}
	entry["fieldsV1"] = fields
	return entry, err
}
