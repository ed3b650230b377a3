package embed

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// The SIMD kernels must agree with the float64 references over lengths that
// exercise every tail of the vector loops.
func TestKernelsMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 7, 8, 15, 16, 31, 33, 64, 127, 767, 768, 769, 1536, 4096} {
		for trial := 0; trial < 20; trial++ {
			a, b := randVec(r, n), randVec(r, n)
			// float32 accumulation error grows like sqrt(n)·|a||b|·eps.
			tol := 1e-5 * math.Sqrt(float64(n)) * math.Sqrt(DotRef(a, a)*DotRef(b, b))
			if got, want := float64(Dot(a, b)), DotRef(a, b); math.Abs(got-want) > tol {
				t.Fatalf("Dot n=%d: got %v want %v (tol %v)", n, got, want, tol)
			}
			if got, want := float64(Euclidean(a, b)), EuclideanRef(a, b); math.Abs(got-want) > 1e-5*want+1e-6 {
				t.Fatalf("Euclidean n=%d: got %v want %v", n, got, want)
			}
		}
	}
}

func TestScore(t *testing.T) {
	q := []float32{1, 0}
	tests := []struct {
		m    Metric
		row  []float32
		want float32
	}{
		{Cosine, []float32{1, 0}, 1},
		{Cosine, []float32{0, 1}, 0},
		{Cosine, []float32{-1, 0}, -1},
		{L2, []float32{1, 0}, 0},
		{L2, []float32{4, 4}, 5},
	}
	for _, tc := range tests {
		if got := tc.m.Score(q, tc.row); math.Abs(float64(got-tc.want)) > 1e-6 {
			t.Errorf("%v.Score(%v, %v) = %v, want %v", tc.m, q, tc.row, got, tc.want)
		}
	}
	if !Cosine.Better(0.9, 0.1) || Cosine.Better(0.1, 0.9) || !L2.Better(0.1, 0.9) || L2.Better(0.9, 0.1) {
		t.Error("Better orders scores the wrong way")
	}
}

func BenchmarkKernels(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{64, 768, 1536} {
		x, y := randVec(r, n), randVec(r, n)
		b.Run("Dot/"+itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Dot(x, y)
			}
		})
		b.Run("DotRef/"+itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				DotRef(x, y)
			}
		})
		b.Run("Euclidean/"+itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Euclidean(x, y)
			}
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
