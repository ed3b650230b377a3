package engine

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/search"
	"github.com/hartonomous/hartd/internal/spatial"
	"github.com/hartonomous/hartd/internal/store"
	"github.com/hartonomous/hartd/internal/tenant"
)

// Options tune an engine; the zero value is the default.
type Options struct {
	Log *slog.Logger
	// Index tunes each model's background indexer; its Seed is ignored
	// (each model's anchor seed is used) and its Log defaults to Log.
	Index search.IndexOptions
}

// Engine is safe for concurrent use. Close stops its background work.
type Engine struct {
	st   store.Store // immutable
	log  *slog.Logger
	opts Options // immutable

	// wmu serializes writes: the store transaction and the core update that
	// follows it (see the package doc).
	wmu sync.Mutex

	// mu guards models, keyed by modelKey (tenant and name). A *model,
	// once in the map, is never replaced.
	mu     sync.RWMutex
	models map[string]*model

	// pol caches the tenants' deduplication policies.
	pol policies
}

// modelKey is the key of a tenant's model: its name in the default tenant,
// else "<tenant id>/<name>" (a model name holds no '/'). The adaptive loop
// and the metrics name models by it.
func modelKey(tenantID int64, name string) string {
	if tenantID == store.DefaultTenant || tenantID == 0 {
		return name
	}
	return strconv.FormatInt(tenantID, 10) + "/" + name
}

type model struct {
	rec  store.Model // immutable
	coll *search.Collection
	// stopIndexer stops the collection's indexer; set once at creation.
	stopIndexer func()
	// recent is the model's traffic and the adaptive loop's decisions.
	recent recent
	// anchorsAt is when the anchors were chosen; guarded by Engine.wmu
	// for writes, read under Engine.mu for listing.
	anchorsAt time.Time
}

// Open loads every model, its anchors and its embeddings from st into the
// runtime core, with default options. st stays owned by the caller, who
// closes it after the engine's Close.
func Open(ctx context.Context, st store.Store, log *slog.Logger) (*Engine, error) {
	return OpenOptions(ctx, st, Options{Log: log})
}

// OpenOptions is Open with options.
func OpenOptions(ctx context.Context, st store.Store, opts Options) (*Engine, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Index.Log == nil {
		opts.Index.Log = opts.Log
	}
	log := opts.Log
	e := &Engine{st: st, log: log, opts: opts, models: map[string]*model{}}
	recs, err := st.Models(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine: load models: %w", err)
	}
	for _, rec := range recs {
		start := time.Now()
		m, err := e.load(ctx, rec)
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("engine: load model %q: %w", rec.Name, err)
		}
		e.startIndexer(m)
		e.models[modelKey(rec.TenantID, rec.Name)] = m
		log.Info("model loaded", "model", rec.Name, "dimension", rec.Dimension, "metric", rec.Metric.String(),
			"vectors", m.coll.Len(), "projection", m.coll.Projection() != nil, "took", time.Since(start).Round(time.Millisecond))
	}
	return e, nil
}

// startIndexer starts m's background indexer. Rows already loaded are
// searchable at once: exactly, until the index covers them.
func (e *Engine) startIndexer(m *model) {
	o := e.opts.Index
	o.Seed = m.rec.AnchorSeed
	o.Log = o.Log.With("model", m.rec.Name)
	m.stopIndexer = m.coll.StartIndexer(o)
}

// Close stops every model's background indexer. It does not close the
// store. The engine must not be used after Close.
func (e *Engine) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range e.models {
		if m.stopIndexer != nil {
			m.stopIndexer()
			m.stopIndexer = nil
		}
	}
}

const loadBatch = 1024

