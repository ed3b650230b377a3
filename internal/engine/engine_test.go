package engine

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/hartonomous/hartd/internal/spatial"
	"github.com/hartonomous/hartd/internal/store/sqlite"
)

func openEngine(t testing.TB, dir string) (*Engine, func()) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := Open(context.Background(), st, nil)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return e, func() { e.Close(); st.Close() }
}

func randItems(r *rand.Rand, n, dim int) []Item {
	items := make([]Item, n)
	for i := range items {
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		items[i] = Item{Vector: v}
	}
	return items
}

// Anchors wait for three distinct vectors; the items before them are
// projected when they are chosen, in the same transaction.
func TestAnchorsChosenAtThirdDistinctVector(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e, closeStore := openEngine(t, dir)
	if _, err := e.CreateModel(ctx, "m", 4, "cosine", 7); err != nil {
		t.Fatal(err)
	}
	insert := func(v ...float32) int64 {
		t.Helper()
		ids, err := e.Insert(ctx, "m", []Item{{Vector: v}})
		if err != nil {
			t.Fatal(err)
		}
		return ids[0]
	}
	a := insert(1, 0, 0, 0)
	insert(2, 0, 0, 0) // the same direction: not distinct for a cosine model
	b := insert(0, 1, 0, 0)
	if _, err := e.Project(ctx, "m", []float32{1, 1, 1, 1}); !errors.Is(err, ErrNoProjection) {
		t.Fatalf("Project with two distinct vectors = %v, want ErrNoProjection", err)
	}
	if it, _ := e.Get(ctx, "m", a); it.Point != nil {
		t.Fatalf("item %d has a point before the anchors exist", a)
	}
	c := insert(0, 0, 1, 0)
	if info, _ := e.Model(ctx, "m"); !info.ProjectionReady || info.Count != 4 {
		t.Fatalf("after the third distinct vector: %+v", info)
	}
	for _, id := range []int64{a, b, c} {
		it, err := e.Get(ctx, "m", id)
		if err != nil || it.Point == nil {
			t.Fatalf("item %d: point %v, %v", id, it.Point, err)
		}
		p, err := e.Project(ctx, "m", it.Vector)
		if err != nil || p != *it.Point {
			t.Fatalf("item %d: stored point %v, Project gives %v (%v)", id, *it.Point, p, err)
		}
	}
	closeStore()

	// The anchors and points survive a restart.
	e2, closeStore2 := openEngine(t, dir)
	defer closeStore2()
	if info, _ := e2.Model(ctx, "m"); !info.ProjectionReady || info.Count != 4 {
		t.Fatalf("after restart: %+v", info)
	}
	it, _ := e2.Get(ctx, "m", a)
	p, _ := e2.Project(ctx, "m", it.Vector)
	if it.Point == nil || p != *it.Point {
		t.Fatalf("after restart: stored point %v, Project %v", it.Point, p)
	}
}

// The same data and seed give the same anchors and points.
func TestProjectionDeterministic(t *testing.T) {
	ctx := context.Background()
	var points [2][]spatial.Point
	for run := range 2 {
		e, closeStore := openEngine(t, t.TempDir())
		if _, err := e.CreateModel(ctx, "m", 32, "l2", 99); err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(11, 11))
		var ids []int64
		for range 5 {
			got, err := e.Insert(ctx, "m", randItems(r, 40, 32))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, got...)
		}
		for _, id := range ids {
			it, err := e.Get(ctx, "m", id)
			if err != nil || it.Point == nil {
				t.Fatalf("run %d item %d: %v %v", run, id, it.Point, err)
			}
			points[run] = append(points[run], *it.Point)
		}
		closeStore()
	}
	for i := range points[0] {
		if points[0][i] != points[1][i] {
			t.Fatalf("item %d: point %v in run 0, %v in run 1", i, points[0][i], points[1][i])
		}
	}
}

// Searches return the same hits before and after a restart, and Exact
// agrees with a float64 reference through the engine's normalization.
func TestSearchSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e, closeStore := openEngine(t, dir)
	if _, err := e.CreateModel(ctx, "m", 24, "", 0); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(12, 12))
	for range 4 {
		if _, err := e.Insert(ctx, "m", randItems(r, 500, 24)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Delete(ctx, "m", []int64{5, 6, 7}); err != nil {
		t.Fatal(err)
	}
	queries := randItems(r, 10, 24)
	search := func(e *Engine) [][]Hit {
		var out [][]Hit
		for _, q := range queries {
			hits, st, err := e.Search(ctx, SearchRequest{Model: "m", Vector: q.Vector, K: 10, Mode: ModeExact})
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode != ModeExact || st.Distances != 1997 {
				t.Fatalf("stats %+v", st)
			}
			out = append(out, hits)
		}
		return out
	}
	before := search(e)
	closeStore()
	e2, closeStore2 := openEngine(t, dir)
	defer closeStore2()
	after := search(e2)
	for i := range before {
		if len(before[i]) != 10 || len(after[i]) != 10 {
			t.Fatalf("query %d: %d hits before, %d after", i, len(before[i]), len(after[i]))
		}
		for j := range before[i] {
			b, a := before[i][j], after[i][j]
			if b.ID != a.ID || b.Score != a.Score || *b.Point != *a.Point {
				t.Fatalf("query %d rank %d: %+v before, %+v after", i, j, b, a)
			}
			if b.ID >= 5 && b.ID <= 7 {
				t.Fatalf("deleted id %d returned", b.ID)
			}
			if math.IsNaN(float64(b.Score)) || b.Score > 1.000001 {
				t.Fatalf("cosine score %v", b.Score)
			}
		}
	}
}
