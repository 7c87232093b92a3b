// Package yamlx decodes driftgate's own YAML files (config, rule sets)
// strictly: an unknown key, a wrong type or a duplicate key is an error that
// names the file, line and column, and says what keys are allowed there.
package yamlx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"

	"github.com/driftgate/driftgate/internal/inputerr"
)

// Node is a YAML node; decoded structs may keep one to report positions later.
type Node = yaml.Node

// Scalar styles, to locate text inside block scalars.
const (
	LiteralStyle      = yaml.LiteralStyle
	FoldedStyle       = yaml.FoldedStyle
	DoubleQuotedStyle = yaml.DoubleQuotedStyle
	SingleQuotedStyle = yaml.SingleQuotedStyle
)

// Unmarshaler is implemented by types that decode themselves from a node
// (after the strict key check has passed).
type Unmarshaler = yaml.Unmarshaler

// Decode decodes one YAML document from data into v (a pointer to a struct
// with `yaml` tags), rejecting unknown and duplicate keys, type mismatches
// and aliases that expand it out of proportion (see CheckAliases).
// file is used in errors.
func Decode(file string, data []byte, v any) error {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &inputerr.Error{File: file, Line: 1, Msg: "file is empty", Hint: "see the examples in README.md"}
		}
		return parseError(file, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return &inputerr.Error{File: file, Line: extra.Line, Msg: "more than one YAML document", Hint: "put one document in this file"}
	}
	if err := checkExpansion(file, &doc, len(data), 0); err != nil {
		return err
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if err := check(file, root, reflect.TypeOf(v).Elem(), map[anchorCheck]bool{}); err != nil {
		return err
	}
	if err := root.Decode(v); err != nil {
		return typeError(file, root, err)
	}
	return nil
}

func parseError(file string, data []byte, err error) error {
	msg := err.Error()
	line, col := 0, 0
	if _, rest, ok := strings.Cut(msg, "yaml: line "); ok {
		fmt.Sscanf(rest, "%d", &line)
		if _, after, ok := strings.Cut(rest, ": "); ok {
			msg = after
		}
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if line == 0 {
		// The parser leaves the line out for its first line, for bytes its
		// reader refuses, and for an unknown anchor; find them.
		line, col = 1, 0
		if l, c, ok := badCharacter(data); ok && (strings.Contains(msg, "UTF-8") || strings.Contains(msg, "control characters")) {
			line, col = l, c
		} else if _, name, ok := strings.Cut(msg, "anchor '"); ok {
			name, _, _ = strings.Cut(name, "'")
			if i := bytes.Index(data, []byte("*"+name)); i >= 0 && name != "" {
				line, col = position(data, i)
			}
		}
	}
	return &inputerr.Error{File: file, Line: line, Column: col, Msg: msg, Hint: "fix the YAML syntax"}
}

// badCharacter finds the first byte that is not valid UTF-8 or is a
// character YAML does not allow.
func badCharacter(data []byte) (line, col int, ok bool) {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		printable := r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0x7e) || r == 0x85 ||
			(r >= 0xa0 && r <= 0xd7ff) || (r >= 0xe000 && r <= 0xfffd) || (r >= 0x10000 && r <= 0x10ffff)
		if (r == utf8.RuneError && size <= 1) || !printable {
			line, col = position(data, i)
			return line, col, true
		}
		i += size
	}
	return 0, 0, false
}

// Lines counts the lines of data as YAML does: \n, \r\n, a lone \r, NEL,
// LS and PS each end one, in UTF-8 or, after a byte-order mark, UTF-16.
func Lines(data []byte) int {
	var text []rune
	if len(data) >= 2 && (data[0] == 0xfe && data[1] == 0xff || data[0] == 0xff && data[1] == 0xfe) {
		units := make([]uint16, 0, len(data)/2)
		for i := 2; i+1 < len(data); i += 2 {
			if data[0] == 0xfe {
				units = append(units, uint16(data[i])<<8|uint16(data[i+1]))
			} else {
				units = append(units, uint16(data[i+1])<<8|uint16(data[i]))
			}
		}
		text = utf16.Decode(units)
	} else {
		text = []rune(string(data))
	}
	n := 1
	for i, r := range text {
		switch {
		case r == '\n', r == 0x85, r == 0x2028, r == 0x2029,
			r == '\r' && (i+1 == len(text) || text[i+1] != '\n'):
			n++
		}
	}
	return n
}

