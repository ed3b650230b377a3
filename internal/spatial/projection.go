package spatial

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// MinCollinearity is the smallest accepted ratio j/d12, where j is the
// distance of A3 from the line through A1 and A2 (A3's second frame
// coordinate) and d12 the distance between A1 and A2.
//
// Below it the anchors' plane is not well defined: the in-plane direction e2
// is then fixed by a component of A3 − A1 that is a thousandth of the
// anchors' spread or less, so float32 rounding in the stored anchors (relative
// error ≈ 6e-8) moves e2, and with it every y coordinate, by up to ~1e-4 of
// the spread; the DESIGN formula divides by j and multiplies by i/j, so an
// implementation that evaluates it literally (for example in SQL) amplifies
// rounding errors by the same factor. A near-degenerate frame also squeezes
// the data onto a line in (x, y), which makes the projection nearly useless
// for pruning. 1e-3 rejects only anchor triples that are collinear for all
// practical purposes while keeping those errors far below float32 precision.
const MinCollinearity = 1e-3

// ErrCollinear is returned (wrapped) by NewProjection when the anchors do not
// define a plane: A1 and A2 coincide, A3 is within MinCollinearity·d12 of the
// line through A1 and A2, or an anchor holds a non-finite value.
var ErrCollinear = errors.New("spatial: anchors are near-collinear")

// zRefine is the fraction of |w|² below which Project recomputes z² from the
// explicit residual instead of |w|² − x² − y² (see Project).
const zRefine = 1.0 / 16

// Point is a position in projected space.
type Point struct{ X, Y, Z float64 }

// Dist returns the Euclidean distance between p and q.
func (p Point) Dist(q Point) float64 {
	dx, dy, dz := p.X-q.X, p.Y-q.Y, p.Z-q.Z
	return math.Sqrt(dx*dx + dy*dy + dz*dz)
}

// Projection maps vectors of one model's embedding space to 3-D points by
// trilateration against three anchor vectors A1, A2, A3.
//
// Projection is immutable after construction and safe for concurrent use. Use
// NewProjection to build one; the zero value is not usable.
//
// # Formulation
//
// The DESIGN formula places A1 at (0,0,0), A2 at (d12,0,0) and A3 at (i,j,0)
// with i = (d13² + d12² − d23²)/(2·d12) and j = √(d13² − i²), and maps v, with
// r_k = |v − A_k|, to
//
//	x = (r1² − r2² + d12²) / (2·d12)
//	y = (r1² − r3² + i² + j²) / (2·j) − (i/j)·x
//	z = √max(0, r1² − x² − y²)
//
// Project evaluates the algebraically identical orthonormal-basis form
//
//	w = v − A1,  x = w·e1,  y = w·e2,  z = √max(0, |w|² − x² − y²)
//
// with e1 = (A2 − A1)/d12 and e2 the Gram–Schmidt unit vector of A3 − A1
// against e1, so that A3 − A1 = i·e1 + j·e2. The two agree because, with
// A2 − A1 = d12·e1,
//
//	r2² = |w − d12·e1|² = r1² − 2·d12·(w·e1) + d12²
//
// hence (r1² − r2² + d12²)/(2·d12) = w·e1; and with A3 − A1 = i·e1 + j·e2,
//
//	r3² = |w − i·e1 − j·e2|² = r1² − 2·i·(w·e1) − 2·j·(w·e2) + i² + j²
//
// hence (r1² − r3² + i² + j²)/(2·j) = w·e2 + (i/j)·(w·e1), and subtracting
// (i/j)·x leaves w·e2. Finally r1² − x² − y² = |w|² − (w·e1)² − (w·e2)² is, by
// Pythagoras, the squared distance from v to the anchors' affine plane.
//
// The basis form needs one fused pass of three dot products instead of three
// distance computations, and it does not cancel catastrophically: r1² − r2²
// subtracts two large, nearly equal numbers, w·e1 does not. All arithmetic is
// float64; when v lies close to the plane (z² < |w|²/16) z is recomputed from
// the explicit residual w − x·e1 − y·e2, which avoids the cancellation in
// |w|² − x² − y².
//
// (x, y) is an orthogonal projection and z a distance to a plane, so the map
// is 1-Lipschitz: |P(u) − P(v)| ≤ |u − v|.
type Projection struct {
	dim        int
	a1, a2, a3 []float32 // private copies of the anchors
	e1, e2     []float64 // orthonormal basis of the anchors' plane
	d12        float64
	d13        float64
	d23        float64
	i, j       float64 // A3's frame coordinates
}

