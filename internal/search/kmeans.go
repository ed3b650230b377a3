package search

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/hartonomous/hartd/internal/embed"
)

// nearest returns the index of the centroid nearest to v (Euclidean) and
// the squared distance. cnorm holds the centroids' squared norms: the
// nearest centroid minimizes |c|² − 2 v·c, one dot product each.
func nearest(v, centroids, cnorm []float32, dim int) (int, float32) {
	best, bestD := 0, float32(0)
	for c := 0; c < len(cnorm); c++ {
		d := cnorm[c] - 2*embed.Dot(v, centroids[c*dim:(c+1)*dim])
		if c == 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best, bestD
}

func sqNorms(centroids []float32, dim int) []float32 {
	n := len(centroids) / dim
	out := make([]float32, n)
	for c := range out {
		v := centroids[c*dim : (c+1)*dim]
		out[c] = embed.Dot(v, v)
	}
	return out
}

// parallel runs fn over [0, n) split in contiguous ranges, one per core.
func parallel(n int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, n/256))
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*per, min((w+1)*per, n)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

// kmeans trains k centroids on the rows of sample (each of length dim) with
// Lloyd's algorithm from a k-means++-style seeding on a subsample.
// Deterministic for the same sample and seed (the parallel reductions are
// per-range and summed in range order).
func kmeans(ctx context.Context, sample [][]float32, dim, k, iters int, seed uint64) ([]float32, error) {
	n := len(sample)
	rng := rand.New(rand.NewPCG(seed, 0x6b6d65616e73)) // "kmeans"
	centroids := make([]float32, k*dim)
	// Seeding: k-means++ over a subsample keeps the O(n·k) seeding cheap.
	sub := sample
	if len(sub) > 8*k {
		perm := rng.Perm(n)[:8*k]
		sub = make([][]float32, len(perm))
		for i, p := range perm {
			sub[i] = sample[p]
		}
	}
	copy(centroids[:dim], sub[rng.IntN(len(sub))])
	d2 := make([]float64, len(sub))
	for i := range d2 {
		d2[i] = float64(embed.Euclidean(sub[i], centroids[:dim]))
		d2[i] *= d2[i]
	}
	for c := 1; c < k; c++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var total float64
		for _, d := range d2 {
			total += d
		}
		pick := 0
		if total > 0 {
			x := rng.Float64() * total
			for pick = 0; pick < len(d2)-1 && x > d2[pick]; pick++ {
				x -= d2[pick]
			}
		} else {
			pick = rng.IntN(len(sub))
		}
		cv := centroids[c*dim : (c+1)*dim]
		copy(cv, sub[pick])
		parallel(len(sub), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				d := float64(embed.Euclidean(sub[i], cv))
				if d*d < d2[i] {
					d2[i] = d * d
				}
			}
		})
	}
	assign := make([]int32, n)
	for it := 0; it < iters; it++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cnorm := sqNorms(centroids, dim)
		parallel(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				c, _ := nearest(sample[i], centroids, cnorm, dim)
				assign[i] = int32(c)
			}
		})
		sums := make([]float64, k*dim)
		counts := make([]int, k)
		for i, c := range assign {
			counts[c]++
			s := sums[int(c)*dim : (int(c)+1)*dim]
			for j, x := range sample[i] {
				s[j] += float64(x)
			}
		}
		for c := 0; c < k; c++ {
			cv := centroids[c*dim : (c+1)*dim]
			if counts[c] == 0 {
				// An empty cluster restarts at a random row.
				copy(cv, sample[rng.IntN(n)])
				continue
			}
			inv := 1 / float64(counts[c])
			for j := range cv {
				cv[j] = float32(sums[c*dim+j] * inv)
			}
		}
	}
	return centroids, nil
}
