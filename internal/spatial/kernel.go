package spatial

// dot3Generic is the portable form of dot3: with w = v − a it returns
// w·e1, w·e2 and w·w, accumulated in float64. len(a), len(e1) and len(e2)
// must be at least len(v).
//
// Two independent sets of accumulators break the floating-point add
// dependency chains; wider unrolling spills registers with the Go compiler
// and was measured slower.
func dot3Generic(v, a []float32, e1, e2 []float64) (x, y, ww float64) {
	n := len(v)
	a = a[:n]
	e1 = e1[:n]
	e2 = e2[:n]
	var x0, x1, y0, y1, w0, w1 float64
	k := 0
	for ; k+2 <= n; k += 2 {
		d0 := float64(v[k]) - float64(a[k])
		d1 := float64(v[k+1]) - float64(a[k+1])
		x0 += d0 * e1[k]
		x1 += d1 * e1[k+1]
		y0 += d0 * e2[k]
		y1 += d1 * e2[k+1]
		w0 += d0 * d0
		w1 += d1 * d1
	}
	if k < n {
		d := float64(v[k]) - float64(a[k])
		x0 += d * e1[k]
		y0 += d * e2[k]
		w0 += d * d
	}
	return x0 + x1, y0 + y1, w0 + w1
}

// residual2 returns |w − x·e1 − y·e2|² with w = v − a, computed element by
// element. It is the accurate (cancellation-free) form of |w|² − x² − y²,
// used when the vector lies close to the anchors' plane.
func residual2(v, a []float32, e1, e2 []float64, x, y float64) float64 {
	n := len(v)
	a = a[:n]
	e1 = e1[:n]
	e2 = e2[:n]
	var s0, s1 float64
	k := 0
	for ; k+2 <= n; k += 2 {
		r0 := float64(v[k]) - float64(a[k]) - x*e1[k] - y*e2[k]
		r1 := float64(v[k+1]) - float64(a[k+1]) - x*e1[k+1] - y*e2[k+1]
		s0 += r0 * r0
		s1 += r1 * r1
	}
	if k < n {
		r := float64(v[k]) - float64(a[k]) - x*e1[k] - y*e2[k]
		s0 += r * r
	}
	return s0 + s1
}

// sqDist returns |u − v|² in float64. len(v) must be at least len(u).
//
// ChooseAnchors ranks rows with it, so it is written to give bit-identical
// results on every platform: the differences are exact, and the explicit
// float64 conversions forbid fusing multiply and add. It is zero exactly
// when u and v are equal element-wise.
func sqDist(u, v []float32) float64 {
	n := len(u)
	v = v[:n]
	var s0, s1 float64
	k := 0
	for ; k+2 <= n; k += 2 {
		d0 := float64(u[k]) - float64(v[k])
		d1 := float64(u[k+1]) - float64(v[k+1])
		s0 += float64(d0 * d0)
		s1 += float64(d1 * d1)
	}
	if k < n {
		d := float64(u[k]) - float64(v[k])
		s0 += float64(d * d)
	}
	return s0 + s1
}
