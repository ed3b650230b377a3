package search

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// ivfIndex partitions rows [0, covered) of a collection by their nearest
// k-means centroid, and holds for each row a 1-bit code of its residual
// (row − centroid) after a random rotation, with the scalar factors that
// turn a popcount into an estimate of the row's distance to a query (see
// estimate in hybrid.go). The estimate prunes; exact distances decide.
//
// A published ivfIndex is immutable but for its lists' backing arrays,
// which the indexer extends past the lengths published here (the same
// protocol as the collection's chunks): a reader never reads beyond the
// lengths in its snapshot.
type ivfIndex struct {
	dim, pdim, words int
	rot              *rotation
	centroids        []float32 // nlist × dim
	cnorm            []float32 // |c|²
	crot             []float32 // rot(c), nlist × pdim
	lists            []ivfList
	// covered: rows [0, covered) are in a list (or were dead when the
	// indexer reached them); rows from covered on are the tail.
	covered int
	// trainedOn is the number of rows when the centroids were trained.
	trainedOn int
	seed      uint64
	builtAt   time.Time
}

// ivfList is one partition. rows[i] is a global row index; codes holds
// words uint64 per row; fac holds ivfFactors per row.
type ivfList struct {
	rows  []int32
	codes []uint64
	fac   []float32
}

// Per-row factors, ivfFactors float32 each.
const (
	facRNorm = iota // |r|, r = row − centroid
	facInvOO        // 1 / <ō, o>: o = r/|r|, ō its sign code scaled to unit length
	facOC           // <ō, rot(c)>, so that <ō, rot(q) − rot(c)> needs rot(q) only
	facPop          // number of set bits in the code
	ivfFactors
)

func (ix *ivfIndex) nlist() int { return len(ix.cnorm) }

// chooseNlist picks the number of partitions for n rows: the power of two
// at or above √n, so partitions hold about √n rows. On bench's 1M × 768 data
// 1,024 partitions reached recall@10 0.955 in 0.92 ms where 512 reached
// 0.915 in 1.15 ms (coarser partitions mix more clusters); 2,048 cost more
// in scoring the centroids than they saved.
func chooseNlist(n int) int {
	return min(max(1<<bits.Len(uint(math.Sqrt(float64(n)))), 16), 4096)
}

// encodeInto computes the code and factors of row v in partition c.
// scratch must hold dim + pdim floats.
func (ix *ivfIndex) encodeInto(v []float32, c int, code []uint64, fac []float32, scratch []float32) {
	r := scratch[:ix.dim]
	rr := scratch[ix.dim : ix.dim+ix.pdim]
	cv := ix.centroids[c*ix.dim : (c+1)*ix.dim]
	for i := range r {
		r[i] = v[i] - cv[i]
	}
	ix.rot.apply(r, rr)
	var norm2, abs float64
	clear(code)
	pop := 0
	for i, x := range rr {
		norm2 += float64(x) * float64(x)
		abs += math.Abs(float64(x))
		if x > 0 {
			code[i>>6] |= 1 << (uint(i) & 63)
			pop++
		}
	}
	norm := math.Sqrt(norm2)
	sqrtD := math.Sqrt(float64(ix.pdim))
	invOO := 0.0
	if abs > 0 {
		// <ō, o> = Σ|o_i| / √D with o = rr/|rr|.
		invOO = norm * sqrtD / abs
	}
	fac[facRNorm] = float32(norm)
	fac[facInvOO] = float32(invOO)
	fac[facOC] = float32(ix.signDot(code, ix.crot[c*ix.pdim:(c+1)*ix.pdim]) / sqrtD)
	fac[facPop] = float32(pop)
}

// signDot returns Σ s_i x_i with s_i = +1 where the code's bit i is set,
// else −1.
func (ix *ivfIndex) signDot(code []uint64, x []float32) float64 {
	var s float64
	for i, v := range x {
		if code[i>>6]&(1<<(uint(i)&63)) != 0 {
			s += float64(v)
		} else {
			s -= float64(v)
		}
	}
	return s
}

