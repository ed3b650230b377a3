package main

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"testing"
)

// bruteForce is the reference: every row scored in float64, fully sorted.
func bruteForce(base, queries *Matrix, k int) [][]int32 {
	out := make([][]int32, queries.N)
	for q := range queries.N {
		type sc struct {
			s  float64
			id int32
		}
		all := make([]sc, base.N)
		for r := range base.N {
			all[r] = sc{dot64(queries.Row(q), base.Row(r)), int32(r)}
		}
		sort.Slice(all, func(a, b int) bool {
			if all[a].s != all[b].s {
				return all[a].s > all[b].s
			}
			return all[a].id < all[b].id
		})
		for _, e := range all[:k] {
			out[q] = append(out[q], e.id)
		}
	}
	return out
}

func TestGroundTruthMatchesBruteForce(t *testing.T) {
	p := DataParams{N: 2048, Dim: 32, Seed: 11}
	g := NewGenerator(p)
	base := make([]float32, p.N*p.Dim)
	g.Fill(streamBase, 0, base)
	q := make([]float32, genChunk*p.Dim)
	g.Fill(streamQueries, 0, q)
	B, Q := matrixOf(base, p.Dim), matrixOf(q[:64*p.Dim], p.Dim)
	want := bruteForce(B, Q, TruthK)
	for _, procs := range []int{1, 3} {
		prev := runtime.GOMAXPROCS(procs)
		got, err := groundTruth(context.Background(), B, Q, TruthK, nil)
		runtime.GOMAXPROCS(prev)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if !slices.Equal(got[i], want[i]) {
				t.Fatalf("GOMAXPROCS=%d query %d:\n got %v\nwant %v", procs, i, got[i][:10], want[i][:10])
			}
		}
	}
	// The exact peer agrees on the top 10.
	for i := range Q.N {
		if got := exactScan(B, Q.Row(i), 10, 3); !slices.Equal(got, want[i][:10]) {
			t.Fatalf("exact peer, query %d: %v, want %v", i, got, want[i][:10])
		}
	}
}

func TestTopK(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	h := newTopK(5)
	var all []float32
	for i := range 200 {
		s := float32(r.IntN(50)) // many ties
		all = append(all, s)
		h.push(s, int32(i))
	}
	got := h.sorted()
	idx := make([]int32, len(all))
	for i := range idx {
		idx[i] = int32(i)
	}
	sort.SliceStable(idx, func(a, b int) bool { return all[idx[a]] > all[idx[b]] })
	if !slices.Equal(got, idx[:5]) {
		t.Fatalf("got %v, want %v", got, idx[:5])
	}
}

func TestRecallAt(t *testing.T) {
	truth := []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	cases := []struct {
		found []int32
		k     int
		want  float64
	}{
		{[]int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 10, 1},
		{[]int32{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 10, 1}, // order does not matter
		{[]int32{1, 2, 3, 4, 5, 11, 12, 13, 14, 15}, 10, 0.5},
		{[]int32{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 10, 0.1}, // a duplicate counts once
		{[]int32{1, 2, 3}, 10, 0.3},                      // fewer hits than k
		{nil, 10, 0},
		{[]int32{-1, 2}, 2, 0.5}, // -1: an id the bench does not know
	}
	for _, c := range cases {
		if got := recallAt(c.found, truth, c.k); got != c.want {
			t.Errorf("recallAt(%v, k=%d) = %v, want %v", c.found, c.k, got, c.want)
		}
	}
}

func TestIvecsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.ivecs")
	rows := [][]int32{{1, 2, 3}, {4, 5, 6}, {-7, 8, 1 << 30}}
	if err := writeIvecs(path, rows); err != nil {
		t.Fatal(err)
	}
	got, err := readIvecs(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) {
		t.Fatalf("%d rows", len(got))
	}
	for i := range rows {
		if !slices.Equal(got[i], rows[i]) {
			t.Fatalf("row %d: %v", i, got[i])
		}
	}
}
