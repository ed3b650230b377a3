package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/spatial"
	"github.com/hartonomous/hartd/internal/store"
)

// seedSQL selects the $4 rows of model $1 nearest to ($2, $3), ties by id.
// The inner KNN scan of the GiST index finds the distance dc of the $4-th
// nearest; ST_DWithin (an index scan too) then takes every row within dc,
// so that rows tied at dc are ordered by id rather than by the index's
// order of visit. (ORDER BY distance, id in one query defeats the KNN scan:
// the planner sorts the whole model instead.)
const seedSQL = `WITH r AS (
    SELECT max(knn.d) AS dc FROM (
        SELECT "SpatialGeometry" <-> ST_MakePoint($2, $3) AS d FROM "AtomEmbeddings"
        WHERE "ModelId" = $1 AND "SpatialGeometry" IS NOT NULL
        ORDER BY "SpatialGeometry" <-> ST_MakePoint($2, $3)
        LIMIT $4) AS knn)
SELECT e."EmbeddingId", e."EmbeddingVector", e."SpatialGeometry" <-> ST_MakePoint($2, $3) AS d
FROM r, "AtomEmbeddings" AS e
WHERE e."ModelId" = $1 AND ST_DWithin(e."SpatialGeometry", ST_MakePoint($2, $3), r.dc)
ORDER BY d, e."EmbeddingId"
LIMIT $4`

// SeedSearch implements store.SpatialSearcher. The spatial step runs in
// PostgreSQL: ORDER BY "SpatialGeometry" <-> point is a KNN scan of the
// GiST index, and <-> on geometry is the 2-D distance on (x, y), as the
// seed's STDistance on SQL Server. The exact re-rank runs in Go with the
// embed kernels on the fetched vectors: PostgreSQL has no float32 vector
// arithmetic without another extension.
func (s *Store) SeedSearch(ctx context.Context, modelID int64, metric embed.Metric, q []float32, p spatial.Point,
	candidates, k int) ([]store.SeedHit, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := store.CheckSeedArgs(metric, q, p, candidates, k); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, seedSQL, modelID, p.X, p.Y, candidates)
	if err != nil {
		return nil, fmt.Errorf("postgres: seed search in model %d: %w", modelID, err)
	}
	defer rows.Close()
	hits := make([]store.SeedHit, 0, candidates)
	vec := make([]float32, len(q))
	for rows.Next() {
		var h store.SeedHit
		var blob pgtype.DriverBytes
		if err := rows.Scan(&h.ID, &blob, &h.SpatialDistance); err != nil {
			return nil, fmt.Errorf("postgres: seed search in model %d: %w", modelID, err)
		}
		if err := embed.DecodeVectorInto(vec, blob); err != nil {
			return nil, fmt.Errorf("postgres: seed search in model %d: row %d: %w", modelID, h.ID, err)
		}
		h.Score = metric.Score(q, vec)
		hits = append(hits, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: seed search in model %d: %w", modelID, err)
	}
	return store.BestSeedHits(metric, hits, k), nil
}
