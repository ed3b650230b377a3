package sqlserver

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	mssql "github.com/microsoft/go-mssqldb"

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
	err := s.db.QueryRowContext(ctx, `INSERT INTO dbo.Models (TenantId, ModelName, Dimension, Metric, AnchorSeed, CreatedAt)
OUTPUT inserted.ModelId, inserted.CreatedAt
VALUES (@p1, @p2, @p3, @p4, @p5, SYSUTCDATETIME())`,
		m.TenantID, m.Name, m.Dimension, m.Metric.String(), int64(m.AnchorSeed)).Scan(&m.ID, &m.CreatedAt)
	if isUnique(err) {
		return m, fmt.Errorf("%w: model %q", store.ErrExists, m.Name)
	}
	if err != nil {
		return m, fmt.Errorf("sqlserver: create model %q: %w", m.Name, err)
	}
	m.CreatedAt = utc(m.CreatedAt)
	return m, nil
}

// lockModel takes the per-model insert lock for the rest of tx: inserts
// into one model take turns, so that the ids they reserve ascend in commit
// order.
const lockModel = `DECLARE @r INT;
EXEC @r = sp_getapplock @Resource = @p1, @LockMode = N'Exclusive', @LockOwner = N'Transaction', @LockTimeout = -1;
IF @r < 0 THROW 50010, N'hartd: could not take the model''s insert lock', 1;`

// reserveIDs takes n consecutive values of each id sequence.
const reserveIDs = `DECLARE @a SQL_VARIANT, @e SQL_VARIANT;
EXEC sys.sp_sequence_get_range @sequence_name = N'dbo.AtomIds', @range_size = @p1, @range_first_value = @a OUTPUT;
EXEC sys.sp_sequence_get_range @sequence_name = N'dbo.EmbeddingIds', @range_size = @p1, @range_first_value = @e OUTPUT;
SELECT CAST(@a AS BIGINT), CAST(@e AS BIGINT);`

// Columns of the bulk copies, in the order of atomRow and embeddingRow.
var (
	atomColumns      = []string{"AtomId", "TenantId", "ContentHash", "Content", "SourceUri", "SourceType", "Metadata", "ReferenceCount", "CreatedAt"}
	embeddingColumns = []string{"EmbeddingId", "AtomId", "ModelId", "Dimension", "EmbeddingVector", "SpatialGeometry", "SpatialX", "SpatialY", "SpatialZ", "CreatedAt"}
	bulkOptions      = mssql.BulkOptions{CheckConstraints: true, KeepNulls: true}
)

func atomRow(id, tenant int64, it store.NewItem, at time.Time) []any {
	return []any{id, tenant, nullBytes(it.ContentHash), nullString(it.Text), nullString(it.SourceURI),
		nullString(it.SourceType), nullString(it.Metadata), 1, at}
}

