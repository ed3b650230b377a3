package spatial

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"sync"
	"testing"
)

var testDims = []int{2, 3, 7, 64, 768}

func newRand(t testing.TB, salt uint64) *rand.Rand {
	t.Helper()
	return rand.New(rand.NewPCG(0x5eed, salt))
}

func randVec(r *rand.Rand, dim int, scale float64) []float32 {
	v := make([]float32, dim)
	for k := range v {
		v[k] = float32(r.NormFloat64() * scale)
	}
	return v
}

// randProjection returns a projection over random anchors, redrawing the rare
// near-collinear triples (which only occur in very low dimensions).
func randProjection(t testing.TB, r *rand.Rand, dim int, scale float64) (*Projection, [3][]float32) {
	t.Helper()
	for range 100 {
		a := [3][]float32{randVec(r, dim, scale), randVec(r, dim, scale), randVec(r, dim, scale)}
		p, err := NewProjection(a[0], a[1], a[2])
		if err == nil {
			return p, a
		}
		if !errors.Is(err, ErrCollinear) {
			t.Fatalf("NewProjection: %v", err)
		}
	}
	t.Fatalf("no non-collinear random anchors in dim %d", dim)
	return nil, [3][]float32{}
}

// dist64 returns |u − v| computed in float64.
func dist64(u, v []float32) float64 {
	var s float64
	for k := range u {
		d := float64(u[k]) - float64(v[k])
		s += d * d
	}
	return math.Sqrt(s)
}

// designProject is the literal DESIGN formula, evaluated in float64 as a
// plain reference.
func designProject(a1, a2, a3, v []float32) Point {
	d12, d13, d23 := dist64(a1, a2), dist64(a1, a3), dist64(a2, a3)
	i := (d13*d13 + d12*d12 - d23*d23) / (2 * d12)
	j := math.Sqrt(d13*d13 - i*i)
	r1, r2, r3 := dist64(v, a1), dist64(v, a2), dist64(v, a3)
	x := (r1*r1 - r2*r2 + d12*d12) / (2 * d12)
	y := (r1*r1-r3*r3+i*i+j*j)/(2*j) - (i/j)*x
	z := math.Sqrt(math.Max(0, r1*r1-x*x-y*y))
	return Point{x, y, z}
}

