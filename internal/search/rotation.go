package search

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// rotation is a random orthogonal map of R^dim into R^pdim (pdim the power of
// two ≥ dim, the input zero-padded): three rounds of random sign flips, each
// followed by a normalized fast Walsh–Hadamard transform. It spreads a
// vector's energy evenly over the coordinates, which is what makes one bit
// per coordinate (the sign) an unbiased, well-conditioned code: an embedding
// whose variance sits in a few dimensions would otherwise lose most of it.
// It costs O(pdim log pdim), against O(dim²) for a dense random rotation.
//
// Immutable after construction.
type rotation struct {
	dim, pdim int
	signs     [3][]float32
}

func newRotation(dim int, seed uint64) *rotation {
	pdim := 1 << bits.Len(uint(dim-1))
	if pdim < 64 {
		pdim = 64 // codes are whole uint64 words
	}
	r := &rotation{dim: dim, pdim: pdim}
	rng := rand.New(rand.NewPCG(seed, 0x726f74617465)) // "rotate"
	for k := range r.signs {
		r.signs[k] = make([]float32, pdim)
		for i := range r.signs[k] {
			if rng.Uint64()&1 == 0 {
				r.signs[k][i] = 1
			} else {
				r.signs[k][i] = -1
			}
		}
	}
	return r
}

// apply writes the rotation of v (len dim) into out (len pdim).
func (r *rotation) apply(v, out []float32) {
	copy(out, v)
	clear(out[len(v):])
	scale := float32(1 / math.Sqrt(float64(r.pdim)))
	for k := range r.signs {
		s := r.signs[k]
		for i := range out {
			out[i] *= s[i]
		}
		fwht(out)
		for i := range out {
			out[i] *= scale
		}
	}
}

// fwht is the unnormalized fast Walsh–Hadamard transform, in place; len(x)
// is a power of two.
func fwht(x []float32) {
	n := len(x)
	for h := 1; h < n; h <<= 1 {
		for i := 0; i < n; i += h << 1 {
			a := x[i : i+h : i+h]
			b := x[i+h : i+2*h : i+2*h]
			for j := range a {
				u, v := a[j], b[j]
				a[j], b[j] = u+v, u-v
			}
		}
	}
}