// embeddingRow is one AtomEmbeddings row; the point, when the item has one,
// is SQL Server's native serialization with Z.
func embeddingRow(id, atomID, modelID int64, it store.NewItem, at time.Time) []any {
	row := []any{id, atomID, modelID, len(it.Vector), embed.EncodeVector(it.Vector), nil, nil, nil, nil, at}
	if p := it.Point; p != nil {
		row[5], row[6], row[7], row[8] = spatial.EncodeMSSQLPoint(*p), p.X, p.Y, p.Z
	}
	return row
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// Insert implements store.Store: one transaction per batch.
func (s *Store) Insert(ctx context.Context, b store.Batch) (ids []int64, err error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlserver: insert: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, lockModel, fmt.Sprintf("hartd-insert-%d", b.ModelID)); err != nil {
		return nil, fmt.Errorf("sqlserver: insert: model %d: lock: %w", b.ModelID, err)
	}
	var tenant int64
	err = tx.QueryRowContext(ctx, `SELECT TenantId FROM dbo.Models WHERE ModelId = @p1`, b.ModelID).Scan(&tenant)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlserver: insert: model %d: %w", b.ModelID, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlserver: insert: model %d: %w", b.ModelID, err)
	}
	if b.Anchors != nil {
		if err := reproject(ctx, tx, b.ModelID, b.Reproject); err != nil {
			return nil, err
		}
	}
	var dd *accountsql.Dedup
	if b.Dedup {
		dd = &accountsql.Dedup{D: Dialect}
		if b, err = dd.Before(ctx, accountsql.SQLTx{Tx: tx}, tenant, b); err != nil {
			return nil, fmt.Errorf("sqlserver: insert: %w", err)
		}
	}
	ids = make([]int64, len(b.Items))
	if n := len(b.Items); n > 0 {
		var atom0, emb0 int64
		if err := tx.QueryRowContext(ctx, reserveIDs, int64(n)).Scan(&atom0, &emb0); err != nil {
			return nil, fmt.Errorf("sqlserver: insert: reserve %d ids: %w", n, err)
		}
		at := time.Now().UTC()
		if err := bulk(ctx, tx, "dbo.Atoms", atomColumns, n, func(i int) []any {
			return atomRow(atom0+int64(i), tenant, b.Items[i], at)
		}); err != nil {
			return nil, fmt.Errorf("sqlserver: insert: atoms: %w", err)
		}
		if err := bulk(ctx, tx, "dbo.AtomEmbeddings", embeddingColumns, n, func(i int) []any {
			return embeddingRow(emb0+int64(i), atom0+int64(i), b.ModelID, b.Items[i], at)
		}); err != nil {
			return nil, fmt.Errorf("sqlserver: insert: embeddings: %w", err)
		}
		for i := range ids {
			ids[i] = emb0 + int64(i)
		}
	}
	if a := b.Anchors; a != nil {
		for k := range 3 {
			eid := a.EmbeddingIDs[k]
			if i := b.AnchorItems[k]; i >= 0 {
				if i >= len(ids) {
					return nil, fmt.Errorf("sqlserver: insert anchors: anchor %d is item %d of %d", k+1, i, len(ids))
				}
				eid = ids[i]
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO dbo.SpatialAnchors (ModelId, AnchorIndex, EmbeddingId, AnchorVector, ChosenAt)
VALUES (@p1, @p2, @p3, @p4, SYSUTCDATETIME())`, b.ModelID, k+1, eid, embed.EncodeVector(a.Vectors[k])); err != nil {
				return nil, fmt.Errorf("sqlserver: insert anchors: %w", err)
			}
		}
	}
	if dd != nil {
		if ids, err = dd.After(ctx, accountsql.SQLTx{Tx: tx}, ids); err != nil {
			return nil, fmt.Errorf("sqlserver: insert: %w", err)
		}
	}
	if b.Usage != nil {
		if _, err := tx.ExecContext(ctx, Dialect.UsageInsert(), Dialect.UsageArgs(*b.Usage)...); err != nil {
			return nil, fmt.Errorf("sqlserver: insert: ledger: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlserver: insert: commit: %w", err)
	}
	return ids, nil
}

// bulk copies n rows into table within tx.
func bulk(ctx context.Context, tx *sql.Tx, table string, columns []string, n int, row func(i int) []any) (err error) {
	stmt, err := tx.PrepareContext(ctx, mssql.CopyIn(table, bulkOptions, columns...))
	if err != nil {
		return err
	}
	defer func() {
		if cerr := stmt.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	for i := range n {
		if _, err := stmt.ExecContext(ctx, row(i)...); err != nil {
			return fmt.Errorf("row %d: %w", i, err)
		}
	}
	// An Exec without values sends the rows.
	res, err := stmt.ExecContext(ctx)
	if err != nil {
		return err
	}
	if got, err := res.RowsAffected(); err == nil && got != int64(n) {
		return fmt.Errorf("bulk copy wrote %d rows of %d", got, n)
	}
	return nil
}

// reproject sets the points of embeddings stored before the anchors.
func reproject(ctx context.Context, tx *sql.Tx, modelID int64, ups []store.PointUpdate) error {
	if len(ups) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `UPDATE dbo.AtomEmbeddings
SET SpatialGeometry = CAST(@p1 AS geometry), SpatialX = @p2, SpatialY = @p3, SpatialZ = @p4
WHERE EmbeddingId = @p5 AND ModelId = @p6`)
	if err != nil {
		return fmt.Errorf("sqlserver: reproject: %w", err)
	}
	defer stmt.Close()
	for _, u := range ups {
		p := u.Point
		if _, err := stmt.ExecContext(ctx, spatial.EncodeMSSQLPoint(p), p.X, p.Y, p.Z, u.ID, modelID); err != nil {
			return fmt.Errorf("sqlserver: reproject %d: %w", u.ID, err)
		}
	}
	return nil
}

// idsJSON encodes ids as a JSON array for OPENJSON: one parameter however
// many ids (SQL Server takes at most 2100 parameters).
func idsJSON(ids []int64) string {
	b, _ := json.Marshal(ids)
	return string(b)
}

// Delete implements store.Store: all or nothing, in one transaction.
func (s *Store) Delete(ctx context.Context, modelID int64, ids []int64) (n int, err error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	uniq := make([]int64, 0, len(ids))
	seen := make(map[int64]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	if len(uniq) == 0 {
		return 0, nil
	}
	list := idsJSON(uniq)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlserver: delete: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	// Lock the rows: a concurrent Delete of one of them waits, then finds
	// it gone.
	rows, err := tx.QueryContext(ctx, `SELECT EmbeddingId FROM dbo.AtomEmbeddings WITH (UPDLOCK, HOLDLOCK)
WHERE ModelId = @p1 AND EmbeddingId IN (SELECT CAST(value AS BIGINT) FROM OPENJSON(@p2))`, modelID, list)
	if err != nil {
		return 0, fmt.Errorf("sqlserver: delete: %w", err)
	}
	have := make(map[int64]bool, len(uniq))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlserver: delete: %w", err)
		}
		have[id] = true
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("sqlserver: delete: %w", err)
	}
	if len(have) != len(uniq) {
		for i, id := range ids {
			if !have[id] {
				return 0, &store.MissingError{Index: i, ID: id}
			}
		}
	}
	// An atom lives while something references it.
	if _, err := tx.ExecContext(ctx, `DECLARE @d TABLE (AtomId BIGINT NOT NULL);
DELETE FROM dbo.AtomEmbeddings OUTPUT deleted.AtomId INTO @d
WHERE ModelId = @p1 AND EmbeddingId IN (SELECT CAST(value AS BIGINT) FROM OPENJSON(@p2));
UPDATE a SET ReferenceCount = a.ReferenceCount - c.N
FROM dbo.Atoms AS a JOIN (SELECT AtomId, COUNT(*) AS N FROM @d GROUP BY AtomId) AS c ON c.AtomId = a.AtomId;
DELETE a FROM dbo.Atoms AS a
WHERE a.AtomId IN (SELECT AtomId FROM @d) AND a.ReferenceCount <= 0
  AND NOT EXISTS (SELECT 1 FROM dbo.AtomEmbeddings AS e WHERE e.AtomId = a.AtomId);`, modelID, list); err != nil {
		return 0, fmt.Errorf("sqlserver: delete %d embeddings: %w", len(uniq), err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlserver: delete: commit: %w", err)
	}
	return len(uniq), nil
}
