package deploy

import (
	"fmt"
	"math"
)

// BoundingBox is a SQL Server spatial index's BOUNDING_BOX.
type BoundingBox struct{ XMin, YMin, XMax, YMax float64 }

func (b BoundingBox) String() string {
	return fmt.Sprintf("(%g, %g, %g, %g)", b.XMin, b.YMin, b.XMax, b.YMax)
}

// CosineBox holds every projected point of a cosine model (unit vectors).
// With w = v − A1, x = w·e1 and y = w·e2 for an orthonormal pair e1, e2
// (docs/projection.md), and e1 = (A2 − A1)/d12:
//
//	x = v·e1 − A1·e1 = v·e1 + d12/2,   since A1·e1 = (A1·A2 − 1)/d12 = −d12/2
//	                                   for unit A1, A2 (d12² = 2 − 2·A1·A2);
//	so x ∈ [d12/2 − 1, d12/2 + 1] ⊂ [−1, 2], because |v·e1| ≤ 1, 0 < d12 ≤ 2;
//	|y| ≤ |(x, y)| = |P(v) − P(A1)| ≤ |v − A1| ≤ 2  (P is 1-Lipschitz).
//
// x can be negative: a vector on the far side of A1 from A2 has v·e1 near
// −1 while d12/2 may be small. The seed's box was (−1000, −1000, 1000,
// 1000): with 4 levels of 16×16 cells, a level-4 cell was 2000/65536 wide
// and data in about [0, 2]² fell into ~4,400 of the 2³² finest cells; with
// this box the same grid covers the data's region alone, each cell over
// 300,000 times smaller in area.
var CosineBox = BoundingBox{XMin: -1, YMin: -2, XMax: 2, YMax: 2}

// DataRange is the extent of the projected points of the l2 models.
type DataRange struct {
	XMin, YMin, XMax, YMax float64
	Points                 int64
}

// FitBoundingBox returns the box for the spatial index: CosineBox, widened
// to hold the points of l2 models when there are any (nil or Points == 0:
// none). An l2 model's range depends on its data (|P(v)| ≤ |v − A1|, which
// has no bound without one on |v|), so the box follows the data: each side
// is rounded outward to a power of two, which keeps the box stable while the
// data grows within it and makes re-deploys rebuild the index only when the
// data's extent about doubles. With no l2 points yet the cosine box stays:
// points outside the box are still indexed (in the grid's outer cell), so a
// box too small costs speed, never results, until a deploy after loading the
// data widens it.
func FitBoundingBox(l2 *DataRange) BoundingBox {
	b := CosineBox
	if l2 == nil || l2.Points == 0 {
		return b
	}
	b.XMin = math.Min(b.XMin, outward(l2.XMin))
	b.YMin = math.Min(b.YMin, outward(l2.YMin))
	b.XMax = math.Max(b.XMax, outward(l2.XMax))
	b.YMax = math.Max(b.YMax, outward(l2.YMax))
	return b
}

// outward rounds v away from zero to a power of two (0 stays 0; non-finite
// values, which projected points never hold, give 0).
func outward(v float64) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	p := math.Exp2(math.Ceil(math.Log2(math.Abs(v))))
	if p < math.Abs(v) { // Log2 rounding
		p *= 2
	}
	return math.Copysign(p, v)
}
