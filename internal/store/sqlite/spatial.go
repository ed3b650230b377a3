package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/spatial"
	"github.com/hartonomous/hartd/internal/store"
)

var _ store.SpatialSearcher = (*Store)(nil)

// seedStartRadius is the half-width of the first box SeedSearch queries;
// later boxes adapt to the density found.
const seedStartRadius = 1.0 / 64

// seedChunk bounds the ids bound in one IN (…) list.
const seedChunk = 500

type seedCand struct {
	id int64
	d  float64
}

// SeedSearch implements store.SpatialSearcher. SQLite's R*Tree answers box
// queries but cannot order by distance, so the spatial step grows a square
// around p in the R*Tree until it holds at least `candidates` points of the
// model (or covers every point), takes the nearest `candidates` of them by
// 2-D distance on SpatialX/SpatialY, and, when the farthest of those lies
// beyond the square (a corner), queries the square that contains the whole
// circle of that radius: the result is exactly the `candidates` nearest.
// The re-rank runs in Go with the embed kernels. All reads see one snapshot.
func (s *Store) SeedSearch(ctx context.Context, modelID int64, metric embed.Metric, q []float32, p spatial.Point,
	candidates, k int) (hits []store.SeedHit, err error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := store.CheckSeedArgs(metric, q, p, candidates, k); err != nil {
		return nil, err
	}
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: seed search: begin: %w", err)
	}
	defer tx.Rollback()

	probe, err := tx.PrepareContext(ctx, seedProbeSQL)
	if err != nil {
		return nil, fmt.Errorf("sqlite: seed search: %w", err)
	}
	defer probe.Close()
	box, err := tx.PrepareContext(ctx, seedBoxSQL)
	if err != nil {
		return nil, fmt.Errorf("sqlite: seed search: %w", err)
	}
	defer box.Close()

	// Size the square on the R*Tree alone (a count, no rows), then fetch
	// the model's points in it. The count includes other models' points,
	// so the fetch may still find too few: then grow on the fetched count.
	r := seedStartRadius
	for shrinks := 0; ; {
		n, covered, err := seedProbe(ctx, probe, p, r)
		if err != nil {
			return nil, err
		}
		if n > 32*candidates && shrinks < 4 {
			// The guess was far too wide for this density.
			shrinks++
			r *= math.Sqrt(4 * float64(candidates) / float64(n))
			continue
		}
		if n >= candidates || covered {
			break
		}
		r *= seedGrowth(n, candidates)
	}
	var near []seedCand
	for {
		if near, err = seedBox(ctx, box, modelID, p, r); err != nil {
			return nil, err
		}
		if len(near) >= candidates {
			break
		}
		_, covered, err := seedProbe(ctx, probe, p, r)
		if err != nil {
			return nil, err
		}
		if covered {
			break
		}
		r *= seedGrowth(len(near), candidates)
	}
	sortCands(near)
	if len(near) > candidates {
		if dc := near[candidates-1].d; dc > r {
			if near, err = seedBox(ctx, box, modelID, p, dc); err != nil {
				return nil, err
			}
			sortCands(near)
		}
		near = near[:min(candidates, len(near))]
	}
	hits, err = seedScore(ctx, tx, modelID, metric, q, near)
	if err != nil {
		return nil, err
	}
	return store.BestSeedHits(metric, hits, k), nil
}

// seedGrowth is the factor by which a square holding n points grows to hold
// about candidates: the square root of the ratio of counts (area grows with
// the square), with a margin, between 1.5 and 8; 16 for an empty square.
func seedGrowth(n, candidates int) float64 {
	if n == 0 {
		return 16
	}
	return min(max(1.25*math.Sqrt(float64(candidates)/float64(n)), 1.5), 8)
}

// seedProbeSQL counts the R*Tree's points (of every model) in the square
// ?1 ≥ x ≥ ?2, ?3 ≥ y ≥ ?4, and says whether a point lies outside it: then
// growing it finds more. Each EXISTS is one bound the R*Tree prunes by.
const seedProbeSQL = `SELECT
    (SELECT count(*) FROM AtomEmbeddingsSpatialIndex WHERE MinX <= ?1 AND MaxX >= ?2 AND MinY <= ?3 AND MaxY >= ?4),
    EXISTS (SELECT 1 FROM AtomEmbeddingsSpatialIndex WHERE MaxX > ?1)
    OR EXISTS (SELECT 1 FROM AtomEmbeddingsSpatialIndex WHERE MinX < ?2)
    OR EXISTS (SELECT 1 FROM AtomEmbeddingsSpatialIndex WHERE MaxY > ?3)
    OR EXISTS (SELECT 1 FROM AtomEmbeddingsSpatialIndex WHERE MinY < ?4)`

