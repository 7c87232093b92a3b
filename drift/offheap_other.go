//go:build !unix

package drift

// offHeap is not available here: LoadSnapshot reads into the heap.
func offHeap(int) ([]byte, func(), bool) { return nil, nil, false }
