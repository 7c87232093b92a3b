// Package compare loads a dev and a prod environment (a snapshot file,
// manifests, or a live cluster named by context:NAME) and evaluates rule
// sets over them: the one way diff, gate and report get a result.
package compare

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/client-go/rest"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/blobstore"
	"github.com/driftgate/driftgate/drift/render"
	"github.com/driftgate/driftgate/drift/sign"
	"github.com/driftgate/driftgate/rules"
)

// Environment is one side of a comparison.
type Environment struct {
	// Name says which side it is ("dev", "prod", or the name of an
	// environment in driftgate.yaml); errors about the side start with it.
	Name string
	// Source is a DEV/PROD argument: a snapshot file, a manifest file or
	// folder, context:NAME (see drift.ParseSource), or the URL of a
	// snapshot in object storage (see drift/blobstore).
	Source string
	// Kubeconfig, when set, is the kubeconfig file of a context: source.
	Kubeconfig string
	// Helm is what renders a helm: source besides its chart (values
	// files, --set, release namespace and name); its Chart is ignored.
	Helm render.Helm
	// Trust, when set, is the only key this side may be signed by: the
	// side must then be a snapshot signed by it for the environment Name,
	// and its age (MaxAge) is the signed capture time's.
	Trust *sign.Verifier
	// Cluster, when set, is the cluster this side must be: a signed
	// snapshot's statement, or a live cluster's kube-system uid (and
	// server, when set) must name it.
	Cluster *drift.ClusterIdentity
}

// Progress shows how far a live capture has come.
type Progress interface {
	Update(drift.Progress)
	// Done ends the display of one capture.
	Done()
}

// Options say how environments are loaded and what they are compared with.
type Options struct {
	// Scope limits live captures and manifests; its namespaces also limit
	// what the rules compare.
	Scope drift.Scope
	// DigestKey keys the digests of Secret values (drift.NewNormalizer).
	DigestKey []byte
	// RESTConfig returns the client config for a kube context (with
	// kubeconfig as the file when not empty) and the context's name.
	RESTConfig func(context, kubeconfig string) (*rest.Config, string, error)
	// RequestTimeout bounds each API request of a live capture; 0: default.
	RequestTimeout time.Duration
	Log            *slog.Logger
	// Progress, when set, shows the progress of live captures.
	Progress Progress
	// MaxSnapshotSize refuses snapshot files holding more JSON than this,
	// once decompressed; 0: drift.DefaultMaxSnapshotSize.
	MaxSnapshotSize int64
	// MaxAge refuses snapshot files captured longer ago than this; 0: no limit.
	MaxAge time.Duration
	// Now is the clock MaxAge is measured with; default time.Now.
	Now func() time.Time

	// RuleSets (with their waivers) are evaluated over the two sides.
	RuleSets []*rules.RuleSet
	// Mapping maps dev namespaces and values to prod's.
	Mapping drift.Mapping

	// DefaultsFrom names the cluster whose API server fills in the
	// defaults of a manifests side (see drift/defaults): context:NAME,
	// DefaultsNone, or empty for the other side when that is a live
	// cluster. Without a server the manifests are compared as written.
	DefaultsFrom string

	// InMemory compares the sides loaded whole, as Run did before it
	// streamed them (see runStreaming): the reference the streaming
	// comparison is tested and measured against.
	InMemory bool
}

// DefaultsNone, as Options.DefaultsFrom, compares manifests as written.
const DefaultsNone = "none"

// Run loads dev and prod and evaluates the rule sets over them.
func Run(ctx context.Context, dev, prod Environment, opts Options) (*drift.Result, error) {
	// Reading the API's list-map keys takes a few hundred milliseconds of
	// one core: done while the sides load, it is ready when rules need it.
	go drift.PrepareSchemas()
	if opts.InMemory {
		return runInMemory(ctx, dev, prod, opts, [2]*streamSide{})
	}
	sides, order := streamSides(dev, prod, opts)
	defer closeSides(sides)
	if err := prepareSides(ctx, sides, order, opts); err != nil {
		return nil, err
	}
	res, err := runStreaming(ctx, sides, order, opts)
	if err == nil || ctx.Err() != nil {
		return res, err
	}
	if opts.Log != nil {
		opts.Log.Info("comparing in memory: the snapshots could not be compared as they stream past", "reason", err)
	}
	return runInMemory(ctx, dev, prod, opts, sides)
}

