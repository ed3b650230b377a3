package spatial

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// ErrNotEnoughDistinct is returned (wrapped) by ChooseAnchors when the rows do
// not contain three distinct vectors that are not near-collinear.
var ErrNotEnoughDistinct = errors.New("spatial: fewer than three distinct, non-collinear vectors")

// anchorStream is the second PCG seed word of ChooseAnchors' generator. It
// is part of the determinism contract: changing it changes which anchors a
// given seed selects.
const anchorStream = 0x6861727464414e43 // "hartdANC"

// ChooseAnchors picks three anchor rows among n vectors by the farthest-point
// rule and returns their indices [A1, A2, A3]:
//
//   - A1 is row rand.New(rand.NewPCG(seed, anchorStream)).IntN(n); if that
//     row holds a NaN or an infinity, the next row (cyclically) that does not.
//   - A2 is the row farthest from A1 (Euclidean, in float64).
//   - A3 is the row maximizing d(v, A1) + d(v, A2) among the rows that make a
//     triple that NewProjection accepts (not near-collinear, see
//     MinCollinearity); if the best row is near-collinear the next best is
//     taken, and so on.
//
// Ties are broken by the lowest row index. Rows equal to A1 or A2 and rows
// with non-finite values are never chosen as A2 or A3. The result is
// deterministic: the same rows in the same order with the same seed give the
// same indices, on every platform (the ranking does not depend on the CPU's
// vector instructions). NewProjection accepts the chosen rows.
//
// vec(i) returns row i; every row must have the same length. vec may reuse
// its result buffer between calls: ChooseAnchors copies what it keeps. It
// reads every row twice and holds O(dim) memory.
//
// It returns an error wrapping ErrNotEnoughDistinct when n < 3 or fewer than
// three distinct rows make a non-collinear triple, and a plain error when a
// row has the wrong length.
func ChooseAnchors(n int, vec func(i int) []float32, seed uint64) ([3]int, error) {
	none := [3]int{-1, -1, -1}
	if n < 3 {
		return none, fmt.Errorf("%w: only %d rows", ErrNotEnoughDistinct, n)
	}

	// A1: the seeded row, or the first finite row after it.
	start := rand.New(rand.NewPCG(seed, anchorStream)).IntN(n)
	i1 := -1
	var a1 []float32
	for k := range n {
		r := (start + k) % n
		if v := vec(r); firstNonFinite(v) < 0 {
			i1, a1 = r, slices.Clone(v)
			break
		}
	}
	if i1 < 0 {
		return none, fmt.Errorf("%w: every row holds a non-finite value", ErrNotEnoughDistinct)
	}
	dim := len(a1)
	row := func(r int) ([]float32, error) {
		v := vec(r)
		if len(v) != dim {
			return nil, fmt.Errorf("spatial: ChooseAnchors: row %d has length %d, row %d has length %d", r, len(v), i1, dim)
		}
		return v, nil
	}

	// A2: the farthest row from A1. A row with a non-finite value has a
	// non-finite squared distance (finite float32 rows cannot overflow
	// float64), and NaN never compares greater.
	i2, best := -1, 0.0
	for r := range n {
		v, err := row(r)
		if err != nil {
			return none, err
		}
		if d := sqDist(v, a1); d > best && !math.IsInf(d, 1) {
			i2, best = r, d
		}
	}
	if i2 < 0 {
		return none, fmt.Errorf("%w: all %d finite rows equal row %d", ErrNotEnoughDistinct, n, i1)
	}
	a2 := slices.Clone(vec(i2))

	// A3: the best-scoring row whose triple is not near-collinear. Scanning
	// in index order and accepting only strictly better scores breaks ties
	// by the lowest index; the collinearity test runs only for rows that
	// would improve on the current best.
	f, err := newPairFrame(a1, a2)
	if err != nil {
		// Unreachable: A2 differs from A1.
		return none, fmt.Errorf("spatial: ChooseAnchors: %w", err)
	}
	scratch := make([]float64, dim)
	i3, bestScore := -1, math.Inf(-1)
	for r := range n {
		v, err := row(r)
		if err != nil {
			return none, err
		}
		d1, d2 := sqDist(v, a1), sqDist(v, a2)
		if d1 == 0 || d2 == 0 || math.IsInf(d1, 1) || math.IsInf(d2, 1) || math.IsNaN(d1+d2) {
			continue
		}
		score := math.Sqrt(d1) + math.Sqrt(d2)
		if !(score > bestScore) {
			continue
		}
		if f.residual(v, scratch)/f.d12 >= MinCollinearity {
			i3, bestScore = r, score
		}
	}
	if i3 < 0 {
		return none, fmt.Errorf("%w: every row is near-collinear with rows %d and %d (j/d12 < %g) or equal to one of them",
			ErrNotEnoughDistinct, i1, i2, MinCollinearity)
	}
	return [3]int{i1, i2, i3}, nil
}
