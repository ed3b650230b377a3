package search

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/spatial"
)

// clustered returns n unit vectors in nc clusters of unequal size and
// spread, with a decaying spectrum: the structure real embeddings have, on
// which an index is fair to judge (uniform random data has no neighbours).
func clustered(r *rand.Rand, n, dim, nc int) [][]float32 {
	scale := make([]float64, dim)
	for i := range scale {
		scale[i] = 1 / math.Sqrt(float64(i+1))
	}
	centers := make([][]float64, nc)
	spread := make([]float64, nc)
	weight := make([]float64, nc)
	var total float64
	for c := range centers {
		centers[c] = make([]float64, dim)
		for i := range centers[c] {
			centers[c][i] = r.NormFloat64() * scale[i]
		}
		spread[c] = 0.15 + 0.35*r.Float64()
		weight[c] = 1 / float64(c+1) // Zipf-like sizes
		total += weight[c]
	}
	out := make([][]float32, n)
	for i := range out {
		x := r.Float64() * total
		c := 0
		for ; c < nc-1 && x > weight[c]; c++ {
			x -= weight[c]
		}
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(centers[c][j] + spread[c]*r.NormFloat64()*scale[j])
		}
		embed.Normalize(v)
		out[i] = v
	}
	return out
}

func appendAll(t testing.TB, c *Collection, vecs [][]float32, firstID int64) {
	t.Helper()
	ids := make([]int64, len(vecs))
	for i := range ids {
		ids[i] = firstID + int64(i)
	}
	if err := c.Append(ids, vecs, nil); err != nil {
		t.Fatal(err)
	}
}

func recallAt(got, want []Hit) float64 {
	in := map[int64]bool{}
	for _, h := range want {
		in[h.ID] = true
	}
	n := 0
	for _, h := range got {
		if in[h.ID] {
			n++
		}
	}
	return float64(n) / float64(len(want))
}

func TestHybridRecallAndExactness(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 21))
	const n, dim, k = 30000, 96, 10
	all := clustered(r, n+100, dim, 60)
	data, queries := all[:n], all[n:]
	c := New(dim, embed.Cosine)
	appendAll(t, c, data, 1)
	if err := c.IndexNow(context.Background(), IndexOptions{Seed: 1}); err != nil {
		t.Fatal(err)
	}
	st := c.IndexState()
	if !st.Built || st.Covered != n || st.Tail != 0 {
		t.Fatalf("index state %+v", st)
	}
	ctx := context.Background()
	var sum float64
	for _, q := range queries {
		want, _, _ := c.Exact(ctx, q, k, nil)
		got, hs, err := c.Hybrid(ctx, q, k, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !hs.Indexed || len(hs.Tiers) < 3 {
			t.Fatalf("stats %+v", hs)
		}
		sum += recallAt(got, want)
	}
	recall := sum / float64(len(queries))
	t.Logf("recall@%d = %.3f at the default budget (n=%d, dim=%d)", k, recall, n, dim)
	if recall < 0.9 {
		t.Fatalf("recall@%d = %.3f, want ≥ 0.9", k, recall)
	}
	// A budget that covers every row is exact.
	for _, q := range queries[:10] {
		want, _, _ := c.Exact(ctx, q, k, nil)
		got, _, _ := c.Hybrid(ctx, q, k, n, nil)
		for i := range want {
			if got[i].ID != want[i].ID && math.Abs(float64(got[i].Score-want[i].Score)) > 1e-6 {
				t.Fatalf("full budget rank %d: %+v, exact %+v", i, got[i], want[i])
			}
		}
	}
}

