package drift

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"time"

	"golang.org/x/sync/errgroup"
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
	return collect(ctx, cfg, opts, nil)
}

// collect is Collect; with spill, each page's objects go to spill as a
// sorted run instead of into the snapshot (see CollectSpilled).
func collect(ctx context.Context, cfg *rest.Config, opts CollectOptions, spill *spillFile) (*Snapshot, error) {
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
	if id, err := readClusterIdentity(ctx, rc, cfg.Host, opts.RequestTimeout); err != nil {
		// Not an error for a comparison; a snapshot that is to be
		// signed refuses (canSign) and says why.
		opts.Log.Info("cluster identity not recorded: cannot read namespace kube-system", "server", cfg.Host, "error", err)
	} else {
		s.Metadata.Cluster = id
	}

	types, unobserved, err := discoverTypes(dc, opts.Scope)
	if err != nil {
		return nil, unreachable(cfg.Host, err)
	}
	s.Unobserved = unobserved
	opts.Log.Info("discovered resource types", "server", cfg.Host, "types", len(types), "unobserved", len(unobserved))

	c := &collector{rc: rc, opts: opts, snap: s, spill: spill, total: len(types), decoding: make(chan struct{}, max(2, goruntime.GOMAXPROCS(0)))}
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
