// Package seedtest checks a store.SpatialSearcher against a brute-force Go
// computation of the seed's two steps: the `candidates` rows nearest to p by
// 2-D distance on (x, y), then the best k of them by exact score.
package seedtest

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/spatial"
	"github.com/hartonomous/hartd/internal/store"
)

// Store is what the suite needs.
type Store interface {
	store.Store
	store.SpatialSearcher
}

// Opener returns a fresh, empty store, which the suite does not close.
type Opener func(t *testing.T) Store

type row struct {
	id  int64
	vec []float32
	p   spatial.Point
}

// Run runs the suite.
func Run(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	r := rand.New(rand.NewPCG(7, 7))
	const dim = 12
	models := map[embed.Metric]store.Model{}
	data := map[embed.Metric][]row{}
	for _, metric := range []embed.Metric{embed.Cosine, embed.L2} {
		m, err := s.CreateModel(ctx, store.Model{Name: metric.String(), Dimension: dim, Metric: metric, AnchorSeed: 1})
		if err != nil {
			t.Fatal(err)
		}
		models[metric] = m
		// Clusters and a wide spread, batches large and small, and some
		// rows without a point (stored before the anchors).
		for _, n := range []int{3, 300, 7, 400} {
			items := make([]store.NewItem, n)
			for i := range items {
				v := make([]float32, dim)
				for j := range v {
					v[j] = float32(r.NormFloat64())
				}
				if metric == embed.Cosine {
					embed.Normalize(v)
				}
				items[i] = store.NewItem{Vector: v}
				if n != 3 {
					scale := 1.0
					if i%3 == 0 {
						scale = 40
					}
					p := spatial.Point{X: r.NormFloat64() * scale, Y: r.NormFloat64() * scale, Z: r.Float64()}
					if i%5 == 0 {
						p.X, p.Y = math.Round(p.X), math.Round(p.Y) // ties in distance
					}
					items[i].Point = &p
				}
			}
			ids, err := s.Insert(ctx, store.Batch{ModelID: m.ID, Items: items, AnchorItems: [3]int{-1, -1, -1}})
			if err != nil {
				t.Fatal(err)
			}
			for i, id := range ids {
				if items[i].Point != nil {
					data[metric] = append(data[metric], row{id, items[i].Vector, *items[i].Point})
				}
			}
		}
	}
	for _, metric := range []embed.Metric{embed.Cosine, embed.L2} {
		m := models[metric]
		for qi := range 5 {
			q := make([]float32, dim)
			for j := range q {
				q[j] = float32(r.NormFloat64())
			}
			if metric == embed.Cosine {
				embed.Normalize(q)
			}
			p := spatial.Point{X: r.NormFloat64() * 10, Y: r.NormFloat64() * 10, Z: r.Float64()}
			if qi == 0 {
				p = spatial.Point{X: 500.25, Y: -499.75} // far from everything
			}
			for _, tc := range []struct{ candidates, k int }{{1, 1}, {10, 3}, {100, 10}, {100, 200}, {5000, 10}} {
				got, err := s.SeedSearch(ctx, m.ID, metric, q, p, tc.candidates, tc.k)
				if err != nil {
					t.Fatalf("%v: SeedSearch(c=%d, k=%d): %v", metric, tc.candidates, tc.k, err)
				}
				want := brute(data[metric], metric, q, p, tc.candidates, tc.k)
				if len(got) != len(want) {
					t.Fatalf("%v q%d c=%d k=%d: %d hits, want %d", metric, qi, tc.candidates, tc.k, len(got), len(want))
				}
				for i := range want {
					g, w := got[i], want[i]
					if g.ID != w.ID || g.Score != w.Score || math.Abs(g.SpatialDistance-w.SpatialDistance) > 1e-9*(1+w.SpatialDistance) {
						t.Fatalf("%v q%d c=%d k=%d: hit %d = %+v, want %+v", metric, qi, tc.candidates, tc.k, i, g, w)
					}
				}
			}
		}
	}
	// Another model's rows never appear, and bad arguments are errors.
	if got, err := s.SeedSearch(ctx, models[embed.L2].ID+1000, embed.L2, make([]float32, dim), spatial.Point{}, 10, 10); err != nil || len(got) != 0 {
		t.Fatalf("SeedSearch of a missing model = %v, %v", got, err)
	}
	for _, bad := range []struct{ c, k int }{{0, 1}, {1, 0}} {
		if _, err := s.SeedSearch(ctx, models[embed.L2].ID, embed.L2, make([]float32, dim), spatial.Point{}, bad.c, bad.k); err == nil {
			t.Fatalf("SeedSearch(c=%d, k=%d) succeeded", bad.c, bad.k)
		}
	}
}

// brute is the two steps in Go. Ties in distance go to the smaller id, as
// in the stores.
func brute(rows []row, metric embed.Metric, q []float32, p spatial.Point, candidates, k int) []store.SeedHit {
	hits := make([]store.SeedHit, len(rows))
	for i, r := range rows {
		hits[i] = store.SeedHit{ID: r.id, SpatialDistance: Dist2D(r.p, p), Score: metric.Score(q, r.vec)}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].SpatialDistance != hits[j].SpatialDistance {
			return hits[i].SpatialDistance < hits[j].SpatialDistance
		}
		return hits[i].ID < hits[j].ID
	})
	if len(hits) > candidates {
		hits = hits[:candidates]
	}
	return store.BestSeedHits(metric, hits, k)
}

// Dist2D is the 2-D distance on (x, y) as PostGIS computes it for points,
// sqrt(dx² + dy²) with each product rounded, so that ties and near-ties
// order the same in Go and in the database.
func Dist2D(a, b spatial.Point) float64 {
	dx, dy := a.X-b.X, a.Y-b.Y
	return math.Sqrt(float64(dx*dx) + float64(dy*dy))
}
