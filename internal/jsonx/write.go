// Package jsonx is driftgate's JSON engine: a writer that gives, without
// reflection, exactly the bytes encoding/json gives for JSON-like values
// (maps, slices, strings, numbers, booleans), and a decoder of the same
// values that takes either only that canonical JSON or any JSON an API
// server writes.
//
// Both are building blocks: the drift package spells out the snapshot
// file's structure and the LIST page's with them. Whatever the engine does
// not handle (a value of another type, a NaN, JSON written another way) it
// reports with ErrNotCanonical or ErrSlowPath, and the caller lets
// encoding/json, the reference, encode or decode it instead.
package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrNotCanonical is returned by Writer for a value it does not encode
// itself (NaN, an invalid json.Number, ...): the caller then lets
// encoding/json encode, or refuse, the whole document.
var ErrNotCanonical = errors.New("value outside the canonical encoder")

// FlushSize is how full a Writer's buffer gets before MaybeFlush writes it.
const FlushSize = 64 << 10

// Writer writes JSON exactly as encoding/json's Encoder does with HTML
// escaping on, compact or indented by one space as Encoder.SetIndent("", " ")
// does. Values of types other than the JSON-like ones are encoded by
// encoding/json in place, which gives the same bytes.
//
// Callers may append to Buf themselves between calls, for the structure
// they spell out.
type Writer struct {
	// W receives Buf on Flush; with none, everything stays in Buf.
	W      io.Writer
	Buf    []byte
	Indent bool
	// Err is the first error W returned.
	Err error
	// members are the sorted keys and values of the maps being written,
	// one buffer per depth.
	members [][]member
}

type member struct {
	key   string
	value any
}

// Flush writes Buf to W and empties it.
func (e *Writer) Flush() {
	if e.Err == nil && len(e.Buf) > 0 {
		_, e.Err = e.W.Write(e.Buf)
	}
	e.Buf = e.Buf[:0]
}

// MaybeFlush writes the buffer out when it holds FlushSize bytes.
func (e *Writer) MaybeFlush() {
	if e.W != nil && len(e.Buf) >= FlushSize {
		e.Flush()
	}
}

// Newline starts a line at depth, when indenting.
func (e *Writer) Newline(depth int) {
	if !e.Indent {
		return
	}
	e.Buf = append(e.Buf, '\n')
	for range depth {
		e.Buf = append(e.Buf, ' ')
	}
}

// Key writes a member's name and colon, after a comma unless first.
func (e *Writer) Key(name string, first bool, depth int) {
	if !first {
		e.Buf = append(e.Buf, ',')
	}
	e.Newline(depth)
	e.Buf = AppendString(e.Buf, name)
	e.Buf = append(e.Buf, ':')
	if e.Indent {
		e.Buf = append(e.Buf, ' ')
	}
}

// Str writes a string.
func (e *Writer) Str(s string) { e.Buf = AppendString(e.Buf, s) }

// Strings writes an array of strings at depth.
func (e *Writer) Strings(v []string, depth int) {
	if len(v) == 0 {
		e.Buf = append(e.Buf, "[]"...)
		return
	}
	e.Buf = append(e.Buf, '[')
	for i, s := range v {
		if i > 0 {
			e.Buf = append(e.Buf, ',')
		}
		e.Newline(depth + 1)
		e.Buf = AppendString(e.Buf, s)
	}
	e.Newline(depth)
	e.Buf = append(e.Buf, ']')
}

// Reflect encodes v with encoding/json at depth. Its error is
// ErrNotCanonical: encoding/json then refuses the whole document.
func (e *Writer) Reflect(v any, depth int) error {
	var b []byte
	var err error
	if e.Indent {
		b, err = json.MarshalIndent(v, strings.Repeat(" ", depth), " ")
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		return ErrNotCanonical
	}
	e.Buf = append(e.Buf, b...)
	return nil
}

// Value encodes a JSON-like value at depth.
func (e *Writer) Value(v any, depth int) error {
	switch t := v.(type) {
	case nil:
		e.Buf = append(e.Buf, "null"...)
	case string:
		e.Buf = AppendString(e.Buf, t)
	case bool:
		e.Buf = strconv.AppendBool(e.Buf, t)
	case int64:
		e.Buf = strconv.AppendInt(e.Buf, t, 10)
	case int:
		e.Buf = strconv.AppendInt(e.Buf, int64(t), 10)
	case float64:
		b, ok := AppendFloat(e.Buf, t)
		if !ok {
			return ErrNotCanonical
		}
		e.Buf = b
	case json.Number:
		n := string(t)
		if n == "" {
			n = "0"
		}
		if !ValidNumber(n) {
			return ErrNotCanonical
		}
		e.Buf = append(e.Buf, n...)
	case map[string]any:
		return e.Object(t, depth)
	case []any:
		if t == nil {
			e.Buf = append(e.Buf, "null"...)
			return nil
		}
		if len(t) == 0 {
			e.Buf = append(e.Buf, "[]"...)
			return nil
		}
		e.Buf = append(e.Buf, '[')
		for i, c := range t {
			if i > 0 {
				e.Buf = append(e.Buf, ',')
			}
			e.Newline(depth + 1)
			if err := e.Value(c, depth+1); err != nil {
				return err
			}
			e.MaybeFlush()
		}
		e.Newline(depth)
		e.Buf = append(e.Buf, ']')
	default:
		return e.Reflect(v, depth)
	}
	return nil
}

