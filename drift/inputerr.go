package drift

import "github.com/driftgate/driftgate/internal/inputerr"

// InputError is a problem in a file the user gave: it names the file, the
// line and column when known, and what to do about it. It is the error
// internal/yamlx returns too, so callers match one type.
type InputError = inputerr.Error