// runInMemory is Run with both sides loaded whole; a side already captured
// or read for streaming (prepared) is loaded from its spool.
func runInMemory(ctx context.Context, dev, prod Environment, opts Options, prepared [2]*streamSide) (*drift.Result, error) {
	var notes []string
	var devSnap, prodSnap *drift.Snapshot
	var devLoc, prodLoc string
	// A rendered side is rendered for the other side's server (its version
	// and APIs as the chart's capabilities), so that side loads first.
	sides := []struct {
		env, other Environment
		snap       **drift.Snapshot
		loc        *string
		otherSnap  **drift.Snapshot
		prepared   *streamSide
	}{{dev, prod, &devSnap, &devLoc, &prodSnap, prepared[0]}, {prod, dev, &prodSnap, &prodLoc, &devSnap, prepared[1]}}
	if renderedSource(dev) && !renderedSource(prod) {
		sides[0], sides[1] = sides[1], sides[0]
	}
	for _, side := range sides {
		var err error
		if side.prepared != nil && side.prepared.spool != nil {
			*side.snap, *side.loc, err = side.prepared.load(&notes)
		} else {
			*side.snap, *side.loc, err = load(ctx, side.env, opts, defaultsFor(side.env, side.other, opts), &notes, *side.otherSnap)
		}
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if opts.Log != nil {
		opts.Log.Info("evaluating rules", "devObjects", len(devSnap.Objects), "prodObjects", len(prodSnap.Objects), "ruleSets", len(opts.RuleSets))
	}
	res, err := rules.EvaluateContext(ctx, devSnap, prodSnap, opts.RuleSets, rules.Options{Mapping: opts.Mapping, Namespaces: opts.Scope.Namespaces})
	if err != nil {
		return nil, err
	}
	res.Notes = append(notes, res.Notes...)
	res.Dev = drift.SideOf("dev", devLoc, devSnap)
	res.Prod = drift.SideOf("prod", prodLoc, prodSnap)
	// load refused any side with a trusted key that it did not verify.
	if dev.Trust != nil {
		res.Dev.SignedBy = dev.Trust.KeyID()
	}
	if prod.Trust != nil {
		res.Prod.SignedBy = prod.Trust.KeyID()
	}
	return res, nil
}

// Load turns one environment into a sealed snapshot: a snapshot file is
// verified (and refused when older than MaxAge), manifests are normalized,
// a context is captured live. It also returns where the snapshot came from:
// the file or folder, or context:NAME.
func Load(ctx context.Context, env Environment, opts Options) (*drift.Snapshot, string, error) {
	return load(ctx, env, opts, nil, nil, nil)
}

// renderedSource reports whether env is a helm: or kustomize: source.
func renderedSource(env Environment) bool {
	if blobstore.IsURL(env.Source) {
		return false
	}
	src, err := drift.ParseSource(env.Source)
	return err == nil && src.Rendered()
}

// load is Load, with the server defaults of a manifests side taken as
// defaults says, and notes on how they were (or why not) appended to
// notes. A rendered side is rendered for other, the other side's
// snapshot when it is already loaded.
func load(ctx context.Context, env Environment, opts Options, defaults *defaultsPlan, notes *[]string, other *drift.Snapshot) (*drift.Snapshot, string, error) {
	if blobstore.IsURL(env.Source) {
		return loadURL(ctx, env, opts, notes)
	}
	src, err := drift.ParseSource(env.Source)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", env.Name, err)
	}
	if env.Trust != nil && src.Kind != drift.SourceKindSnapshot {
		what := "a folder of manifests"
		switch {
		case src.Kind == drift.SourceKindContext:
			what = "a live cluster"
		case src.Rendered():
			what = "rendered from " + src.Kind
		}
		return nil, "", fmt.Errorf("%s: %w: a trusted key (%s) is set for %s, so it must be a snapshot signed with it, and %s is %s",
			env.Name, sign.ErrUnsigned, env.Trust.Source(), env.Name, env.Source, what)
	}
	if env.Cluster != nil && (src.Kind == drift.SourceKindManifests || src.Rendered()) {
		return nil, "", fmt.Errorf("%s: %w: %s expects the cluster %s, and %s is a folder of manifests, which names no cluster",
			env.Name, drift.ErrOtherCluster, env.Name, env.Cluster, env.Source)
	}
	norm := drift.NewNormalizer(opts.DigestKey)
	switch src.Kind {
	case drift.SourceKindSnapshot:
		s, err := drift.LoadSnapshotWith(src.Path, drift.LoadOptions{MaxSize: opts.MaxSnapshotSize})
		if err != nil {
			return nil, "", err
		}
		if err := checkTrust(env, src.Path, s); err != nil {
			return nil, "", err
		}
		// A file written by an older version may hold values this one
		// keeps only as digests: redact them before any finding exists.
		if n := norm.RedactSnapshot(s); n > 0 && notes != nil {
			*notes = append(*notes, fmt.Sprintf("%s: %d objects of %s held secret values this version keeps only as digests; they were redacted on reading (take the snapshot again)", env.Name, n, src.Path))
		}
		return s, src.Path, checkAge(env.Name, src.Path, s, env.Trust != nil, opts)
	case drift.SourceKindManifests:
		mo := manifestOptions(opts)
		var s *drift.Snapshot
		if defaults == nil {
			s, err = drift.SnapshotFromManifests([]string{src.Path}, mo)
		} else {
			s, err = defaultedManifests(ctx, env.Name, src.Path, mo, defaults, opts, notes)
		}
		if err == nil {
			err = s.Seal()
		}
		if err == nil && notes != nil {
			for _, n := range s.Notes {
				*notes = append(*notes, env.Name+": "+n)
			}
		}
		return s, src.Path, err
	case drift.SourceKindHelm, drift.SourceKindKustomize:
		return loadRendered(ctx, env, src, opts, defaults, notes, other)
	}
	s, _, loc, err := capture(ctx, env, src, opts, false)
	if err != nil {
		return nil, "", err
	}
	return s, loc, s.Seal()
}

