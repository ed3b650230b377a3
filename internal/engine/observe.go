package engine

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// What the adaptive loop (internal/ooda) sees of a model and may do to it.
// The engine keeps each model's recent hybrid queries so that the loop can
// replay a sample exactly and measure recall on real traffic, not on a
// synthetic benchmark.

const (
	recentQueries   = 64 // query vectors kept per model
	recentLatencies = 1024
	keptDecisions   = 16
)

// recent is one model's record of its traffic and of the loop's decisions.
type recent struct {
	mu        sync.Mutex      // guards everything below
	queries   [][]float32     // ring of prepared query vectors (owned: embed.Prepare copies)
	nextQuery int             // ring position
	latencies []time.Duration // ring of hybrid scan latencies
	nextLat   int
	searches  int        // hybrid searches since the last Observe
	decisions []Decision // newest first
}

func (r *recent) record(q []float32, took time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queries) < recentQueries {
		r.queries = append(r.queries, q)
	} else {
		r.queries[r.nextQuery] = q
	}
	r.nextQuery = (r.nextQuery + 1) % recentQueries
	if len(r.latencies) < recentLatencies {
		r.latencies = append(r.latencies, took)
	} else {
		r.latencies[r.nextLat] = took
	}
	r.nextLat = (r.nextLat + 1) % recentLatencies
	r.searches++
}

// Observation is one look at a model.
type Observation struct {
	Model string
	// Searches is the number of hybrid searches since the last observation;
	// P50 and P99 are over the recent ones (up to 1,024).
	Searches int
	P50, P99 time.Duration
	// Sampled recent queries were searched both hybrid and exact; Recall is
	// the mean recall@10 of hybrid against exact over them (NaN if none).
	Sampled int
	Recall  float64
	// IndexBuilt, Balance (largest partition over the mean) and the rows
	// held.
	IndexBuilt bool
	Balance    float64
	Rows       int
}

// ModelNames returns every tenant's models' keys: the name in the default
// tenant, "<tenant id>/<name>" in others. Observe, RetrainIndex,
// IndexBuiltAt and RecordDecision take these keys.
func (e *Engine) ModelNames() []string {
	var out []string
	for _, m := range e.Models() {
		out = append(out, m.Key)
	}
	return out
}

// Observe measures a model: its recent latencies, and the recall@10 of
// hybrid search against exact search on up to sample of its recent queries.
// Each sampled query costs one exact scan, off the request path.
func (e *Engine) Observe(ctx context.Context, model string, sample int) (Observation, error) {
	m, err := e.model(model)
	if err != nil {
		return Observation{}, err
	}
	o := Observation{Model: model, Recall: math.NaN(), Rows: m.coll.Len(), Balance: m.coll.Balance()}
	o.IndexBuilt = m.coll.IndexState().Built
	r := &m.recent
	r.mu.Lock()
	queries := slices.Clone(r.queries)
	lat := slices.Clone(r.latencies)
	o.Searches, r.searches = r.searches, 0
	r.mu.Unlock()
	if len(lat) > 0 {
		slices.Sort(lat)
		o.P50, o.P99 = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
	}
	if len(queries) > sample {
		queries = queries[len(queries)-sample:]
	}
	const k = 10
	var sum float64
	for _, q := range queries {
		if err := ctx.Err(); err != nil {
			return o, err
		}
		exact, _, err := m.coll.Exact(ctx, q, k, nil)
		if err != nil {
			return o, fmt.Errorf("engine: observe %q: %w", model, err)
		}
		if len(exact) == 0 {
			continue
		}
		hybrid, _, err := m.coll.Hybrid(ctx, q, k, 0, nil)
		if err != nil {
			return o, fmt.Errorf("engine: observe %q: %w", model, err)
		}
		want := make(map[int64]bool, len(exact))
		for _, h := range exact {
			want[h.ID] = true
		}
		found := 0
		for _, h := range hybrid {
			if want[h.ID] {
				found++
			}
		}
		sum += float64(found) / float64(len(exact))
		o.Sampled++
	}
	if o.Sampled > 0 {
		o.Recall = sum / float64(o.Sampled)
	}
	return o, nil
}

// RetrainIndex asks the model's indexer to retrain its index in the
// background; searches go on with the current index meanwhile.
func (e *Engine) RetrainIndex(model string) error {
	m, err := e.model(model)
	if err != nil {
		return err
	}
	m.coll.RequestRetrain()
	return nil
}

// IndexBuiltAt returns when the model's index was last built (zero if
// never), so that a caller can see a retrain land.
func (e *Engine) IndexBuiltAt(model string) (time.Time, error) {
	m, err := e.model(model)
	if err != nil {
		return time.Time{}, err
	}
	return m.coll.IndexState().BuiltAt, nil
}

// RecordDecision keeps d among the model's latest decisions, which Stats
// reports newest first.
func (e *Engine) RecordDecision(model string, d Decision) error {
	m, err := e.model(model)
	if err != nil {
		return err
	}
	r := &m.recent
	r.mu.Lock()
	defer r.mu.Unlock()
	r.decisions = append([]Decision{d}, r.decisions...)
	if len(r.decisions) > keptDecisions {
		r.decisions = r.decisions[:keptDecisions]
	}
	return nil
}

func (r *recent) decisionsCopy() []Decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.decisions)
}