// NewProjection builds the projection for three anchors of equal length.
// The anchors are copied; the caller may reuse the slices afterwards.
//
// It returns an error wrapping ErrCollinear, with the measured ratio j/d12,
// if the anchors are near-collinear (j/d12 < MinCollinearity), if d12 == 0
// (including anchors of length 0), or if any anchor holds a NaN or an
// infinity. Anchors of different lengths are an error too (not ErrCollinear).
func NewProjection(a1, a2, a3 []float32) (*Projection, error) {
	dim := len(a1)
	if len(a2) != dim || len(a3) != dim {
		return nil, fmt.Errorf("spatial: anchors have different lengths (%d, %d, %d)", len(a1), len(a2), len(a3))
	}
	for n, a := range [...][]float32{a1, a2, a3} {
		if k := firstNonFinite(a); k >= 0 {
			return nil, fmt.Errorf("%w: anchor A%d has the non-finite value %v at index %d", ErrCollinear, n+1, a[k], k)
		}
	}
	f, err := newPairFrame(slices.Clone(a1), a2)
	if err != nil {
		return nil, err
	}
	r := make([]float64, dim)
	rn := f.residual(a3, r)
	if ratio := rn / f.d12; !(ratio >= MinCollinearity) {
		return nil, fmt.Errorf("%w: j/d12 = %.3g (j = %.6g, d12 = %.6g), minimum %g",
			ErrCollinear, ratio, rn, f.d12, MinCollinearity)
	}
	for k := range r {
		r[k] /= rn
	}
	p := &Projection{
		dim: dim,
		a1:  f.a1,
		a2:  slices.Clone(a2),
		a3:  slices.Clone(a3),
		e1:  f.e1,
		e2:  r,
		d12: f.d12,
		d13: math.Sqrt(sqDist(a1, a3)),
		d23: math.Sqrt(sqDist(a2, a3)),
	}
	// A3's frame coordinates come from the same kernel as Project, so that
	// Project(A3) reproduces (i, j) exactly.
	p.i, p.j, _ = dot3(p.a3, p.a1, p.e1, p.e2)
	return p, nil
}

// Dim returns the length of the vectors the projection accepts.
func (p *Projection) Dim() int { return p.dim }

// Anchors returns copies of the three anchors; modifying them does not
// affect the projection.
func (p *Projection) Anchors() (a1, a2, a3 []float32) {
	return slices.Clone(p.a1), slices.Clone(p.a2), slices.Clone(p.a3)
}

// Distances returns the pairwise Euclidean distances of the anchors,
// computed in float64.
func (p *Projection) Distances() (d12, d13, d23 float64) { return p.d12, p.d13, p.d23 }

// Frame returns A3's coordinates in the projected frame: A3 = (i, j, 0).
// A1 is at the origin and A2 at (d12, 0, 0).
func (p *Projection) Frame() (i, j float64) { return p.i, p.j }

// Project maps v to its 3-D point. It does not allocate.
//
// It panics if len(v) != p.Dim(); callers validate lengths beforehand. A
// vector holding NaN or infinities yields NaN coordinates.
func (p *Projection) Project(v []float32) Point {
	if len(v) != p.dim {
		panic(fmt.Sprintf("spatial: Project: vector has length %d, projection expects %d", len(v), p.dim))
	}
	x, y, ww := dot3(v, p.a1, p.e1, p.e2)
	z2 := ww - x*x - y*y
	if z2 < zRefine*ww {
		// |w|² − x² − y² has an absolute error of a few ulps of |w|²,
		// which dominates z² when v is close to the plane; the explicit
		// residual is accurate to a few ulps of z itself.
		z2 = residual2(v, p.a1, p.e1, p.e2, x, y)
	}
	return Point{X: x, Y: y, Z: math.Sqrt(max(0, z2))}
}

// pairFrame is the part of a projection fixed by A1 and A2 alone.
type pairFrame struct {
	a1  []float32 // A1, retained (not copied)
	e1  []float64 // (A2 − A1)/d12
	d12 float64
}

// newPairFrame returns the frame of a1 and a2 (equal lengths, finite
// values), or an error wrapping ErrCollinear if they coincide. It retains a1.
func newPairFrame(a1, a2 []float32) (pairFrame, error) {
	f := pairFrame{a1: a1, e1: make([]float64, len(a1))}
	for k := range a1 {
		// The difference of two float32 values is exact in float64.
		f.e1[k] = float64(a2[k]) - float64(a1[k])
	}
	f.d12 = math.Sqrt(dot(f.e1, f.e1))
	if f.d12 == 0 {
		return pairFrame{}, fmt.Errorf("%w: A1 and A2 coincide (d12 = 0)", ErrCollinear)
	}
	for k := range f.e1 {
		f.e1[k] /= f.d12
	}
	return f, nil
}

// residual writes into r (len(r) == len(v)) the component of v − A1
// orthogonal to e1 and returns its norm, the distance of v from the line
// through A1 and A2. Gram–Schmidt is applied twice ("twice is enough"), so r
// is orthogonal to e1 to working precision even when v is nearly on the
// line. NewProjection and ChooseAnchors both decide collinearity through
// this one function, so they always agree.
func (f *pairFrame) residual(v []float32, r []float64) float64 {
	for k := range r {
		r[k] = float64(v[k]) - float64(f.a1[k])
	}
	for range 2 {
		c := dot(r, f.e1)
		for k := range r {
			r[k] -= float64(c * f.e1[k])
		}
	}
	return math.Sqrt(dot(r, r))
}

// dot returns a·b in float64; len(b) must be at least len(a).
//
// The explicit float64 conversions here and in residual forbid the compiler
// to fuse multiply and add (it may on some architectures), so collinearity
// decisions are the same on every platform.
func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s float64
	for k := range a {
		s += float64(a[k] * b[k])
	}
	return s
}

// firstNonFinite returns the index of the first NaN or infinity in v, or -1.
func firstNonFinite(v []float32) int {
	for k, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return k
		}
	}
	return -1
}
