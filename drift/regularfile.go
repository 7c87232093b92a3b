package drift

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// notRegular says what kind of file mode is, for an error about a file
// that is not a regular one.
func notRegular(mode fs.FileMode) string {
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
	return "not a regular file"
}

// notRegularError is the refusal of path, of mode, as a side's file.
func notRegularError(path string, mode fs.FileMode) error {
	return &InputError{File: path, Msg: "is " + notRegular(mode) + ", not a regular file; driftgate reads only regular files",
		Hint: "write the manifests or the snapshot to a file and give that file"}
}

// openRegular opens path for reading when it is, symlinks followed, a
// regular file, and refuses anything else without reading from it: a
// FIFO would block until a writer came, /dev/zero or /dev/urandom never
// ends. The file is opened without blocking and checked again once open,
// so a FIFO put in its place after the first check is refused too.
func openRegular(path string) (*os.File, fs.FileInfo, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, nil, notRegularError(path, info.Mode())
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
		return nil, nil, notRegularError(path, info.Mode())
	}
	return f, info, nil
}

// readRegularFile is os.ReadFile for regular files only (see openRegular).
func readRegularFile(path string) ([]byte, error) {
	f, info, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readAll(f, int(min(info.Size(), 1<<31)))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return data, nil
}
