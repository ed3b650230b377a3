package spatial

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func rowsFunc(rows [][]float32) func(int) []float32 {
	return func(i int) []float32 { return rows[i] }
}

// bruteAnchors is a direct transcription of ChooseAnchors' contract, with
// NewProjection as the collinearity oracle.
func bruteAnchors(rows [][]float32, seed uint64) ([3]int, bool) {
	n := len(rows)
	if n < 3 {
		return [3]int{}, false
	}
	finite := func(v []float32) bool { return firstNonFinite(v) < 0 }
	start := rand.New(rand.NewPCG(seed, anchorStream)).IntN(n)
	i1 := -1
	for k := range n {
		if r := (start + k) % n; finite(rows[r]) {
			i1 = r
			break
		}
	}
	if i1 < 0 {
		return [3]int{}, false
	}
	i2, best := -1, 0.0
	for r, v := range rows {
		if d := dist64(v, rows[i1]); finite(v) && d > best {
			i2, best = r, d
		}
	}
	if i2 < 0 {
		return [3]int{}, false
	}
	type cand struct {
		r     int
		score float64
	}
	var cands []cand
	for r, v := range rows {
		d1, d2 := dist64(v, rows[i1]), dist64(v, rows[i2])
		if finite(v) && d1 != 0 && d2 != 0 {
			cands = append(cands, cand{r, d1 + d2})
		}
	}
	slices.SortStableFunc(cands, func(a, b cand) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return a.r - b.r
	})
	for _, c := range cands {
		if _, err := NewProjection(rows[i1], rows[i2], rows[c.r]); err == nil {
			return [3]int{i1, i2, c.r}, true
		}
	}
	return [3]int{}, false
}

func TestChooseAnchorsSkipsCollinearBest(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	rows := [][]float32{
		{0, 0},      // 0: A1 (for the seed searched below)
		{10, 0},     // 1: farthest from row 0 -> A2
		{-5, 0},     // 2: best score (20) but collinear
		{5, 3},      // 3: next best, score 2·√34 -> A3
		{5, 1},      // 4: worse, score 2·√26
		{-5, 0.001}, // 5: score ≈ 20 but near-collinear (j/d12 = 1e-4)
		{5, -3},     // 6: ties row 3; the lower index wins
		{0, 0},      // 7: equal to A1
		{10, 0},     // 8: equal to A2
		{nan, 0},    // 9: never chosen
		{inf, inf},  // 10: never chosen, although infinitely far
	}
	found := false
	for seed := range uint64(200) {
		got, err := ChooseAnchors(len(rows), rowsFunc(rows), seed)
		want, ok := bruteAnchors(rows, seed)
		if err != nil || !ok || got != want {
			t.Fatalf("seed %d: ChooseAnchors = %v, %v; contract gives %v, %v", seed, got, err, want, ok)
		}
		if got[0] == 0 {
			found = true
			if got != [3]int{0, 1, 3} {
				t.Fatalf("seed %d: ChooseAnchors = %v, want [0 1 3]", seed, got)
			}
		}
	}
	if !found {
		t.Fatal("no seed in 0..199 picked row 0 as A1")
	}
}

