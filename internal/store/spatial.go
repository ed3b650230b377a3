package store

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/spatial"
)

// SpatialSearcher is implemented by stores that can run the seed's two-step
// search (SEARCH_MODE_STORE) inside the database through their spatial index.
type SpatialSearcher interface {
	// SeedSearch takes the `candidates` embeddings of the model nearest to p in
	// projected space (2-D distance on (x, y), as the seed's STDistance), re-ranks them by exact
	// distance to q (cosine similarity for unit vectors or Euclidean distance, by metric) inside the
	// database where the dialect can, else in Go on the fetched rows, and returns the best k, best first.
	SeedSearch(ctx context.Context, modelID int64, metric embed.Metric, q []float32, p spatial.Point, candidates, k int) ([]SeedHit, error)
}

// SeedHit is one result of SeedSearch: the embedding's id, its score under
// the metric (as embed.Metric.Score), and its 2-D distance to p in
// projected space.
type SeedHit struct {
	ID              int64
	Score           float32
	SpatialDistance float64
}

// CheckSeedArgs validates SeedSearch's arguments, for the dialects.
func CheckSeedArgs(metric embed.Metric, q []float32, p spatial.Point, candidates, k int) error {
	switch {
	case math.IsNaN(p.X) || math.IsInf(p.X, 0) || math.IsNaN(p.Y) || math.IsInf(p.Y, 0):
		return fmt.Errorf("store: seed search: point (%g %g) is not finite", p.X, p.Y)
	case metric != embed.Cosine && metric != embed.L2:
		return fmt.Errorf("store: seed search: %w: %v", embed.ErrUnknownMetric, metric)
	case len(q) == 0:
		return fmt.Errorf("store: seed search: empty query vector")
	case candidates < 1:
		return fmt.Errorf("store: seed search: candidates = %d, want at least 1", candidates)
	case k < 1:
		return fmt.Errorf("store: seed search: k = %d, want at least 1", k)
	}
	return nil
}

// BestSeedHits sorts hits best first under metric (ties by ascending id) and
// returns at most k of them: the re-rank step of SeedSearch for dialects
// that score in Go.
func BestSeedHits(metric embed.Metric, hits []SeedHit, k int) []SeedHit {
	sort.Slice(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		if a.Score != b.Score {
			return metric.Better(a.Score, b.Score)
		}
		return a.ID < b.ID
	})
	if len(hits) > k {
		hits = hits[:k]
	}
	return hits
}
