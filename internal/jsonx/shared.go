package jsonx

import (
	"bytes"
	"hash/maphash"
)

// ShareMaps makes d return one map for equal small objects: Object then
// returns, for an object written with the same bytes as an earlier one,
// that earlier map. Most maps in Kubernetes objects are small and repeat
// (labels and selectors, resources, securityContext, ports), and a Go map
// costs about 300 bytes however few its members. The maps d returns are
// then read-only: code that changes one must copy it first.
//
// In canonical JSON, equal maps at the same depth are written alike. The
// table keeps a hash of those bytes and where they are; a hit is compared
// byte for byte, so a hash collision only costs a copy.
func (d *Decoder) ShareMaps() {
	d.shared = &sharedMaps{seed: maphash.MakeSeed(), table: map[uint64]*sharedMap{}}
}

type sharedMaps struct {
	seed  maphash.Seed
	table map[uint64]*sharedMap
}

type sharedMap struct {
	from, to int
	m        map[string]any
}

// maxSharedSpan is the longest object, in bytes of the input, shared: the
// small maps that cost the most for what they hold, and each is hashed
// once more for every enclosing shared level, so the cost stays linear.
const maxSharedSpan = 512

// lookup returns the map earlier decoded from the same bytes as
// data[from:to], or else, when those bytes are short enough to share, the
// slot to record the new map in.
func (s *sharedMaps) lookup(data []byte, from, to int) (map[string]any, *sharedMap) {
	span := data[from:to]
	if len(span) > maxSharedSpan {
		return nil, nil
	}
	h := maphash.Bytes(s.seed, span)
	e, ok := s.table[h]
	if !ok {
		e = &sharedMap{from: from, to: to}
		s.table[h] = e
		return nil, e
	}
	if e.m != nil && bytes.Equal(data[e.from:e.to], span) {
		return e.m, nil
	}
	return nil, nil // a collision: this one is not shared
}
