package compare

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/client-go/rest"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/blobstore"
	"github.com/driftgate/driftgate/drift/defaults"
)

// defaultsTimeout bounds each dry-run request when Options.RequestTimeout
// is not set: a defaults server that hangs must not hang the gate.
const defaultsTimeout = 30 * time.Second

// notApplied is the note's core when a manifests side keeps its defaults
// out: what it means for the findings.
const notApplied = "manifests compared as written; fields the API server would default may show as drift"

// keptListed bounds the objects a note names; the log (-v) has them all.
const keptListed = 5

// notAppliedNote is the note of a manifests side compared as written
// because no server was named, and why.
func notAppliedNote(side, why string) string {
	return fmt.Sprintf("server defaults not applied to the %s manifests: %s (%s)", side, notApplied, why)
}

// defaultsPlan is where the defaults of a manifests side come from: a kube
// context, or nowhere (context empty), and why.
type defaultsPlan struct {
	context, kubeconfig string
	// why explains a plan without a context, for the note.
	why string
}

// defaultsFor says how side's manifests get server defaults when compared
// with other: nil when side is not manifests, or both sides are and no
// server is named (both are then compared as written, alike).
func defaultsFor(side, other Environment, opts Options) *defaultsPlan {
	if blobstore.IsURL(side.Source) {
		return nil
	}
	src, err := drift.ParseSource(side.Source)
	if err != nil || src.Kind != drift.SourceKindManifests && !src.Rendered() {
		return nil
	}
	if opts.DefaultsFrom == DefaultsNone {
		return &defaultsPlan{why: "--defaults-from none"}
	}
	if name, ok := strings.CutPrefix(opts.DefaultsFrom, "context:"); ok {
		return &defaultsPlan{context: name}
	}
	if blobstore.IsURL(other.Source) {
		return &defaultsPlan{why: other.Name + " is a snapshot in object storage and no cluster was named to take them from (--defaults-from context:NAME)"}
	}
	o, err := drift.ParseSource(other.Source)
	if err != nil {
		return nil
	}
	switch o.Kind {
	case drift.SourceKindManifests, drift.SourceKindHelm, drift.SourceKindKustomize:
		return nil
	case drift.SourceKindSnapshot:
		return &defaultsPlan{why: other.Name + " is a snapshot file and no cluster was named to take them from (--defaults-from context:NAME)"}
	}
	return &defaultsPlan{context: o.Context, kubeconfig: other.Kubeconfig}
}

// ValidateDefaultsFrom checks a DefaultsFrom value.
func ValidateDefaultsFrom(v string) error {
	if name, ok := strings.CutPrefix(v, "context:"); v == "" || v == DefaultsNone || ok && name != "" {
		return nil
	}
	return fmt.Errorf("defaults-from %q: want context:NAME or %s", v, DefaultsNone)
}

// defaultedManifests reads the manifests at path, fills in the defaults of
// the server plan names (see drift/defaults) and makes them a snapshot;
// how that went is added to notes. No server, or one that cannot be
// reached, is not an error: the manifests are compared as written.
func defaultedManifests(ctx context.Context, side, path string, mo drift.ManifestOptions, plan *defaultsPlan, opts Options, notes *[]string) (*drift.Snapshot, error) {
	ms, skipped, err := drift.ReadManifests(path)
	if err != nil {
		return nil, err
	}
	return defaultedObjects(ctx, side, path, ms, skipped, mo, plan, opts, notes)
}

// defaultedObjects is defaultedManifests on manifests already read (or
// rendered) from path.
func defaultedObjects(ctx context.Context, side, path string, ms []drift.Manifest, skipped []drift.SkippedFile, mo drift.ManifestOptions, plan *defaultsPlan, opts Options, notes *[]string) (*drift.Snapshot, error) {
	note := func(format string, args ...any) {
		if notes != nil {
			*notes = append(*notes, fmt.Sprintf(format, args...))
		}
	}
	if plan.context == "" {
		note("%s", notAppliedNote(side, plan.why))
		return drift.SnapshotFromManifestObjects([]string{path}, ms, skipped, mo)
	}
	where := "context:" + plan.context
	if opts.RESTConfig == nil {
		note("server defaults not applied to the %s manifests: %s (no kubeconfig to reach %s)", side, notApplied, where)
		return drift.SnapshotFromManifestObjects([]string{path}, ms, skipped, mo)
	}
	cfg, _, err := opts.RESTConfig(plan.context, plan.kubeconfig)
	if err != nil {
		note("server defaults not applied to the %s manifests: %s (%s: %v)", side, notApplied, where, err)
		return drift.SnapshotFromManifestObjects([]string{path}, ms, skipped, mo)
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultsTimeout
		if opts.RequestTimeout > 0 {
			cfg.Timeout = opts.RequestTimeout
		}
	}
	out := defaults.Apply(ctx, cfg, ms, defaults.Options{Log: opts.Log})
	switch {
	case out.Err != nil && out.Defaulted == 0:
		note("server defaults not applied to the %s manifests: %s (%s could not be reached: %v)", side, notApplied, where, out.Err)
	default:
		note("server defaults applied to %d of %d %s manifest objects: taken from %s by a server-side dry-run create of each (nothing is persisted)",
			out.Defaulted, len(ms), side, where)
		if out.Err != nil {
			note("%s stopped answering during defaulting: %v", where, out.Err)
		}
	}
	if len(out.Kept) > 0 {
		named := make([]string, 0, keptListed)
		for i, k := range out.Kept {
			if opts.Log != nil {
				opts.Log.Info("object compared as written", "side", side, "object", k.Object, "reason", k.Reason)
			}
			if i < keptListed {
				named = append(named, k.Object+": "+k.Reason)
			}
		}
		more := ""
		if n := len(out.Kept) - keptListed; n > 0 {
			more = fmt.Sprintf("; and %d more (-v lists them)", n)
		}
		note("%d %s manifest objects kept as written, %s: %s%s", len(out.Kept), side, notApplied, strings.Join(named, "; "), more)
	}
	return drift.SnapshotFromManifestObjects([]string{path}, ms, skipped, mo)
}
