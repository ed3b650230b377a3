package search

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/spatial"
)

func randUnit(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	embed.Normalize(v)
	return v
}

type refRow struct {
	id  int64
	vec []float32
	pt  spatial.Point
}

// reference is the plain float64 search the SIMD scan must agree with.
func reference(rows []refRow, m embed.Metric, q []float32, k int, region spatial.Region) []int64 {
	type scored struct {
		id    int64
		score float64
	}
	var all []scored
	for _, r := range rows {
		if region != nil && !region.Contains(r.pt) {
			continue
		}
		all = append(all, scored{r.id, m.ScoreRef(q, r.vec)})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].score != all[j].score {
			if m == embed.Cosine {
				return all[i].score > all[j].score
			}
			return all[i].score < all[j].score
		}
		return all[i].id < all[j].id
	})
	var out []int64
	for i := 0; i < len(all) && i < k; i++ {
		out = append(out, all[i].id)
	}
	return out
}

func build(t testing.TB, r *rand.Rand, n, dim int, m embed.Metric) (*Collection, []refRow) {
	t.Helper()
	c := New(dim, m)
	rows := make([]refRow, n)
	ids := make([]int64, n)
	vecs := make([][]float32, n)
	for i := range rows {
		v := randUnit(r, dim)
		if m == embed.L2 {
			for j := range v {
				v[j] *= 3
			}
		}
		rows[i] = refRow{id: int64(10 + 3*i), vec: v}
		ids[i], vecs[i] = rows[i].id, v
	}
	if err := c.Append(ids, vecs, nil); err != nil {
		t.Fatal(err)
	}
	return c, rows
}

func checkAgainstReference(t *testing.T, got []Hit, rows []refRow, m embed.Metric, q []float32, k int, region spatial.Region) {
	t.Helper()
	want := reference(rows, m, q, k, region)
	if len(got) != len(want) {
		t.Fatalf("got %d hits, reference has %d", len(got), len(want))
	}
	byID := map[int64][]float32{}
	for _, r := range rows {
		byID[r.id] = r.vec
	}
	for i := range want {
		gs := m.ScoreRef(q, byID[got[i].ID])
		ws := m.ScoreRef(q, byID[want[i]])
		if math.Abs(float64(got[i].Score)-gs) > 1e-5 {
			t.Fatalf("rank %d: score %v, float64 says %v", i, got[i].Score, gs)
		}
		// float32 and float64 may order near-ties differently; nothing else.
		if got[i].ID != want[i] && math.Abs(gs-ws) > 1e-5 {
			t.Fatalf("rank %d: id %d (%.7f), reference id %d (%.7f)", i, got[i].ID, gs, want[i], ws)
		}
	}
}

func TestExactMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, tc := range []struct {
		n, dim int
		m      embed.Metric
		k      int
	}{
		{1, 3, embed.Cosine, 10},
		{100, 7, embed.Cosine, 1},
		{1000, 31, embed.L2, 10},
		{40000, 64, embed.Cosine, 100}, // several workers and chunks
		{5000, 769, embed.L2, 1000},
	} {
		c, rows := build(t, r, tc.n, tc.dim, tc.m)
		for range 5 {
			q := randUnit(r, tc.dim)
			hits, st, err := c.Exact(context.Background(), q, tc.k, nil)
			if err != nil {
				t.Fatal(err)
			}
			if st.Distances != tc.n || st.Rows != tc.n {
				t.Fatalf("n=%d: stats %+v", tc.n, st)
			}
			checkAgainstReference(t, hits, rows, tc.m, q, tc.k, nil)
		}
	}
}