func relClose(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func TestProjectLipschitz(t *testing.T) {
	r := newRand(t, 1)
	for _, dim := range testDims {
		for _, scale := range []float64{1, 10} {
			t.Run(fmt.Sprintf("dim=%d/scale=%g", dim, scale), func(t *testing.T) {
				p, a := randProjection(t, r, dim, scale)
				check := func(u, v []float32) {
					t.Helper()
					got := p.Project(u).Dist(p.Project(v))
					bound := dist64(u, v)
					if got > bound*(1+1e-9)+1e-9 {
						t.Fatalf("|P(u)-P(v)| = %.17g > |u-v| = %.17g", got, bound)
					}
				}
				for range 2000 {
					u := randVec(r, dim, scale)
					// Far pairs, near pairs, and pairs involving the anchors.
					check(u, randVec(r, dim, scale))
					v := make([]float32, dim)
					eps := math.Pow(10, -float64(r.IntN(6)))
					for k := range v {
						v[k] = u[k] + float32(r.NormFloat64()*scale*eps)
					}
					check(u, v)
					check(u, a[r.IntN(3)])
				}
			})
		}
	}
}

func TestProjectReproducesAnchors(t *testing.T) {
	r := newRand(t, 2)
	for _, dim := range testDims {
		for _, scale := range []float64{1e-3, 1, 1e3} {
			t.Run(fmt.Sprintf("dim=%d/scale=%g", dim, scale), func(t *testing.T) {
				for range 20 {
					p, a := randProjection(t, r, dim, scale)
					d12, d13, d23 := p.Distances()
					i, j := p.Frame()
					if want := dist64(a[0], a[1]); !relClose(d12, want, 1e-12) {
						t.Errorf("d12 = %g, want %g", d12, want)
					}
					if want := dist64(a[0], a[2]); !relClose(d13, want, 1e-12) {
						t.Errorf("d13 = %g, want %g", d13, want)
					}
					if want := dist64(a[1], a[2]); !relClose(d23, want, 1e-12) {
						t.Errorf("d23 = %g, want %g", d23, want)
					}
					// Frame agrees with the DESIGN formula for (i, j).
					wi := (d13*d13 + d12*d12 - d23*d23) / (2 * d12)
					wj := math.Sqrt(d13*d13 - wi*wi)
					if math.Abs(i-wi) > 1e-9*d13 || math.Abs(j-wj) > 1e-9*d13 {
						t.Errorf("Frame() = (%g, %g), DESIGN formula gives (%g, %g)", i, j, wi, wj)
					}

					want := [3]Point{{}, {d12, 0, 0}, {i, j, 0}}
					var got [3]Point
					for k := range got {
						got[k] = p.Project(a[k])
						tol := 1e-9 * d12
						if math.Abs(got[k].X-want[k].X) > tol || math.Abs(got[k].Y-want[k].Y) > tol || math.Abs(got[k].Z) > tol {
							t.Errorf("P(A%d) = %v, want %v", k+1, got[k], want[k])
						}
					}
					if got[0] != (Point{}) {
						t.Errorf("P(A1) = %v, want exactly the origin", got[0])
					}
					for _, c := range []struct {
						m, n int
						d    float64
					}{{0, 1, d12}, {0, 2, d13}, {1, 2, d23}} {
						if pd := got[c.m].Dist(got[c.n]); !relClose(pd, c.d, 1e-9) || math.Abs(pd-c.d) > 1e-9*c.d {
							t.Errorf("|P(A%d)-P(A%d)| = %.17g, want d = %.17g", c.m+1, c.n+1, pd, c.d)
						}
					}
				}
			})
		}
	}
}

func TestProjectMatchesDesignFormula(t *testing.T) {
	r := newRand(t, 3)
	for _, dim := range testDims {
		for _, scale := range []float64{1e-2, 1, 1e2} {
			t.Run(fmt.Sprintf("dim=%d/scale=%g", dim, scale), func(t *testing.T) {
				p, a := randProjection(t, r, dim, scale)
				for n := range 500 {
					v := randVec(r, dim, scale)
					if n%5 == 0 { // some vectors near an anchor
						for k := range v {
							v[k] = a[n%3][k] + v[k]*1e-3
						}
					}
					got, want := p.Project(v), designProject(a[0], a[1], a[2], v)
					// Scale-aware: the reference itself cancels to about
					// 1e-16 of the squared magnitudes involved.
					s := math.Max(dist64(v, a[0]), math.Max(dist64(v, a[1]), dist64(v, a[2])))
					s = math.Max(s, dist64(a[0], a[1]))
					s = math.Max(s, dist64(a[0], a[2]))
					if math.Abs(got.X-want.X) > 1e-9*s || math.Abs(got.Y-want.Y) > 1e-9*s ||
						math.Abs(got.Z*got.Z-want.Z*want.Z) > 1e-9*s*s {
						t.Fatalf("Project = %v, DESIGN formula = %v (scale %g)", got, want, s)
					}
				}
			})
		}
	}
}

// exactPlaneDist returns the distance of v from the affine plane through
// a1, a2, a3, computed with 256-bit big.Float arithmetic from the normal
// equations, independently of the projection's basis.
func exactPlaneDist(a1, a2, a3, v []float32) float64 {
	const prec = 256
	nf := func(x float64) *big.Float { return new(big.Float).SetPrec(prec).SetFloat64(x) }
	sub := func(x, y float32) *big.Float { return nf(float64(x)).Sub(nf(float64(x)), nf(float64(y))) }
	u, t, w := make([]*big.Float, len(v)), make([]*big.Float, len(v)), make([]*big.Float, len(v))
	for k := range v {
		u[k], t[k], w[k] = sub(a2[k], a1[k]), sub(a3[k], a1[k]), sub(v[k], a1[k])
	}
	dotB := func(x, y []*big.Float) *big.Float {
		s := nf(0)
		for k := range x {
			s.Add(s, nf(0).Mul(x[k], y[k]))
		}
		return s
	}
	uu, ut, tt, wu, wt := dotB(u, u), dotB(u, t), dotB(t, t), dotB(w, u), dotB(w, t)
	// Solve [uu ut; ut tt] [c1 c2]ᵀ = [wu wt]ᵀ by Cramer's rule.
	det := nf(0).Sub(nf(0).Mul(uu, tt), nf(0).Mul(ut, ut))
	c1 := nf(0).Quo(nf(0).Sub(nf(0).Mul(wu, tt), nf(0).Mul(wt, ut)), det)
	c2 := nf(0).Quo(nf(0).Sub(nf(0).Mul(uu, wt), nf(0).Mul(ut, wu)), det)
	s := nf(0)
	for k := range v {
		e := nf(0).Sub(w[k], nf(0).Mul(c1, u[k]))
		e.Sub(e, nf(0).Mul(c2, t[k]))
		s.Add(s, e.Mul(e, e))
	}
	f, _ := s.Sqrt(s).Float64()
	return f
}

func TestProjectZIsDistanceToPlane(t *testing.T) {
	r := newRand(t, 4)
	for _, dim := range testDims {
		t.Run(fmt.Sprintf("dim=%d", dim), func(t *testing.T) {
			// Integer anchors, so that integer and half-integer combinations
			// of them are exactly representable in float32 and lie exactly
			// in the plane.
			var a [3][]float32
			var p *Projection
			for p == nil {
				for k := range a {
					a[k] = make([]float32, dim)
					for m := range a[k] {
						a[k][m] = float32(r.IntN(101) - 50)
					}
				}
				var err error
				if p, err = NewProjection(a[0], a[1], a[2]); err != nil && !errors.Is(err, ErrCollinear) {
					t.Fatal(err)
				}
			}
			d12, _, _ := p.Distances()
			i, j := p.Frame()
			iters := 200
			if dim > 8 {
				iters = 8 // the big.Float reference is slow in high dimensions
			}
			for range iters {
				alpha := float64(r.IntN(9)-4) / 2
				beta := float64(r.IntN(9)-4) / 2
				v := make([]float32, dim)
				for m := range v {
					v[m] = float32(float64(a[0][m]) + alpha*float64(a[1][m]-a[0][m]) + beta*float64(a[2][m]-a[0][m]))
				}
				got := p.Project(v)
				scale := 1 + dist64(v, a[0])
				// In the plane: z vanishes and (x, y) = α·(d12, 0) + β·(i, j).
				if got.Z > 1e-12*scale {
					t.Fatalf("in-plane vector (α=%g, β=%g): z = %g, want 0", alpha, beta, got.Z)
				}
				if math.Abs(got.X-(alpha*d12+beta*i)) > 1e-9*scale || math.Abs(got.Y-beta*j) > 1e-9*scale {
					t.Fatalf("in-plane vector (α=%g, β=%g): (x, y) = (%g, %g), want (%g, %g)",
						alpha, beta, got.X, got.Y, alpha*d12+beta*i, beta*j)
				}
				// Off the plane by a small or large step along one axis, and
				// a random vector: z equals the exact distance to the plane.
				m := r.IntN(dim)
				for _, step := range []float32{0x1p-20, 0x1p-8, 1, 64} {
					w := append([]float32(nil), v...)
					w[m] += step
					want := exactPlaneDist(a[0], a[1], a[2], w)
					if z := p.Project(w).Z; math.Abs(z-want) > 1e-12*scale+1e-9*want {
						t.Fatalf("step %g: z = %.17g, exact distance to plane %.17g", step, z, want)
					}
				}
			}
			for range 5 {
				v := randVec(r, dim, 30)
				want := exactPlaneDist(a[0], a[1], a[2], v)
				if z := p.Project(v).Z; math.Abs(z-want) > 1e-12*(1+dist64(v, a[0])) {
					t.Fatalf("random vector: z = %.17g, exact distance to plane %.17g", z, want)
				}
			}
		})
	}
}

func TestNewProjectionRefuses(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	tests := []struct {
		name       string
		a1, a2, a3 []float32
		collinear  bool // wraps ErrCollinear
	}{
		{"exactly collinear", []float32{0, 0, 0}, []float32{1, 2, 3}, []float32{2, 4, 6}, true},
		{"collinear beyond A2", []float32{1, 1}, []float32{2, 2}, []float32{-5, -5}, true},
		{"nearly collinear", []float32{0, 0, 0}, []float32{10, 0, 0}, []float32{5, 1e-3, 0}, true},     // j/d12 = 1e-4
		{"just below minimum", []float32{0, 0, 0}, []float32{10, 0, 0}, []float32{3, 0, 9.9e-3}, true}, // 9.9e-4
		{"A1 == A2", []float32{1, 2, 3}, []float32{1, 2, 3}, []float32{0, 0, 1}, true},
		{"A1 == A3", []float32{1, 2, 3}, []float32{4, 5, 6}, []float32{1, 2, 3}, true},
		{"A2 == A3", []float32{1, 2, 3}, []float32{4, 5, 6}, []float32{4, 5, 6}, true},
		{"all equal", []float32{7, 7}, []float32{7, 7}, []float32{7, 7}, true},
		{"zero d12 with zero vectors", []float32{0, 0}, []float32{0, 0}, []float32{1, 1}, true},
		{"length 0", []float32{}, []float32{}, []float32{}, true},
		{"NaN in A1", []float32{nan, 0}, []float32{1, 0}, []float32{0, 1}, true},
		{"Inf in A3", []float32{0, 0}, []float32{1, 0}, []float32{0, inf}, true},
		{"-Inf in A2", []float32{0, 0}, []float32{-inf, 0}, []float32{0, 1}, true},
		{"different lengths", []float32{0, 0}, []float32{1, 0}, []float32{0, 1, 0}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewProjection(tc.a1, tc.a2, tc.a3)
			if err == nil {
				t.Fatalf("NewProjection accepted the anchors: Frame %v", p)
			}
			if errors.Is(err, ErrCollinear) != tc.collinear {
				t.Fatalf("errors.Is(%v, ErrCollinear) = %v, want %v", err, !tc.collinear, tc.collinear)
			}
			if msg := err.Error(); len(msg) < 9 || msg[:9] != "spatial: " {
				t.Errorf("error %q lacks the spatial: prefix", msg)
			}
		})
	}
}

