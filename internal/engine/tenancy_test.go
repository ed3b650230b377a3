package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/hartonomous/hartd/internal/store"
	"github.com/hartonomous/hartd/internal/tenant"
)

// Two tenants with interleaved data in models of the same name: thousands
// of randomized searches (every mode), gets and deletes, and not one row of
// one tenant reaches the other.
func TestTenantIsolation(t *testing.T) {
	ctx := context.Background()
	e, closeStore := openEngine(t, t.TempDir())
	defer closeStore()
	var ctxs [2]context.Context
	for i, name := range []string{"acme", "globex"} {
		tn, err := e.st.EnsureTenant(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		ctxs[i] = tenant.With(ctx, tenant.Identity{Tenant: tn.ID, TenantName: name, Principal: name})
		if _, err := e.CreateModel(ctxs[i], "shared-name", 16, "cosine", 3); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.CreateModel(ctxs[0], "acme-only", 16, "cosine", 3); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(11, 11))
	owner := map[int64]int{} // embedding id → tenant index
	var ids [2][]int64
	batches, per, ops := 40, 100, 3000 // 4,000 rows, interleaved batch by batch
	if raceEnabled {
		batches, ops = 20, 1000 // the race detector slows each search 20-fold
	}
	for b := range batches {
		w := b % 2
		items := randItems(r, per, 16)
		for i := range items {
			items[i].Text = fmt.Sprintf("tenant %d row %d-%d", w, b, i)
		}
		got, err := e.Insert(ctxs[w], "shared-name", items)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range got {
			if _, dup := owner[id]; dup {
				t.Fatalf("id %d given to both tenants", id)
			}
			owner[id] = w
		}
		ids[w] = append(ids[w], got...)
	}
	var searches, gets, crossGets, deletes, crossDeletes, hitsSeen int
	modes := []Mode{ModeExact, ModeHybrid, ModeSeed, ModeStore}
	for i := range ops {
		w := r.IntN(2)
		switch op := r.IntN(10); {
		case op < 6:
			q := randItems(r, 1, 16)[0].Vector
			if r.IntN(3) == 0 { // sometimes the other tenant's own vector as the query
				other := ids[1-w][r.IntN(len(ids[1-w]))]
				it, err := e.Get(ctxs[1-w], "shared-name", other)
				if err == nil {
					q = it.Vector
				}
			}
			hits, _, err := e.Search(ctxs[w], SearchRequest{Model: "shared-name", Vector: q, K: 1 + r.IntN(50), Mode: modes[r.IntN(len(modes))]})
			if err != nil {
				t.Fatalf("search %d: %v", i, err)
			}
			for _, h := range hits {
				if owner[h.ID] != w || h.Text == "" || h.Text[7] != byte('0'+w) {
					t.Fatalf("search %d of tenant %d returned %+v of tenant %d", i, w, h, owner[h.ID])
				}
			}
			searches++
			hitsSeen += len(hits)
		case op < 8:
			id := ids[1-w][r.IntN(len(ids[1-w]))]
			if _, err := e.Get(ctxs[w], "shared-name", id); !errors.Is(err, ErrNotFound) {
				t.Fatalf("tenant %d got tenant %d's id %d: %v", w, 1-w, id, err)
			}
			crossGets++
			id = ids[w][r.IntN(len(ids[w]))]
			if it, err := e.Get(ctxs[w], "shared-name", id); err == nil && owner[it.ID] != w {
				t.Fatalf("tenant %d's get of %d returned tenant %d's row", w, id, owner[it.ID])
			}
			gets++
		default:
			id := ids[1-w][r.IntN(len(ids[1-w]))]
			if _, err := e.Delete(ctxs[w], "shared-name", []int64{id}); !errors.Is(err, ErrNotFound) {
				t.Fatalf("tenant %d deleted tenant %d's id %d: %v", w, 1-w, id, err)
			}
			crossDeletes++
			k := r.IntN(len(ids[w]))
			if _, err := e.Delete(ctxs[w], "shared-name", []int64{ids[w][k]}); err != nil {
				t.Fatalf("tenant %d's delete of its own %d: %v", w, ids[w][k], err)
			}
			ids[w] = append(ids[w][:k], ids[w][k+1:]...)
			deletes++
		}
	}
	// Models of another tenant do not exist for the caller.
	if _, _, err := e.Search(ctxs[1], SearchRequest{Model: "acme-only", Vector: make([]float32, 16), K: 1}); !errors.Is(err, ErrModelNotFound) {
		t.Fatalf("globex searched acme's model: %v", err)
	}
	if _, err := e.Insert(ctx, "shared-name", randItems(r, 1, 16)); !errors.Is(err, ErrModelNotFound) {
		t.Fatalf("the default tenant inserted into another tenant's model: %v", err)
	}
	if ms := e.TenantModels(ctxs[1]); len(ms) != 1 || ms[0].Name != "shared-name" {
		t.Fatalf("globex lists %+v", ms)
	}
	// What is left, each tenant still finds all of and only its own.
	for w := range 2 {
		n := 0
		for range ids[w] {
			n++
		}
		info, err := e.Model(ctxs[w], "shared-name")
		if err != nil || info.Count != n {
			t.Fatalf("tenant %d's model holds %d rows, want %d (%v)", w, info.Count, n, err)
		}
	}
	t.Logf("isolation: 2 tenants, %d rows interleaved; %d searches (%d hits, all the caller's), %d own gets, %d cross-tenant gets (all NotFound), "+
		"%d own deletes, %d cross-tenant deletes (all NotFound); rows leaked: 0", batches*per, searches, hitsSeen, gets, crossGets, deletes, crossDeletes)
}

func TestContentAndSemanticDedup(t *testing.T) {
	ctx := context.Background()
	e, closeStore := openEngine(t, t.TempDir())
	defer closeStore()
	if _, err := e.CreateModel(ctx, "m", 4, "cosine", 1); err != nil {
		t.Fatal(err)
	}
	ins := func(opts InsertOptions, items ...Item) []InsertResult {
		t.Helper()
		res, err := e.InsertItems(ctx, "m", items, opts)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a := ins(InsertOptions{}, Item{Vector: []float32{1, 0, 0, 0}, Text: "hello"})
	b := ins(InsertOptions{}, Item{Vector: []float32{0, 1, 0, 0}, Text: "hello"})
	if a[0].Status != StatusNew || b[0].Status != StatusContent || b[0].ID != a[0].ID || b[0].ReferenceCount != 2 {
		t.Fatalf("the same text twice: %+v then %+v", a, b)
	}
	// Near the first (cosine 0.995 >= 0.95): a semantic duplicate.
	c := ins(InsertOptions{}, Item{Vector: []float32{1, 0.1, 0, 0}, Text: "hi there"})
	if c[0].Status != StatusSemantic || c[0].ID != a[0].ID || c[0].ReferenceCount != 3 {
		t.Fatalf("a near vector with other text: %+v", c)
	}
	// Skipped on request, and never for a bare vector.
	d := ins(InsertOptions{SkipSemantic: true}, Item{Vector: []float32{1, 0.1, 0, 0}, Text: "hey"})
	f := ins(InsertOptions{}, Item{Vector: []float32{1, 0.1, 0, 0}})
	if d[0].Status != StatusNew || f[0].Status != StatusNew {
		t.Fatalf("skipped semantic check: %+v; bare vector: %+v", d, f)
	}
	// A tenant's stricter policy applies (after the cache is dropped).
	tn, err := e.st.EnsureTenant(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.SetDedupPolicy(ctx, store.DedupPolicy{TenantID: tn.ID, Name: "strict", Threshold: 0.999, Active: true}); err != nil {
		t.Fatal(err)
	}
	e.ForgetPolicy(tn.ID)
	g := ins(InsertOptions{}, Item{Vector: []float32{1, 0.1, 0.05, 0}, Text: "howdy"}) // cosine 0.9988 to "hey"
	if g[0].Status != StatusNew {
		t.Fatalf("under a 0.999 policy, cosine 0.9988: %+v", g)
	}
	info, _ := e.Model(ctx, "m")
	if info.Count != 4 { // a, d, f, g
		t.Fatalf("the core holds %d rows, want 4", info.Count)
	}
	// Concurrent inserts of the same content: one atom, one row.
	var wg sync.WaitGroup
	res := make([]InsertResult, 16)
	for w := range res {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.InsertItems(ctx, "m", []Item{{Vector: []float32{0, 0, float32(w + 1), 1}, Text: "concurrent"}}, InsertOptions{SkipSemantic: true})
			if err != nil {
				t.Error(err)
				return
			}
			res[w] = r[0]
		}()
	}
	wg.Wait()
	news, atoms := 0, map[int64]bool{}
	for _, r := range res {
		atoms[r.AtomID] = true
		if r.Status == StatusNew {
			news++
		}
	}
	if news != 1 || len(atoms) != 1 {
		t.Fatalf("16 concurrent inserts of one text: %d new, %d atoms", news, len(atoms))
	}
	if info, _ := e.Model(ctx, "m"); info.Count != 5 {
		t.Fatalf("the core holds %d rows, want 5", info.Count)
	}
}
