package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/hartonomous/hartd/internal/search"
	"github.com/hartonomous/hartd/internal/spatial"
)

// ModelStats is one model's runtime state, for operators.
type ModelStats struct {
	ModelInfo
	// Anchors is nil until the model's anchors are chosen. ModelInfo's
	// AnchorsChosenAt is set from it.
	Anchors *AnchorInfo
	// Bounds is the smallest box holding every live embedding's point;
	// nil without a projection or without live embeddings.
	Bounds *spatial.Box
	// Index is the runtime core's rows.
	Index IndexStats
	// Decisions are the adaptive loop's latest decisions, newest first.
	Decisions []Decision
}

// AnchorInfo says which embeddings a model's anchors were copied from.
type AnchorInfo struct {
	EmbeddingIDs [3]int64
	ChosenAt     time.Time
}

// IndexStats describes a model's runtime core and its partitioned index.
type IndexStats struct {
	Rows, LiveRows, Tombstones int
	// Built is false until the model has enough rows for an index.
	Built bool
	// Partitions, rows the index covers, rows in the exact tail, live rows
	// the centroids were trained on, bytes held, and the last build.
	Partitions, Indexed, Tail, TrainedOn, Bytes int
	BuiltAt                                     time.Time
}

// Decision is one action of the adaptive loop.
type Decision struct {
	Time           time.Time
	Action, Reason string
}

// Stats returns the state of one model, or of every model by name when
// name is "". It reads the core without blocking writers and the anchors
// from the store (the core keeps only their vectors).
func (e *Engine) Stats(ctx context.Context, name string) ([]ModelStats, error) {
	var ms []*model
	if name != "" {
		m, err := e.modelFor(ctx, name)
		if err != nil {
			return nil, fieldErr("model", err)
		}
		ms = []*model{m}
	} else {
		for _, info := range e.TenantModels(ctx) {
			if m, err := e.model(info.Key); err == nil {
				ms = append(ms, m)
			}
		}
	}
	out := make([]ModelStats, 0, len(ms))
	for _, m := range ms {
		s, err := e.modelStats(ctx, m)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// StatsAll returns the state of every tenant's models, by key (for the
// metrics, which label a model by its key).
func (e *Engine) StatsAll(ctx context.Context) ([]ModelStats, error) {
	var out []ModelStats
	for _, info := range e.Models() {
		m, err := e.model(info.Key)
		if err != nil {
			continue
		}
		s, err := e.modelStats(ctx, m)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (e *Engine) modelStats(ctx context.Context, m *model) (ModelStats, error) {
	s := ModelStats{ModelInfo: m.info()}
	a, err := e.st.Anchors(ctx, m.rec.ID)
	if err != nil {
		return s, fmt.Errorf("engine: stats of %q: anchors: %w", m.rec.Name, err)
	}
	if a != nil {
		s.Anchors = &AnchorInfo{EmbeddingIDs: a.EmbeddingIDs, ChosenAt: a.ChosenAt}
		s.AnchorsChosenAt = a.ChosenAt
	}
	if b, ok := m.coll.Bounds(); ok {
		s.Bounds = &b
	}
	s.Decisions = m.recent.decisionsCopy()
	s.Index = indexStats(m.coll.Counts())
	ist := m.coll.IndexState()
	s.Index.Built, s.Index.Partitions, s.Index.Indexed, s.Index.Tail = ist.Built, ist.Partitions, ist.Covered, ist.Tail
	s.Index.TrainedOn, s.Index.Bytes, s.Index.BuiltAt = ist.TrainedOn, ist.Bytes, ist.BuiltAt
	return s, nil
}

func indexStats(rc search.RowCounts) IndexStats {
	return IndexStats{Rows: rc.Rows, LiveRows: rc.Live, Tombstones: rc.Tombstones()}
}