func TestNewProjectionAccepts(t *testing.T) {
	tests := []struct {
		name       string
		a1, a2, a3 []float32
		i, j       float64
	}{
		{"right triangle", []float32{0, 0}, []float32{3, 0}, []float32{0, 4}, 0, 4},
		{"just above minimum", []float32{0, 0, 0}, []float32{10, 0, 0}, []float32{3, 0, 0.0101}, 3, 0.0101},
		{"A3 beyond A2", []float32{1, 1, 1}, []float32{2, 1, 1}, []float32{5, 2, 1}, 4, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewProjection(tc.a1, tc.a2, tc.a3)
			if err != nil {
				t.Fatal(err)
			}
			i, j := p.Frame()
			if math.Abs(i-tc.i) > 1e-6 || math.Abs(j-tc.j) > 1e-6 {
				t.Errorf("Frame() = (%g, %g), want (%g, %g)", i, j, tc.i, tc.j)
			}
			if p.Dim() != len(tc.a1) {
				t.Errorf("Dim() = %d, want %d", p.Dim(), len(tc.a1))
			}
		})
	}
}

func TestNewProjectionCopiesAnchors(t *testing.T) {
	a1, a2, a3 := []float32{0, 0}, []float32{3, 0}, []float32{0, 4}
	p, err := NewProjection(a1, a2, a3)
	if err != nil {
		t.Fatal(err)
	}
	before := p.Project([]float32{1, 1})
	a1[0], a2[0], a3[1] = 100, 100, 100
	g1, g2, g3 := p.Anchors()
	if g1[0] != 0 || g2[0] != 3 || g3[1] != 4 {
		t.Fatalf("Anchors() = %v %v %v after the caller modified its slices", g1, g2, g3)
	}
	g1[0] = 42
	if h1, _, _ := p.Anchors(); h1[0] != 0 {
		t.Fatal("Anchors() returned a view, not a copy")
	}
	if after := p.Project([]float32{1, 1}); after != before {
		t.Fatalf("projection changed after anchors were modified: %v, then %v", before, after)
	}
}

