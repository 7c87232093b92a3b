package drift

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/url"
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
	"k8s.io/apimachinery/pkg/runtime/schema"
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

	c := &collector{rc: rc, opts: opts, snap: s, total: len(types)}
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
}

// list reads every page of one type (in one namespace, or all) into the
// snapshot. The next page is asked for as soon as a page's continue token
// is read, so the server prepares it while this page is decoded: still one
// request in flight per type.
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
	dec := &listDecoder{}
	var objs []Object
	folded := 0
	start := time.Now()
	pctx, cancel := context.WithCancel(ctx)
	var prefetch chan fetched
	defer func() {
		cancel()
		if prefetch != nil {
			<-prefetch
		}
	}()
	f := c.fetch(ctx, path, "")
	for {
		next := ""
		if f.err == nil {
			next = peekContinue(f.body(), f.contentType)
		}
		if next != "" {
			prefetch = make(chan fetched, 1)
			go func() { prefetch <- c.fetch(pctx, path, next) }()
		}
		items, cont, err := dec.page(f)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			reason, fatal := classify(err, f.timedOut, c.opts.RequestTimeout)
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
		for _, item := range items {
			meta, _ := item["metadata"].(map[string]any)
			if !c.opts.Scope.includes(rt.Group, rt.Kind, rt.Namespaced, meta) {
				continue
			}
			o, fold, err := c.opts.Normalizer.Normalize(item)
			if err != nil {
				return fmt.Errorf("normalizing %s: %w", rt.GroupKind(), err)
			}
			if fold {
				folded++
				continue
			}
			o.Version = rt.Version
			objs = append(objs, o)
		}
		if cont == "" {
			break
		}
		if prefetch != nil && next == cont {
			f = <-prefetch
		} else {
			if prefetch != nil {
				<-prefetch // a token read wrong: ask again
			}
			f = c.fetch(ctx, path, cont)
		}
		prefetch = nil
	}
	c.opts.Log.Debug("listed", "type", rt.GroupKind(), "namespace", ns, "objects", len(objs), "folded", folded, "took", time.Since(start))
	c.mu.Lock()
	c.snap.Objects = append(c.snap.Objects, objs...)
	c.snap.Metadata.Folded += folded
	c.mu.Unlock()
	c.finish(len(objs))
	return nil
}

// fetched is a LIST response, read whole and not decoded yet.
type fetched struct {
	res         rest.Result
	contentType string
	err         error
	// timedOut is set when the request's own timeout expired.
	timedOut bool
}

func (f *fetched) body() []byte {
	b, _ := f.res.Raw()
	return b
}

// fetch sends one LIST request, as the dynamic client's List does.
func (c *collector) fetch(ctx context.Context, path []string, cont string) fetched {
	rctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	req := c.rc.Get().AbsPath(path...).Param("limit", strconv.FormatInt(c.opts.ChunkSize, 10))
	if cont != "" {
		req = req.Param("continue", cont)
	}
	var f fetched
	f.res = req.Do(rctx).ContentType(&f.contentType)
	f.err = f.res.Error()
	f.timedOut = rctx.Err() != nil && ctx.Err() == nil
	return f
}

// page returns a response's items and continue token. The body is decoded
// in one pass into the values the dynamic client would give
// (unstructured.UnstructuredList, which decodes each page three times); a
// body the decoder does not take is decoded by the dynamic client's own.
func (d *listDecoder) page(f fetched) ([]map[string]any, string, error) {
	if f.err != nil {
		return nil, "", f.err
	}
	if isJSON(f.contentType) {
		if items, next, ok := d.decode(f.body()); ok {
			return items, next, nil
		}
	}
	var list unstructured.UnstructuredList
	if err := f.res.Into(&list); err != nil {
		return nil, "", err
	}
	items := make([]map[string]any, len(list.Items))
	for i := range list.Items {
		items[i] = list.Items[i].Object
	}
	return items, list.GetContinue(), nil
}

func isJSON(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "application/json"
}

// peekContinue reads a list body's continue token from its metadata, which
// an API server writes before the items, or returns "" when there is none
// or the items come first.
func peekContinue(body []byte, contentType string) string {
	if !isJSON(contentType) {
		return ""
	}
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
// in one pass, sharing short strings across the pages of a type.
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

// managedFieldsEntry decodes an entry of managedFields; its fieldsV1 is
// decoded whole only for a manager that looks manual (the manager comes
// after fieldsV1 in the API server's output: it is decoded when known).
func (d *listDecoder) managedFieldsEntry() (any, error) {
	fieldsAt, fieldsEnd := -1, -1
	v, err := d.objectWith(func(k string) (any, bool, error) {
		if k == "fieldsV1" {
			d.ws()
			fieldsAt = d.pos
			err := d.skipValue()
			fieldsEnd = d.pos
			return nil, true, err
		}
		v, err := d.value()
		return v, true, err
	})
	if err != nil || fieldsAt < 0 {
		return v, err
	}
	entry := v
	manager, _ := entry["manager"].(string)
	end := d.pos
	d.pos = fieldsAt
	var fields any
	if d.data[fieldsAt] == '{' && !LooksManual(manager) {
		fields, err = d.objectWith(func(string) (any, bool, error) { return nil, true, d.skipValue() })
	} else {
		fields, err = d.value()
	}
	if err == nil && d.pos != fieldsEnd {
		err = errSlowPath
	}
	d.pos = end
	entry["fieldsV1"] = fields
	return entry, err
}
