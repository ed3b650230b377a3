package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/viterin/vek/vek32"
)

// topK keeps the k best (highest score) entries seen: a min-heap on score,
// ties broken towards the lower id.
type topK struct {
	k      int
	scores []float32
	ids    []int32
}

func newTopK(k int) *topK {
	return &topK{k: k, scores: make([]float32, 0, k), ids: make([]int32, 0, k)}
}

// worse reports whether entry i ranks below entry j.
func (t *topK) worse(i, j int) bool {
	if t.scores[i] != t.scores[j] {
		return t.scores[i] < t.scores[j]
	}
	return t.ids[i] > t.ids[j]
}

func (t *topK) swap(i, j int) {
	t.scores[i], t.scores[j] = t.scores[j], t.scores[i]
	t.ids[i], t.ids[j] = t.ids[j], t.ids[i]
}

// push offers an entry.
func (t *topK) push(s float32, id int32) {
	if len(t.scores) < t.k {
		t.scores, t.ids = append(t.scores, s), append(t.ids, id)
		for i := len(t.scores) - 1; i > 0; {
			p := (i - 1) / 2
			if !t.worse(i, p) {
				break
			}
			t.swap(i, p)
			i = p
		}
		return
	}
	if s < t.scores[0] || (s == t.scores[0] && id > t.ids[0]) {
		return
	}
	t.scores[0], t.ids[0] = s, id
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < len(t.scores) && t.worse(l, m) {
			m = l
		}
		if r := l + 1; r < len(t.scores) && t.worse(r, m) {
			m = r
		}
		if m == i {
			break
		}
		t.swap(i, m)
		i = m
	}
}

// full reports whether the heap holds k entries; then an entry must beat
// scores[0] to enter.
func (t *topK) full() bool { return len(t.scores) == t.k }

// sorted returns the ids best first.
func (t *topK) sorted() []int32 {
	idx := make([]int, len(t.ids))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return t.worse(idx[b], idx[a]) })
	out := make([]int32, len(idx))
	for i, j := range idx {
		out[i] = t.ids[j]
	}
	return out
}

// truthMargin is how many extra float32 candidates each worker keeps per
// query for the float64 re-check: a true top-k neighbour would have to be
// out-ranked by this many rows through float32 rounding alone to be lost.
const truthMargin = 28

// truthBlock rows of the base set are scored against every query at once,
// so that the block stays in cache while the queries stream past it.
const truthBlock = 128

// groundTruth returns, for each query, the ids (row numbers) of its k
// nearest base rows by inner product (cosine: every vector is unit
// length), best first. Rows are scanned in float32 with vek's SIMD dot
// product by all cores; the candidates are re-scored in float64 and the
// order is decided there (ties: lower row first). tick is called with the
// number of base rows done.
func groundTruth(ctx context.Context, base, queries *Matrix, k int, tick func(int)) ([][]int32, error) {
	if base.Dim != queries.Dim {
		return nil, fmt.Errorf("ground truth: base dimension %d, queries %d", base.Dim, queries.Dim)
	}
	keep := min(k+truthMargin, base.N)
	workers := runtime.GOMAXPROCS(0)
	heaps := make([][]*topK, workers)
	var next atomic.Int64
	blocks := (base.N + truthBlock - 1) / truthBlock
	var wg sync.WaitGroup
	for w := range workers {
		hs := make([]*topK, queries.N)
		for q := range hs {
			hs[q] = newTopK(keep)
		}
		heaps[w] = hs
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				b := int(next.Add(1) - 1)
				if b >= blocks {
					return
				}
				lo, hi := b*truthBlock, min((b+1)*truthBlock, base.N)
				for q := range queries.N {
					qv, h := queries.Row(q), hs[q]
					for r := lo; r < hi; r++ {
						s := vek32.Dot(qv, base.Row(r))
						if !h.full() || s >= h.scores[0] {
							h.push(s, int32(r))
						}
					}
				}
				if tick != nil {
					tick(hi - lo)
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ground truth: %w", err)
	}
	out := make([][]int32, queries.N)
	for q := range queries.N {
		var cand []int32
		for w := range workers {
			cand = append(cand, heaps[w][q].ids...)
		}
		out[q] = rerank64(queries.Row(q), base, cand, k)
	}
	return out, nil
}

// rerank64 orders the candidate rows by their float64 inner product with
// q, best first (ties: lower row first), and returns the first k.
func rerank64(q []float32, base *Matrix, cand []int32, k int) []int32 {
	type sc struct {
		s  float64
		id int32
	}
	all := make([]sc, len(cand))
	for i, id := range cand {
		all[i] = sc{dot64(q, base.Row(int(id))), id}
	}
	sort.Slice(all, func(a, b int) bool {
		if all[a].s != all[b].s {
			return all[a].s > all[b].s
		}
		return all[a].id < all[b].id
	})
	out := make([]int32, 0, k)
	for _, e := range all[:min(k, len(all))] {
		out = append(out, e.id)
	}
	return out
}

func dot64(a, b []float32) float64 {
	var s float64
	for i, x := range a {
		s += float64(x) * float64(b[i])
	}
	return s
}

// recallAt returns |found[:k] ∩ truth[:k]| / k.
func recallAt(found, truth []int32, k int) float64 {
	if k <= 0 {
		return 0
	}
	t := truth[:min(k, len(truth))]
	set := make(map[int32]struct{}, len(t))
	for _, id := range t {
		set[id] = struct{}{}
	}
	hit := 0
	for _, id := range found[:min(k, len(found))] {
		if _, ok := set[id]; ok {
			hit++
			delete(set, id) // a duplicate in found counts once
		}
	}
	return float64(hit) / float64(k)
}

// writeIvecs writes rows of int32 as .ivecs records, atomically.
func writeIvecs(path string, rows [][]int32) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("write truth: %w", err)
	}
	w := bufio.NewWriter(f)
	var b [4]byte
	for _, r := range rows {
		binary.LittleEndian.PutUint32(b[:], uint32(len(r)))
		_, _ = w.Write(b[:])
		for _, v := range r {
			binary.LittleEndian.PutUint32(b[:], uint32(v))
			_, _ = w.Write(b[:])
		}
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return fmt.Errorf("write truth %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write truth %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write truth: %w", err)
	}
	return nil
}

// readIvecs reads an .ivecs file.
func readIvecs(path string) ([][]int32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read truth: %w", err)
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var out [][]int32
	var b [4]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("read truth %s: %w", filepath.Base(path), err)
		}
		n := int(int32(binary.LittleEndian.Uint32(b[:])))
		if n < 0 || n > 1<<20 {
			return nil, fmt.Errorf("read truth %s: record of %d values", filepath.Base(path), n)
		}
		row := make([]int32, n)
		if err := binary.Read(r, binary.LittleEndian, row); err != nil {
			return nil, fmt.Errorf("read truth %s: %w", filepath.Base(path), err)
		}
		out = append(out, row)
	}
}
