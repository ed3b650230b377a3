// Package storetest is the conformance suite of store.Store: every dialect
// runs Run against a fresh, migrated, empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/spatial"
	"github.com/hartonomous/hartd/internal/store"
)

// Opener returns a fresh, empty store, closed by the suite. reopen, when not
// nil, closes nothing and returns a second handle on the same database, to
// check that what one handle committed the other reads.
type Opener func(t *testing.T) (s store.Store, reopen func() store.Store)

// Run runs the whole suite.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store, func() store.Store)
	}{
		{"Models", testModels},
		{"InsertGetScan", testInsertGetScan},
		{"AnchorsAndReproject", testAnchors},
		{"Items", testItems},
		{"DeleteAllOrNothing", testDelete},
		{"InsertIsAtomic", testInsertAtomic},
		{"ConcurrentReadsAndWrites", testConcurrent},
		{"TenantsAndKeys", testTenantsAndKeys},
		{"Ledger", testLedger},
		{"DedupPolicies", testDedupPolicies},
		{"Dedup", testDedup},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, reopen := open(t)
			tc.fn(t, s, reopen)
		})
	}
}

func vec(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	embed.Normalize(v)
	return v
}

func mustModel(t *testing.T, s store.Store, name string, dim int) store.Model {
	t.Helper()
	m, err := s.CreateModel(context.Background(), store.Model{Name: name, Dimension: dim, Metric: embed.Cosine, AnchorSeed: 42})
	if err != nil {
		t.Fatalf("CreateModel(%s): %v", name, err)
	}
	return m
}

func testModels(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	a := mustModel(t, s, "a", 8)
	if a.ID == 0 || a.CreatedAt.IsZero() || a.TenantID != store.DefaultTenant {
		t.Fatalf("CreateModel returned %+v", a)
	}
	if _, err := s.CreateModel(ctx, store.Model{Name: "a", Dimension: 4, Metric: embed.L2}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate CreateModel = %v, want ErrExists", err)
	}
	b, err := s.CreateModel(ctx, store.Model{Name: "b", Dimension: 4096, Metric: embed.L2, AnchorSeed: 1 << 63})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := s.Models(ctx)
	if err != nil || len(ms) != 2 {
		t.Fatalf("Models = %v, %v", ms, err)
	}
	if ms[1].ID != b.ID || ms[1].Metric != embed.L2 || ms[1].Dimension != 4096 || ms[1].AnchorSeed != 1<<63 {
		t.Fatalf("Models()[1] = %+v, want %+v", ms[1], b)
	}
	if a, err := s.Anchors(ctx, a.ID); a != nil || err != nil {
		t.Fatalf("Anchors of a new model = %v, %v", a, err)
	}
}

func testInsertGetScan(t *testing.T, s store.Store, reopen func() store.Store) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 1))
	m := mustModel(t, s, "m", 16)
	other := mustModel(t, s, "other", 16)
	items := make([]store.NewItem, 1000)
	for i := range items {
		items[i] = store.NewItem{Vector: vec(r, 16), Text: fmt.Sprintf("item %d", i)}
		if i%2 == 0 {
			items[i].SourceURI, items[i].SourceType, items[i].Metadata = "file:///x", "doc", `{"i":1}`
		}
	}
	ids, err := s.Insert(ctx, store.Batch{ModelID: m.ID, Items: items, AnchorItems: [3]int{-1, -1, -1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != len(items) {
		t.Fatalf("Insert returned %d ids for %d items", len(ids), len(items))
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("ids not ascending: %d then %d", ids[i-1], ids[i])
		}
	}
	if _, err := s.Insert(ctx, store.Batch{ModelID: other.ID, Items: items[:1], AnchorItems: [3]int{-1, -1, -1}}); err != nil {
		t.Fatal(err)
	}
	// Every id is its own item's.
	all, err := s.Items(ctx, m.ID, ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		if all[id].Text != items[i].Text {
			t.Fatalf("ids[%d] = %d holds %q, want %q", i, id, all[id].Text, items[i].Text)
		}
	}
	it, err := s.Get(ctx, m.ID, ids[2])
	if err != nil {
		t.Fatal(err)
	}
	if it.ID != ids[2] || it.Text != "item 2" || it.SourceURI != "file:///x" || it.SourceType != "doc" || it.Metadata != `{"i":1}` || it.Point != nil {
		t.Fatalf("Get = %+v", it)
	}
	for j, x := range items[2].Vector {
		if it.Vector[j] != x {
			t.Fatalf("Get vector[%d] = %v, want %v", j, it.Vector[j], x)
		}
	}
	if _, err := s.Get(ctx, other.ID, ids[2]); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get through another model = %v, want ErrNotFound", err)
	}
	check := func(s store.Store) {
		var n int
		err := s.Scan(ctx, m.ID, func(row store.Row) error {
			if row.ID != ids[n] {
				t.Fatalf("Scan row %d: id %d, want %d", n, row.ID, ids[n])
			}
			for j, x := range items[n].Vector {
				if row.Vector[j] != x {
					t.Fatalf("Scan row %d vector[%d] = %v, want %v", n, j, row.Vector[j], x)
				}
			}
			n++
			return nil
		})
		if err != nil || n != len(ids) {
			t.Fatalf("Scan: %d rows, %v", n, err)
		}
	}
	check(s)
	if reopen != nil {
		check(reopen())
	}
	stop := errors.New("stop")
	if err := s.Scan(ctx, m.ID, func(store.Row) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("Scan did not return the callback's error: %v", err)
	}
}