func TestChooseAnchorsNotEnoughDistinct(t *testing.T) {
	nan := float32(math.NaN())
	line := make([][]float32, 10)
	for k := range line {
		line[k] = []float32{float32(k), 2 * float32(k), -float32(k)}
	}
	tests := []struct {
		name string
		rows [][]float32
	}{
		{"no rows", nil},
		{"one row", [][]float32{{1, 2}}},
		{"two rows", [][]float32{{1, 2}, {3, 4}}},
		{"all identical", [][]float32{{1, 2, 3}, {1, 2, 3}, {1, 2, 3}, {1, 2, 3}, {1, 2, 3}}},
		{"two distinct", [][]float32{{1, 2}, {3, 4}, {1, 2}, {3, 4}, {3, 4}, {1, 2}}},
		{"all collinear", line},
		{"nearly collinear", [][]float32{{0, 0}, {10, 0}, {5, 0.001}, {2, -0.002}}},
		{"all non-finite", [][]float32{{nan}, {nan}, {nan}}},
		{"two finite distinct", [][]float32{{0, 0}, {nan, 1}, {1, 1}, {0, nan}}},
		{"zero-length rows", [][]float32{{}, {}, {}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range uint64(10) {
				got, err := ChooseAnchors(len(tc.rows), rowsFunc(tc.rows), seed)
				if !errors.Is(err, ErrNotEnoughDistinct) {
					t.Fatalf("seed %d: ChooseAnchors = %v, %v; want ErrNotEnoughDistinct", seed, got, err)
				}
				if got != [3]int{-1, -1, -1} {
					t.Errorf("indices on error = %v, want [-1 -1 -1]", got)
				}
			}
		})
	}
}

func TestChooseAnchorsRowLength(t *testing.T) {
	rows := [][]float32{{0, 0}, {1, 0}, {0, 1}, {1, 1, 1}}
	_, err := ChooseAnchors(len(rows), rowsFunc(rows), 1)
	if err == nil || errors.Is(err, ErrNotEnoughDistinct) {
		t.Fatalf("ChooseAnchors with a row of the wrong length: %v", err)
	}
}

// TestChooseAnchorsContract checks ChooseAnchors against a brute-force
// transcription of its contract on random data with duplicated rows,
// collinear rows and ties, and checks determinism.
func TestChooseAnchorsContract(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for trial := range 300 {
		dim := []int{1, 2, 3, 7, 64}[trial%5]
		n := 3 + r.IntN(40)
		rows := make([][]float32, n)
		for k := range rows {
			switch {
			case k > 0 && r.IntN(4) == 0: // duplicate of an earlier row
				rows[k] = slices.Clone(rows[r.IntN(k)])
			case k > 1 && r.IntN(4) == 0: // on the line through rows 0 and 1
				s := float32(r.IntN(7) - 3)
				rows[k] = make([]float32, dim)
				for m := range rows[k] {
					rows[k][m] = rows[0][m] + s*(rows[1][m]-rows[0][m])
				}
			default: // small integers, so scores tie now and then
				rows[k] = make([]float32, dim)
				for m := range rows[k] {
					rows[k][m] = float32(r.IntN(5) - 2)
				}
			}
		}
		seed := r.Uint64()
		got, err := ChooseAnchors(n, rowsFunc(rows), seed)
		want, ok := bruteAnchors(rows, seed)
		if ok != (err == nil) || (ok && got != want) {
			t.Fatalf("trial %d (dim %d, n %d): ChooseAnchors = %v, %v; contract gives %v, %v", trial, dim, n, got, err, want, ok)
		}
		if err != nil {
			if !errors.Is(err, ErrNotEnoughDistinct) {
				t.Fatalf("trial %d: unexpected error %v", trial, err)
			}
			continue
		}
		if _, err := NewProjection(rows[got[0]], rows[got[1]], rows[got[2]]); err != nil {
			t.Fatalf("trial %d: NewProjection refuses the chosen anchors %v: %v", trial, got, err)
		}
		// Determinism, also when vec reuses one buffer for every row.
		buf := make([]float32, dim)
		again, err := ChooseAnchors(n, func(i int) []float32 { copy(buf, rows[i]); return buf }, seed)
		if err != nil || again != got {
			t.Fatalf("trial %d: second call = %v, %v; first %v", trial, again, err, got)
		}
	}
}

func BenchmarkChooseAnchors(b *testing.B) {
	for _, n := range []int{1000} {
		b.Run(fmt.Sprintf("n=%d/dim=768", n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			rows := make([][]float32, n)
			for k := range rows {
				rows[k] = randVec(r, 768, 1)
			}
			for b.Loop() {
				if _, err := ChooseAnchors(n, rowsFunc(rows), 7); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
