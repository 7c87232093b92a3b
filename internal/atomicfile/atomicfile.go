// Package atomicfile writes files so that a reader, or a crash, never sees a
// half-written one: the content goes to a temporary file in the same
// directory, is flushed to disk, and is renamed over the destination.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Write creates path with the bytes written by fill. perm is filtered by the
// umask, as os.OpenFile and os.Create do: pass 0o666 for a file anyone may
// read unless the user's umask says otherwise, 0o600 for a private one. On
// any error the destination is left as it was and the temporary file is
// removed.
//
// The rename replaces a symlink at path rather than writing through it, so
// a link planted where the file goes cannot redirect the write.
func Write(path string, perm os.FileMode, fill func(w io.Writer) error) error {
	return write(path, perm, fill, os.Rename)
}

// WriteNew is Write for a file that must not exist yet: the finished
// temporary file is linked to path, which fails with an error matching
// fs.ErrExist when something is there (a file, a link, a directory), even
// one created while fill ran; nothing is ever replaced.
func WriteNew(path string, perm os.FileMode, fill func(w io.Writer) error) error {
	return write(path, perm, fill, func(tmp, path string) error {
		if err := os.Link(tmp, path); err != nil {
			return err
		}
		return os.Remove(tmp)
	})
}

// write fills a temporary file beside path, flushes it and hands it to
// publish, which puts it in place.
func write(path string, perm os.FileMode, fill func(w io.Writer) error, publish func(tmp, path string) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := createTemp(dir, "."+filepath.Base(path)+".tmp-", perm)
	if err != nil {
		return fmt.Errorf("creating temporary file beside %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = fill(tmp); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("flushing %s: %w", tmp.Name(), err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp.Name(), err)
	}
	if err = publish(tmp.Name(), path); err != nil {
		return fmt.Errorf("moving into %s: %w", path, err)
	}
	// Make the rename itself durable.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// createTemp is os.CreateTemp with a mode: the kernel applies the umask to
// perm when it creates the file, which is the only race-free way to honour
// it (reading the umask means setting it, for the whole process).
func createTemp(dir, prefix string, perm os.FileMode) (*os.File, error) {
	for range 100 {
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		name := filepath.Join(dir, prefix+hex.EncodeToString(b))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, perm.Perm())
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("no unused temporary name in %s", dir)
}

// WriteBytes is Write for content already in memory.
func WriteBytes(path string, perm os.FileMode, b []byte) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}
