//go:build unix && !race

package search

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// allocFloats returns n zeroed float32s for a chunk's vectors. Large blocks
// are mapped outside the Go heap: at a million 768-d rows the vectors are
// 3 GB that hold no pointers and live as long as the collection, and on the
// heap they would let the collector's pacing (GOGC) grow the heap toward
// twice their size before collecting the insert path's garbage. The mapping
// is never unmapped: a collection lives until the process ends. Builds with
// the race detector keep them on the heap, where it watches them.
func allocFloats(n int) []float32 {
	const minMapped = 1 << 20 // bytes; smaller blocks stay on the heap
	if 4*n < minMapped {
		return make([]float32, n)
	}
	b, err := unix.Mmap(-1, 0, 4*n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return make([]float32, n)
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
}