// manifestOptions are how a side of manifests is read: in scope,
// normalized as a live side is, and captured by the same clock.
func manifestOptions(opts Options) drift.ManifestOptions {
	mo := drift.ManifestOptions{Scope: opts.Scope, Normalizer: drift.NewNormalizer(opts.DigestKey)}
	if opts.Now != nil {
		mo.Now = opts.Now()
	}
	return mo
}

// capture takes env's live cluster (src names its context) as load does:
// whole (drift.Collect), or with spill as drift.CollectSpilled takes it,
// whose Head it also returns. Its errors and the check of the expected
// cluster are load's. It returns where the snapshot came from,
// context:NAME.
func capture(ctx context.Context, env Environment, src drift.Source, opts Options, spill bool) (*drift.Snapshot, *drift.SpilledSnapshot, string, error) {
	cfg, name, err := opts.RESTConfig(src.Context, env.Kubeconfig)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%s: %w", env.Name, err)
	}
	co := drift.CollectOptions{Context: name, Scope: opts.Scope, RequestTimeout: opts.RequestTimeout, Normalizer: drift.NewNormalizer(opts.DigestKey), Log: opts.Log}
	if opts.Now != nil {
		co.Now = opts.Now() // captured by the same clock as the other side
	}
	if opts.Progress != nil {
		co.Progress = opts.Progress.Update
	}
	var s *drift.Snapshot
	var sp *drift.SpilledSnapshot
	if spill {
		if sp, err = drift.CollectSpilled(ctx, cfg, co, drift.SpillOptions{}); err == nil {
			s = sp.Head
		}
	} else {
		s, err = drift.Collect(ctx, cfg, co)
	}
	if opts.Progress != nil {
		opts.Progress.Done()
	}
	if err != nil {
		return nil, nil, "", fmt.Errorf("%s (context %s): %w", env.Name, name, err)
	}
	if env.Cluster != nil && !sameCluster(env.Cluster, s.Metadata.Cluster) {
		if sp != nil {
			sp.Close()
		}
		return nil, nil, "", fmt.Errorf("%s (context %s): %w: the cluster is %s, %s expects %s", env.Name, name, drift.ErrOtherCluster, s.Metadata.Cluster, env.Name, env.Cluster)
	}
	return s, sp, "context:" + name, nil
}

