package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/hartonomous/hartd/internal/store"
	"github.com/hartonomous/hartd/internal/store/open"
	"github.com/hartonomous/hartd/internal/store/pgtest"
)

// The engine behaves the same on every store: the same inserts, deletes and
// searches give the same ids and scores on the embedded SQLite store and on
// PostgreSQL + PostGIS; and SEARCH_MODE_STORE, which runs the seed's two
// steps inside the database, agrees with SEARCH_MODE_SEED, which runs them
// in the runtime core.
func TestSameResultsOnEveryStore(t *testing.T) {
	ctx := context.Background()
	stores := map[string]func(t *testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store {
			st, err := open.Open(ctx, "", open.Options{DataDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
		"postgres": func(t *testing.T) store.Store {
			dsn, _ := pgtest.Database(t)
			st, err := open.Open(ctx, dsn, open.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
	type result struct {
		ids    []int64
		scores []float32
	}
	const dim, k = 40, 10
	r := rand.New(rand.NewPCG(40, 40))
	data := randItems(r, 3000, dim)
	for i := range data {
		data[i].Text = fmt.Sprintf("item %d", i) // distinct: equal content would be deduplicated
	}
	queries := randItems(r, 12, dim)
	results := map[string]map[string][]result{} // store → mode → per query
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			st := stores[name](t)
			defer st.Close()
			e, err := Open(ctx, st, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if _, err := e.CreateModel(ctx, "m", dim, "cosine", 9); err != nil {
				t.Fatal(err)
			}
			for lo := 0; lo < len(data); lo += 1000 {
				if _, err := e.Insert(ctx, "m", data[lo:lo+1000]); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := e.Delete(ctx, "m", []int64{3, 500, 2999}); err != nil {
				t.Fatal(err)
			}
			byMode := map[string][]result{}
			for _, mode := range []Mode{ModeExact, ModeSeed, ModeStore} {
				for _, q := range queries {
					hits, _, err := e.Search(ctx, SearchRequest{Model: "m", Vector: q.Vector, K: k, Mode: mode})
					if err != nil {
						t.Fatalf("%s: %v", mode, err)
					}
					var res result
					for _, h := range hits {
						if h.Point == nil || h.Text != fmt.Sprintf("item %d", h.ID-1) {
							t.Fatalf("%s hit %+v lacks its point or text", mode, h)
						}
						res.ids, res.scores = append(res.ids, h.ID), append(res.scores, h.Score)
					}
					byMode[mode.String()] = append(byMode[mode.String()], res)
				}
			}
			// STORE and SEED are the same two steps, in the database and in Go.
			for i := range queries {
				s, g := byMode["store"][i], byMode["seed"][i]
				if len(s.ids) != len(g.ids) {
					t.Fatalf("query %d: store mode %v, seed mode %v", i, s.ids, g.ids)
				}
				for j := range s.ids {
					if s.ids[j] != g.ids[j] || math.Abs(float64(s.scores[j]-g.scores[j])) > 1e-5 {
						t.Fatalf("query %d rank %d: store mode %d (%v), seed mode %d (%v)", i, j, s.ids[j], s.scores[j], g.ids[j], g.scores[j])
					}
				}
			}
			results[name] = byMode
		})
	}
	if len(results) < 2 {
		return // postgres skipped; said so above
	}
	for _, mode := range []string{"exact", "seed", "store"} {
		for i := range queries {
			a, b := results["sqlite"][mode][i], results["postgres"][mode][i]
			for j := range a.ids {
				if a.ids[j] != b.ids[j] || math.Abs(float64(a.scores[j]-b.scores[j])) > 1e-5 {
					t.Fatalf("%s query %d rank %d: sqlite %d (%v), postgres %d (%v)", mode, i, j, a.ids[j], a.scores[j], b.ids[j], b.scores[j])
				}
			}
		}
	}
}