// seedProbe runs seedProbeSQL for the square of half-width r around p:
// covered is true when the square holds every point of the R*Tree.
func seedProbe(ctx context.Context, probe *sql.Stmt, p spatial.Point, r float64) (n int, covered bool, err error) {
	var outside bool
	if err := probe.QueryRowContext(ctx, p.X+r, p.X-r, p.Y+r, p.Y-r).Scan(&n, &outside); err != nil {
		return 0, false, fmt.Errorf("sqlite: seed search: spatial index: %w", err)
	}
	return n, !outside, nil
}

// dist2D is the 2-D distance on (x, y), computed as PostGIS does for points.
func dist2D(x, y float64, p spatial.Point) float64 {
	dx, dy := x-p.X, y-p.Y
	return math.Sqrt(float64(dx*dx) + float64(dy*dy))
}

func sortCands(c []seedCand) {
	sort.Slice(c, func(i, j int) bool {
		if c[i].d != c[j].d {
			return c[i].d < c[j].d
		}
		return c[i].id < c[j].id
	})
}

// seedBoxSQL selects the model ?5's points whose (x, y) is within the
// square ?1 ≥ x ≥ ?2, ?3 ≥ y ≥ ?4. The R*Tree holds float32 bounds rounded
// outward, so the query is a superset of the square, never a subset. CROSS
// JOIN makes SQLite drive the join from the R*Tree.
const seedBoxSQL = `SELECT e.EmbeddingId, e.SpatialX, e.SpatialY
FROM AtomEmbeddingsSpatialIndex AS i CROSS JOIN AtomEmbeddings AS e ON e.EmbeddingId = i.EmbeddingId
WHERE i.MinX <= ?1 AND i.MaxX >= ?2 AND i.MinY <= ?3 AND i.MaxY >= ?4 AND e.ModelId = ?5 AND e.SpatialX IS NOT NULL`

// seedBox returns the model's points in the square of half-width r around
// p, with their exact 2-D distances.
func seedBox(ctx context.Context, box *sql.Stmt, modelID int64, p spatial.Point, r float64) ([]seedCand, error) {
	rows, err := box.QueryContext(ctx, p.X+r, p.X-r, p.Y+r, p.Y-r, modelID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: seed search in model %d: %w", modelID, err)
	}
	defer rows.Close()
	var out []seedCand
	for rows.Next() {
		var c seedCand
		var x, y float64
		if err := rows.Scan(&c.id, &x, &y); err != nil {
			return nil, fmt.Errorf("sqlite: seed search in model %d: %w", modelID, err)
		}
		c.d = dist2D(x, y, p)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: seed search in model %d: %w", modelID, err)
	}
	return out, nil
}

// seedScore reads the vectors of the chosen candidates and scores them.
func seedScore(ctx context.Context, tx *sql.Tx, modelID int64, metric embed.Metric, q []float32, near []seedCand) ([]store.SeedHit, error) {
	dist := make(map[int64]float64, len(near))
	for _, c := range near {
		dist[c.id] = c.d
	}
	hits := make([]store.SeedHit, 0, len(near))
	vec := make([]float32, len(q))
	for len(near) > 0 {
		chunk := near[:min(seedChunk, len(near))]
		near = near[len(chunk):]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, modelID)
		for _, c := range chunk {
			args = append(args, c.id)
		}
		rows, err := tx.QueryContext(ctx, `SELECT EmbeddingId, EmbeddingVector FROM AtomEmbeddings
WHERE ModelId = ? AND EmbeddingId IN (?`+strings.Repeat(",?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: seed search in model %d: %w", modelID, err)
		}
		for rows.Next() {
			var h store.SeedHit
			var blob sql.RawBytes
			if err := rows.Scan(&h.ID, &blob); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: seed search in model %d: %w", modelID, err)
			}
			if err := embed.DecodeVectorInto(vec, blob); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: seed search in model %d: row %d: %w", modelID, h.ID, err)
			}
			h.Score, h.SpatialDistance = metric.Score(q, vec), dist[h.ID]
			hits = append(hits, h)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("sqlite: seed search in model %d: %w", modelID, err)
		}
	}
	return hits, nil
}
