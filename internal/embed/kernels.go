package embed

import (
	"math"

	"github.com/viterin/vek/vek32"
)

// Dot returns the dot product of a and b, which must have the same non-zero
// length. It is vek's AVX2 kernel where the CPU supports it, else vek's Go
// loop; DotRef defines the result it approximates.
var Dot func(a, b []float32) float32 = vek32.Dot

// Euclidean returns the Euclidean distance between a and b, which must have the
// same non-zero length.
var Euclidean func(a, b []float32) float32 = vek32.Distance

// DotRef is the reference dot product, accumulated in float64.
func DotRef(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// EuclideanRef is the reference Euclidean distance, accumulated in float64.
func EuclideanRef(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s)
}

// Score returns the score of row against query under m: the dot product for
// Cosine (both are unit vectors, so it is the cosine similarity) and the
// Euclidean distance for L2.
func (m Metric) Score(query, row []float32) float32 {
	if m == Cosine {
		return Dot(query, row)
	}
	return Euclidean(query, row)
}

// ScoreRef is Score computed by the reference kernels in float64.
func (m Metric) ScoreRef(query, row []float32) float64 {
	if m == Cosine {
		return DotRef(query, row)
	}
	return EuclideanRef(query, row)
}
