package output

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/driftgate/driftgate/drift"
	"github.com/driftgate/driftgate/internal/atomicfile"
)

// File is one report a run writes besides standard output: the result in
// Format at Path. A CI job wants several (a step summary, SARIF,
// annotations, JUnit, Code Quality) from one comparison, since a live
// cluster can change between two runs.
type File struct {
	Format, Path string
}

// ParseFile reads FORMAT=PATH. Only the first '=' splits, so a path may
// hold one.
func ParseFile(spec string) (File, error) {
	format, path, ok := strings.Cut(spec, "=")
	if !ok || format == "" || path == "" {
		return File{}, fmt.Errorf("invalid --output-file %q: use FORMAT=PATH, such as sarif=driftgate.sarif, with FORMAT one of %v", spec, Formats)
	}
	if err := Validate(format); err != nil {
		return File{}, fmt.Errorf("invalid --output-file %q: %w", spec, err)
	}
	return File{Format: format, Path: path}, nil
}

// ParseFiles parses every spec and refuses two files at one path (after
// cleaning it): the second would silently replace the first.
func ParseFiles(specs []string) ([]File, error) {
	var files []File
	at := map[string]string{}
	for _, spec := range specs {
		f, err := ParseFile(spec)
		if err != nil {
			return nil, err
		}
		key, err := filepath.Abs(f.Path)
		if err != nil {
			return nil, fmt.Errorf("invalid --output-file %q: %w", spec, err)
		}
		if prev, ok := at[key]; ok {
			return nil, fmt.Errorf("invalid --output-file %q: %s is already written by --output-file %q; give each format its own file", spec, f.Path, prev)
		}
		at[key] = spec
		files = append(files, f)
	}
	return files, nil
}

// WriteFiles renders res into each file, atomically (a reader never sees
// half a report, and a failed write leaves the previous file as it was),
// with the same bytes Render writes for the format. It tries every file
// and returns every failure.
func WriteFiles(files []File, res *drift.Result, opts Options) error {
	var errs []error
	for _, f := range files {
		err := atomicfile.Write(f.Path, 0o666, func(w io.Writer) error {
			return Render(w, f.Format, res, opts)
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("writing the %s report to %s: %w", f.Format, f.Path, err))
		}
	}
	return errors.Join(errs...)
}
