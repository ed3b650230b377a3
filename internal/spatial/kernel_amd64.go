//go:build !purego

package spatial

import "golang.org/x/sys/cpu"

// useAVX2 reports whether the assembly kernel can run on this CPU.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func dot3AVX2(v, a []float32, e1, e2 []float64) (x, y, ww float64)

// dot3 returns, with w = v − a, the sums w·e1, w·e2 and w·w in float64.
// len(a), len(e1) and len(e2) must be at least len(v).
func dot3(v, a []float32, e1, e2 []float64) (x, y, ww float64) {
	if useAVX2 {
		_, _, _ = a[:len(v)], e1[:len(v)], e2[:len(v)] // the assembly does not bounds-check
		return dot3AVX2(v, a, e1, e2)
	}
	return dot3Generic(v, a, e1, e2)
}