// position is the 1-based line and column (in characters) of offset i.
func position(data []byte, i int) (line, col int) {
	start := 0
	if j := bytes.LastIndexAny(data[:i], "\n\r\u0085\u2028\u2029"); j >= 0 {
		_, size := utf8.DecodeRune(data[j:])
		start = j + size
	}
	return Lines(data[:i]), 1 + utf8.RuneCount(data[start:i])
}

func typeError(file string, root *yaml.Node, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg := te.Errors[0]
		line := 0
		if _, rest, ok := strings.Cut(msg, "line "); ok {
			fmt.Sscanf(rest, "%d", &line)
			if _, after, ok := strings.Cut(rest, ": "); ok {
				msg = after
			}
		}
		return &inputerr.Error{File: file, Line: line, Msg: msg}
	}
	var ie *inputerr.Error
	if errors.As(err, &ie) {
		if ie.File == "" {
			ie.File = file
		}
		return ie
	}
	return &inputerr.Error{File: file, Line: root.Line, Column: root.Column, Msg: err.Error()}
}

// Errorf returns an *inputerr.Error at node n.
func Errorf(file string, n *yaml.Node, hint, format string, args ...any) error {
	e := &inputerr.Error{File: file, Msg: fmt.Sprintf(format, args...), Hint: hint}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

var (
	nodeType     = reflect.TypeOf(yaml.Node{})
	durationType = reflect.TypeOf(time.Duration(0))
	timeType     = reflect.TypeOf(time.Time{})
	unmarshaler  = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
)

// anchorCheck is an anchored node checked against a type.
type anchorCheck struct {
	n *yaml.Node
	t reflect.Type
}

// check walks n against t and reports the first unknown key, duplicate key
// or scalar of the wrong kind, with its position.
func check(file string, n *yaml.Node, t reflect.Type, checked map[anchorCheck]bool) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		// An anchored node is checked once per type however often aliases
		// name it: many aliases of a large anchor would otherwise take time
		// quadratic in the file's size (decoding then bounds the expansion).
		n = n.Alias
		if checked[anchorCheck{n, t}] {
			return nil
		}
		checked[anchorCheck{n, t}] = true
	}
	if t == nodeType || t.Kind() == reflect.Interface {
		return nil
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if reflect.PointerTo(t).Implements(unmarshaler) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == timeType {
			return nil
		}
		if n.Kind != yaml.MappingNode {
			return Errorf(file, n, "", "expected a mapping with keys %s, found %s", strings.Join(fieldNames(t), ", "), describe(n))
		}
		fields := structFields(t)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if seen[k.Value] {
				return Errorf(file, k, "remove one of them", "key %q appears twice", k.Value)
			}
			seen[k.Value] = true
			ft, ok := fields[k.Value]
			if !ok {
				return Errorf(file, k, "allowed keys here: "+strings.Join(fieldNames(t), ", "), "unknown key %q", k.Value)
			}
			if err := check(file, val, ft, checked); err != nil {
				return err
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return Errorf(file, n, "", "expected a mapping, found %s", describe(n))
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if seen[k.Value] {
				return Errorf(file, k, "remove one of them", "key %q appears twice", k.Value)
			}
			seen[k.Value] = true
			if err := check(file, n.Content[i+1], t.Elem(), checked); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return Errorf(file, n, "", "expected a list, found %s", describe(n))
		}
		for _, c := range n.Content {
			if err := check(file, c, t.Elem(), checked); err != nil {
				return err
			}
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return Errorf(file, n, "", "expected a string, found %s", describe(n))
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			return Errorf(file, n, "", "expected true or false, found %s", describe(n))
		}
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		if t == durationType {
			if n.Kind != yaml.ScalarNode {
				return Errorf(file, n, "use a duration such as 30s or 5m", "expected a duration, found %s", describe(n))
			}
			if _, err := time.ParseDuration(n.Value); err != nil {
				return Errorf(file, n, "use a duration such as 30s or 5m", "invalid duration %q", n.Value)
			}
			return nil
		}
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			return Errorf(file, n, "", "expected a whole number, found %s", describe(n))
		}
	}
	return nil
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

// structFields maps each yaml key of t (inline fields flattened) to its type.
func structFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range structFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func fieldNames(t reflect.Type) []string {
	var names []string
	for k := range structFields(t) {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
