package compare

import (
	"context"
	"errors"
	"fmt"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/blobstore"
	"github.com/driftgate/driftgate/rules"
)

// streamSide is one side of a comparison that streams: a snapshot file,
// read where it is, or a live cluster or a folder of manifests, spooled
// to a temporary snapshot file by prepare (drift.CollectSpilled,
// drift.SpillManifests) and read from there.
type streamSide struct {
	env Environment
	src drift.Source
	// loc is where the side came from, as Side.Location shows it: the
	// file or folder, or context:NAME.
	loc string
	// spool holds a prepared live or manifests side.
	spool *drift.SpooledSnapshot
	// notes are what preparing the side noted, in load's words and order.
	notes []string
}

// streamSides returns dev and prod as sides that stream when both can:
// a snapshot file; a live cluster that no key is trusted for; a folder of
// manifests that is compared as written (no server to take defaults from)
// and of no expected cluster. A side of another kind, or one load refuses
// before reading it, is compared in memory: a snapshot in object storage
// (read whole to be verified), a rendered chart or kustomization (small,
// and rendered for the other side's server), manifests defaulted by a
// server (each object is sent to it).
func streamSides(dev, prod Environment, opts Options) ([2]*streamSide, bool) {
	var sides [2]*streamSide
	for i, pair := range [][2]Environment{{dev, prod}, {prod, dev}} {
		env, other := pair[0], pair[1]
		if blobstore.IsURL(env.Source) {
			return sides, false
		}
		src, err := drift.ParseSource(env.Source)
		if err != nil {
			return sides, false
		}
		switch src.Kind {
		case drift.SourceKindSnapshot:
			sides[i] = &streamSide{env: env, src: src, loc: src.Path}
		case drift.SourceKindContext:
			if env.Trust != nil || opts.RESTConfig == nil {
				return sides, false
			}
			sides[i] = &streamSide{env: env, src: src}
		case drift.SourceKindManifests:
			if plan := defaultsFor(env, other, opts); env.Trust != nil || env.Cluster != nil || plan != nil && plan.context != "" {
				return sides, false
			}
			sides[i] = &streamSide{env: env, src: src, loc: src.Path}
		default:
			return sides, false
		}
	}
	return sides, true
}

// prepare captures a live side, or reads a manifests side, into a spooled
// snapshot, with load's errors and notes. Its errors are final: the
// in-memory comparison would meet them again, after capturing anew.
func (side *streamSide) prepare(ctx context.Context, other Environment, opts Options) error {
	var sp *drift.SpilledSnapshot
	switch side.src.Kind {
	case drift.SourceKindSnapshot:
		return nil
	case drift.SourceKindManifests:
		if plan := defaultsFor(side.env, other, opts); plan != nil {
			side.notes = append(side.notes, notAppliedNote(side.env.Name, plan.why))
		}
		var err error
		if sp, err = drift.SpillManifests([]string{side.src.Path}, manifestOptions(opts), drift.SpillOptions{}); err != nil {
			return err
		}
	case drift.SourceKindContext:
		var err error
		if _, sp, side.loc, err = capture(ctx, side.env, side.src, opts, true); err != nil {
			return err
		}
	}
	defer sp.Close()
	spool, err := sp.Spool("")
	if err != nil {
		return fmt.Errorf("%s: %w", side.env.Name, err)
	}
	side.spool = spool
	for _, n := range spool.Notes {
		side.notes = append(side.notes, side.env.Name+": "+n)
	}
	return nil
}

// open starts reading the side as it streams past.
func (side *streamSide) open(opts Options) (*drift.SnapshotStream, error) {
	if side.spool != nil {
		return side.spool.Stream(side.loc)
	}
	return drift.OpenSnapshotStream(side.src.Path, drift.LoadOptions{MaxSize: opts.MaxSnapshotSize}, drift.NewNormalizer(opts.DigestKey))
}

// load reads a prepared side whole from its spool, as load would have
// made it, for the in-memory comparison Run falls back to: a cluster is
// not captured twice.
func (side *streamSide) load(notes *[]string) (*drift.Snapshot, string, error) {
	s, err := side.spool.Load()
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", side.env.Name, err)
	}
	*notes = append(*notes, side.notes...)
	return s, side.loc, nil
}

func (side *streamSide) Close() error {
	if side == nil || side.spool == nil {
		return nil
	}
	return side.spool.Close()
}

// runStreaming is Run for two sides that stream, compared as a merge of
// their sorted objects (drift.StreamPairs, rules.Stream): it holds a run
// of objects at a time and what the checks that see the whole
// environments keep, not the snapshots, and gives Run's result. A file it
// cannot read that way (drift.ErrNotStreamable: not as driftgate writes it,
// corrupt, too large), and any check that fails (a file not trusted, too
// old, of another cluster; a rule that cannot be evaluated), is an error:
// Run then compares in memory, which words the error, if there is one,
// as it always has.
func runStreaming(ctx context.Context, sides [2]*streamSide, opts Options) (*drift.Result, error) {
	var streams [2]*drift.SnapshotStream
	for i, side := range sides {
		s, err := side.open(opts)
		if err != nil {
			return nil, err
		}
		defer s.Close()
		streams[i] = s
	}
	ds, ps := streams[0], streams[1]
	if opts.Log != nil {
		opts.Log.Info("evaluating rules as the snapshots stream past", "ruleSets", len(opts.RuleSets))
	}
	ev := rules.NewStream(ds.Head, ps.Head, opts.RuleSets, rules.Options{Mapping: opts.Mapping, Namespaces: opts.Scope.Namespaces})
	if err := drift.StreamPairs(ctx, ds, ps, opts.Mapping, func(run drift.PairRun) error { return ev.Add(ctx, run) }); err != nil {
		return nil, err
	}
	// Every check load makes of a file, now that its digests and
	// signature have been read: the same as load's, on the same values,
	// and the notes in load's order.
	var notes []string
	for i, side := range sides {
		notes = append(notes, side.notes...)
		if side.spool != nil {
			continue
		}
		s, path := streams[i], side.src.Path
		if err := checkTrust(side.env, path, s.Head); err != nil {
			return nil, err
		}
		if n := s.Redacted; n > 0 {
			notes = append(notes, fmt.Sprintf("%s: %d objects of %s held secret values this version keeps only as digests; they were redacted on reading (take the snapshot again)", side.env.Name, n, path))
		}
		if err := checkAge(side.env.Name, path, s.Head, side.env.Trust != nil, opts); err != nil {
			return nil, err
		}
	}
	res, err := ev.Finish(ctx)
	if err != nil {
		return nil, err
	}
	res.Notes = append(notes, res.Notes...)
	res.Dev = drift.SideOf("dev", sides[0].loc, ds.Head)
	res.Dev.Objects = ds.Count
	res.Prod = drift.SideOf("prod", sides[1].loc, ps.Head)
	res.Prod.Objects = ps.Count
	if t := sides[0].env.Trust; t != nil {
		res.Dev.SignedBy = t.KeyID()
	}
	if t := sides[1].env.Trust; t != nil {
		res.Prod.SignedBy = t.KeyID()
	}
	return res, nil
}

// closeSides closes what prepare spooled.
func closeSides(sides [2]*streamSide) error {
	return errors.Join(sides[0].Close(), sides[1].Close())
}
