package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/spatial"
	"github.com/hartonomous/hartd/internal/store"
)

// Models implements store.Store.
func (s *Store) Models(ctx context.Context) ([]store.Model, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT "ModelId", "TenantId", "ModelName", "Dimension", "Metric", "AnchorSeed", "CreatedAt"
FROM "Models" WHERE "IsActive" ORDER BY "ModelId"`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list models: %w", err)
	}
	defer rows.Close()
	var out []store.Model
	for rows.Next() {
		var m store.Model
		var metric string
		var seed int64
		if err := rows.Scan(&m.ID, &m.TenantID, &m.Name, &m.Dimension, &metric, &seed, &m.CreatedAt); err != nil {
			return nil, fmt.Errorf("postgres: list models: %w", err)
		}
		if m.Metric, err = embed.ParseMetric(metric); err != nil {
			return nil, fmt.Errorf("postgres: model %q: %w", m.Name, err)
		}
		m.AnchorSeed, m.CreatedAt = uint64(seed), m.CreatedAt.UTC()
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: list models: %w", err)
	}
	return out, nil
}

// Anchors implements store.Store.
func (s *Store) Anchors(ctx context.Context, modelID int64) (*store.Anchors, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT "AnchorIndex", "EmbeddingId", "AnchorVector", "ChosenAt"
FROM "SpatialAnchors" WHERE "ModelId" = $1 ORDER BY "AnchorIndex"`, modelID)
	if err != nil {
		return nil, fmt.Errorf("postgres: read anchors: %w", err)
	}
	defer rows.Close()
	var a store.Anchors
	n := 0
	for rows.Next() {
		var idx int
		var eid *int64
		var blob pgtype.DriverBytes
		var at time.Time
		if err := rows.Scan(&idx, &eid, &blob, &at); err != nil {
			return nil, fmt.Errorf("postgres: read anchors: %w", err)
		}
		if idx < 1 || idx > 3 {
			return nil, fmt.Errorf("postgres: model %d: anchor index %d out of range", modelID, idx)
		}
		v, err := embed.DecodeVector(blob, len(blob)/4)
		if err != nil {
			return nil, fmt.Errorf("postgres: model %d: anchor %d: %w", modelID, idx, err)
		}
		if eid != nil {
			a.EmbeddingIDs[idx-1] = *eid
		}
		a.Vectors[idx-1], a.ChosenAt = v, at.UTC()
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: read anchors: %w", err)
	}
	switch n {
	case 0:
		return nil, nil
	case 3:
		return &a, nil
	}
	return nil, fmt.Errorf("postgres: model %d has %d anchors, want 3", modelID, n)
}

// itemColumns are what scanItem reads, in its order.
const itemColumns = `e."EmbeddingId", e."AtomId", e."SpatialX", e."SpatialY", e."SpatialZ",
a."Content", a."SourceUri", a."SourceType", a."Metadata"::text, e."CreatedAt"`

func scanItem(row pgx.Row, extra ...any) (store.Item, error) {
	var it store.Item
	var x, y, z *float64
	var text, uri, typ, meta *string
	dest := append([]any{&it.ID, &it.AtomID, &x, &y, &z, &text, &uri, &typ, &meta, &it.CreatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return it, err
	}
	if x != nil && y != nil && z != nil {
		it.Point = &spatial.Point{X: *x, Y: *y, Z: *z}
	}
	it.Text, it.SourceURI, it.SourceType = deref(text), deref(uri), deref(typ)
	it.Metadata = compactJSON(deref(meta))
	it.CreatedAt = it.CreatedAt.UTC()
	return it, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// compactJSON returns jsonb's text without the spaces PostgreSQL adds after
// ':' and ','. jsonb also orders an object's keys (shorter first) and keeps
// the last of duplicate keys, so the text is the object's, not the bytes
// that were inserted.
func compactJSON(s string) string {
	if s == "" {
		return ""
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		return s
	}
	return b.String()
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, modelID, id int64) (store.Item, error) {
	if err := s.check(); err != nil {
		return store.Item{}, err
	}
	var blob []byte
	row := s.pool.QueryRow(ctx, `SELECT `+itemColumns+`, e."EmbeddingVector"
FROM "AtomEmbeddings" AS e JOIN "Atoms" AS a ON a."AtomId" = e."AtomId"
WHERE e."ModelId" = $1 AND e."EmbeddingId" = $2`, modelID, id)
	it, err := scanItem(row, &blob)
	if errors.Is(err, pgx.ErrNoRows) {
		return it, fmt.Errorf("%w: id %d", store.ErrNotFound, id)
	}
	if err != nil {
		return it, fmt.Errorf("postgres: get %d: %w", id, err)
	}
	if it.Vector, err = embed.DecodeVector(blob, len(blob)/4); err != nil {
		return it, fmt.Errorf("postgres: get %d: %w", id, err)
	}
	return it, nil
}

// Items implements store.Store.
func (s *Store) Items(ctx context.Context, modelID int64, ids []int64) (map[int64]store.Item, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	out := make(map[int64]store.Item, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+itemColumns+`
FROM "AtomEmbeddings" AS e JOIN "Atoms" AS a ON a."AtomId" = e."AtomId"
WHERE e."ModelId" = $1 AND e."EmbeddingId" = ANY($2)`, modelID, ids)
	if err != nil {
		return nil, fmt.Errorf("postgres: items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: items: %w", err)
		}
		out[it.ID] = it
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: items: %w", err)
	}
	return out, nil
}

// Scan implements store.Store. Rows stream from the server as fn consumes
// them; Row.Vector is decoded into one buffer that the next row reuses.
func (s *Store) Scan(ctx context.Context, modelID int64, fn func(store.Row) error) error {
	if err := s.check(); err != nil {
		return err
	}
	rows, err := s.pool.Query(ctx, `SELECT "EmbeddingId", "EmbeddingVector", "SpatialX", "SpatialY", "SpatialZ"
FROM "AtomEmbeddings" WHERE "ModelId" = $1 ORDER BY "EmbeddingId"`, modelID)
	if err != nil {
		return fmt.Errorf("postgres: scan model %d: %w", modelID, err)
	}
	defer rows.Close()
	var vec []float32
	for rows.Next() {
		var r store.Row
		var blob pgtype.DriverBytes
		var x, y, z *float64
		if err := rows.Scan(&r.ID, &blob, &x, &y, &z); err != nil {
			return fmt.Errorf("postgres: scan model %d: %w", modelID, err)
		}
		if cap(vec) < len(blob)/4 {
			vec = make([]float32, len(blob)/4)
		}
		vec = vec[:len(blob)/4]
		if err := embed.DecodeVectorInto(vec, blob); err != nil {
			return fmt.Errorf("postgres: scan model %d: row %d: %w", modelID, r.ID, err)
		}
		r.Vector = vec
		if x != nil && y != nil && z != nil {
			r.Point = &spatial.Point{X: *x, Y: *y, Z: *z}
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: scan model %d: %w", modelID, err)
	}
	return nil
}