func TestProjectPanicsOnWrongLength(t *testing.T) {
	p, err := NewProjection([]float32{0, 0}, []float32{1, 0}, []float32{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Project of a vector of the wrong length did not panic")
		}
	}()
	p.Project([]float32{1, 2, 3})
}

func TestProjectNonFiniteInput(t *testing.T) {
	p, err := NewProjection([]float32{0, 0, 0}, []float32{1, 0, 0}, []float32{0, 1, 0})
	if err != nil {
		t.Fatal(err)
	}
	got := p.Project([]float32{float32(math.NaN()), 0, 0})
	if !math.IsNaN(got.X) || !math.IsNaN(got.Z) {
		t.Fatalf("Project of a NaN vector = %v, want NaN coordinates", got)
	}
}

func TestProjectDoesNotAllocate(t *testing.T) {
	r := newRand(t, 5)
	for _, dim := range []int{3, 768} {
		p, _ := randProjection(t, r, dim, 1)
		v := randVec(r, dim, 1)
		if n := testing.AllocsPerRun(100, func() { p.Project(v) }); n != 0 {
			t.Errorf("dim %d: Project allocates %v times per call", dim, n)
		}
	}
}

func TestProjectConcurrent(t *testing.T) {
	r := newRand(t, 6)
	p, _ := randProjection(t, r, 64, 1)
	vs := make([][]float32, 64)
	want := make([]Point, len(vs))
	for k := range vs {
		vs[k] = randVec(r, 64, 1)
		want[k] = p.Project(vs[k])
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 200 {
				k := (n + g) % len(vs)
				if got := p.Project(vs[k]); got != want[k] {
					t.Errorf("concurrent Project = %v, want %v", got, want[k])
					return
				}
				p.Anchors()
				p.Frame()
			}
		})
	}
	wg.Wait()
}

