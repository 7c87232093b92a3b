package drift

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"

	"github.com/driftgate/driftgate/internal/jsonx"
)

// SpillManifests is SnapshotFromManifests without holding the objects:
// each manifest is normalized and encoded as the file holds it when its
// file is read, and kept in a temporary file; once every CRD is known,
// namespaces and scope are settled (as SnapshotFromManifests does, with
// its errors) and the objects are spilled in sorted runs, which the
// result's Encode and Save merge. What stays in memory is a few words of
// bookkeeping an object (where it came from, its identity, where its
// bytes are), not the object: a 200 MB folder took 2.9 to 3.2 GiB held
// whole (BENCHMARKS.md).
//
// The snapshot written is byte for byte SnapshotFromManifests'. The caller
// must Close the result.
func SpillManifests(paths []string, opts ManifestOptions, so SpillOptions) (*SpilledSnapshot, error) {
	store, err := newSpillFile(so.Dir)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	b := newManifestBuilder(opts)
	b.store = &manifestStore{f: store, enc: &jsonx.Writer{}}
	notes, err := b.addPaths(paths)
	if err != nil {
		return nil, err
	}
	if errors.Is(b.store.err, errNotSpillable) {
		s, err := manifestsInMemory(paths, opts)
		if err != nil {
			return nil, err
		}
		return &SpilledSnapshot{Head: s, mem: s}, nil
	}
	if b.store.err != nil {
		return nil, b.store.err
	}
	out, err := newSpillFile(so.Dir)
	if err != nil {
		return nil, err
	}
	head, err := b.spilled(paths, out)
	if err != nil {
		out.Close()
		return nil, err
	}
	head.Notes = notes
	return &SpilledSnapshot{Head: head, spill: out}, nil
}

// manifestStore keeps normalized manifests' encoded objects, in the order
// read, in a temporary file (spillFile's bodies).
type manifestStore struct {
	f   *spillFile
	enc *jsonx.Writer
	err error
}

// keep encodes o, as a namespaced or cluster-scoped object (namespace ns)
// as the kinds known so far say, into the store, and records where in p.
func (m *manifestStore) keep(p *pendingObject, o Object, namespaced bool) {
	if m.err != nil {
		return
	}
	manifestSetNamespace(&o, p.namespace, namespaced)
	o.encode(m.enc)
	if o.Encoded == nil {
		m.err = fmt.Errorf("%w: %s", errNotSpillable, o.ID())
		return
	}
	if _, err := m.f.bodies.WriteAt(o.Encoded, m.f.bodyOff); err != nil {
		m.err = fmt.Errorf("writing the snapshot's objects to a temporary file: %w", err)
		return
	}
	p.stored = manifestStored{at: m.f.bodyOff, len: len(o.Encoded), namespaced: namespaced, ok: true}
	m.f.bodyOff += int64(len(o.Encoded))
}

// manifestSetNamespace places o as the snapshot does: in ns (written, or
// "default") when namespaced, in none otherwise.
func manifestSetNamespace(o *Object, written string, namespaced bool) {
	meta, _ := o.Object["metadata"].(map[string]any)
	if namespaced {
		o.Namespace = cmp.Or(written, "default")
		meta["namespace"] = o.Namespace
	} else {
		o.Namespace = ""
		delete(meta, "namespace")
	}
}

// manifestStored is where a pending object's encoding is in the store.
type manifestStored struct {
	at         int64
	len        int
	namespaced bool
	ok         bool
}

// read returns p's object as the snapshot holds it, placed as namespaced
// says: re-encoded when the kinds read after it changed its scope (a CRD
// later in the folder).
func (b *manifestBuilder) read(p *pendingObject, namespaced bool) ([]byte, error) {
	body := make([]byte, p.stored.len)
	if _, err := b.store.f.bodies.ReadAt(body, p.stored.at); err != nil {
		return nil, fmt.Errorf("reading back the snapshot's objects: %w", err)
	}
	if p.stored.namespaced == namespaced {
		return body, nil
	}
	s := &Snapshot{Objects: []Object{{Encoded: body}}}
	if err := s.Expand(); err != nil {
		return nil, err
	}
	o := s.Objects[0]
	manifestSetNamespace(&o, p.namespace, namespaced)
	o.encode(b.store.enc)
	if o.Encoded == nil {
		return nil, fmt.Errorf("%w: %s", errNotSpillable, o.ID())
	}
	return o.Encoded, nil
}

// objectForm is snapshotForm of p's object as SnapshotFromManifests holds
// it (its object alone, through encoding/json), to choose between twins
// alike.
func (b *manifestBuilder) objectForm(p *pendingObject, namespaced bool) ([]byte, error) {
	body, err := b.read(p, namespaced)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{Objects: []Object{{Encoded: body}}}
	if err := s.Expand(); err != nil {
		return nil, err
	}
	return snapshotForm(&s.Objects[0]), nil
}

// manifestKept is an object of the snapshot, by identity and place in
// the store.
type manifestKept struct {
	id ObjectID
	p  *pendingObject
	ns bool
}

// spilled is snapshot for a builder with a store: the same settling,
// with the same errors; the objects kept go to out in sorted runs.
func (b *manifestBuilder) spilled(paths []string, out *spillFile) (*Snapshot, error) {
	var kept []manifestKept
	s, err := b.settle(paths,
		func(p *pendingObject, id ObjectID, namespaced bool) error {
			kept = append(kept, manifestKept{id: id, p: p, ns: namespaced})
			return nil
		},
		func(i int, p *pendingObject, id ObjectID, namespaced bool) error {
			k := &kept[i]
			mine, err := b.objectForm(p, namespaced)
			if err != nil {
				return err
			}
			theirs, err := b.objectForm(k.p, k.ns)
			if err != nil {
				return err
			}
			if bytes.Compare(mine, theirs) < 0 {
				*k = manifestKept{id: id, p: p, ns: namespaced}
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	s.Sort()
	const run = 2048
	for from := 0; from < len(kept); from += run {
		objs := make([]Object, 0, run)
		for _, k := range kept[from:min(from+run, len(kept))] {
			body, err := b.read(k.p, k.ns)
			if err != nil {
				return nil, err
			}
			objs = append(objs, Object{Group: k.id.Group, Kind: k.id.Kind, Namespace: k.id.Namespace, Name: k.id.Name, Encoded: body})
		}
		if err := out.addRun(from, objs); err != nil {
			return nil, err
		}
	}
	return s, nil
}