func TestExactRegionAndDelete(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	c, rows := build(t, r, 3000, 16, embed.Cosine)
	p, err := spatial.NewProjection(rows[0].vec, rows[1].vec, rows[2].vec)
	if err != nil {
		t.Fatal(err)
	}
	c.SetProjection(p)
	for i := range rows {
		rows[i].pt = p.Project(rows[i].vec)
	}
	q := randUnit(r, 16)
	regions := []spatial.Region{
		spatial.Sphere{Center: p.Project(q), Radius: 0.8},
		spatial.Box{Min: spatial.Point{X: 0, Y: -1, Z: 0}, Max: spatial.Point{X: 1, Y: 1, Z: 1}},
	}
	for _, reg := range regions {
		hits, st, err := c.Exact(context.Background(), q, 50, reg)
		if err != nil {
			t.Fatal(err)
		}
		if st.RegionPruned == 0 || st.RegionPruned+st.Distances != 3000 {
			t.Fatalf("%T: stats %+v", reg, st)
		}
		for _, h := range hits {
			if !h.HasPoint || !reg.Contains(h.Point) {
				t.Fatalf("%T: hit %d at %v lies outside", reg, h.ID, h.Point)
			}
		}
		checkAgainstReference(t, hits, rows, embed.Cosine, q, 50, reg)
	}

	// Delete the current top 10: they disappear, the rest move up.
	hits, _, _ := c.Exact(context.Background(), q, 10, nil)
	var del []int64
	for _, h := range hits {
		del = append(del, h.ID)
	}
	if n := c.Delete(append(del, 999999, del[0])); n != 10 {
		t.Fatalf("Delete removed %d, want 10", n)
	}
	if c.Len() != 2990 || c.Contains(del[0]) || !c.Contains(rows[5].id) {
		t.Fatalf("after delete: Len %d, Contains(deleted) %v", c.Len(), c.Contains(del[0]))
	}
	var alive []refRow
	dead := map[int64]bool{}
	for _, id := range del {
		dead[id] = true
	}
	for _, r := range rows {
		if !dead[r.id] {
			alive = append(alive, r)
		}
	}
	hits, _, _ = c.Exact(context.Background(), q, 10, nil)
	checkAgainstReference(t, hits, alive, embed.Cosine, q, 10, nil)
}

func TestAppendRejectsBadInput(t *testing.T) {
	c := New(2, embed.L2)
	if err := c.Append([]int64{5}, [][]float32{{1, 2}}, nil); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name string
		ids  []int64
		vecs [][]float32
		pts  []spatial.Point
	}{
		{"id not ascending", []int64{5}, [][]float32{{1, 2}}, nil},
		{"ids out of order", []int64{9, 7}, [][]float32{{1, 2}, {3, 4}}, nil},
		{"wrong dim", []int64{6}, [][]float32{{1}}, nil},
		{"points without projection", []int64{6}, [][]float32{{1, 2}}, []spatial.Point{{}}},
		{"length mismatch", []int64{6, 7}, [][]float32{{1, 2}}, nil},
	}
	for _, tc := range bad {
		if err := c.Append(tc.ids, tc.vecs, tc.pts); err == nil {
			t.Errorf("%s: Append succeeded", tc.name)
		}
	}
	if c.Len() != 1 {
		t.Fatalf("a rejected Append changed the collection: Len %d", c.Len())
	}
}

// Searches run beside appends, deletes and a projection change; under -race
// this checks the snapshot protocol. Every search sees a prefix of the rows.
func TestConcurrentSearchAndWrite(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	const dim = 8
	c := New(dim, embed.Cosine)
	var all [][]float32
	for range 3 {
		all = append(all, randUnit(r, dim))
	}
	if err := c.Append([]int64{1, 2, 3}, all, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rr := rand.New(rand.NewPCG(uint64(g), 1))
			for ctx.Err() == nil {
				q := randUnit(rr, dim)
				hits, st, err := c.Exact(context.Background(), q, 5, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if len(hits) == 0 || st.Rows < 3 {
					t.Errorf("search saw %d hits of %d rows", len(hits), st.Rows)
					return
				}
				c.ForEach(func(int64, []float32, *spatial.Point) bool { return true })
			}
		}()
	}
	next := int64(4)
	for i := 0; i < 300; i++ {
		batch := 1 + i%37
		ids := make([]int64, batch)
		vecs := make([][]float32, batch)
		var pts []spatial.Point
		p := c.Projection()
		if p != nil {
			pts = make([]spatial.Point, batch)
		}
		for j := range ids {
			ids[j], vecs[j] = next, randUnit(r, dim)
			if p != nil {
				pts[j] = p.Project(vecs[j])
			}
			next++
		}
		if err := c.Append(ids, vecs, pts); err != nil {
			t.Fatal(err)
		}
		if i == 100 {
			p, err := spatial.NewProjection(all[0], all[1], all[2])
			if err != nil {
				t.Fatal(err)
			}
			c.SetProjection(p)
		}
		if i%10 == 0 {
			c.Delete([]int64{next - 2})
		}
	}
	cancel()
	wg.Wait()
	if got, want := c.Len(), int(next-1)-30; got != want {
		t.Fatalf("Len = %d, want %d", got, want)
	}
}

func BenchmarkExact(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{10000, 100000} {
		c, _ := build(b, r, n, 768, embed.Cosine)
		q := randUnit(r, 768)
		b.Run("n="+itoa(n)+"/dim=768/k=10", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.Exact(context.Background(), q, 10, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
