package main

import (
	"bytes"
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/hartonomous/hartd/internal/vecfile"
)

func genBytes(t *testing.T, p DataParams, stream uint64, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := generateTo(NewGenerator(p), stream, n, &b, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGeneratorDeterministic(t *testing.T) {
	p := DataParams{N: 3000, Dim: 48, Seed: 7}
	a := genBytes(t, p, streamBase, p.N)
	prev := runtime.GOMAXPROCS(1)
	b := genBytes(t, p, streamBase, p.N)
	runtime.GOMAXPROCS(4)
	c := genBytes(t, p, streamBase, p.N)
	runtime.GOMAXPROCS(prev)
	if !bytes.Equal(a, b) || !bytes.Equal(a, c) {
		t.Fatal("the same parameters gave different data with different worker counts")
	}
	if len(a) != p.N*(4+4*p.Dim) {
		t.Fatalf("%d bytes, want %d", len(a), p.N*(4+4*p.Dim))
	}
	// A shorter run is a prefix: the queries of -queries 100 are the
	// first 100 of -queries 1000.
	if short := genBytes(t, p, streamBase, 1500); !bytes.Equal(short, a[:len(short)]) {
		t.Fatal("a shorter run is not a prefix of a longer one")
	}
	if d := genBytes(t, DataParams{N: 3000, Dim: 48, Seed: 8}, streamBase, p.N); bytes.Equal(a[:4096], d[:4096]) {
		t.Fatal("another seed gave the same data")
	}
	if q := genBytes(t, p, streamQueries, 100); bytes.Equal(a[:len(q)], q) {
		t.Fatal("the query stream equals the data stream")
	}
}

func TestGeneratorShape(t *testing.T) {
	p := DataParams{N: 4096, Dim: 64, Seed: 1}
	g := NewGenerator(p)
	base := make([]float32, p.N*p.Dim)
	g.Fill(streamBase, 0, base)
	queries := make([]float32, genChunk*p.Dim)
	g.Fill(streamQueries, 0, queries)
	B, Q := matrixOf(base, p.Dim), matrixOf(queries[:50*p.Dim], p.Dim)
	for i := range B.N {
		if n := math.Sqrt(dot64(B.Row(i), B.Row(i))); math.Abs(n-1) > 1e-5 {
			t.Fatalf("row %d has norm %v", i, n)
		}
	}
	// Queries are held out: none is a member of the data.
	for i := range Q.N {
		for j := range B.N {
			if dot64(Q.Row(i), B.Row(j)) > 1-1e-9 {
				t.Fatalf("query %d equals row %d", i, j)
			}
		}
	}
	// Clusters: a query's nearest neighbour is much nearer than a random
	// row, and random rows are positively correlated (the shared offset).
	var nn, rnd float64
	for i := range Q.N {
		best := -1.0
		for j := range B.N {
			best = max(best, dot64(Q.Row(i), B.Row(j)))
		}
		nn += best
		rnd += dot64(Q.Row(i), B.Row((i*131)%B.N))
	}
	nn, rnd = nn/float64(Q.N), rnd/float64(Q.N)
	if !(nn > rnd+0.2) || !(rnd > 0.02) {
		t.Fatalf("mean nearest cosine %.3f, random %.3f: no cluster structure", nn, rnd)
	}
	// Unequal cluster sizes (Zipf).
	if Clusters(p.N) != 32 || !(g.cum[0] > 3*(g.cum[31]-g.cum[30])) {
		t.Fatalf("clusters %d, weights %v", Clusters(p.N), g.cum)
	}
	// The spectrum is not axis-aligned after the rotation: the variance of
	// the coordinates is spread out, not concentrated in the first ones.
	var first, last float64
	for i := range B.N {
		r := B.Row(i)
		for j := range 8 {
			first += float64(r[j] * r[j])
			last += float64(r[p.Dim-1-j] * r[p.Dim-1-j])
		}
	}
	if ratio := first / last; ratio > 3 || ratio < 1.0/3 {
		t.Fatalf("energy of the first 8 coordinates / last 8 = %.2f: the spectrum is axis-aligned", ratio)
	}
}

func TestRotationIsOrthogonal(t *testing.T) {
	for _, d := range []int{2, 3, 48, 100, 768} {
		g := NewGenerator(DataParams{N: 100, Dim: d, Seed: 3})
		x, y := make([]float64, d), make([]float64, d)
		for j := range d {
			x[j], y[j] = math.Sin(float64(j)), math.Cos(float64(3*j))
		}
		var xy, xx float64
		for j := range d {
			xy += x[j] * y[j]
			xx += x[j] * x[j]
		}
		s := make([]float64, d)
		g.rot.apply(x, s)
		g.rot.apply(y, s)
		var xy2, xx2 float64
		for j := range d {
			xy2 += x[j] * y[j]
			xx2 += x[j] * x[j]
		}
		if math.Abs(xy-xy2) > 1e-9*xx || math.Abs(xx-xx2) > 1e-9*xx {
			t.Fatalf("d=%d: inner products %v→%v, norms %v→%v", d, xy, xy2, xx, xx2)
		}
	}
}

func TestFvecsReadableByVecfile(t *testing.T) {
	p := DataParams{N: 300, Dim: 16, Seed: 2}
	b := genBytes(t, p, streamBase, p.N)
	r := vecfile.NewFVecs(bytes.NewReader(b), int64(len(b)))
	want := make([]float32, p.N*p.Dim)
	NewGenerator(p).Fill(streamBase, 0, want)
	for i := 0; ; i++ {
		rec, err := r.Next()
		if err == io.EOF {
			if i != p.N {
				t.Fatalf("%d records, want %d", i, p.N)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for j, v := range rec.Vector {
			if v != want[i*p.Dim+j] {
				t.Fatalf("record %d differs at %d", i, j)
			}
		}
	}
}

func TestLoadDatasetCaches(t *testing.T) {
	dir := t.TempDir()
	p := DataParams{N: 2500, Dim: 24, Seed: 5}
	ui := newUI(io.Discard, "off")
	ds, err := loadDataset(context.Background(), dir, p, 40, ui)
	if err != nil {
		t.Fatal(err)
	}
	if !ds.Generated || !ds.TruthComputed || len(ds.Truth) != 40 || len(ds.Truth[0]) != TruthK {
		t.Fatalf("first load: generated %v, truth computed %v, %d truth rows", ds.Generated, ds.TruthComputed, len(ds.Truth))
	}
	first := ds.Truth
	row := append([]float32(nil), ds.Base.Row(1234)...)
	if err := ds.Close(); err != nil {
		t.Fatal(err)
	}
	ds, err = loadDataset(context.Background(), dir, p, 40, ui)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	if ds.Generated || ds.TruthComputed {
		t.Fatal("the second load recomputed a cached file")
	}
	for i := range first {
		for j := range first[i] {
			if first[i][j] != ds.Truth[i][j] {
				t.Fatalf("cached truth differs at %d,%d", i, j)
			}
		}
	}
	for j, v := range ds.Base.Row(1234) {
		if v != row[j] {
			t.Fatal("mapped row differs")
		}
	}
	// A truncated file is not reused.
	base := filepath.Join(dir, p.Key(), fileName("base", p.N))
	if err := os.Truncate(base, 1000); err != nil {
		t.Fatal(err)
	}
	ds2, err := loadDataset(context.Background(), dir, p, 40, ui)
	if err != nil {
		t.Fatal(err)
	}
	defer ds2.Close()
	if !ds2.Generated {
		t.Fatal("a truncated base file was reused")
	}
}
