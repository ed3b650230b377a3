package search

import (
	"context"
	"fmt"
	"time"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/spatial"
)

// DefaultSeedCandidates is the original system's @spatial_candidates.
const DefaultSeedCandidates = 100

// Seed is the original system's two-step search, kept to measure it: the
// `candidates` rows whose points are nearest to the query's point in 2-D
// (x, y), as SQL Server's STDistance on its 2-D GEOMETRY, re-ranked by exact
// distance. Rows without a point are never candidates. Its recall on
// high-dimensional data is poor: three anchors keep little of 768
// dimensions.
func (c *Collection) Seed(ctx context.Context, q []float32, k, candidates int, region spatial.Region) ([]Hit, HybridStats, error) {
	if len(q) != c.dim {
		return nil, HybridStats{}, fmt.Errorf("search: query has %d values, want %d: %w", len(q), c.dim, embed.ErrDimension)
	}
	if k < 1 {
		return nil, HybridStats{}, fmt.Errorf("search: k = %d, want at least 1", k)
	}
	if candidates <= 0 {
		candidates = DefaultSeedCandidates
	}
	s := c.snap.Load()
	st := HybridStats{Stats: Stats{Rows: s.n}}
	if s.proj == nil {
		return nil, st, nil
	}
	qp := s.proj.Project(q)
	t := time.Now()
	near := newTopK(candidates)
	examined := 0
	for ci, ch := range s.chunks {
		if ci&63 == 0 && ctx.Err() != nil {
			return nil, st, ctx.Err()
		}
		end := min(ch.rows, s.n-ch.base)
		for r := 0; r < end; r++ {
			if ch.isDead(r) {
				continue
			}
			p := ch.pts[r]
			if region != nil && !region.Contains(p) {
				st.RegionPruned++
				continue
			}
			examined++
			dx, dy := p.X-qp.X, p.Y-qp.Y
			key := float32(-(dx*dx + dy*dy))
			row := int64(ch.base + r)
			if near.admits(key, row) {
				near.push(key, Hit{ID: row})
			}
		}
	}
	st.Tiers = append(st.Tiers, Tier{Name: "spatial2d", Examined: examined, Passed: len(near.hits), Time: time.Since(t)})
	t = time.Now()
	top := newTopK(k)
	for _, h := range near.hits {
		row := int(h.ID)
		ch := s.chunks[chunkOf(s.chunks, row)]
		r := row - ch.base
		v := ch.vecs[r*c.dim : (r+1)*c.dim : (r+1)*c.dim]
		score := c.metric.Score(q, v)
		key := score
		if c.metric != embed.Cosine {
			key = -score
		}
		st.Distances++
		if top.admits(key, ch.ids[r]) {
			top.push(key, Hit{ID: ch.ids[r], Score: score, Point: ch.pts[r], HasPoint: true})
		}
	}
	st.Tiers = append(st.Tiers, Tier{Name: "rerank", Examined: len(near.hits), Passed: min(k, len(near.hits)), Time: time.Since(t)})
	return top.sorted(), st, nil
}