// Object encodes a map, its keys sorted, at depth.
func (e *Writer) Object(m map[string]any, depth int) error {
	if m == nil {
		e.Buf = append(e.Buf, "null"...)
		return nil
	}
	if len(m) == 0 {
		e.Buf = append(e.Buf, "{}"...)
		return nil
	}
	for len(e.members) <= depth {
		e.members = append(e.members, nil)
	}
	members := e.members[depth][:0]
	for k, v := range m {
		members = append(members, member{k, v})
	}
	slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
	e.members[depth] = members
	e.Buf = append(e.Buf, '{')
	for i, kv := range members {
		e.Key(kv.key, i == 0, depth+1)
		if err := e.Value(kv.value, depth+1); err != nil {
			return err
		}
		e.MaybeFlush()
	}
	clear(members) // let the values go
	e.Newline(depth)
	e.Buf = append(e.Buf, '}')
	return nil
}

// Encodable reports whether encoding/json encodes v without an error
// (Writer.Value then encodes it too), checking JSON-like values without
// reflection.
func Encodable(v any) bool {
	switch t := v.(type) {
	case nil, string, bool, int64, int:
		return true
	case float64:
		return !math.IsInf(t, 0) && !math.IsNaN(t)
	case json.Number:
		return t == "" || ValidNumber(string(t))
	case map[string]any:
		for _, c := range t {
			if !Encodable(c) {
				return false
			}
		}
		return true
	case []any:
		for _, c := range t {
			if !Encodable(c) {
				return false
			}
		}
		return true
	}
	_, err := json.Marshal(v)
	return err == nil
}

const hexDigits = "0123456789abcdef"

// AppendString quotes s as encoding/json does with HTML escaping:
// control characters, quote, backslash, <, > and & escaped, invalid UTF-8
// replaced by U+FFFD, U+2028 and U+2029 escaped.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if safe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// safe holds the ASCII bytes encoding/json writes as they are, with HTML
// escaping on.
var safe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
	}
	return t
}()

// AppendFloat formats f as encoding/json does (like ES6: %f between
// 1e-6 and 1e21, else %e without a padded exponent); NaN and infinities
// are not JSON.
func AppendFloat(dst []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}

// ValidNumber reports whether s is a JSON number literal.
func ValidNumber(s string) bool {
	n, ok := ScanNumber(s)
	return ok && n == len(s)
}

// ScanNumber returns the length of the JSON number at the start of s.
func ScanNumber[T string | []byte](s T) (int, bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return i, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return i, false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return i, false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	return i, true
}

// CanonicalNumber is the value a JSON number literal stands for in a
// snapshot: int64 when it is whole and fits (exactly, for a float), else
// float64, else (out of range) its literal as a string.
func CanonicalNumber(lit string) any {
	if i, err := strconv.ParseInt(lit, 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(lit, 64); err == nil {
		return CanonicalFloat(f)
	}
	return lit
}

// CanonicalFloat is f as int64 when it is whole and exact, else f.
func CanonicalFloat(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	return f
}

// AppendIndented appends compact JSON indented as encoding/json's Indent
// does with one space, the value starting at depth.
func AppendIndented(dst, compact []byte, depth int) []byte {
	newline := func(depth int) {
		dst = append(dst, '\n')
		for range depth {
			dst = append(dst, ' ')
		}
	}
	for i := 0; i < len(compact); i++ {
		switch c := compact[i]; c {
		case '"':
			j := i + 1 + bytes.IndexByte(compact[i+1:], '"')
			if bytes.IndexByte(compact[i+1:j], '\\') >= 0 {
				// An escape: find the quote that ends the string.
				for j = i + 1; compact[j] != '"'; j++ {
					if compact[j] == '\\' {
						j++
					}
				}
			}
			dst = append(dst, compact[i:j+1]...)
			i = j
		case '{', '[':
			if n := compact[i+1]; n == '}' || n == ']' {
				dst = append(dst, c, n) // empty: {} and []
				i++
				continue
			}
			depth++
			dst = append(dst, c)
			newline(depth)
		case '}', ']':
			depth--
			newline(depth)
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			newline(depth)
		case ':':
			dst = append(dst, c, ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
