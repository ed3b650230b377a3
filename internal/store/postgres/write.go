package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/spatial"
	"github.com/hartonomous/hartd/internal/store"
	"github.com/hartonomous/hartd/internal/store/accountsql"
)

// CreateModel implements store.Store.
func (s *Store) CreateModel(ctx context.Context, m store.Model) (store.Model, error) {
	if err := s.check(); err != nil {
		return m, err
	}
	if m.TenantID == 0 {
		m.TenantID = store.DefaultTenant
	}
	err := s.pool.QueryRow(ctx, `INSERT INTO "Models" ("TenantId", "ModelName", "Dimension", "Metric", "AnchorSeed")
VALUES ($1, $2, $3, $4, $5) RETURNING "ModelId", "CreatedAt"`,
		m.TenantID, m.Name, m.Dimension, m.Metric.String(), int64(m.AnchorSeed)).Scan(&m.ID, &m.CreatedAt)
	if isCode(err, "23505") { // unique_violation
		return m, fmt.Errorf("%w: model %q", store.ErrExists, m.Name)
	}
	if err != nil {
		return m, fmt.Errorf("postgres: create model %q: %w", m.Name, err)
	}
	m.CreatedAt = m.CreatedAt.UTC()
	return m, nil
}

// insertLockClass is the first key of the per-model advisory lock that
// Insert holds until it commits ("hart").
const insertLockClass int32 = 0x68617274

