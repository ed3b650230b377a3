package sqlserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/spatial"
	"github.com/hartonomous/hartd/internal/store"
)

// Models implements store.Store.
func (s *Store) Models(ctx context.Context) ([]store.Model, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT ModelId, TenantId, ModelName, Dimension, Metric, AnchorSeed, CreatedAt
FROM dbo.Models WHERE IsActive = 1 ORDER BY ModelId`)
	if err != nil {
		return nil, fmt.Errorf("sqlserver: list models: %w", err)
	}
	defer rows.Close()
	var out []store.Model
	for rows.Next() {
		var m store.Model
		var metric string
		var seed int64
		if err := rows.Scan(&m.ID, &m.TenantID, &m.Name, &m.Dimension, &metric, &seed, &m.CreatedAt); err != nil {
			return nil, fmt.Errorf("sqlserver: list models: %w", err)
		}
		if m.Metric, err = embed.ParseMetric(metric); err != nil {
			return nil, fmt.Errorf("sqlserver: model %q: %w", m.Name, err)
		}
		m.AnchorSeed, m.CreatedAt = uint64(seed), utc(m.CreatedAt)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlserver: list models: %w", err)
	}
	return out, nil
}

// Anchors implements store.Store.
func (s *Store) Anchors(ctx context.Context, modelID int64) (*store.Anchors, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT AnchorIndex, EmbeddingId, AnchorVector, ChosenAt
FROM dbo.SpatialAnchors WHERE ModelId = @p1 ORDER BY AnchorIndex`, modelID)
	if err != nil {
		return nil, fmt.Errorf("sqlserver: read anchors: %w", err)
	}
	defer rows.Close()
	var a store.Anchors
	n := 0
	for rows.Next() {
		var idx int
		var eid sql.NullInt64
		var blob []byte
		var at time.Time
		if err := rows.Scan(&idx, &eid, &blob, &at); err != nil {
			return nil, fmt.Errorf("sqlserver: read anchors: %w", err)
		}
		if idx < 1 || idx > 3 {
			return nil, fmt.Errorf("sqlserver: model %d: anchor index %d out of range", modelID, idx)
		}
		v, err := embed.DecodeVector(blob, len(blob)/4)
		if err != nil {
			return nil, fmt.Errorf("sqlserver: model %d: anchor %d: %w", modelID, idx, err)
		}
		a.EmbeddingIDs[idx-1], a.Vectors[idx-1], a.ChosenAt = eid.Int64, v, utc(at)
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlserver: read anchors: %w", err)
	}
	switch n {
	case 0:
		return nil, nil
	case 3:
		return &a, nil
	}
	return nil, fmt.Errorf("sqlserver: model %d has %d anchors, want 3", modelID, n)
}

const itemColumns = `e.EmbeddingId, e.AtomId, e.SpatialX, e.SpatialY, e.SpatialZ,
a.Content, a.SourceUri, a.SourceType, a.Metadata, e.CreatedAt`

type scanner interface{ Scan(...any) error }

func scanItem(sc scanner, extra ...any) (store.Item, error) {
	var it store.Item
	var x, y, z sql.NullFloat64
	var text, uri, typ, meta sql.NullString
	dest := append([]any{&it.ID, &it.AtomID, &x, &y, &z, &text, &uri, &typ, &meta, &it.CreatedAt}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return it, err
	}
	it.Point = store.NullPoint(x, y, z)
	it.Text, it.SourceURI, it.SourceType, it.Metadata = text.String, uri.String, typ.String, meta.String
	it.CreatedAt = utc(it.CreatedAt)
	return it, nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, modelID, id int64) (store.Item, error) {
	if err := s.check(); err != nil {
		return store.Item{}, err
	}
	var blob []byte
	row := s.db.QueryRowContext(ctx, `SELECT `+itemColumns+`, e.EmbeddingVector
FROM dbo.AtomEmbeddings AS e JOIN dbo.Atoms AS a ON a.AtomId = e.AtomId
WHERE e.ModelId = @p1 AND e.EmbeddingId = @p2`, modelID, id)
	it, err := scanItem(row, &blob)
	if errors.Is(err, sql.ErrNoRows) {
		return it, fmt.Errorf("%w: id %d", store.ErrNotFound, id)
	}
	if err != nil {
		return it, fmt.Errorf("sqlserver: get %d: %w", id, err)
	}
	if it.Vector, err = embed.DecodeVector(blob, len(blob)/4); err != nil {
		return it, fmt.Errorf("sqlserver: get %d: %w", id, err)
	}
	return it, nil
}

