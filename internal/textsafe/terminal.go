package textsafe

import (
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Line returns s safe to print as part of one line of terminal or CI-log
// text: every control and format character, newlines and tabs included, is
// written as an escape; a leading ':' (after blanks) as \x3a; '[' after '#'
// as \x5b. Line treats s as if it began a line, because it cannot know
// where its result is printed.
func Line(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	e := escaper{lineStart: true}
	e.write(&b, s)
	return b.String()
}

// Lines is Line for text of several lines that the caller prints as they
// are (an error message, a note): newlines and tabs stay, and the rules
// apply to each line.
func Lines(s string) string {
	var b strings.Builder
	e := escaper{lineStart: true, multiline: true}
	e.write(&b, s)
	return b.String()
}

// NewWriter returns a writer that passes everything written to it through
// Lines, keeping its place in the line between writes, for streams that
// carry untrusted text (override notes on stderr). It must not carry
// driftgate's own colour sequences: their ESC would be escaped too.
func NewWriter(w io.Writer) io.Writer {
	return &writer{w: w, e: escaper{lineStart: true, multiline: true}}
}

type writer struct {
	w io.Writer
	e escaper
	// partial holds the start of a UTF-8 sequence split between writes.
	partial []byte
}

func (w *writer) Write(p []byte) (int, error) {
	buf := append(w.partial, p...)
	w.partial = nil
	// Keep an incomplete rune at the end for the next write.
	if n := incompleteTail(buf); n > 0 {
		w.partial = append([]byte(nil), buf[len(buf)-n:]...)
		buf = buf[:len(buf)-n]
	}
	var b strings.Builder
	w.e.write(&b, string(buf))
	if _, err := io.WriteString(w.w, b.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// incompleteTail is the length of a UTF-8 sequence that buf ends in the
// middle of, or 0.
func incompleteTail(buf []byte) int {
	for n := 1; n <= utf8.UTFMax-1 && n <= len(buf); n++ {
		c := buf[len(buf)-n]
		if c < utf8.RuneSelf {
			return 0
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(buf[len(buf)-n:]) {
				return n
			}
			return 0
		}
	}
	return 0
}

// escaper carries what the rules need to know of the text already written:
// whether the current line holds anything but blanks, and whether the last
// character was '#'. It never looks ahead, so a writer can apply it to
// pieces of a stream.
type escaper struct {
	multiline bool
	// noCI leaves ':' and '[' alone, for media no CI runner reads (Slack).
	noCI      bool
	lineStart bool
	afterHash bool
}

func (e *escaper) write(b *strings.Builder, s string) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(`\x`)
			b.WriteString(hex2(s[i]))
			e.lineStart, e.afterHash = false, false
			i++
			continue
		}
		i += size
		switch {
		case e.multiline && (r == '\n' || r == '\t'):
			b.WriteRune(r)
			if r == '\n' {
				e.lineStart = true
			}
			e.afterHash = false
			continue
		case needsEscape(r):
			b.WriteString(escapeRune(r))
		case r == ':' && e.lineStart && !e.noCI:
			b.WriteString(`\x3a`)
		case r == '[' && e.afterHash && !e.noCI:
			b.WriteString(`\x5b`)
		default:
			b.WriteRune(r)
			if isBlank(r) {
				e.afterHash = false
				continue
			}
		}
		e.lineStart = false
		e.afterHash = r == '#'
	}
}

// visible is Line without the CI rules: control and format characters
// escaped, everything else as is.
func visible(s string) string {
	var b strings.Builder
	e := escaper{noCI: true}
	e.write(&b, s)
	return b.String()
}

// isPlain reports whether s needs no escaping at all: printable ASCII with
// no leading ':' and no '#['. Most names and messages are.
func isPlain(s string) bool {
	lead := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f {
			return false
		}
		switch {
		case c == ':' && lead:
			return false
		case c == '[' && i > 0 && s[i-1] == '#':
			return false
		}
		if c != ' ' {
			lead = false
		}
	}
	return true
}

// needsEscape reports whether r must not reach a terminal or log as is: C0
// and C1 controls and DEL (cursor moves, OSC clipboard writes, CSI), format
// characters (bidirectional overrides, zero-width characters) and the
// Unicode line and paragraph separators.
func needsEscape(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r < utf8.RuneSelf:
		return false
	}
	return unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// isBlank is what the Actions runner trims before looking for "::" (.NET's
// char.IsWhiteSpace); the escaped ones never reach the output as such.
func isBlank(r rune) bool { return unicode.IsSpace(r) }

func escapeRune(r rune) string {
	switch r {
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	}
	switch {
	case r < utf8.RuneSelf:
		return `\x` + hex2(byte(r))
	case r <= 0xffff:
		return `\u` + pad(strconv.FormatInt(int64(r), 16), 4)
	}
	return `\U` + pad(strconv.FormatInt(int64(r), 16), 8)
}

func hex2(c byte) string { return pad(strconv.FormatInt(int64(c), 16), 2) }

func pad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return strings.Repeat("0", n-len(s)) + s
}
