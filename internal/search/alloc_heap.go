//go:build !unix || race

package search

// allocFloats returns n zeroed float32s for a chunk's vectors, on the Go
// heap (see alloc_mmap.go for the mapped variant).
func allocFloats(n int) []float32 { return make([]float32, n) }
