package search

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/spatial"
)

// Stats counts what one search examined.
type Stats struct {
	// Rows is the number of rows (dead included) in the snapshot searched.
	Rows int
	// RegionPruned counts rows the region filter rejected before any
	// distance was computed.
	RegionPruned int
	// Distances counts exact distances computed.
	Distances int
}

func (s *Stats) add(o Stats) {
	s.RegionPruned += o.RegionPruned
	s.Distances += o.Distances
}

// minRowsPerWorker keeps small scans on one goroutine, where starting more
// costs more than it saves.
const minRowsPerWorker = 16384

// Exact returns the k rows nearest to q (len Dim; a unit vector for cosine
// models), best first, scanning every row in parallel over the cores. With a
// region, only rows whose point lies in it are candidates; rows without a
// point never are.
func (c *Collection) Exact(ctx context.Context, q []float32, k int, region spatial.Region) ([]Hit, Stats, error) {
	if len(q) != c.dim {
		return nil, Stats{}, fmt.Errorf("search: query has %d values, want %d: %w", len(q), c.dim, embed.ErrDimension)
	}
	if k < 1 {
		return nil, Stats{}, fmt.Errorf("search: k = %d, want at least 1", k)
	}
	s := c.snap.Load()
	st := Stats{Rows: s.n}
	if s.n == 0 || (region != nil && s.proj == nil) {
		st.RegionPruned = s.n
		return nil, st, ctx.Err()
	}
	workers := min(runtime.GOMAXPROCS(0), (s.n+minRowsPerWorker-1)/minRowsPerWorker)
	per := (s.n + workers - 1) / workers
	tops := make([]*topK, workers)
	stats := make([]Stats, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*per, min((w+1)*per, s.n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			tops[w], stats[w], errs[w] = c.scanRange(ctx, s, q, k, region, lo, hi)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, st, err
		}
	}
	for w := 1; w < workers; w++ {
		tops[0].merge(tops[w])
	}
	for _, ws := range stats {
		st.add(ws)
	}
	return tops[0].sorted(), st, nil
}

// scanRange scans global rows [lo, hi) of s.
func (c *Collection) scanRange(ctx context.Context, s *snapshot, q []float32, k int, region spatial.Region, lo, hi int) (*topK, Stats, error) {
	top := newTopK(k)
	var st Stats
	cosine := c.metric == embed.Cosine
	dim := c.dim
	for ci := chunkOf(s.chunks, lo); ci < len(s.chunks) && s.chunks[ci].base < hi; ci++ {
		if err := ctx.Err(); err != nil {
			return nil, st, err
		}
		ch := s.chunks[ci]
		from, to := max(lo, ch.base)-ch.base, min(hi, ch.base+ch.rows)-ch.base
		for r := from; r < to; r++ {
			if ch.isDead(r) {
				continue
			}
			if region != nil {
				if !region.Contains(ch.pts[r]) {
					st.RegionPruned++
					continue
				}
			}
			offer(top, ch, r, q, dim, cosine)
			st.Distances++
		}
	}
	return top, st, nil
}

// offer scores row r of ch against q exactly and offers it to top. The
// key orders hits: the score for cosine, its negation for l2.
func offer(top *topK, ch *chunk, r int, q []float32, dim int, cosine bool) {
	v := ch.vecs[r*dim : (r+1)*dim : (r+1)*dim]
	var score, key float32
	if cosine {
		score = embed.Dot(q, v)
		key = score
	} else {
		score = embed.Euclidean(q, v)
		key = -score
	}
	if !top.admits(key, ch.ids[r]) {
		return
	}
	h := Hit{ID: ch.ids[r], Score: score}
	if ch.pts != nil {
		h.Point, h.HasPoint = ch.pts[r], true
	}
	top.push(key, h)
}
