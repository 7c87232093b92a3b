// Package inputerr holds the error for a problem in a file the user gave.
// It sits below every package that reads user files (drift, rules and
// internal/yamlx), so that they share one error type without importing
// each other.
package inputerr

import "fmt"

// Error is a problem in a file the user gave: it names the file, the line
// and column when known, and what to do about it.
type Error struct {
	File   string
	Line   int // 1-based; 0 when unknown
	Column int // 1-based; 0 when unknown
	Msg    string
	Hint   string // what to do next; may be empty
}

func (e *Error) Error() string {
	pos := e.File
	if e.Line > 0 {
		pos += fmt.Sprintf(":%d", e.Line)
		if e.Column > 0 {
			pos += fmt.Sprintf(":%d", e.Column)
		}
	}
	s := pos + ": " + e.Msg
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}