// Items implements store.Store. The ids travel as one JSON parameter.
func (s *Store) Items(ctx context.Context, modelID int64, ids []int64) (map[int64]store.Item, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	out := make(map[int64]store.Item, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+itemColumns+`
FROM dbo.AtomEmbeddings AS e JOIN dbo.Atoms AS a ON a.AtomId = e.AtomId
WHERE e.ModelId = @p1 AND e.EmbeddingId IN (SELECT CAST(value AS BIGINT) FROM OPENJSON(@p2))`, modelID, idsJSON(ids))
	if err != nil {
		return nil, fmt.Errorf("sqlserver: items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlserver: items: %w", err)
		}
		out[it.ID] = it
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlserver: items: %w", err)
	}
	return out, nil
}

// Scan implements store.Store. Rows stream from the server as fn consumes
// them; Row.Vector is decoded into one buffer that the next row reuses.
func (s *Store) Scan(ctx context.Context, modelID int64, fn func(store.Row) error) error {
	if err := s.check(); err != nil {
		return err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT EmbeddingId, EmbeddingVector, SpatialX, SpatialY, SpatialZ
FROM dbo.AtomEmbeddings WHERE ModelId = @p1 ORDER BY EmbeddingId`, modelID)
	if err != nil {
		return fmt.Errorf("sqlserver: scan model %d: %w", modelID, err)
	}
	return store.ScanRows(rows, fn, func(err error) error {
		return fmt.Errorf("sqlserver: scan model %d: %w", modelID, err)
	})
}

// seedSQL selects the @p4 rows of model @p1 nearest to (@p2, @p3) in 2-D:
// a nearest-neighbour query of the spatial index (TOP, ORDER BY STDistance
// first, STDistance IS NOT NULL), as the seed's sp_HybridSearch.
const seedSQL = `DECLARE @g geometry = geometry::Point(@p2, @p3, 0);
SELECT TOP (@p4) e.EmbeddingId, e.EmbeddingVector, e.SpatialGeometry.STDistance(@g) AS D
FROM dbo.AtomEmbeddings AS e
WHERE e.ModelId = @p1 AND e.SpatialGeometry.STDistance(@g) IS NOT NULL
ORDER BY e.SpatialGeometry.STDistance(@g), e.EmbeddingId;`

// SeedSearch implements store.SpatialSearcher: the spatial step runs in
// SQL Server through the spatial index; the exact re-rank runs in Go with
// the embed kernels on the fetched vectors (T-SQL would decode them value
// by value, see sql/sqlserver/procedures).
func (s *Store) SeedSearch(ctx context.Context, modelID int64, metric embed.Metric, q []float32, p spatial.Point,
	candidates, k int) ([]store.SeedHit, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := store.CheckSeedArgs(metric, q, p, candidates, k); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, seedSQL, modelID, p.X, p.Y, candidates)
	if err != nil {
		return nil, fmt.Errorf("sqlserver: seed search in model %d: %w", modelID, err)
	}
	defer rows.Close()
	hits := make([]store.SeedHit, 0, min(candidates, 1<<16))
	vec := make([]float32, len(q))
	for rows.Next() {
		var h store.SeedHit
		var blob sql.RawBytes
		if err := rows.Scan(&h.ID, &blob, &h.SpatialDistance); err != nil {
			return nil, fmt.Errorf("sqlserver: seed search in model %d: %w", modelID, err)
		}
		if err := embed.DecodeVectorInto(vec, blob); err != nil {
			return nil, fmt.Errorf("sqlserver: seed search in model %d: row %d: %w", modelID, h.ID, err)
		}
		h.Score = metric.Score(q, vec)
		hits = append(hits, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlserver: seed search in model %d: %w", modelID, err)
	}
	return store.BestSeedHits(metric, hits, k), nil
}
