package deploy

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/spatial"
	hartsql "github.com/hartonomous/hartd/sql"
)

func TestFitBoundingBox(t *testing.T) {
	tests := []struct {
		name string
		r    *DataRange
		want BoundingBox
	}{
		{"no l2 data", nil, CosineBox},
		{"no l2 points", &DataRange{XMin: -100, XMax: 100, Points: 0}, CosineBox},
		{"inside the cosine box", &DataRange{XMin: -0.5, YMin: -1, XMax: 1.5, YMax: 2, Points: 10}, CosineBox},
		{"wider", &DataRange{XMin: -3, YMin: -1, XMax: 5, YMax: 1, Points: 10}, BoundingBox{-4, -2, 8, 2}},
		{"exact powers stay", &DataRange{XMin: -4, YMin: -8, XMax: 16, YMax: 0.5, Points: 1}, BoundingBox{-4, -8, 16, 2}},
		{"large", &DataRange{XMin: -1000, YMin: -0.1, XMax: 1000, YMax: 3000, Points: 1}, BoundingBox{-1024, -2, 1024, 4096}},
		{"positive minimum", &DataRange{XMin: 5, YMin: 7, XMax: 6, YMax: 9, Points: 1}, BoundingBox{-1, -2, 8, 16}},
	}
	for _, tc := range tests {
		if got := FitBoundingBox(tc.r); got != tc.want {
			t.Errorf("%s: FitBoundingBox = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A data range that grows a little does not change the box: re-deploys
// rebuild the index only when the extent about doubles.
func TestFitBoundingBoxIsStable(t *testing.T) {
	a := FitBoundingBox(&DataRange{XMin: -5, YMin: -5, XMax: 5, YMax: 5, Points: 1})
	b := FitBoundingBox(&DataRange{XMin: -7.9, YMin: -6, XMax: 7.5, YMax: 8, Points: 2})
	if a != b {
		t.Fatalf("boxes %v and %v differ", a, b)
	}
}

// The derivation of CosineBox, checked: the projected points of unit
// vectors, in many dimensions and with random and adversarial anchors, lie
// in [-1, 2] × [-2, 2].
func TestCosineBoxHoldsUnitVectors(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	unit := func(dim int) []float32 {
		v := make([]float32, dim)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		embed.Normalize(v)
		return v
	}
	neg := func(v []float32) []float32 {
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = -x
		}
		return out
	}
	const eps = 1e-6
	minX, maxX, maxY := math.Inf(1), math.Inf(-1), 0.0
	for _, dim := range []int{2, 3, 8, 64, 768} {
		for trial := range 40 {
			a1, a2, a3 := unit(dim), unit(dim), unit(dim)
			if trial%4 == 1 && dim > 2 {
				// A2 close to A1: x reaches toward d12/2 − 1 ≈ −1.
				for i := range a2 {
					a2[i] = a1[i] + 0.05*a2[i]
				}
				embed.Normalize(a2)
			}
			p, err := spatial.NewProjection(a1, a2, a3)
			if err != nil {
				continue
			}
			for range 50 {
				v := unit(dim)
				for _, w := range [][]float32{v, neg(v), neg(a1), neg(a2), a3} {
					pt := p.Project(w)
					minX, maxX, maxY = math.Min(minX, pt.X), math.Max(maxX, pt.X), math.Max(maxY, math.Abs(pt.Y))
					if pt.X < CosineBox.XMin-eps || pt.X > CosineBox.XMax+eps || pt.Y < CosineBox.YMin-eps || pt.Y > CosineBox.YMax+eps {
						t.Fatalf("dim %d: point %+v outside %v", dim, pt, CosineBox)
					}
				}
			}
		}
	}
	// The box is not loose on x: points come close to both ends.
	if minX > -0.9 || maxX < 1.9 {
		t.Errorf("x range seen [%g, %g]: the box [-1, 2] is looser than the data", minX, maxX)
	}
	t.Logf("seen x in [%.3f, %.3f], |y| ≤ %.3f", minX, maxX, maxY)
}

// The first migration creates the spatial index with exactly the statement
// the migrations phase uses to re-create it.
func TestMigrationSpatialIndexMatchesDDL(t *testing.T) {
	b, err := hartsql.FS.ReadFile("sqlserver/migrations/0001_core.up.sql")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), spatialIndexDDL(CosineBox, false)) {
		t.Fatalf("0001_core.up.sql does not contain:\n%s", spatialIndexDDL(CosineBox, false))
	}
}
