package drift

import (
	"io"
	"slices"
)

// readAll is io.ReadAll with a first guess at the size.
func readAll(r io.Reader, sizeHint int) ([]byte, error) {
	if sizeHint <= 0 || sizeHint > 1<<31 {
		return io.ReadAll(r)
	}
	return readBody(r, make([]byte, 0, sizeHint+1)) // +1: EOF is seen without growing
}

// readBody appends r to buf until EOF, growing it as needed (by half
// again: pages of one size class settle in a buffer or two).
func readBody(r io.Reader, buf []byte) ([]byte, error) {
	buf = buf[:0]
	if cap(buf) == 0 {
		buf = make([]byte, 0, 256<<10)
	}
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, cap(buf)/2)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