func (e *Engine) load(ctx context.Context, rec store.Model) (*model, error) {
	m := &model{rec: rec, coll: search.New(rec.Dimension, rec.Metric)}
	a, err := e.st.Anchors(ctx, rec.ID)
	if err != nil {
		return nil, err
	}
	var proj *spatial.Projection
	if a != nil {
		if proj, err = spatial.NewProjection(a.Vectors[0], a.Vectors[1], a.Vectors[2]); err != nil {
			return nil, fmt.Errorf("stored anchors: %w", err)
		}
		m.coll.SetProjection(proj)
		m.anchorsAt = a.ChosenAt
	}
	buf := make([]float32, loadBatch*rec.Dimension)
	ids := make([]int64, 0, loadBatch)
	vecs := make([][]float32, 0, loadBatch)
	var pts []spatial.Point
	flush := func() error {
		if len(ids) == 0 {
			return nil
		}
		if err := m.coll.Append(ids, vecs, pts); err != nil {
			return err
		}
		ids, vecs = ids[:0], vecs[:0]
		if pts != nil {
			pts = pts[:0]
		}
		return nil
	}
	if proj != nil {
		pts = make([]spatial.Point, 0, loadBatch)
	}
	err = e.st.Scan(ctx, rec.ID, func(r store.Row) error {
		if len(r.Vector) != rec.Dimension {
			return fmt.Errorf("embedding %d has %d values, the model %d", r.ID, len(r.Vector), rec.Dimension)
		}
		i := len(ids)
		v := buf[i*rec.Dimension : (i+1)*rec.Dimension]
		copy(v, r.Vector)
		ids, vecs = append(ids, r.ID), append(vecs, v)
		if proj != nil {
			p := r.Point
			if p == nil { // written before a crash between anchor choice and reprojection cannot happen (one transaction); be safe anyway
				q := proj.Project(v)
				p = &q
			}
			pts = append(pts, *p)
		}
		if len(ids) == loadBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, flush()
}

// model returns the model of a key (see modelKey).
func (e *Engine) model(key string) (*model, error) {
	e.mu.RLock()
	m := e.models[key]
	e.mu.RUnlock()
	if m == nil {
		return nil, fmt.Errorf("%w: %q", ErrModelNotFound, key)
	}
	return m, nil
}

// modelFor returns the caller's model of that name: the caller's tenant
// comes from ctx. Another tenant's model is not found, as if it did not
// exist.
func (e *Engine) modelFor(ctx context.Context, name string) (*model, error) {
	e.mu.RLock()
	m := e.models[modelKey(tenant.From(ctx).Tenant, name)]
	e.mu.RUnlock()
	if m == nil {
		return nil, fmt.Errorf("%w: %q", ErrModelNotFound, name)
	}
	return m, nil
}

// ModelInfo describes a model.
type ModelInfo struct {
	// Key names the model across tenants (see modelKey); Name within its
	// tenant.
	Key             string
	TenantID        int64
	Name            string
	Dimension       int
	Metric          embed.Metric
	Count           int
	ProjectionReady bool
	AnchorsChosenAt time.Time
	AnchorSeed      uint64
	CreatedAt       time.Time
}

func (m *model) info() ModelInfo {
	return ModelInfo{
		Key: modelKey(m.rec.TenantID, m.rec.Name), TenantID: m.rec.TenantID, Name: m.rec.Name, Dimension: m.rec.Dimension, Metric: m.rec.Metric,
		Count: m.coll.Len(), ProjectionReady: m.coll.Projection() != nil,
		AnchorSeed: m.rec.AnchorSeed, CreatedAt: m.rec.CreatedAt,
	}
}

// CreateModel registers a model. metric "" is cosine; seed 0 derives the
// anchor seed from the name.
func (e *Engine) CreateModel(ctx context.Context, name string, dim int, metric string, seed uint64) (ModelInfo, error) {
	if err := validateModelName(name); err != nil {
		return ModelInfo{}, err
	}
	if dim < 1 || dim > embed.MaxDim {
		return ModelInfo{}, fieldErrf("dimension", ErrInvalid, "%d is out of range [1, %d]", dim, embed.MaxDim)
	}
	mt, err := embed.ParseMetric(metric)
	if err != nil {
		return ModelInfo{}, fieldErr("metric", err)
	}
	if seed == 0 {
		h := fnv.New64a()
		h.Write([]byte(name))
		seed = h.Sum64() | 1
	}
	e.wmu.Lock()
	defer e.wmu.Unlock()
	rec, err := e.st.CreateModel(ctx, store.Model{TenantID: tenant.From(ctx).Tenant, Name: name, Dimension: dim, Metric: mt, AnchorSeed: seed})
	if errors.Is(err, store.ErrExists) {
		return ModelInfo{}, fmt.Errorf("%w: %q", ErrModelExists, name)
	}
	if err != nil {
		return ModelInfo{}, fmt.Errorf("engine: create model: %w", err)
	}
	m := &model{rec: rec, coll: search.New(dim, mt)}
	e.startIndexer(m)
	e.mu.Lock()
	e.models[modelKey(rec.TenantID, name)] = m
	e.mu.Unlock()
	e.log.InfoContext(ctx, "model created", "model", name, "dimension", dim, "metric", mt.String())
	return m.info(), nil
}

func validateModelName(name string) error {
	switch {
	case name == "":
		return fieldErrf("name", ErrInvalid, "required")
	case len(name) > MaxModelName:
		return fieldErrf("name", ErrInvalid, "%d bytes, at most %d", len(name), MaxModelName)
	case !modelNameRE.MatchString(name):
		return fieldErrf("name", ErrInvalid, "%q: use letters, digits, '.', '_' and '-', starting with a letter or digit", name)
	}
	return nil
}

// Models lists every tenant's models by key.
func (e *Engine) Models() []ModelInfo {
	e.mu.RLock()
	out := make([]ModelInfo, 0, len(e.models))
	for _, m := range e.models {
		out = append(out, m.info())
	}
	e.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// TenantModels lists the models of the caller's tenant (from ctx) by name.
func (e *Engine) TenantModels(ctx context.Context) []ModelInfo {
	t := tenant.From(ctx).Tenant
	var out []ModelInfo
	for _, m := range e.Models() {
		if m.TenantID == t {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Model describes one of the caller's models.
func (e *Engine) Model(ctx context.Context, name string) (ModelInfo, error) {
	m, err := e.modelFor(ctx, name)
	if err != nil {
		return ModelInfo{}, fieldErr("model", err)
	}
	return m.info(), nil
}

// Item is an embedding to insert, as the caller sent it.
type Item struct {
	Vector     []float32
	Text       string
	SourceURI  string
	SourceType string
	Metadata   string
}

// validateItem checks everything but the vector.
func validateItem(i int, it *Item) error {
	f := func(name string) string { return fmt.Sprintf("items[%d].%s", i, name) }
	switch {
	case len(it.Text) > MaxTextBytes:
		return fieldErrf(f("text"), ErrTooLarge, "%d bytes, at most %d", len(it.Text), MaxTextBytes)
	case !utf8.ValidString(it.Text):
		return fieldErrf(f("text"), ErrInvalid, "not valid UTF-8")
	case len(it.SourceURI) > MaxSourceURI:
		return fieldErrf(f("source_uri"), ErrTooLarge, "%d bytes, at most %d", len(it.SourceURI), MaxSourceURI)
	case len(it.SourceType) > MaxSourceType:
		return fieldErrf(f("source_type"), ErrTooLarge, "%d bytes, at most %d", len(it.SourceType), MaxSourceType)
	case len(it.Metadata) > MaxMetadataBytes:
		return fieldErrf(f("metadata"), ErrTooLarge, "%d bytes, at most %d", len(it.Metadata), MaxMetadataBytes)
	}
	if it.Metadata != "" {
		s := strings.TrimSpace(it.Metadata)
		var obj map[string]json.RawMessage
		if !strings.HasPrefix(s, "{") || json.Unmarshal([]byte(s), &obj) != nil {
			return fieldErrf(f("metadata"), ErrInvalid, "must be a JSON object")
		}
	}
	return nil
}

// contentHash is SHA-256 over the source type, a NUL, and the content, as
// the seed hashed content prefixed with its source type.
func contentHash(sourceType, text string) []byte {
	if text == "" {
		return nil
	}
	h := sha256.New()
	h.Write([]byte(sourceType))
	h.Write([]byte{0})
	h.Write([]byte(text))
	return h.Sum(nil)
}

// Insert validates every item, then writes the batch in one store
// transaction and returns the ids, in order, once it has committed. It
// deduplicates content but skips the semantic check: it is InsertItems
// with InsertOptions{SkipSemantic: true}.
func (e *Engine) Insert(ctx context.Context, modelName string, items []Item) ([]int64, error) {
	res, err := e.InsertItems(ctx, modelName, items, InsertOptions{SkipSemantic: true})
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(res))
	for i, r := range res {
		ids[i] = r.ID
	}
	return ids, nil
}

// InsertOptions tune one insert.
type InsertOptions struct {
	// SkipSemantic skips the semantic deduplication check.
	SkipSemantic bool
	// Usage, when set, is the insert's ledger row, written in the insert's
	// transaction.
	Usage *store.UsageRecord
}

// InsertStatus says what an insert did with an item.
type InsertStatus = store.InsertStatus

// Statuses of an inserted item.
const (
	StatusNew      = store.StatusNew
	StatusContent  = store.StatusContent
	StatusSemantic = store.StatusSemantic
)

// InsertResult is what an insert did with one item.
type InsertResult = store.ItemResult

// semanticCandidates is the hybrid budget of the semantic check. Until a
// model's index is built (10,000 live rows) the check's nearest neighbour
// comes from an exact scan (recall 1, and cheap at that size); once it is,
// from a hybrid search re-ranking 512 candidates exactly (4 times the
// default budget; recall@1 near 1), whose cost does not grow with the
// model. A near-duplicate the hybrid search misses is written as new: the
// check errs towards keeping data.
const semanticCandidates = 512

// InsertItems validates every item, then writes the batch in one store
// transaction, and returns once it has committed what happened to each
// item, in order. An item whose content (source type and text) the caller's
// tenant already holds references that atom (StatusContent); else, on a
// cosine model and unless opts.SkipSemantic, an item with content (text)
// whose nearest
// embedding of the model has cosine similarity >= the tenant's active
// DeduplicationPolicies threshold references that embedding's atom
// (StatusSemantic). Neither writes a row, and only new rows reach the
// runtime core. Both are decided inside the transaction, under wmu.
//
// Deduplication is of atoms, that is of content, as in the seed: an item
// without text is a bare vector the caller chose to store, and is always
// written (a benchmark's or an import's synthetic vectors may lie within
// any threshold of each other).
func (e *Engine) InsertItems(ctx context.Context, modelName string, items []Item, opts InsertOptions) ([]InsertResult, error) {
	m, err := e.modelFor(ctx, modelName)
	if err != nil {
		return nil, fieldErr("model", err)
	}
	switch {
	case len(items) == 0:
		return nil, fieldErrf("items", ErrInvalid, "at least one item is required")
	case len(items) > MaxBatchItems:
		return nil, fieldErrf("items", ErrTooLarge, "%d items, at most %d per call", len(items), MaxBatchItems)
	}
	dim, mt := m.rec.Dimension, m.rec.Metric
	news := make([]store.NewItem, len(items))
	vecs := make([][]float32, len(items))
	for i := range items {
		it := &items[i]
		v, err := embed.Prepare(it.Vector, dim, mt)
		if err != nil {
			return nil, fieldErr(fmt.Sprintf("items[%d].vector", i), err)
		}
		if err := validateItem(i, it); err != nil {
			return nil, err
		}
		meta := it.Metadata
		if meta != "" {
			meta = strings.TrimSpace(meta)
		}
		vecs[i] = v
		news[i] = store.NewItem{Vector: v, Text: it.Text, SourceURI: it.SourceURI, SourceType: it.SourceType,
			Metadata: meta, ContentHash: contentHash(it.SourceType, it.Text)}
	}
	threshold := 0.0
	if !opts.SkipSemantic && mt == embed.Cosine {
		if threshold, err = e.semanticThreshold(ctx, m.rec.TenantID); err != nil {
			return nil, err
		}
	}

	e.wmu.Lock()
	defer e.wmu.Unlock()
	if threshold > 0 && m.coll.Len() > 0 {
		for i, v := range vecs {
			if news[i].ContentHash == nil {
				continue // no content: nothing to deduplicate (see InsertItems)
			}
			var hits []search.Hit
			if !m.coll.IndexState().Built {
				hits, _, err = m.coll.Exact(ctx, v, 1, nil)
			} else {
				hits, _, err = m.coll.Hybrid(ctx, v, 1, semanticCandidates, nil)
			}
			if err != nil {
				return nil, fmt.Errorf("engine: semantic check of items[%d]: %w", i, err)
			}
			if len(hits) > 0 && float64(hits[0].Score) >= threshold {
				news[i].DuplicateOf = hits[0].ID
			}
		}
	}
	results := make([]InsertResult, len(items))
	b := store.Batch{ModelID: m.rec.ID, Items: news, AnchorItems: [3]int{-1, -1, -1}, Usage: opts.Usage, Dedup: true, Results: results}
	proj := m.coll.Projection()
	newProj := false
	if proj == nil {
		if proj, err = e.chooseAnchorsLocked(m, vecs, &b); err != nil {
			return nil, err
		}
		newProj = proj != nil
	}
	var pts []spatial.Point
	if proj != nil {
		pts = make([]spatial.Point, len(vecs))
		for i, v := range vecs {
			pts[i] = proj.Project(v)
			news[i].Point = &pts[i]
		}
	}
	ids, err := e.st.Insert(ctx, b)
	if err != nil {
		return nil, fmt.Errorf("engine: insert into %q: %w", modelName, err)
	}
	// Committed. From here on the core must follow, with the rows really
	// written: those whose id is new (above every id the core holds).
	var newIDs []int64
	var newVecs [][]float32
	var newPts []spatial.Point
	seen := make(map[int64]bool, len(ids))
	for i, id := range ids {
		if results[i].Status == StatusSemantic || seen[id] || m.coll.Contains(id) {
			continue
		}
		seen[id] = true
		newIDs, newVecs = append(newIDs, id), append(newVecs, vecs[i])
		if pts != nil {
			newPts = append(newPts, pts[i])
		}
	}
	if newProj {
		m.coll.SetProjection(proj)
		m.anchorsAt = time.Now()
		e.log.InfoContext(ctx, "anchors chosen", "model", modelName, "reprojected", len(b.Reproject), "vectors", m.coll.Len()+len(newIDs))
	}
	if len(newIDs) > 0 {
		if err := m.coll.Append(newIDs, newVecs, newPts); err != nil {
			// An invariant is broken; the data is safe in the store and a
			// restart rebuilds the core from it.
			e.log.ErrorContext(ctx, "runtime core out of step with the store", "model", modelName, "err", err)
			return nil, fmt.Errorf("engine: runtime core of %q: %w", modelName, err)
		}
	}
	return results, nil
}

// chooseAnchorsLocked tries to choose the model's anchors among the rows it
// holds and the batch. On success it fills b.Anchors, b.AnchorItems and
// b.Reproject and returns the projection; with too few distinct vectors it
// returns nil, nil and the batch goes in without points.
func (e *Engine) chooseAnchorsLocked(m *model, batch [][]float32, b *store.Batch) (*spatial.Projection, error) {
	var oldIDs []int64
	var old [][]float32
	m.coll.ForEach(func(id int64, v []float32, _ *spatial.Point) bool {
		oldIDs, old = append(oldIDs, id), append(old, v)
		return true
	})
	n := len(old) + len(batch)
	if n < 3 {
		return nil, nil
	}
	row := func(i int) []float32 {
		if i < len(old) {
			return old[i]
		}
		return batch[i-len(old)]
	}
	idx, err := spatial.ChooseAnchors(n, row, m.rec.AnchorSeed)
	if errors.Is(err, spatial.ErrNotEnoughDistinct) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("engine: choose anchors: %w", err)
	}
	a := &store.Anchors{}
	for k, i := range idx {
		a.Vectors[k] = append([]float32(nil), row(i)...)
		if i < len(old) {
			a.EmbeddingIDs[k] = oldIDs[i]
		} else {
			b.AnchorItems[k] = i - len(old)
		}
	}
	proj, err := spatial.NewProjection(a.Vectors[0], a.Vectors[1], a.Vectors[2])
	if err != nil {
		return nil, fmt.Errorf("engine: anchors: %w", err)
	}
	b.Anchors = a
	b.Reproject = make([]store.PointUpdate, len(old))
	for i, v := range old {
		b.Reproject[i] = store.PointUpdate{ID: oldIDs[i], Point: proj.Project(v)}
	}
	return proj, nil
}
