package jsonx

import (
	"bytes"
	"encoding/json"
)

// The struct helpers read JSON that encoding/json wrote for a Go struct,
// field by field, as strictly as the canonical decoder reads the rest.

// StructFields reads the members of a JSON object that encodes a struct,
// which must be names in order (encoding/json writes fields in declaration
// order); a name may be missing only where optional says (omitempty).
// field(i) decodes the value of names[i], and must refuse an empty value
// for an optional field: encoding/json would have left it out.
func (d *Decoder) StructFields(names []string, optional []bool, field func(i int) error) error {
	if err := d.Expect('{'); err != nil {
		return err
	}
	i := 0
	if d.Next() == '}' {
		d.Pos++
	} else {
		for more := true; more; {
			k, err := d.Key()
			if err != nil {
				return err
			}
			for i < len(names) && names[i] != string(k) {
				if !optional[i] {
					return ErrSlowPath
				}
				i++
			}
			if i == len(names) {
				return ErrSlowPath // unknown, repeated or out of order
			}
			if err := field(i); err != nil {
				return err
			}
			i++
			if more, err = d.More('}'); err != nil {
				return err
			}
		}
	}
	for ; i < len(names); i++ {
		if !optional[i] {
			return ErrSlowPath
		}
	}
	return nil
}

// ReflectInto decodes the next value with encoding/json, as a strict
// reader of canonical JSON does: numbers kept exact, and no field v's
// type does not know.
func (d *Decoder) ReflectInto(v any) error {
	d.SkipSpace()
	start := d.Pos
	if err := d.SkipValue(); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(d.Data[start:d.Pos]))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return ErrSlowPath
	}
	return nil
}

// Elements calls element for each item of a non-empty JSON array (an empty
// one is a field encoding/json leaves out).
func (d *Decoder) Elements(element func() error) error {
	if err := d.Expect('['); err != nil {
		return err
	}
	if d.Next() == ']' {
		return ErrSlowPath
	}
	for more := true; more; {
		if err := element(); err != nil {
			return err
		}
		var err error
		if more, err = d.More(']'); err != nil {
			return err
		}
	}
	return nil
}

// Strings decodes a non-empty array of strings.
func (d *Decoder) Strings() ([]string, error) {
	var out []string
	err := d.Elements(func() error {
		s, err := d.Str()
		out = append(out, s)
		return err
	})
	return out, err
}

// NonEmptyStr decodes the string of an omitempty field, which is never empty.
func (d *Decoder) NonEmptyStr() (string, error) {
	s, err := d.Str()
	if err == nil && s == "" {
		err = ErrSlowPath
	}
	return s, err
}

// MapOrNull decodes an object, or null.
func (d *Decoder) MapOrNull() (map[string]any, error) {
	switch d.Next() {
	case 'n':
		return nil, d.Literal("null")
	case '{':
		return d.Object()
	}
	return nil, ErrSlowPath
}
