package search

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/spatial"
)

// Tier describes one stage of a hybrid search.
type Tier struct {
	Name             string
	Examined, Passed int
	Time             time.Duration
}

// HybridStats extends Stats with the tiers a hybrid search ran.
type HybridStats struct {
	Stats
	Tiers []Tier
	// Indexed is false when the collection had no index yet and the
	// search was exact.
	Indexed bool
}

// DefaultCandidates is the re-rank budget when the caller gives none. On
// bench's 100k × 768 data it gives recall@10 0.98.
const DefaultCandidates = 48

// probePerCandidate sets how many rows the probed partitions hold per
// re-ranked candidate. Recall is bounded by which partitions are probed, not
// by the re-rank: the estimates rank a partition's rows well, and a code
// costs about 1/20 of an exact distance (one 3 KiB row fetched from
// memory). Measured on bench's 100k × 768 data, 64 codes per candidate
// reached recall@10 0.95 about 25% faster than 24.
const probePerCandidate = 64

// queryCode is a query prepared for the code scan: rot(q) quantized to
// 4 bits per coordinate, as four bit planes.
type queryCode struct {
	planes     [4][]uint64 // plane j holds bit j of each coordinate's level
	lo, delta  float64     // coordinate ≈ lo + delta·level
	sum        float64     // Σ rot(q)_i, exact
	invSqrtDim float64
}

func (ix *ivfIndex) prepareQuery(q []float32) *queryCode {
	rq := make([]float32, ix.pdim)
	ix.rot.apply(q, rq)
	lo, hi := float64(rq[0]), float64(rq[0])
	var sum float64
	for _, x := range rq {
		f := float64(x)
		lo, hi = math.Min(lo, f), math.Max(hi, f)
		sum += f
	}
	qc := &queryCode{lo: lo, sum: sum, invSqrtDim: 1 / math.Sqrt(float64(ix.pdim))}
	qc.delta = (hi - lo) / 15
	buf := make([]uint64, 4*ix.words) // contiguous, for the SIMD kernel
	for j := range qc.planes {
		qc.planes[j] = buf[j*ix.words : (j+1)*ix.words]
	}
	if qc.delta == 0 {
		return qc
	}
	inv := 1 / qc.delta
	for i, x := range rq {
		level := uint64(math.Round((float64(x) - lo) * inv))
		for j := range 4 {
			qc.planes[j][i>>6] |= ((level >> j) & 1) << (uint(i) & 63)
		}
	}
	return qc
}

// Hybrid returns the k rows nearest to q: the partitions nearest to q are
// probed, their rows' distances estimated from their codes, the best
// `candidates` estimates re-ranked exactly, and rows not indexed yet (the
// tail) scanned exactly. candidates ≤ 0 means DefaultCandidates. Without an
// index, or with a region (the partitions know nothing of projected space,
// and a selective region would starve the re-rank), it is Exact, whose
// region test comes before any distance.
func (c *Collection) Hybrid(ctx context.Context, q []float32, k, candidates int, region spatial.Region) ([]Hit, HybridStats, error) {
	if len(q) != c.dim {
		return nil, HybridStats{}, fmt.Errorf("search: query has %d values, want %d: %w", len(q), c.dim, embed.ErrDimension)
	}
	if k < 1 {
		return nil, HybridStats{}, fmt.Errorf("search: k = %d, want at least 1", k)
	}
	if candidates <= 0 {
		candidates = DefaultCandidates
	}
	candidates = max(candidates, k)
	s := c.snap.Load()
	ix := c.index.Load()
	if ix == nil || region != nil {
		t := time.Now()
		hits, st, err := c.Exact(ctx, q, k, region)
		return hits, HybridStats{Stats: st, Tiers: []Tier{{Name: "exact", Examined: st.Distances, Passed: len(hits), Time: time.Since(t)}}}, err
	}
	st := HybridStats{Stats: Stats{Rows: s.n}, Indexed: true}
	top := newTopK(k)
	cosine := c.metric == embed.Cosine

	// exactPush scores row exactly and offers it to top.
	exactPush := func(ch *chunk, r int) {
		if !ch.isDead(r) {
			offer(top, ch, r, q, c.dim, cosine)
			st.Distances++
		}
	}

	// Tier 1: the nearest partitions.
	t := time.Now()
	nlist := ix.nlist()
	qn := float64(embed.Dot(q, q))
	qcDist := make([]float32, nlist) // |q − c|²
	order := make([]int32, nlist)
	for l := 0; l < nlist; l++ {
		qcDist[l] = ix.cnorm[l] - 2*embed.Dot(q, ix.centroids[l*ix.dim:(l+1)*ix.dim]) + float32(qn)
		order[l] = int32(l)
	}
	indexed := max(1, ix.covered)
	want := candidates * probePerCandidate
	nprobe := min(nlist, max(1, int(math.Ceil(float64(want)*float64(nlist)/float64(indexed)))))
	partialSortBy(order, qcDist, nprobe)
	st.Tiers = append(st.Tiers, Tier{Name: "partitions", Examined: nlist, Passed: nprobe, Time: time.Since(t)})

	// Tier 2: estimated distances from the codes of the probed partitions.
	t = time.Now()
	qc := ix.prepareQuery(q)
	probed := order[:nprobe]
	scanned := 0
	for _, l := range probed {
		scanned += len(ix.lists[l].rows)
	}
	var est *topK
	if workers := min(runtime.GOMAXPROCS(0), scanned/minCodesPerWorker); workers > 1 {
		// Deal the partitions out largest first to the least loaded worker,
		// so that the workers finish together.
		parts := make([][]int32, workers)
		load := make([]int, workers)
		bySize := append([]int32(nil), probed...)
		sort.Slice(bySize, func(a, b int) bool { return len(ix.lists[bySize[a]].rows) > len(ix.lists[bySize[b]].rows) })
		for _, l := range bySize {
			w := 0
			for x := range load {
				if load[x] < load[w] {
					w = x
				}
			}
			parts[w] = append(parts[w], l)
			load[w] += len(ix.lists[l].rows)
		}
		tops := make([]*topK, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tops[w] = ix.scanCodes(ctx, qc, parts[w], qcDist, candidates)
			}()
		}
		wg.Wait()
		est = tops[0]
		for _, o := range tops[1:] {
			est.merge(o)
		}
	} else {
		est = ix.scanCodes(ctx, qc, probed, qcDist, candidates)
	}
	if err := ctx.Err(); err != nil {
		return nil, st, err
	}
	st.Tiers = append(st.Tiers, Tier{Name: "codes", Examined: scanned, Passed: len(est.keys), Time: time.Since(t)})

	// Tier 3: exact re-rank of the best estimates.
	t = time.Now()
	d0 := st.Distances
	for _, h := range est.hits {
		row := int(h.ID)
		ch := s.chunks[chunkOf(s.chunks, row)]
		exactPush(ch, row-ch.base)
	}
	st.Tiers = append(st.Tiers, Tier{Name: "rerank", Examined: len(est.hits), Passed: st.Distances - d0, Time: time.Since(t)})

	// Tier 4: the tail, rows the index does not cover yet, exactly.
	if ix.covered < s.n {
		t = time.Now()
		d0 = st.Distances
		for ci := chunkOf(s.chunks, ix.covered); ci < len(s.chunks); ci++ {
			ch := s.chunks[ci]
			from := max(ix.covered-ch.base, 0)
			to := min(ch.rows, s.n-ch.base)
			for r := from; r < to; r++ {
				exactPush(ch, r)
			}
		}
		st.Tiers = append(st.Tiers, Tier{Name: "tail", Examined: s.n - ix.covered, Passed: st.Distances - d0, Time: time.Since(t)})
	}
	return top.sorted(), st, nil
}

