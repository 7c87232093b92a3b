package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/driftgate/driftgate/internal/textsafe"
)

// Exit codes, the whole contract: a diff tool never uses 1 for "tool failed".
const (
	exitPass         = 0 // no blocking finding, or an accepted override
	exitBlocked      = 1 // a blocking finding, or a refused override
	exitCouldNoCheck = 2 // bad input, unreachable cluster, unobserved resource, internal error
)

// errSilent wraps an error whose message has already been shown to the user
// (a rendered result), so run maps it to a code without printing it again.
type errSilent struct {
	code int
	err  error
}

func (e *errSilent) Error() string { return e.err.Error() }
func (e *errSilent) Unwrap() error { return e.err }

// silentExit returns an error that ends the command with code and prints nothing more.
func silentExit(code int, err error) error { return &errSilent{code: code, err: err} }

// exitCode maps an error returned by a command to the process exit code.
func exitCode(err error) int {
	var s *errSilent
	switch {
	case err == nil:
		return exitPass
	case errors.As(err, &s):
		return s.code
	default:
		return exitCouldNoCheck
	}
}

// errorMessage is what the user sees for err on stderr, or "" when the
// command already said everything. Errors quote input (file content, object
// names, values from the environment), so the message goes through
// textsafe.Lines: no terminal escape or workflow command reaches the log.
func errorMessage(err error) string {
	var s *errSilent
	if err == nil || errors.As(err, &s) {
		return ""
	}
	if errors.Is(err, context.Canceled) {
		return "driftgate: interrupted; nothing was checked"
	}
	return textsafe.Lines(fmt.Sprintf("error: %v", err))
}