// trainIVF trains the centroids on a sample of the live rows of s.
func trainIVF(ctx context.Context, c *Collection, s *snapshot, seed uint64, partitions int) (*ivfIndex, error) {
	dim := c.dim
	live := make([]int32, 0, s.n)
	forLiveRows(s, func(row int) { live = append(live, int32(row)) })
	if len(live) == 0 {
		return nil, fmt.Errorf("search: no rows to train on")
	}
	nlist := partitions
	if nlist <= 0 {
		nlist = chooseNlist(len(live))
	}
	nlist = min(nlist, len(live))
	rng := rand.New(rand.NewPCG(seed, 0x747261696e)) // "train"
	sampleN := min(len(live), max(40*nlist, 10000))
	perm := rng.Perm(len(live))[:sampleN]
	sample := make([][]float32, sampleN)
	for i, p := range perm {
		sample[i] = rowVec(s, dim, int(live[p]))
	}
	centroids, err := kmeans(ctx, sample, dim, nlist, 8, seed)
	if err != nil {
		return nil, err
	}
	rot := newRotation(dim, seed)
	ix := &ivfIndex{
		dim: dim, pdim: rot.pdim, words: rot.pdim / 64, rot: rot,
		centroids: centroids, cnorm: sqNorms(centroids, dim), crot: make([]float32, nlist*rot.pdim),
		lists: make([]ivfList, nlist), trainedOn: len(live), seed: seed,
	}
	for c := range nlist {
		rot.apply(centroids[c*dim:(c+1)*dim], ix.crot[c*rot.pdim:(c+1)*rot.pdim])
	}
	return ix, nil
}

// assignment is one row's partition, code and factors, made in parallel
// and then appended to the lists in row order.
type assignment struct {
	row  int32
	list int32
	code []uint64
	fac  [ivfFactors]float32
}

// extend returns a new snapshot of ix covering rows [ix.covered, upTo) of s
// as well. Only the indexer calls it, so appends past the published list
// lengths race with no one.
func (ix *ivfIndex) extend(ctx context.Context, s *snapshot, upTo int) (*ivfIndex, error) {
	from := ix.covered
	if upTo <= from {
		return ix, nil
	}
	asg := make([]assignment, upTo-from)
	codes := make([]uint64, (upTo-from)*ix.words)
	var cancelled atomic.Bool
	parallel(upTo-from, func(lo, hi int) {
		scratch := make([]float32, ix.dim+ix.pdim)
		for i := lo; i < hi; i++ {
			if i&255 == 0 && ctx.Err() != nil {
				cancelled.Store(true)
				return
			}
			row := from + i
			a := &asg[i]
			a.row, a.list = int32(row), -1
			ch := s.chunks[chunkOf(s.chunks, row)]
			if ch.isDead(row - ch.base) {
				continue
			}
			v := rowVec(s, ix.dim, row)
			l, _ := nearest(v, ix.centroids, ix.cnorm, ix.dim)
			a.list = int32(l)
			a.code = codes[i*ix.words : (i+1)*ix.words]
			ix.encodeInto(v, l, a.code, a.fac[:], scratch)
		}
	})
	if cancelled.Load() {
		return nil, ctx.Err()
	}
	next := *ix
	next.lists = make([]ivfList, len(ix.lists))
	copy(next.lists, ix.lists)
	for i := range asg {
		a := &asg[i]
		if a.list < 0 {
			continue
		}
		l := &next.lists[a.list]
		l.rows = append(l.rows, a.row)
		l.codes = append(l.codes, a.code...)
		l.fac = append(l.fac, a.fac[:]...)
	}
	next.covered = upTo
	return &next, nil
}

// rowVec returns the vector of global row i of s (read-only).
func rowVec(s *snapshot, dim, row int) []float32 {
	ch := s.chunks[chunkOf(s.chunks, row)]
	r := row - ch.base
	return ch.vecs[r*dim : (r+1)*dim : (r+1)*dim]
}

// forLiveRows calls fn for each live row index of s in order.
func forLiveRows(s *snapshot, fn func(row int)) {
	for _, ch := range s.chunks {
		end := min(ch.rows, s.n-ch.base)
		for r := 0; r < end; r++ {
			if !ch.isDead(r) {
				fn(ch.base + r)
			}
		}
	}
}

// size returns the bytes the index holds, for memory accounting.
func (ix *ivfIndex) size() int {
	n := 4 * (len(ix.centroids) + len(ix.cnorm) + len(ix.crot))
	for _, l := range ix.lists {
		n += 4*cap(l.rows) + 8*cap(l.codes) + 4*cap(l.fac)
	}
	return n
}