// Insert implements store.Store: one transaction per batch. Batches of more
// than the copy threshold take their ids from the sequences and are written
// with COPY; smaller ones with one pipelined INSERT per item.
func (s *Store) Insert(ctx context.Context, b store.Batch) (ids []int64, err error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: insert: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	// Inserts into one model take turns, so that its ids, which the
	// sequences hand out in this transaction, ascend in commit order (the
	// runtime core appends rows in id order) even with several writers.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1::int4, $2::int4)`, insertLockClass, int32(b.ModelID)); err != nil {
		return nil, fmt.Errorf("postgres: insert: model %d: lock: %w", b.ModelID, err)
	}
	var tenant int64
	err = tx.QueryRow(ctx, `SELECT "TenantId" FROM "Models" WHERE "ModelId" = $1 FOR KEY SHARE`, b.ModelID).Scan(&tenant)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: insert: model %d: %w", b.ModelID, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: insert: model %d: %w", b.ModelID, err)
	}
	if b.Anchors != nil {
		if err := reproject(ctx, tx, b.ModelID, b.Reproject); err != nil {
			return nil, err
		}
	}
	var dd *accountsql.Dedup
	if b.Dedup {
		dd = &accountsql.Dedup{D: Dialect}
		if b, err = dd.Before(ctx, pgTx{tx}, tenant, b); err != nil {
			return nil, fmt.Errorf("postgres: insert: %w", err)
		}
	}
	switch {
	case len(b.Items) == 0:
	case s.copyThreshold < 0 || len(b.Items) > s.copyThreshold:
		ids, err = copyItems(ctx, tx, tenant, b)
	default:
		ids, err = insertItems(ctx, tx, tenant, b)
	}
	if err != nil {
		return nil, err
	}
	if a := b.Anchors; a != nil {
		batch := &pgx.Batch{}
		for k := range 3 {
			eid := a.EmbeddingIDs[k]
			if i := b.AnchorItems[k]; i >= 0 {
				if i >= len(ids) {
					return nil, fmt.Errorf("postgres: insert anchors: anchor %d is item %d of %d", k+1, i, len(ids))
				}
				eid = ids[i]
			}
			batch.Queue(`INSERT INTO "SpatialAnchors" ("ModelId", "AnchorIndex", "EmbeddingId", "AnchorVector")
VALUES ($1, $2, $3, $4)`, b.ModelID, k+1, eid, embed.EncodeVector(a.Vectors[k]))
		}
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return nil, fmt.Errorf("postgres: insert anchors: %w", err)
		}
	}
	if dd != nil {
		if ids, err = dd.After(ctx, pgTx{tx}, ids); err != nil {
			return nil, fmt.Errorf("postgres: insert: %w", err)
		}
	}
	if b.Usage != nil {
		if _, err := tx.Exec(ctx, Dialect.UsageInsert(), Dialect.UsageArgs(*b.Usage)...); err != nil {
			return nil, fmt.Errorf("postgres: insert: ledger: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("postgres: insert: commit: %w", err)
	}
	return ids, nil
}

// reproject sets the points of embeddings stored before the anchors, in one
// statement.
func reproject(ctx context.Context, tx pgx.Tx, modelID int64, ups []store.PointUpdate) error {
	if len(ups) == 0 {
		return nil
	}
	ids := make([]int64, len(ups))
	xs, ys, zs := make([]float64, len(ups)), make([]float64, len(ups)), make([]float64, len(ups))
	for i, u := range ups {
		ids[i], xs[i], ys[i], zs[i] = u.ID, u.Point.X, u.Point.Y, u.Point.Z
	}
	_, err := tx.Exec(ctx, `UPDATE "AtomEmbeddings" AS e
SET "SpatialGeometry" = ST_MakePoint(u.x, u.y, u.z), "SpatialX" = u.x, "SpatialY" = u.y, "SpatialZ" = u.z
FROM unnest($1::bigint[], $2::float8[], $3::float8[], $4::float8[]) AS u (id, x, y, z)
WHERE e."EmbeddingId" = u.id AND e."ModelId" = $5`, ids, xs, ys, zs, modelID)
	if err != nil {
		return fmt.Errorf("postgres: reproject %d embeddings: %w", len(ups), err)
	}
	return nil
}

// nullable returns nil for the zero value, which the store keeps as NULL.
func nullable[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}

func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// insertItems writes a small batch: one statement per item, all sent in one
// round trip.
func insertItems(ctx context.Context, tx pgx.Tx, tenant int64, b store.Batch) ([]int64, error) {
	batch := &pgx.Batch{}
	for _, it := range b.Items {
		var geom []byte
		var x, y, z *float64
		if p := it.Point; p != nil {
			geom = spatial.EncodeEWKB(*p)
			x, y, z = &p.X, &p.Y, &p.Z
		}
		batch.Queue(`WITH a AS (
    INSERT INTO "Atoms" ("TenantId", "ContentHash", "Content", "SourceUri", "SourceType", "Metadata")
    VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING "AtomId")
INSERT INTO "AtomEmbeddings" ("AtomId", "ModelId", "Dimension", "EmbeddingVector", "SpatialGeometry", "SpatialX", "SpatialY", "SpatialZ")
SELECT a."AtomId", $7::bigint, $8::integer, $9::bytea, ST_GeomFromEWKB($10::bytea), $11::float8, $12::float8, $13::float8 FROM a
RETURNING "EmbeddingId"`,
			tenant, nullBytes(it.ContentHash), nullable(it.Text), nullable(it.SourceURI), nullable(it.SourceType), nullable(it.Metadata),
			b.ModelID, len(it.Vector), embed.EncodeVector(it.Vector), nullBytes(geom), x, y, z)
	}
	br := tx.SendBatch(ctx, batch)
	ids := make([]int64, len(b.Items))
	for i := range b.Items {
		if err := br.QueryRow().Scan(&ids[i]); err != nil {
			br.Close()
			return nil, fmt.Errorf("postgres: insert item %d: %w", i, err)
		}
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("postgres: insert: %w", err)
	}
	return ids, nil
}

// copyItems writes a batch with two COPYs, Atoms then AtomEmbeddings, with
// ids taken from the tables' identity sequences beforehand.
func copyItems(ctx context.Context, tx pgx.Tx, tenant int64, b store.Batch) ([]int64, error) {
	n := len(b.Items)
	atomIDs, embIDs := make([]int64, 0, n), make([]int64, 0, n)
	rows, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence('"Atoms"', 'AtomId')),
	nextval(pg_get_serial_sequence('"AtomEmbeddings"', 'EmbeddingId')) FROM generate_series(1, $1)`, n)
	if err != nil {
		return nil, fmt.Errorf("postgres: insert: reserve %d ids: %w", n, err)
	}
	for rows.Next() {
		var a, e int64
		if err := rows.Scan(&a, &e); err != nil {
			rows.Close()
			return nil, fmt.Errorf("postgres: insert: reserve %d ids: %w", n, err)
		}
		atomIDs, embIDs = append(atomIDs, a), append(embIDs, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: insert: reserve %d ids: %w", n, err)
	}
	if len(embIDs) != n {
		return nil, fmt.Errorf("postgres: insert: reserved %d ids, want %d", len(embIDs), n)
	}
	// nextval is increasing within one session; sort in case the plan
	// evaluates rows out of order, so that ids ascend with the items.
	slices.Sort(atomIDs)
	slices.Sort(embIDs)

	_, err = tx.CopyFrom(ctx, pgx.Identifier{"Atoms"},
		[]string{"AtomId", "TenantId", "ContentHash", "Content", "SourceUri", "SourceType", "Metadata"},
		pgx.CopyFromSlice(n, func(i int) ([]any, error) {
			it := &b.Items[i]
			return []any{atomIDs[i], tenant, nullBytes(it.ContentHash), nullable(it.Text), nullable(it.SourceURI),
				nullable(it.SourceType), nullable(it.Metadata)}, nil
		}))
	if err != nil {
		return nil, fmt.Errorf("postgres: insert %d items: copy atoms: %w", n, err)
	}
	// pgx encodes each row before it asks for the next one, so one scratch
	// buffer serves every vector and one every point. A []byte for the
	// geometry column, whose type pgx does not know, goes as raw bytes:
	// PostGIS's binary input (geometry_recv) reads EWKB.
	var vec, geom []byte
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"AtomEmbeddings"},
		[]string{"EmbeddingId", "AtomId", "ModelId", "Dimension", "EmbeddingVector", "SpatialGeometry", "SpatialX", "SpatialY", "SpatialZ"},
		pgx.CopyFromSlice(n, func(i int) ([]any, error) {
			it := &b.Items[i]
			vec = embed.AppendVector(vec[:0], it.Vector)
			if p := it.Point; p != nil {
				geom = spatial.AppendEWKB(geom[:0], *p)
				return []any{embIDs[i], atomIDs[i], b.ModelID, len(it.Vector), vec, geom, p.X, p.Y, p.Z}, nil
			}
			return []any{embIDs[i], atomIDs[i], b.ModelID, len(it.Vector), vec, nil, nil, nil, nil}, nil
		}))
	if err != nil {
		return nil, fmt.Errorf("postgres: insert %d items: copy embeddings: %w", n, err)
	}
	return embIDs, nil
}

// Delete implements store.Store: all or nothing, in one transaction.
func (s *Store) Delete(ctx context.Context, modelID int64, ids []int64) (n int, err error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	uniq := make([]int64, 0, len(ids))
	first := make(map[int64]int, len(ids))
	for i, id := range ids {
		if _, ok := first[id]; !ok {
			first[id] = i
			uniq = append(uniq, id)
		}
	}
	if len(uniq) == 0 {
		return 0, nil
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	// Lock the rows: a concurrent Delete of one of them waits, then finds
	// it gone.
	rows, err := tx.Query(ctx, `SELECT "EmbeddingId" FROM "AtomEmbeddings"
WHERE "ModelId" = $1 AND "EmbeddingId" = ANY($2) FOR UPDATE`, modelID, uniq)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, fmt.Errorf("postgres: delete: %w", err)
	}
	if len(found) != len(uniq) {
		have := make(map[int64]bool, len(found))
		for _, id := range found {
			have[id] = true
		}
		for i, id := range ids {
			if !have[id] {
				return 0, &store.MissingError{Index: i, ID: id}
			}
		}
	}
	// An atom lives while something references it.
	rows, err = tx.Query(ctx, `WITH d AS (
    DELETE FROM "AtomEmbeddings" WHERE "ModelId" = $1 AND "EmbeddingId" = ANY($2) RETURNING "AtomId"),
c AS (SELECT "AtomId", count(*) AS n FROM d GROUP BY "AtomId")
UPDATE "Atoms" AS a SET "ReferenceCount" = a."ReferenceCount" - c.n FROM c
WHERE a."AtomId" = c."AtomId" RETURNING a."AtomId"`, modelID, uniq)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete %d embeddings: %w", len(uniq), err)
	}
	atoms, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, fmt.Errorf("postgres: delete %d embeddings: %w", len(uniq), err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM "Atoms" AS a WHERE a."AtomId" = ANY($1) AND a."ReferenceCount" <= 0
AND NOT EXISTS (SELECT 1 FROM "AtomEmbeddings" AS e WHERE e."AtomId" = a."AtomId")`, atoms); err != nil {
		return 0, fmt.Errorf("postgres: delete %d embeddings: atoms: %w", len(uniq), err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("postgres: delete: commit: %w", err)
	}
	return len(uniq), nil
}

// pgTx adapts a pgx transaction to accountsql.Tx.
type pgTx struct{ tx pgx.Tx }

func (t pgTx) Exec(ctx context.Context, q string, args ...any) error {
	_, err := t.tx.Exec(ctx, q, args...)
	return err
}

func (t pgTx) Query(ctx context.Context, q string, args []any, row func(scan func(dest ...any) error) error) error {
	rows, err := t.tx.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
