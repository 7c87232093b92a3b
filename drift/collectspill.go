package drift

import (
	"context"
	"errors"

	"k8s.io/client-go/rest"
)

// errNotSpillable is a hard error of a spilling collect: an object the
// snapshot file's encoder cannot write (encoding/json must, or refuse it),
// so the snapshot is taken in memory instead.
var errNotSpillable = errors.New("an object cannot be written as it is listed")

// SpillOptions configure where CollectSpilled keeps the objects.
type SpillOptions struct {
	// Dir is where the temporary files go: "" is $TMPDIR (os.TempDir).
	Dir string
}

// CollectSpilled takes a live snapshot as Collect does (opts.ForWriting is
// implied) without holding the cluster in memory: each LIST page's objects
// are normalized, encoded as the file holds them, sorted, and written to a
// temporary file as a run, and the runs are merged in order as the
// snapshot is written (SpilledSnapshot.Encode, Save). Memory is bounded by
// the pages in flight (Concurrency plus one decoding per processor, each
// ChunkSize objects), not the cluster: 200,000 objects take what 20,000 do
// (BENCHMARKS.md).
//
// The file it writes is byte for byte the one Collect's snapshot saves.
// The caller must Close the result.
func CollectSpilled(ctx context.Context, cfg *rest.Config, opts CollectOptions, so SpillOptions) (*SpilledSnapshot, error) {
	spill, err := newSpillFile(so.Dir)
	if err != nil {
		return nil, err
	}
	opts.ForWriting = true
	head, err := collect(ctx, cfg, opts, spill)
	if errors.Is(err, errNotSpillable) {
		spill.Close()
		if opts.Log != nil {
			opts.Log.Info("an object cannot be spilled as it is listed; taking the snapshot in memory", "reason", err)
		}
		mem, err := collect(ctx, cfg, opts, nil)
		if err != nil {
			return nil, err
		}
		return &SpilledSnapshot{Head: mem, mem: mem}, nil
	}
	if err != nil {
		spill.Close()
		return nil, err
	}
	return &SpilledSnapshot{Head: head, spill: spill}, nil
}
