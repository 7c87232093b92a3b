//go:build unix

package drift

import "golang.org/x/sys/unix"

// offHeap returns size bytes of anonymous memory the garbage collector does
// not manage, and the function that gives them back to the system.
func offHeap(size int) (buf []byte, free func(), ok bool) {
	buf, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, nil, false
	}
	return buf, func() { _ = unix.Munmap(buf) }, true
}
