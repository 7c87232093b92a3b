// Package regularfile opens and reads the files driftgate is given (sides,
// snapshots, rule sets, the config, report history) only when they are
// regular files. A FIFO would block the read until a writer came, and
// /dev/zero or /dev/urandom never end: each is refused, without reading
// from it, by an error naming the file and what to do. It sits below
// drift and rules so that every package that reads a file can use it.
package regularfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/driftgate/driftgate/internal/inputerr"
)

// kind says what kind of file mode is, for an error about a file that is
// not a regular one.
func kind(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case mode&fs.ModeCharDevice != 0, mode&fs.ModeDevice != 0:
		return "a device"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode.IsDir():
		return "a folder"
	}
	return "a special file"
}

// Refusal is the error for path, of mode, which is not a regular file:
// "PATH: is a named pipe (FIFO), not a regular file; driftgate reads only
// regular files (HINT)". It is an *inputerr.Error; hint says what to do.
func Refusal(path string, mode fs.FileMode, hint string) error {
	return &inputerr.Error{File: path, Msg: "is " + kind(mode) + ", not a regular file; driftgate reads only regular files", Hint: hint}
}

// Open opens path for reading when it is, symlinks followed, a regular
// file, and refuses anything else without reading from it (see Refusal;
// hint says what to do instead). The file is opened without blocking, so
// that a FIFO never blocks the open, and checked again once open, so a
// FIFO put in its place after the first check is refused too. The
// FileInfo is the open file's. Other errors are os.Open's.
func Open(path, hint string) (*os.File, fs.FileInfo, error) {
	info, err := os.Stat(path)
	if err != nil {
		// As os.Open would say it ("open PATH: no such file or
		// directory"): the stat only looks before opening.
		if pe, ok := err.(*fs.PathError); ok {
			pe.Op = "open"
		}
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, nil, Refusal(path, info.Mode(), hint)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	info, err = f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, nil, Refusal(path, info.Mode(), hint)
	}
	return f, info, nil
}

// ReadFile is os.ReadFile for regular files only: it opens path with Open
// and reads it whole. An error while reading names path.
func ReadFile(path, hint string) ([]byte, error) {
	f, info, err := Open(path, hint)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readAll(f, info.Size())
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return data, nil
}

// readAll reads r to EOF into a buffer of size, the file's, plus one byte
// so that EOF is seen without growing; it grows if the file did.
func readAll(r io.Reader, size int64) ([]byte, error) {
	n := 512
	if size > 0 && size < 1<<31 {
		n = int(size) + 1
	}
	buf := make([]byte, 0, n)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
