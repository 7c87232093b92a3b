package drift

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	dyn, err := dynamic.NewForConfig(cfg)
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

	c := &collector{dyn: dyn, opts: opts, snap: s, total: len(types)}
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

type collector struct {
	dyn  dynamic.Interface
	opts CollectOptions
	snap *Snapshot

	mu      sync.Mutex
	failed  map[ResourceType]bool
	total   int
	done    int
	objects atomic.Int64
}

// list reads every page of one type (in one namespace, or all) into the snapshot.
func (c *collector) list(ctx context.Context, rt ResourceType, ns string) error {
	gvr := schema.GroupVersionResource{Group: rt.Group, Version: rt.Version, Resource: rt.Resource}
	var ri dynamic.ResourceInterface = c.dyn.Resource(gvr)
	if ns != "" {
		ri = c.dyn.Resource(gvr).Namespace(ns)
	}
	var objs []Object
	folded := 0
	start := time.Now()
	cont := ""
	for {
		rctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
		page, err := ri.List(rctx, metav1.ListOptions{Limit: c.opts.ChunkSize, Continue: cont})
		timedOut := rctx.Err() != nil && ctx.Err() == nil
		cancel()
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
		for i := range page.Items {
			item := page.Items[i].Object
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
		cont = page.GetContinue()
		if cont == "" {
			break
		}
	}
	c.opts.Log.Debug("listed", "type", rt.GroupKind(), "namespace", ns, "objects", len(objs), "folded", folded, "took", time.Since(start))
	c.mu.Lock()
	c.snap.Objects = append(c.snap.Objects, objs...)
	c.snap.Metadata.Folded += folded
	c.mu.Unlock()
	c.finish(len(objs))
	return nil
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
