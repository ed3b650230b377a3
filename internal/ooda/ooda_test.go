package ooda

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/engine"
	"github.com/hartonomous/hartd/internal/search"
	"github.com/hartonomous/hartd/internal/store/sqlite"
)

// blobs returns n unit vectors around nc centres drawn with the given rng:
// two calls with different generators are two different distributions.
func blobs(r *rand.Rand, n, dim, nc int, spread float64) [][]float32 {
	centres := make([][]float64, nc)
	for c := range centres {
		centres[c] = make([]float64, dim)
		for i := range centres[c] {
			centres[c][i] = r.NormFloat64()
		}
	}
	out := make([][]float32, n)
	for i := range out {
		c := centres[r.IntN(nc)]
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(c[j] + spread*r.NormFloat64())
		}
		embed.Normalize(v)
		out[i] = v
	}
	return out
}

func insertAll(t *testing.T, e *engine.Engine, model string, vecs [][]float32) {
	t.Helper()
	for lo := 0; lo < len(vecs); lo += 1000 {
		var items []engine.Item
		for _, v := range vecs[lo:min(lo+1000, len(vecs))] {
			items = append(items, engine.Item{Vector: v})
		}
		if _, err := e.Insert(context.Background(), model, items); err != nil {
			t.Fatal(err)
		}
	}
}

func waitMerged(t *testing.T, e *engine.Engine, model string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		st, err := e.Stats(context.Background(), model)
		if err != nil {
			t.Fatal(err)
		}
		if ix := st[0].Index; ix.Built && ix.Tail == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the index did not catch up within 60s")
}

// The loop sees data drift (a model whose index was trained on one
// distribution receives a larger, different one), retrains, and recall on
// the new traffic recovers, without any search waiting for it.
func TestLoopActsOnDrift(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{Synchronous: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The indexer's own 4x retrain rule is switched off, so that only the
	// loop can fix the drift.
	e, err := engine.OpenOptions(ctx, st, engine.Options{Index: search.IndexOptions{MinRows: 2000, RetrainFactor: 1e6, MergeRows: 500}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	const dim = 32
	if _, err := e.CreateModel(ctx, "m", dim, "cosine", 5); err != nil {
		t.Fatal(err)
	}
	before := blobs(rand.New(rand.NewPCG(1, 1)), 3000, dim, 12, 0.35)
	insertAll(t, e, "m", before)
	waitMerged(t, e, "m")

	drifted := rand.New(rand.NewPCG(2, 2))
	insertAll(t, e, "m", blobs(drifted, 15000, dim, 40, 0.35))
	waitMerged(t, e, "m")
	queries := blobs(drifted, 64, dim, 40, 0.35)
	traffic := func() {
		for _, q := range queries {
			if _, _, err := e.Search(ctx, engine.SearchRequest{Model: "m", Vector: q, K: 10, Mode: engine.ModeHybrid, Candidates: 32}); err != nil {
				t.Fatal(err)
			}
		}
	}
	traffic()
	loop := New(e, Targets{Recall: 0.95, MaxBalance: 4, Sample: 32, Cooldown: time.Millisecond}, nil)
	o1, err := e.Observe(ctx, "m", 32)
	if err != nil {
		t.Fatal(err)
	}
	traffic()
	decisions := loop.Tick(ctx)
	if len(decisions) != 1 || decisions[0].Action != "retrain-index" {
		t.Fatalf("after drift (recall %.3f, balance %.1f) the loop decided %+v", o1.Recall, o1.Balance, decisions)
	}
	t.Logf("drift observed: recall@10 %.3f on %d queries, balance %.1f; decision: %s", o1.Recall, o1.Sampled, o1.Balance, decisions[0].Reason)

	// A second pass while the retrain is in flight decides nothing more.
	if d := loop.Tick(ctx); len(d) != 0 {
		t.Fatalf("a second pass before the retrain landed decided %+v", d)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		at, _ := e.IndexBuiltAt("m")
		if at.After(decisions[0].Time) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the retrain did not land within 60s")
		}
		traffic() // searches go on while it retrains
	}
	traffic()
	o2, err := e.Observe(ctx, "m", 32)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after the retrain: recall@10 %.3f, balance %.1f", o2.Recall, o2.Balance)
	if !(o2.Balance < o1.Balance) || math.IsNaN(o2.Recall) || o2.Recall < o1.Recall {
		t.Fatalf("no recovery: recall %.3f -> %.3f, balance %.1f -> %.1f", o1.Recall, o2.Recall, o1.Balance, o2.Balance)
	}
	stats, err := e.Stats(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(stats[0].Decisions) != 1 || stats[0].Decisions[0].Action != "retrain-index" {
		t.Fatalf("Stats decisions: %+v", stats[0].Decisions)
	}
}
