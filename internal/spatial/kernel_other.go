//go:build !amd64 || purego

package spatial

// useAVX2 is false: there is no assembly kernel for this build.
const useAVX2 = false

// dot3 returns, with w = v − a, the sums w·e1, w·e2 and w·w in float64.
// len(a), len(e1) and len(e2) must be at least len(v).
func dot3(v, a []float32, e1, e2 []float64) (x, y, ww float64) {
	return dot3Generic(v, a, e1, e2)
}