func testAnchors(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(2, 2))
	m := mustModel(t, s, "m", 8)
	first := []store.NewItem{{Vector: vec(r, 8)}, {Vector: vec(r, 8)}}
	old, err := s.Insert(ctx, store.Batch{ModelID: m.ID, Items: first, AnchorItems: [3]int{-1, -1, -1}})
	if err != nil {
		t.Fatal(err)
	}
	a3 := vec(r, 8)
	p3 := spatial.Point{X: 0.5, Y: 0.25, Z: 0}
	anchors := &store.Anchors{EmbeddingIDs: [3]int64{old[0], old[1], 0}, Vectors: [3][]float32{first[0].Vector, first[1].Vector, a3}}
	b := store.Batch{
		ModelID: m.ID, Items: []store.NewItem{{Vector: a3, Point: &p3}}, Anchors: anchors, AnchorItems: [3]int{-1, -1, 0},
		Reproject: []store.PointUpdate{{ID: old[0], Point: spatial.Point{}}, {ID: old[1], Point: spatial.Point{X: 1.25}}},
	}
	ids, err := s.Insert(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Anchors(ctx, m.ID)
	if err != nil || got == nil {
		t.Fatalf("Anchors = %v, %v", got, err)
	}
	if got.EmbeddingIDs != [3]int64{old[0], old[1], ids[0]} || got.ChosenAt.IsZero() {
		t.Fatalf("Anchors = %+v", got)
	}
	for k := range 3 {
		for j := range got.Vectors[k] {
			if got.Vectors[k][j] != anchors.Vectors[k][j] {
				t.Fatalf("anchor %d vector differs", k)
			}
		}
	}
	want := map[int64]spatial.Point{old[0]: {}, old[1]: {X: 1.25}, ids[0]: p3}
	err = s.Scan(ctx, m.ID, func(row store.Row) error {
		if row.Point == nil || *row.Point != want[row.ID] {
			t.Errorf("row %d: point %v, want %v", row.ID, row.Point, want[row.ID])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	it, _ := s.Get(ctx, m.ID, old[1])
	if it.Point == nil || *it.Point != want[old[1]] {
		t.Fatalf("Get point = %v", it.Point)
	}
}

func testItems(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 3))
	m := mustModel(t, s, "m", 4)
	items := make([]store.NewItem, 50)
	for i := range items {
		items[i] = store.NewItem{Vector: vec(r, 4), Text: string(rune('a' + i%26))}
	}
	ids, err := s.Insert(ctx, store.Batch{ModelID: m.ID, Items: items, AnchorItems: [3]int{-1, -1, -1}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Items(ctx, m.ID, []int64{ids[7], ids[3], 999999})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[ids[7]].Text != items[7].Text || got[ids[3]].Text != items[3].Text || got[ids[3]].Vector != nil {
		t.Fatalf("Items = %+v", got)
	}
	if got, err := s.Items(ctx, m.ID, nil); err != nil || len(got) != 0 {
		t.Fatalf("Items(nil) = %v, %v", got, err)
	}
	if got, _ := s.Items(ctx, m.ID, ids); len(got) != len(ids) {
		t.Fatalf("Items(all %d) returned %d", len(ids), len(got))
	}
}

func testDelete(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(4, 4))
	m := mustModel(t, s, "m", 4)
	items := []store.NewItem{{Vector: vec(r, 4)}, {Vector: vec(r, 4)}, {Vector: vec(r, 4)}}
	ids, err := s.Insert(ctx, store.Batch{ModelID: m.ID, Items: items, AnchorItems: [3]int{-1, -1, -1}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Delete(ctx, m.ID, []int64{ids[0], 424242})
	var miss *store.MissingError
	if !errors.As(err, &miss) || miss.Index != 1 || miss.ID != 424242 || !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Delete with a missing id = %v", err)
	}
	if _, err := s.Get(ctx, m.ID, ids[0]); err != nil {
		t.Fatalf("a failed Delete removed ids[0]: %v", err)
	}
	n, err := s.Delete(ctx, m.ID, []int64{ids[0], ids[2], ids[0]})
	if err != nil || n != 2 {
		t.Fatalf("Delete = %d, %v; want 2", n, err)
	}
	for _, id := range []int64{ids[0], ids[2]} {
		if _, err := s.Get(ctx, m.ID, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get(%d) after Delete = %v", id, err)
		}
	}
	var left []int64
	s.Scan(ctx, m.ID, func(row store.Row) error { left = append(left, row.ID); return nil })
	if len(left) != 1 || left[0] != ids[1] {
		t.Fatalf("rows left: %v", left)
	}
	// ids[2] was the newest: its id is never handed out again.
	again, err := s.Insert(ctx, store.Batch{ModelID: m.ID, Items: items[:1], AnchorItems: [3]int{-1, -1, -1}})
	if err != nil {
		t.Fatal(err)
	}
	if again[0] <= ids[2] {
		t.Fatalf("Insert after deleting the newest id %d returned id %d: ids must only grow", ids[2], again[0])
	}
}

func testInsertAtomic(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(5, 5))
	m := mustModel(t, s, "m", 4)
	// The second item breaks a constraint (metadata that is not an object)
	// after the first was written: nothing of the batch may remain.
	items := []store.NewItem{{Vector: vec(r, 4)}, {Vector: vec(r, 4), Metadata: "[1]"}}
	if _, err := s.Insert(ctx, store.Batch{ModelID: m.ID, Items: items, AnchorItems: [3]int{-1, -1, -1}}); err == nil {
		t.Fatal("Insert of a batch with a bad item succeeded")
	}
	n := 0
	s.Scan(ctx, m.ID, func(store.Row) error { n++; return nil })
	if n != 0 {
		t.Fatalf("a failed Insert left %d rows", n)
	}
	if _, err := s.Insert(ctx, store.Batch{ModelID: 987654, Items: items[:1], AnchorItems: [3]int{-1, -1, -1}}); err == nil {
		t.Fatal("Insert into a missing model succeeded")
	}
}

func testConcurrent(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	m := mustModel(t, s, "m", 8)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var all []int64
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 6))
			for range 20 {
				ids, err := s.Insert(ctx, store.Batch{ModelID: m.ID, Items: []store.NewItem{{Vector: vec(r, 8)}, {Vector: vec(r, 8)}}, AnchorItems: [3]int{-1, -1, -1}})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				all = append(all, ids...)
				mu.Unlock()
				if _, err := s.Items(ctx, m.ID, ids); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	n := 0
	s.Scan(ctx, m.ID, func(store.Row) error { n++; return nil })
	if n != len(all) || n != 160 {
		t.Fatalf("Scan found %d rows, %d were acknowledged", n, len(all))
	}
}

func testClosed(t *testing.T, s store.Store, _ func() store.Store) {
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := s.Models(context.Background()); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Models after Close = %v, want ErrClosed", err)
	}
}
