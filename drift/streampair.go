package drift

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
)

// PairRun is a run of pairs a streaming comparison hands on at a time: the
// pairs of one kind in one (prod) namespace, as PairObjects would pair
// them, and the objects they were made of as the files hold them (dev's
// before the mapping).
type PairRun struct {
	Group, Kind string
	Pairs       []Pair
	Dev, Prod   []Object
}

// StreamPairs pairs the objects of two snapshot streams as PairObjects
// pairs two snapshots, and calls fn with them a run at a time, in the
// order PairObjects sorts them: the pairs fn is given, one run after
// another, are PairObjects' result. It holds one run and what the mapping
// keeps waiting: both files are sorted by group, kind, namespace and name,
// and a kind's dev objects are renamed into prod's namespaces, which may
// order them otherwise (payments-dev becomes payments), so a namespace's
// run is handed on once neither side can add to it.
//
// Two dev objects the mapping gives one ID are an error wrapping
// ErrNotStreamable: which of them PairObjects pairs depends on the whole
// snapshot. fn's error ends the stream and is returned.
func StreamPairs(ctx context.Context, dev, prod *SnapshotStream, m Mapping, fn func(PairRun) error) error {
	workers := make(chan func())
	defer close(workers)
	for range max(1, min(runtime.GOMAXPROCS(0), 4)) {
		go func() {
			for job := range workers {
				job()
			}
		}()
	}
	dev.start(ctx, workers)
	prod.start(ctx, workers)
	defer dev.stop()
	defer prod.stop()
	sp := &streamPairer{m: m, fn: fn, mapped: newStreamBound(m)}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		d, p := dev.Peek(), prod.Peek()
		if dev.err != nil {
			return dev.err
		}
		if prod.err != nil {
			return prod.err
		}
		if d == nil && p == nil {
			return nil
		}
		var g, k string
		switch {
		case d == nil:
			g, k = p.Group, p.Kind
		case p == nil:
			g, k = d.Group, d.Kind
		case cmp.Or(cmp.Compare(d.Group, p.Group), cmp.Compare(d.Kind, p.Kind)) <= 0:
			g, k = d.Group, d.Kind
		default:
			g, k = p.Group, p.Kind
		}
		if err := sp.kind(ctx, dev, prod, g, k); err != nil {
			return err
		}
	}
}

// stop ends the goroutines reading s.
func (s *SnapshotStream) stop() {
	if s.cancel != nil {
		s.cancel()
		for range s.batches {
		}
		s.cancel = nil
	}
}

// streamPairer pairs one kind at a time.
type streamPairer struct {
	m      Mapping
	fn     func(PairRun) error
	mapped streamBound
}

// streamBound tells, for a dev namespace, the least prod namespace that
// dev objects of it and of the namespaces after it can be renamed into.
type streamBound struct {
	keys   []string // the mapping's dev namespaces, sorted
	suffix []string // suffix[i]: the least of their prod namespaces from keys[i] on
}

func newStreamBound(m Mapping) streamBound {
	var b streamBound
	for k := range m.Namespaces {
		b.keys = append(b.keys, k)
	}
	slices.Sort(b.keys)
	b.suffix = make([]string, len(b.keys))
	for i := len(b.keys) - 1; i >= 0; i-- {
		b.suffix[i] = m.Namespaces[b.keys[i]]
		if i+1 < len(b.keys) {
			b.suffix[i] = min(b.suffix[i], b.suffix[i+1])
		}
	}
	return b
}

// least is the least namespace dev objects in namespace ns or after it
// can land in: ns itself (unmapped), or a mapped one's target.
func (b streamBound) least(ns string) string {
	i, _ := slices.BinarySearch(b.keys, ns)
	if i < len(b.keys) {
		return min(ns, b.suffix[i])
	}
	return ns
}

// kind pairs the objects of group and kind from both streams.
func (sp *streamPairer) kind(ctx context.Context, dev, prod *SnapshotStream, group, kind string) error {
	of := func(s *SnapshotStream) *Object {
		o := s.Peek()
		if o == nil || o.Group != group || o.Kind != kind {
			return nil
		}
		return o
	}
	devObjs := map[string][]Object{}  // by prod namespace
	prodObjs := map[string][]Object{} // by namespace
	var pending []string              // namespaces with objects waiting, unsorted
	seen := map[string]bool{}
	last, emitted := "", false
	// emit hands on, in order, the namespaces below bound that wait.
	emit := func(bound string, all bool) error {
		var ready []string
		kept := pending[:0]
		for _, ns := range pending {
			if all || ns < bound {
				ready = append(ready, ns)
			} else {
				kept = append(kept, ns)
			}
		}
		pending = kept
		slices.Sort(ready)
		for _, ns := range ready {
			if emitted && ns <= last {
				return fmt.Errorf("%w: namespace %s of %s came after %s", ErrNotStreamable, ns, groupKind(group, kind), last)
			}
			last, emitted = ns, true
			run := PairRun{Group: group, Kind: kind, Dev: devObjs[ns], Prod: prodObjs[ns]}
			delete(devObjs, ns)
			delete(prodObjs, ns)
			delete(seen, ns)
			pairs, err := PairObjectsContext(ctx, &Snapshot{Objects: run.Dev}, &Snapshot{Objects: run.Prod}, sp.m)
			if err != nil {
				return err
			}
			for i := 1; i < len(pairs); i++ {
				if pairs[i-1].ID == pairs[i].ID {
					return fmt.Errorf("%w: the mapping makes two dev objects %s", ErrNotStreamable, pairs[i].ID)
				}
			}
			run.Pairs = pairs
			if err := sp.fn(run); err != nil {
				return err
			}
		}
		return nil
	}
	bound, started := "", false
	for {
		d, p := of(dev), of(prod)
		if dev.err != nil {
			return dev.err
		}
		if prod.err != nil {
			return prod.err
		}
		if d == nil && p == nil {
			return emit("", true)
		}
		// A namespace is complete once neither side can add to it: prod's
		// next object is past it, and dev's next object, and every one
		// after, is renamed into a namespace past it.
		b := ""
		switch {
		case d == nil:
			b = p.Namespace
		case p == nil:
			b = sp.mapped.least(d.Namespace)
		default:
			b = min(p.Namespace, sp.mapped.least(d.Namespace))
		}
		if !started || b != bound {
			started, bound = true, b
			if err := emit(bound, false); err != nil {
				return err
			}
		}
		// Take from the side behind, so both advance through the
		// namespaces together and little waits.
		if d != nil && (p == nil || d.Namespace <= p.Namespace) {
			o, _ := dev.Next()
			to := o.Namespace
			if t, ok := sp.m.Namespaces[to]; ok {
				to = t
			}
			devObjs[to] = append(devObjs[to], *o)
			if !seen[to] {
				seen[to] = true
				pending = append(pending, to)
			}
		} else {
			o, _ := prod.Next()
			prodObjs[o.Namespace] = append(prodObjs[o.Namespace], *o)
			if !seen[o.Namespace] {
				seen[o.Namespace] = true
				pending = append(pending, o.Namespace)
			}
		}
	}
}
