package compare

import (
	"context"
	"errors"
	"fmt"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/drift/blobstore"
	"github.com/driftgate/driftgate/rules"
)

// sideWay is how a side of a streaming comparison gets to be a stream.
type sideWay int

const (
	// readFile: a snapshot file, read where it is.
	readFile sideWay = iota
	// spillSide: a live cluster, or a folder of manifests compared as
	// written, captured (drift.CollectSpilled) or read
	// (drift.SpillManifests) without holding it, then spooled.
	spillSide
	// loadSide: any other side (a snapshot in object storage, a chart or
	// kustomization, manifests given server defaults, one load refuses)
	// loaded whole by load, with its checks, errors and notes, then
	// spooled and let go.
	loadSide
)

// streamSide is one side of a comparison that streams.
type streamSide struct {
	env Environment
	src drift.Source
	way sideWay
	// loc is where the side came from, as Side.Location shows it: the
	// file or folder, context:NAME, the URL or the chart.
	loc string
	// spool holds a prepared side that is not a snapshot file.
	spool *drift.SpooledSnapshot
	// notes are what preparing the side noted, in load's words and order.
	notes []string
	// head is a prepared side without its objects (a snapshot file's
	// once checked): what a chart on the other side is rendered for.
	head *drift.Snapshot
	// loaded: check loaded the snapshot file whole, and load took it.
	loaded bool
	// digest is a loaded side's digest as load gave it, which its Side
	// shows (spooling seals the snapshot anew, after redaction).
	digest string
}

// streamSides returns dev and prod as sides of a streaming comparison,
// and the order load takes them in: a rendered side after the other, so
// that a chart is rendered for the other side's server.
func streamSides(dev, prod Environment, opts Options) ([2]*streamSide, [2]int) {
	var sides [2]*streamSide
	for i, pair := range [][2]Environment{{dev, prod}, {prod, dev}} {
		env, other := pair[0], pair[1]
		side := &streamSide{env: env, way: loadSide}
		sides[i] = side
		if blobstore.IsURL(env.Source) {
			continue
		}
		src, err := drift.ParseSource(env.Source)
		if err != nil {
			continue
		}
		side.src = src
		switch src.Kind {
		case drift.SourceKindSnapshot:
			side.way, side.loc = readFile, src.Path
		case drift.SourceKindContext:
			if env.Trust == nil && opts.RESTConfig != nil {
				side.way = spillSide
			}
		case drift.SourceKindManifests:
			if plan := defaultsFor(env, other, opts); env.Trust == nil && env.Cluster == nil && (plan == nil || plan.context == "") {
				side.way, side.loc = spillSide, src.Path
			}
		}
	}
	if renderedSource(dev) && !renderedSource(prod) {
		return sides, [2]int{1, 0}
	}
	return sides, [2]int{0, 1}
}

// prepare captures, reads or loads a side that is not a snapshot file
// into a spooled snapshot, with load's errors and notes; other is the
// other side, prepared before it when otherFirst. Its errors are final:
// the in-memory comparison would meet them again (after capturing anew).
func (side *streamSide) prepare(ctx context.Context, other *streamSide, otherFirst bool, opts Options) error {
	var sp *drift.SpilledSnapshot
	switch side.way {
	case readFile:
		return nil
	case loadSide:
		var otherHead *drift.Snapshot
		if otherFirst {
			otherHead = other.head
		}
		s, loc, err := load(ctx, side.env, opts, defaultsFor(side.env, other.env, opts), &side.notes, otherHead)
		if err != nil {
			return err
		}
		side.loc, side.digest = loc, s.Digest
		side.head = &drift.Snapshot{Metadata: s.Metadata, Resources: s.Resources}
		if side.spool, err = s.Spool(""); err != nil {
			return fmt.Errorf("%s: %w", side.env.Name, err)
		}
		return nil
	}
	switch side.src.Kind {
	case drift.SourceKindManifests:
		if plan := defaultsFor(side.env, other.env, opts); plan != nil {
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
	side.head = &drift.Snapshot{Metadata: sp.Head.Metadata, Resources: sp.Head.Resources}
	for _, n := range spool.Notes {
		side.notes = append(side.notes, side.env.Name+": "+n)
	}
	return nil
}

// prepareSides prepares the sides in load's order. A snapshot file
// taken first is looked at first (check), as load reads it before the
// other side; and when preparing the other side fails, a file taken first
// is loaded as load loads it, so that of two errors the comparison
// reports the one the in-memory comparison meets first.
func prepareSides(ctx context.Context, sides [2]*streamSide, order [2]int, opts Options) error {
	first := sides[order[0]]
	if first.way == readFile {
		if err := first.check(ctx, opts); err != nil {
			return err
		}
	}
	for k, i := range order {
		err := sides[i].prepare(ctx, sides[1-i], k == 1, opts)
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			if first.way == readFile && !first.loaded {
				if _, _, ferr := load(ctx, first.env, opts, nil, nil, nil); ferr != nil {
					return ferr
				}
			}
			return err
		}
	}
	return nil
}

// check reads a snapshot file's head (what a chart on the other side is
// rendered for) before the other side is captured or read. When the head
// shows load would refuse the file (captured outside --max-age, of
// another cluster), or cannot be streamed, the file is loaded as load
// loads it, once: its error is the comparison's, and otherwise its head
// is the loaded file's. The head is verified only once the file has
// streamed past, as every check the stream makes.
func (side *streamSide) check(ctx context.Context, opts Options) error {
	if s, err := side.open(opts); err == nil {
		head := s.Head
		s.Close()
		clusterOK := side.env.Cluster == nil || sameCluster(side.env.Cluster, head.Metadata.Cluster)
		if clusterOK && checkCaptured(side.env.Name, side.src.Path, head.Metadata.CapturedAt, opts) == nil {
			side.head = head
			return nil
		}
	}
	s, _, err := load(ctx, side.env, opts, nil, nil, nil)
	if err != nil {
		return err
	}
	side.loaded = true
	side.head = &drift.Snapshot{Metadata: s.Metadata, Resources: s.Resources}
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
	if side.way == loadSide {
		s.Digest = side.digest // as load gave it, before spooling sealed it anew
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
func runStreaming(ctx context.Context, sides [2]*streamSide, order [2]int, opts Options) (*drift.Result, error) {
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
	for _, i := range order {
		side := sides[i]
		notes = append(notes, side.notes...)
		if side.way != readFile {
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
	for i, side := range []*drift.Side{&res.Dev, &res.Prod} {
		if sides[i].way == loadSide {
			side.Digest = sides[i].digest
		}
	}
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
