package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/search"
	"github.com/hartonomous/hartd/internal/spatial"
	"github.com/hartonomous/hartd/internal/store"
)

// Mode selects how a search finds its candidates.
type Mode int

const (
	// ModeDefault is the server's default mode.
	ModeDefault Mode = iota
	// ModeExact scans every vector.
	ModeExact
	// ModeHybrid generates candidates from the index tiers and re-ranks them.
	ModeHybrid
	// ModeSeed is the original system's two steps: nearest in 2-D projected
	// space, then an exact re-rank.
	ModeSeed
	// ModeStore runs the seed's two steps inside the store.
	ModeStore
)

func (m Mode) String() string {
	switch m {
	case ModeDefault:
		return "default"
	case ModeExact:
		return "exact"
	case ModeHybrid:
		return "hybrid"
	case ModeSeed:
		return "seed"
	case ModeStore:
		return "store"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// SearchRequest is one query.
type SearchRequest struct {
	Model  string
	Vector []float32
	K      int
	// Region, when set, is a *spatial.Box or *spatial.Sphere filter, and
	// RegionField names it for errors ("box" or "sphere").
	Region      spatial.Region
	RegionField string
	Mode        Mode
	// Candidates is the candidate budget of the hybrid modes; 0 is the
	// mode's default.
	Candidates int
}

// Hit is a search result with its stored content.
type Hit struct {
	ID         int64
	AtomID     int64
	Score      float32
	Point      *spatial.Point
	Text       string
	SourceURI  string
	SourceType string
	Metadata   string
}

// SearchStats says what a search examined and where its time went.
type SearchStats struct {
	Mode Mode
	search.Stats
	Prepare, Scan, Fetch time.Duration
	// Tiers describes each candidate tier of a hybrid mode, in order.
	Tiers []TierStats
}

// TierStats describes one stage of candidate generation.
type TierStats struct {
	Name             string
	Examined, Passed int
	Time             time.Duration
}

// Search returns the K nearest embeddings to the query, best first.
func (e *Engine) Search(ctx context.Context, req SearchRequest) ([]Hit, SearchStats, error) {
	start := time.Now()
	st := SearchStats{Mode: req.Mode}
	m, err := e.modelFor(ctx, req.Model)
	if err != nil {
		return nil, st, fieldErr("model", err)
	}
	if req.K < 1 || req.K > MaxK {
		return nil, st, fieldErrf("k", ErrInvalid, "%d is out of range [1, %d]", req.K, MaxK)
	}
	switch req.Mode {
	case ModeDefault:
		st.Mode = ModeHybrid
	case ModeExact, ModeHybrid, ModeSeed, ModeStore:
	default:
		return nil, st, fieldErrf("mode", ErrInvalid, "unknown search mode %d", req.Mode)
	}
	if req.Candidates < 0 || req.Candidates > MaxCandidates {
		return nil, st, fieldErrf("candidates", ErrInvalid, "%d is out of range [0, %d]", req.Candidates, MaxCandidates)
	}
	q, err := embed.Prepare(req.Vector, m.rec.Dimension, m.rec.Metric)
	if err != nil {
		return nil, st, fieldErr("vector", err)
	}
	if req.Region != nil {
		if v, ok := req.Region.(interface{ Validate() error }); ok {
			if err := v.Validate(); err != nil {
				return nil, st, fieldErr(req.RegionField, err)
			}
		}
	}
	st.Prepare = time.Since(start)

	t := time.Now()
	var found []search.Hit
	switch st.Mode {
	case ModeExact:
		found, st.Stats, err = m.coll.Exact(ctx, q, req.K, req.Region)
	case ModeHybrid, ModeSeed:
		var hs search.HybridStats
		if st.Mode == ModeHybrid {
			found, hs, err = m.coll.Hybrid(ctx, q, req.K, req.Candidates, req.Region)
		} else {
			found, hs, err = m.coll.Seed(ctx, q, req.K, req.Candidates, req.Region)
		}
		st.Stats = hs.Stats
		for _, t := range hs.Tiers {
			st.Tiers = append(st.Tiers, TierStats{Name: t.Name, Examined: t.Examined, Passed: t.Passed, Time: t.Time})
		}
	case ModeStore:
		found, err = e.storeSearch(ctx, m, q, req, &st)
	}
	st.Scan = time.Since(t)
	if err != nil {
		return nil, st, fmt.Errorf("engine: search %q: %w", req.Model, err)
	}
	if st.Mode == ModeHybrid && req.Region == nil {
		m.recent.record(q, st.Scan)
	}

	t = time.Now()
	ids := make([]int64, len(found))
	for i, h := range found {
		ids[i] = h.ID
	}
	items, err := e.st.Items(ctx, m.rec.ID, ids)
	if err != nil {
		return nil, st, fmt.Errorf("engine: search %q: fetch hits: %w", req.Model, err)
	}
	hits := make([]Hit, 0, len(found))
	for _, h := range found {
		it, ok := items[h.ID]
		if !ok {
			continue // deleted since the scan
		}
		hit := Hit{ID: h.ID, AtomID: it.AtomID, Score: h.Score, Text: it.Text, SourceURI: it.SourceURI,
			SourceType: it.SourceType, Metadata: it.Metadata}
		if h.HasPoint {
			p := h.Point
			hit.Point = &p
		} else {
			hit.Point = it.Point
		}
		hits = append(hits, hit)
	}
	st.Fetch = time.Since(t)
	return hits, st, nil
}

// StoredItem is an embedding as stored.
type StoredItem = store.Item

// Get returns one embedding of a model.
func (e *Engine) Get(ctx context.Context, modelName string, id int64) (StoredItem, error) {
	m, err := e.modelFor(ctx, modelName)
	if err != nil {
		return StoredItem{}, fieldErr("model", err)
	}
	it, err := e.st.Get(ctx, m.rec.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return it, fieldErr("id", fmt.Errorf("%w: id %d in model %q", ErrNotFound, id, modelName))
	}
	if err != nil {
		return it, fmt.Errorf("engine: get %d: %w", id, err)
	}
	return it, nil
}

// Delete removes embeddings of a model, all or none: an unknown id fails the
// call and deletes nothing.
func (e *Engine) Delete(ctx context.Context, modelName string, ids []int64) (int, error) {
	m, err := e.modelFor(ctx, modelName)
	if err != nil {
		return 0, fieldErr("model", err)
	}
	switch {
	case len(ids) == 0:
		return 0, fieldErrf("ids", ErrInvalid, "at least one id is required")
	case len(ids) > MaxDeleteIDs:
		return 0, fieldErrf("ids", ErrTooLarge, "%d ids, at most %d per call", len(ids), MaxDeleteIDs)
	}
	e.wmu.Lock()
	defer e.wmu.Unlock()
	n, err := e.st.Delete(ctx, m.rec.ID, ids)
	var miss *store.MissingError
	if errors.As(err, &miss) {
		return 0, fieldErr(fmt.Sprintf("ids[%d]", miss.Index), fmt.Errorf("%w: id %d in model %q", ErrNotFound, miss.ID, modelName))
	}
	if err != nil {
		return 0, fmt.Errorf("engine: delete: %w", err)
	}
	m.coll.Delete(ids)
	return n, nil
}

// Project maps a vector to the model's projected space.
func (e *Engine) Project(ctx context.Context, modelName string, v []float32) (spatial.Point, error) {
	m, err := e.modelFor(ctx, modelName)
	if err != nil {
		return spatial.Point{}, fieldErr("model", err)
	}
	q, err := embed.Prepare(v, m.rec.Dimension, m.rec.Metric)
	if err != nil {
		return spatial.Point{}, fieldErr("vector", err)
	}
	p := m.coll.Projection()
	if p == nil {
		return spatial.Point{}, fmt.Errorf("%w (model %q holds %d vectors)", ErrNoProjection, modelName, m.coll.Len())
	}
	return p.Project(q), nil
}

// storeSearch runs the seed's two steps inside the store, through its
// spatial index: the store must implement store.SpatialSearcher.
func (e *Engine) storeSearch(ctx context.Context, m *model, q []float32, req SearchRequest, st *SearchStats) ([]search.Hit, error) {
	if req.Region != nil {
		return nil, fieldErrf(req.RegionField, ErrInvalid, "SEARCH_MODE_STORE takes no region")
	}
	ss, ok := spatialSearcher(e.st)
	if !ok {
		return nil, fmt.Errorf("%w: this store cannot run SEARCH_MODE_STORE", ErrUnimplemented)
	}
	p := m.coll.Projection()
	if p == nil {
		return nil, fmt.Errorf("%w (model %q holds %d vectors)", ErrNoProjection, m.rec.Name, m.coll.Len())
	}
	candidates := req.Candidates
	if candidates <= 0 {
		candidates = search.DefaultSeedCandidates
	}
	t := time.Now()
	sh, err := ss.SeedSearch(ctx, m.rec.ID, m.rec.Metric, q, p.Project(q), candidates, req.K)
	if err != nil {
		return nil, err
	}
	st.Distances = min(candidates, m.coll.Len())
	st.Tiers = append(st.Tiers, TierStats{Name: "store", Examined: st.Distances, Passed: len(sh), Time: time.Since(t)})
	out := make([]search.Hit, len(sh))
	for i, h := range sh {
		out[i] = search.Hit{ID: h.ID, Score: h.Score}
	}
	return out, nil
}

// spatialSearcher finds a store.SpatialSearcher in st or in the stores it
// decorates (metrics wrap the store, and must not hide what it can do).
func spatialSearcher(st store.Store) (store.SpatialSearcher, bool) {
	for st != nil {
		if ss, ok := st.(store.SpatialSearcher); ok {
			return ss, true
		}
		u, ok := st.(interface{ Unwrap() store.Store })
		if !ok {
			return nil, false
		}
		st = u.Unwrap()
	}
	return nil, false
}
