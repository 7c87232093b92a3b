package compare

import (
	"context"
	"fmt"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/blobstore"
	"github.com/driftgate/driftgate/rules"
)

// streamPaths returns the files of dev and prod when both are snapshot
// files, which Run compares as they stream past (runStreaming). Manifests
// and live clusters are built in memory whatever Run does (normalized,
// defaulted from a server, sorted and sealed), and a snapshot in object
// storage is read whole to be verified, so a comparison with one of them
// on either side is made in memory too.
func streamPaths(dev, prod Environment) (string, string, bool) {
	var paths [2]string
	for i, env := range []Environment{dev, prod} {
		if blobstore.IsURL(env.Source) {
			return "", "", false
		}
		src, err := drift.ParseSource(env.Source)
		if err != nil || src.Kind != drift.SourceKindSnapshot {
			return "", "", false
		}
		paths[i] = src.Path
	}
	return paths[0], paths[1], true
}

// runStreaming is Run for two snapshot files, compared as a merge of
// their sorted objects (drift.StreamPairs, rules.Stream): it holds a run
// of objects at a time and what the checks that see the whole
// environments keep, not the snapshots, and gives Run's result. A file it
// cannot read that way (drift.ErrNotStreamable: not as driftgate writes it,
// corrupt, too large), and any check that fails (a file not trusted, too
// old, of another cluster; a rule that cannot be evaluated), is an error:
// Run then compares in memory, which words the error, if there is one,
// as it always has.
func runStreaming(ctx context.Context, dev, prod Environment, devPath, prodPath string, opts Options) (*drift.Result, error) {
	norm := drift.NewNormalizer(opts.DigestKey)
	lo := drift.LoadOptions{MaxSize: opts.MaxSnapshotSize}
	ds, err := drift.OpenSnapshotStream(devPath, lo, norm)
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	ps, err := drift.OpenSnapshotStream(prodPath, lo, norm)
	if err != nil {
		return nil, err
	}
	defer ps.Close()
	if opts.Log != nil {
		opts.Log.Info("evaluating rules as the snapshots stream past", "ruleSets", len(opts.RuleSets))
	}
	ev := rules.NewStream(ds.Head, ps.Head, opts.RuleSets, rules.Options{Mapping: opts.Mapping, Namespaces: opts.Scope.Namespaces})
	if err := drift.StreamPairs(ctx, ds, ps, opts.Mapping, func(run drift.PairRun) error { return ev.Add(ctx, run) }); err != nil {
		return nil, err
	}
	// Every check load makes of a file, now that its digests and
	// signature have been read: the same as load's, on the same values.
	var notes []string
	for _, side := range []struct {
		env  Environment
		path string
		s    *drift.SnapshotStream
	}{{dev, devPath, ds}, {prod, prodPath, ps}} {
		if err := checkTrust(side.env, side.path, side.s.Head); err != nil {
			return nil, err
		}
		if n := side.s.Redacted; n > 0 {
			notes = append(notes, fmt.Sprintf("%s: %d objects of %s held secret values this version keeps only as digests; they were redacted on reading (take the snapshot again)", side.env.Name, n, side.path))
		}
		if err := checkAge(side.env.Name, side.path, side.s.Head, side.env.Trust != nil, opts); err != nil {
			return nil, err
		}
	}
	res, err := ev.Finish(ctx)
	if err != nil {
		return nil, err
	}
	res.Notes = append(notes, res.Notes...)
	res.Dev = drift.SideOf("dev", devPath, ds.Head)
	res.Dev.Objects = ds.Count
	res.Prod = drift.SideOf("prod", prodPath, ps.Head)
	res.Prod.Objects = ps.Count
	if dev.Trust != nil {
		res.Dev.SignedBy = dev.Trust.KeyID()
	}
	if prod.Trust != nil {
		res.Prod.SignedBy = prod.Trust.KeyID()
	}
	return res, nil
}
