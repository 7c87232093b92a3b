package jsonx

import (
	"bytes"
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrSlowPath is returned by Decoder for input it does not take: invalid
// JSON, or (unless Lenient) JSON not written as Writer writes it. The
// caller then decodes the input with encoding/json, the reference.
var ErrSlowPath = errors.New("not on the fast path")

// Decoder reads the JSON in Data from Pos, in one pass, into the values
// encoding/json's Decoder (with UseNumber) followed by CanonicalNumber
// gives; only canonical JSON, as Writer writes it, unless Lenient. Short
// strings are interned: keys, kinds and label values repeat across
// thousands of objects.
type Decoder struct {
	Data []byte
	Pos  int
	// Lenient takes any valid JSON, as an API server writes it, with
	// numbers as the dynamic client decodes them (int64 when written
	// without a fraction, else float64), rather than only canonical JSON.
	Lenient bool

	interned map[string]any // string -> the same string, boxed once
	scratch  []byte
	members  []member // of the objects being decoded, innermost last
	shared   *sharedMaps
}

// maxInterned is the longest string interned.
const maxInterned = 64

// NewDecoder returns a decoder of data, strict unless lenient.
func NewDecoder(data []byte, lenient bool) *Decoder {
	return &Decoder{Data: data, Lenient: lenient, interned: map[string]any{}}
}

// Reset makes d read data from its start, keeping the strings interned so far.
func (d *Decoder) Reset(data []byte) {
	d.Data, d.Pos = data, 0
	if d.interned == nil {
		d.interned = map[string]any{}
	}
}

// SkipSpace passes over white space.
func (d *Decoder) SkipSpace() {
	for d.Pos < len(d.Data) {
		switch d.Data[d.Pos] {
		case ' ', '\n', '\t', '\r':
			d.Pos++
		default:
			return
		}
	}
}

// AtEnd skips white space and reports whether nothing follows.
func (d *Decoder) AtEnd() bool {
	d.SkipSpace()
	return d.Pos == len(d.Data)
}

// Next skips white space and returns the next byte, or 0 at the end.
func (d *Decoder) Next() byte {
	d.SkipSpace()
	if d.Pos >= len(d.Data) {
		return 0
	}
	return d.Data[d.Pos]
}

// Expect reads the byte c, after white space.
func (d *Decoder) Expect(c byte) error {
	if d.Next() != c {
		return ErrSlowPath
	}
	d.Pos++
	return nil
}

// Key reads a member name and its colon.
func (d *Decoder) Key() ([]byte, error) {
	k, err := d.StringBytes()
	if err != nil {
		return nil, err
	}
	return k, d.Expect(':')
}

// More reads the comma or the closing byte after a member or an element,
// and reports whether another follows.
func (d *Decoder) More(closing byte) (bool, error) {
	switch d.Next() {
	case ',':
		d.Pos++
		return true, nil
	case closing:
		d.Pos++
		return false, nil
	}
	return false, ErrSlowPath
}

// Literal reads lit (true, false or null), after white space.
func (d *Decoder) Literal(lit string) error {
	d.SkipSpace()
	if !bytes.HasPrefix(d.Data[d.Pos:], []byte(lit)) {
		return ErrSlowPath
	}
	d.Pos += len(lit)
	return nil
}

// Str decodes a string (a null is left to the reference: encoding/json
// keeps a struct field's old value).
func (d *Decoder) Str() (string, error) {
	b, err := d.StringBytes()
	if err != nil {
		return "", err
	}
	return d.Intern(b), nil
}

// Intern returns b as a string, shared with earlier equal short strings.
func (d *Decoder) Intern(b []byte) string {
	if len(b) > maxInterned {
		return string(b)
	}
	if v, ok := d.interned[string(b)]; ok {
		return v.(string)
	}
	s := string(b)
	d.interned[s] = s
	return s
}

// internValue is Intern, boxed: the interface value is shared too.
func (d *Decoder) internValue(b []byte) any {
	if len(b) > maxInterned {
		return string(b)
	}
	if v, ok := d.interned[string(b)]; ok {
		return v
	}
	s := string(b)
	var v any = s
	d.interned[s] = v
	return v
}

// StringBytes decodes the string at the current position, which must be
// written as AppendString writes it unless Lenient. The bytes are the
// input's own, or scratch space valid until the next call.
func (d *Decoder) StringBytes() ([]byte, error) {
	if d.Next() != '"' {
		return nil, ErrSlowPath
	}
	d.Pos++
	start := d.Pos
	for d.Pos < len(d.Data) {
		c := d.Data[d.Pos]
		if c < utf8.RuneSelf && safe[c] {
			d.Pos++
			continue
		}
		if c == '"' {
			d.Pos++
			return d.Data[start : d.Pos-1], nil
		}
		return d.unusualString(start)
	}
	return nil, ErrSlowPath
}

// unusualString finishes a string that began at start and holds escapes or
// bytes beyond ASCII: decoded, and, unless Lenient, accepted only when
// writing it back gives the same bytes.
func (d *Decoder) unusualString(start int) ([]byte, error) {
	b := d.scratch[:0]
	d.Pos = start
	for d.Pos < len(d.Data) {
		c := d.Data[d.Pos]
		switch {
		case c == '"':
			raw := d.Data[start-1 : d.Pos+1]
			d.Pos++
			if !utf8.Valid(b) {
				return nil, ErrSlowPath
			}
			if d.Lenient {
				d.scratch = b
				return b, nil
			}
			n := len(b)
			b = AppendString(b, string(b[:n]))
			d.scratch = b
			if !bytes.Equal(b[n:], raw) {
				return nil, ErrSlowPath // not as encoding/json writes it
			}
			return b[:n], nil
		case c < 0x20:
			return nil, ErrSlowPath
		case c != '\\':
			b = append(b, c)
			d.Pos++
			continue
		}
		if d.Pos+1 >= len(d.Data) {
			return nil, ErrSlowPath
		}
		esc := d.Data[d.Pos+1]
		d.Pos += 2
		switch esc {
		case '"', '\\', '/':
			b = append(b, esc)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := d.hex4()
			if ok && utf16.IsSurrogate(r) && d.Lenient && bytes.HasPrefix(d.Data[d.Pos:], []byte(`\u`)) {
				d.Pos += 2
				var r2 rune
				r2, ok = d.hex4()
				r = utf16.DecodeRune(r, r2) // U+FFFD unless a valid pair
			}
			if !ok || utf16.IsSurrogate(r) || r == utf8.RuneError {
				// A lone surrogate becomes U+FFFD in encoding/json; the
				// reference decodes whatever is unusual.
				return nil, ErrSlowPath
			}
			b = utf8.AppendRune(b, r)
		default:
			return nil, ErrSlowPath
		}
	}
	return nil, ErrSlowPath
}

func (d *Decoder) hex4() (rune, bool) {
	if d.Pos+4 > len(d.Data) {
		return 0, false
	}
	var r rune
	for _, c := range d.Data[d.Pos : d.Pos+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F' && d.Lenient: // encoding/json writes lower case
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	d.Pos += 4
	return r, true
}

// SortedMembers calls member for each key of a JSON object, whose keys
// must be in increasing order, as encoding/json writes a map, unless Lenient.
func (d *Decoder) SortedMembers(member func(key string) error) error {
	if err := d.Expect('{'); err != nil {
		return err
	}
	if d.Next() == '}' {
		d.Pos++
		return nil
	}
	prev := ""
	for more, first := true, true; more; first = false {
		k, err := d.Key()
		if err != nil {
			return err
		}
		if !first && string(k) <= prev && !d.Lenient {
			return ErrSlowPath
		}
		prev = d.Intern(k)
		if err := member(prev); err != nil {
			return err
		}
		if more, err = d.More('}'); err != nil {
			return err
		}
	}
	return nil
}

// Object decodes a JSON object into a map.
// The members are gathered first, so that the map is made at its size:
// a map grown one member at a time leaves its smaller tables behind.
//
// After ShareMaps, a small object written exactly as an earlier one is
// returned as that earlier map.
func (d *Decoder) Object() (map[string]any, error) {
	d.SkipSpace()
	start := d.Pos
	return d.objectFrom(func(string) (any, bool, error) {
		v, err := d.Value()
		return v, true, err
	}, start)
}

// ObjectWith decodes a JSON object into a map, each member's value with
// decode, which may leave it out of the map (keep false).
func (d *Decoder) ObjectWith(decode func(key string) (v any, keep bool, err error)) (map[string]any, error) {
	return d.objectFrom(decode, -1)
}

// objectFrom is ObjectWith. shareFrom, when not negative, is where the
// object starts in d.Data and says every member is kept: with d.shared
// set, an object written as an earlier one is that one's map, found
// before a map is made.
func (d *Decoder) objectFrom(decode func(key string) (v any, keep bool, err error), shareFrom int) (map[string]any, error) {
	start := len(d.members)
	err := d.SortedMembers(func(k string) error {
		v, keep, err := decode(k)
		if keep {
			d.members = append(d.members, member{k, v})
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var slot *sharedMap
	if shareFrom >= 0 && d.shared != nil {
		var m map[string]any
		if m, slot = d.shared.lookup(d.Data, shareFrom, d.Pos); m != nil {
			clear(d.members[start:])
			d.members = d.members[:start]
			return m, nil
		}
	}
	m := make(map[string]any, len(d.members)-start)
	for _, kv := range d.members[start:] {
		m[kv.key] = kv.value
	}
	clear(d.members[start:])
	d.members = d.members[:start]
	if slot != nil {
		slot.m = m
	}
	return m, nil
}

// SkipValue passes over the next value, checking that it is JSON as a
// decoder would.
func (d *Decoder) SkipValue() error {
	switch c := d.Next(); {
	case c == '{' || c == '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		d.Pos++
		if d.Next() == closing {
			d.Pos++
			return nil
		}
		for more := true; more; {
			if c == '{' {
				if d.Next() != '"' {
					return ErrSlowPath
				}
				if err := d.skipString(); err != nil {
					return err
				}
				if err := d.Expect(':'); err != nil {
					return err
				}
			}
			if err := d.SkipValue(); err != nil {
				return err
			}
			var err error
			if more, err = d.More(closing); err != nil {
				return err
			}
		}
		return nil
	case c == '"':
		return d.skipString()
	case c == 't':
		return d.Literal("true")
	case c == 'f':
		return d.Literal("false")
	case c == 'n':
		return d.Literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		n, ok := ScanNumber(d.Data[d.Pos:])
		if !ok {
			return ErrSlowPath
		}
		d.Pos += n
		return nil
	}
	return ErrSlowPath
}

// skipString passes over the string at the current position.
func (d *Decoder) skipString() error {
	b := d.Data
	for i := d.Pos + 1; i < len(b); i++ {
		c := b[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		switch {
		case c == '"':
			d.Pos = i + 1
			return nil
		case c < 0x20:
			return ErrSlowPath
		}
		if i+1 >= len(b) {
			return ErrSlowPath
		}
		switch b[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i++
		case 'u':
			d.Pos = i + 2
			if _, ok := d.hex4(); !ok {
				return ErrSlowPath
			}
			i = d.Pos - 1
		default:
			return ErrSlowPath
		}
	}
	return ErrSlowPath
}

// Value decodes any JSON value.
func (d *Decoder) Value() (any, error) {
	switch c := d.Next(); {
	case c == '{':
		return d.Object()
	case c == '[':
		d.Pos++
		out := []any{}
		if d.Next() == ']' {
			d.Pos++
			return out, nil
		}
		for more := true; more; {
			v, err := d.Value()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			if more, err = d.More(']'); err != nil {
				return nil, err
			}
		}
		return out, nil
	case c == '"':
		b, err := d.StringBytes()
		if err != nil {
			return nil, err
		}
		return d.internValue(b), nil
	case c == 't':
		return true, d.Literal("true")
	case c == 'f':
		return false, d.Literal("false")
	case c == 'n':
		return nil, d.Literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	return nil, ErrSlowPath
}

// number decodes a number: leniently as sigs.k8s.io/json's PreserveInts
// does, else as CanonicalNumber does, if writing that value back gives
// the literal.
func (d *Decoder) number() (any, error) {
	n, ok := ScanNumber(d.Data[d.Pos:])
	if !ok {
		return nil, ErrSlowPath
	}
	lit := d.Data[d.Pos : d.Pos+n]
	d.Pos += n
	if d.Lenient {
		if bytes.IndexByte(lit, '.') < 0 {
			if i, err := strconv.ParseInt(string(lit), 10, 64); err == nil {
				return i, nil
			}
		}
		f, err := strconv.ParseFloat(string(lit), 64)
		if err != nil {
			return nil, ErrSlowPath
		}
		return f, nil
	}
	v := CanonicalNumber(string(lit))
	var back []byte
	switch t := v.(type) {
	case int64:
		back = strconv.AppendInt(d.scratch[:0], t, 10)
	case float64:
		back, ok = AppendFloat(d.scratch[:0], t)
		if !ok {
			return nil, ErrSlowPath
		}
	default:
		return nil, ErrSlowPath // out of range: kept as a string
	}
	d.scratch = back
	if !bytes.Equal(back, lit) {
		return nil, ErrSlowPath
	}
	return v, nil
}