// naiveDot3 is the obvious loop, used to check both kernels.
func naiveDot3(v, a []float32, e1, e2 []float64) (x, y, ww float64) {
	for k := range v {
		w := float64(v[k]) - float64(a[k])
		x += w * e1[k]
		y += w * e2[k]
		ww += w * w
	}
	return
}

func TestDot3Kernels(t *testing.T) {
	r := newRand(t, 7)
	lengths := []int{0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 33, 64, 100, 767, 768, 1536}
	for _, n := range lengths {
		v, a := randVec(r, n, 1), randVec(r, n, 1)
		e1, e2 := make([]float64, n), make([]float64, n)
		for k := range n {
			e1[k], e2[k] = r.NormFloat64(), r.NormFloat64()
		}
		x0, y0, w0 := naiveDot3(v, a, e1, e2)
		for name, f := range map[string]func([]float32, []float32, []float64, []float64) (float64, float64, float64){
			"dot3":        dot3,
			"dot3Generic": dot3Generic,
		} {
			x, y, w := f(v, a, e1, e2)
			tol := 1e-13 * float64(n+1)
			if math.Abs(x-x0) > tol || math.Abs(y-y0) > tol || !relClose(w, w0, 1e-14) {
				t.Errorf("%s(len %d) = (%g, %g, %g), want (%g, %g, %g)", name, n, x, y, w, x0, y0, w0)
			}
		}
	}
	t.Logf("assembly kernel in use: %v", useAVX2)
}

func TestPointDist(t *testing.T) {
	tests := []struct {
		p, q Point
		want float64
	}{
		{Point{}, Point{}, 0},
		{Point{1, 2, 3}, Point{1, 2, 3}, 0},
		{Point{0, 0, 0}, Point{3, 4, 0}, 5},
		{Point{1, 1, 1}, Point{2, 3, 3}, 3},
		{Point{-1, 0, 0}, Point{1, 0, 0}, 2},
	}
	for _, tc := range tests {
		if got := tc.p.Dist(tc.q); got != tc.want {
			t.Errorf("%v.Dist(%v) = %g, want %g", tc.p, tc.q, got, tc.want)
		}
		if got := tc.q.Dist(tc.p); got != tc.want {
			t.Errorf("%v.Dist(%v) = %g, want %g", tc.q, tc.p, got, tc.want)
		}
	}
}

var sinkPoint Point

func BenchmarkProject(b *testing.B) {
	for _, dim := range []int{64, 768, 1536} {
		b.Run(fmt.Sprintf("dim=%d", dim), func(b *testing.B) {
			r := newRand(b, 8)
			p, _ := randProjection(b, r, dim, 1)
			vs := make([][]float32, 16)
			for k := range vs {
				vs[k] = randVec(r, dim, 1)
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				sinkPoint = p.Project(vs[n&15])
				n++
			}
		})
	}
}

var sinkFloat float64

// BenchmarkDot3 compares the assembly and the portable kernel.
func BenchmarkDot3(b *testing.B) {
	const dim = 768
	r := newRand(b, 9)
	v, a := randVec(r, dim, 1), randVec(r, dim, 1)
	e1, e2 := make([]float64, dim), make([]float64, dim)
	for k := range dim {
		e1[k], e2[k] = r.NormFloat64(), r.NormFloat64()
	}
	b.Run("dispatch", func(b *testing.B) {
		for b.Loop() {
			x, y, w := dot3(v, a, e1, e2)
			sinkFloat += x + y + w
		}
	})
	b.Run("generic", func(b *testing.B) {
		for b.Loop() {
			x, y, w := dot3Generic(v, a, e1, e2)
			sinkFloat += x + y + w
		}
	})
}