// loadURL reads the snapshot a URL names from object storage (resolving
// its latest pointer) and verifies it as a snapshot file is verified. The
// location it returns is the object's URL without the query.
func loadURL(ctx context.Context, env Environment, opts Options, notes *[]string) (*drift.Snapshot, string, error) {
	data, resolved, err := blobstore.Read(ctx, env.Source, opts.MaxSnapshotSize)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", env.Name, err)
	}
	loc := blobstore.Redact(resolved)
	s, err := drift.DecodeSnapshotBytes(data, opts.MaxSnapshotSize)
	if err != nil {
		return nil, "", fmt.Errorf("%s: snapshot %s: %w", env.Name, loc, err)
	}
	if err := checkTrust(env, loc, s); err != nil {
		return nil, "", err
	}
	if n := drift.NewNormalizer(opts.DigestKey).RedactSnapshot(s); n > 0 && notes != nil {
		*notes = append(*notes, fmt.Sprintf("%s: %d objects of %s held secret values this version keeps only as digests; they were redacted on reading (take the snapshot again)", env.Name, n, loc))
	}
	return s, loc, checkAge(env.Name, loc, s, env.Trust != nil, opts)
}

// clockSkew is how far in the future a snapshot's capture time may be:
// the clocks of the machine that took it and of this one may differ.
const clockSkew = 5 * time.Minute

// checkTrust refuses the snapshot s, read from loc, unless it is what env
// trusts: signed by env.Trust for env.Name and of env.Cluster (see
// drift.Snapshot.VerifySignature). Without a key, an expected cluster is
// checked against the snapshot's unsigned metadata, which catches a
// mistake but not an attacker.
func checkTrust(env Environment, loc string, s *drift.Snapshot) error {
	if env.Trust == nil {
		if env.Cluster != nil && !sameCluster(env.Cluster, s.Metadata.Cluster) {
			return fmt.Errorf("%s: snapshot %s: %w: it is of %s, %s expects %s", env.Name, loc, drift.ErrOtherCluster, s.Metadata.Cluster, env.Name, env.Cluster)
		}
		return nil
	}
	_, err := s.VerifySignature(drift.SnapshotTrust{Key: env.Trust, Environment: env.Name, Cluster: env.Cluster})
	if err != nil {
		return fmt.Errorf("%s: snapshot %s is not trusted: %w", env.Name, loc, err)
	}
	return nil
}

// sameCluster reports whether got is the cluster want names: the same
// kube-system uid, and the same server when want gives one.
func sameCluster(want, got *drift.ClusterIdentity) bool {
	return got != nil && got.UID == want.UID && (want.Server == "" || want.Server == got.Server)
}

// checkAge refuses a snapshot file older than MaxAge: a gate that passes
// on last week's prod proves nothing about today's. The capture time is
// trusted only under the snapshot's integrity digest (LoadSnapshot has
// checked it), and not when it lies in the future. When the side is
// signed (checkTrust verified it), the capture time is the signed one:
// anyone can recompute the integrity digest, no one the signature, so an
// old signed snapshot cannot be made to look new.
func checkAge(side, loc string, s *drift.Snapshot, signed bool, opts Options) error {
	if opts.MaxAge <= 0 {
		return nil
	}
	if s.Integrity == "" && !signed {
		return fmt.Errorf("%s: snapshot %s has no integrity digest over its capture time (it was written by an older driftgate), so its age cannot be checked against --max-age: take a new snapshot",
			side, loc)
	}
	return checkCaptured(side, loc, s.Metadata.CapturedAt, opts)
}

// checkCaptured refuses a capture time in the future or longer ago than
// MaxAge (checkAge, once the time is known to be covered by a digest).
func checkCaptured(side, loc string, captured time.Time, opts Options) error {
	if opts.MaxAge <= 0 {
		return nil
	}
	now := time.Now()
	if opts.Now != nil {
		now = opts.Now()
	}
	if ahead := captured.Sub(now); ahead > clockSkew {
		return fmt.Errorf("%s: snapshot %s was captured %s in the future (%s): fix the clock of the machine that took it and take a new snapshot",
			side, loc, ahead.Round(time.Minute), captured.Format(time.RFC3339))
	}
	if age := now.Sub(captured); age > opts.MaxAge {
		return fmt.Errorf("%s: snapshot %s was captured %s ago (%s), longer than --max-age %s: take a new snapshot",
			side, loc, age.Round(time.Minute), captured.Format(time.RFC3339), opts.MaxAge)
	}
	return nil
}