// Rows appended after the index was built are found through the tail, and
// deleted rows never come back.
func TestHybridTailAndDeletes(t *testing.T) {
	r := rand.New(rand.NewPCG(22, 22))
	const dim = 32
	c := New(dim, embed.L2)
	appendAll(t, c, clustered(r, 12000, dim, 20), 1)
	ctx := context.Background()
	if err := c.IndexNow(ctx, IndexOptions{}); err != nil {
		t.Fatal(err)
	}
	fresh := clustered(r, 50, dim, 3)
	appendAll(t, c, fresh, 100000)
	for i, v := range fresh {
		hits, hs, err := c.Hybrid(ctx, v, 1, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if hits[0].ID != 100000+int64(i) || hits[0].Score > 1e-6 {
			t.Fatalf("fresh row %d: top hit %+v, stats %+v", i, hits[0], hs)
		}
	}
	c.Delete([]int64{100000, 100001})
	if err := c.IndexNow(ctx, IndexOptions{}); err != nil { // merges the tail
		t.Fatal(err)
	}
	if st := c.IndexState(); st.Tail != 0 {
		t.Fatalf("tail after merge: %+v", st)
	}
	for i, v := range fresh {
		hits, _, _ := c.Hybrid(ctx, v, 1, 0, nil)
		if i < 2 {
			if hits[0].ID == 100000+int64(i) {
				t.Fatalf("deleted row %d returned", hits[0].ID)
			}
			continue
		}
		if hits[0].ID != 100000+int64(i) {
			t.Fatalf("merged row %d: top hit %+v", 100000+i, hits[0])
		}
	}
}

// The indexer runs beside appends and searches (run with -race).
func TestIndexerConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 23))
	const dim = 16
	c := New(dim, embed.Cosine)
	stop := c.StartIndexer(IndexOptions{MinRows: 1000, MergeRows: 300, MergeDelay: time.Millisecond})
	defer stop()
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		rr := rand.New(rand.NewPCG(1, 1))
		for {
			select {
			case <-done:
				return
			default:
			}
			q := clustered(rr, 1, dim, 1)[0]
			if _, _, err := c.Hybrid(context.Background(), q, 5, 32, nil); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	next := int64(1)
	for i := 0; i < 40; i++ {
		batch := clustered(r, 200, dim, 8)
		appendAll(t, c, batch, next)
		next += int64(len(batch))
		if i%7 == 0 {
			c.Delete([]int64{next - 1})
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.IndexState().Tail != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	close(done)
	wg.Wait()
	st := c.IndexState()
	if !st.Built || st.Tail != 0 || st.Covered != int(next-1) {
		t.Fatalf("index state after the load: %+v (rows %d)", st, next-1)
	}
}

func BenchmarkHybrid(b *testing.B) {
	r := rand.New(rand.NewPCG(24, 24))
	const n, dim = 100000, 768
	all := clustered(r, n+200, dim, 100)
	c := New(dim, embed.Cosine)
	appendAll(b, c, all[:n], 1)
	start := time.Now()
	if err := c.IndexNow(context.Background(), IndexOptions{Seed: 1}); err != nil {
		b.Fatal(err)
	}
	b.Logf("index built in %v: %+v", time.Since(start), c.IndexState())
	queries := all[n:]
	truth := make([][]Hit, len(queries))
	for i, q := range queries {
		truth[i], _, _ = c.Exact(context.Background(), q, 10, nil)
	}
	for _, cand := range []int{32, 64, 128, 256, 512} {
		b.Run("candidates="+itoa(cand), func(b *testing.B) {
			var sum float64
			var tiers []Tier
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				q := i % len(queries)
				got, hs, err := c.Hybrid(context.Background(), queries[q], 10, cand, nil)
				if err != nil {
					b.Fatal(err)
				}
				sum += recallAt(got, truth[q])
				tiers = hs.Tiers
				i++
			}
			b.ReportMetric(sum/float64(i), "recall@10")
			b.Logf("tiers: %+v", tiers)
		})
	}
}

// Seed mode takes the nearest rows in 2-D projected space and re-ranks them:
// it equals that computed by brute force here, and its recall is what it is.
func TestSeedMode(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 25))
	const n, dim = 5000, 48
	data := clustered(r, n, dim, 10)
	c := New(dim, embed.Cosine)
	appendAll(t, c, data, 1)
	ctx := context.Background()
	q := clustered(r, 1, dim, 1)[0]
	if hits, _, err := c.Seed(ctx, q, 10, 100, nil); err != nil || len(hits) != 0 {
		t.Fatalf("Seed without a projection: %v, %v", hits, err)
	}
	p, err := spatial.NewProjection(data[0], data[1], data[2])
	if err != nil {
		t.Fatal(err)
	}
	c.SetProjection(p)
	hits, st, err := c.Seed(ctx, q, 10, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Brute force: 100 nearest in (x, y), then the best 10 of them by cosine.
	qp := p.Project(q)
	type cand struct {
		id int64
		d  float64
	}
	var all []cand
	for i, v := range data {
		pt := p.Project(v)
		all = append(all, cand{int64(i + 1), (pt.X-qp.X)*(pt.X-qp.X) + (pt.Y-qp.Y)*(pt.Y-qp.Y)})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].d < all[j].d || (all[i].d == all[j].d && all[i].id < all[j].id) })
	var want []refRow
	for _, cd := range all[:100] {
		want = append(want, refRow{id: cd.id, vec: data[cd.id-1]})
	}
	checkAgainstReference(t, hits, want, embed.Cosine, q, 10, nil)
	if st.Distances != 100 || st.Tiers[0].Examined != n {
		t.Fatalf("stats %+v", st)
	}
}

// With a region, hybrid returns what exact returns: every hit inside it.
func TestHybridRegionIsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(26, 26))
	const n, dim = 12000, 24
	data := clustered(r, n, dim, 12)
	c := New(dim, embed.Cosine)
	p, err := spatial.NewProjection(data[0], data[1], data[2])
	if err != nil {
		t.Fatal(err)
	}
	c.SetProjection(p)
	pts := make([]spatial.Point, n)
	ids := make([]int64, n)
	for i, v := range data {
		pts[i], ids[i] = p.Project(v), int64(i+1)
	}
	if err := c.Append(ids, data, pts); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.IndexNow(ctx, IndexOptions{}); err != nil {
		t.Fatal(err)
	}
	q := clustered(r, 1, dim, 1)[0]
	region := spatial.Sphere{Center: p.Project(q), Radius: 0.3}
	want, _, _ := c.Exact(ctx, q, 10, region)
	got, hs, err := c.Hybrid(ctx, q, 10, 0, region)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || hs.Indexed {
		t.Fatalf("hybrid with a region: %d hits (indexed %v), exact %d", len(got), hs.Indexed, len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID {
			t.Fatalf("rank %d: %d, exact %d", i, got[i].ID, want[i].ID)
		}
	}
}