// minCodesPerWorker keeps a code scan on one goroutine until each of two
// would have this many rows: below it, starting one costs more than it saves.
const minCodesPerWorker = 6000

// scanCodes estimates the distance to q of every row of the given
// partitions and returns the `candidates` best, keyed by −estimate with
// Hit.ID the row index.
func (ix *ivfIndex) scanCodes(ctx context.Context, qc *queryCode, lists []int32, qcDist []float32, candidates int) *topK {
	est := newTopK(candidates)
	var levels []uint32
	for _, l := range lists {
		if ctx.Err() != nil {
			return est
		}
		list := &ix.lists[l]
		n := len(list.rows)
		if cap(levels) < n {
			levels = make([]uint32, n, max(n, 2*cap(levels)))
		}
		levels = levels[:n]
		codeLevels(list.codes, ix.words, &qc.planes, levels)
		qc2 := math.Max(float64(qcDist[l]), 0)
		fac := list.fac[:n*ivfFactors]
		for i, row := range list.rows {
			f := fac[i*ivfFactors : (i+1)*ivfFactors : (i+1)*ivfFactors]
			// <ō, rot(q)>: with s_i = ±1 the code's signs, Σ s_i x_i =
			// 2 Σ_{bit set} x_i − Σ x_i, and Σ_{bit set} x_i ≈ lo·popcount +
			// delta·levels (the level sum of codeLevels). Less <ō, rot(c)>.
			setSum := qc.lo*float64(f[facPop]) + qc.delta*float64(levels[i])
			ipq := (2*setSum-qc.sum)*qc.invSqrtDim - float64(f[facOC])
			rn := float64(f[facRNorm])
			d2 := rn*rn + qc2 - 2*rn*ipq*float64(f[facInvOO])
			key := float32(-d2)
			if est.admits(key, int64(row)) {
				est.push(key, Hit{ID: int64(row)})
			}
		}
	}
	return est
}

// partialSortBy orders the first n entries of idx by ascending key[idx[i]].
func partialSortBy(idx []int32, key []float32, n int) {
	if n >= len(idx) {
		sort.Slice(idx, func(a, b int) bool { return key[idx[a]] < key[idx[b]] })
		return
	}
	// Quickselect the n smallest to the front, then sort them.
	lo, hi := 0, len(idx)-1
	for lo < hi {
		p := key[idx[(lo+hi)/2]]
		i, j := lo, hi
		for i <= j {
			for key[idx[i]] < p {
				i++
			}
			for key[idx[j]] > p {
				j--
			}
			if i <= j {
				idx[i], idx[j] = idx[j], idx[i]
				i++
				j--
			}
		}
		if n-1 <= j {
			hi = j
		} else if n-1 >= i {
			lo = i
		} else {
			break
		}
	}
	front := idx[:n]
	sort.Slice(front, func(a, b int) bool { return key[front[a]] < key[front[b]] })
}
