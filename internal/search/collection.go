package search

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/spatial"
)

// Chunk sizes grow geometrically from minChunkRows so that a small model
// costs little, up to about maxChunkBytes of vectors per chunk.
const (
	minChunkRows  = 64
	maxChunkBytes = 4 << 20
)

// chunk holds a run of consecutive rows. Its arrays are allocated at full
// capacity once; rows [0, published) are immutable but for their tombstone
// bits.
type chunk struct {
	base int       // global index of row 0
	rows int       // capacity in rows
	vecs []float32 // rows × dim
	ids  []int64
	// pts is nil while the collection has no projection. SetProjection
	// replaces the chunk (not the array in place) to give it new points.
	pts  []spatial.Point
	dead []atomic.Uint64 // tombstone bitmap
}

func (c *chunk) isDead(i int) bool { return c.dead[i>>6].Load()&(1<<(uint(i)&63)) != 0 }

// snapshot is what a reader sees: immutable once published.
type snapshot struct {
	chunks []*chunk
	n      int // rows published, dead included
	proj   *spatial.Projection
}

// Collection is one model's vectors. The zero value is not usable; call New.
type Collection struct {
	dim    int          // immutable
	metric embed.Metric // immutable

	snap atomic.Pointer[snapshot]
	live atomic.Int64 // rows not deleted
	// index is the partitioned index over a prefix of the rows, nil until
	// the indexer builds one. Only the indexer goroutine stores it.
	index atomic.Pointer[ivfIndex]
	// wake tells the indexer that rows were appended or a retrain was
	// requested (capacity 1, sends never block).
	wake chan struct{}
	// retrain asks the indexer to retrain the centroids at its next step.
	retrain atomic.Bool

	// mu serializes writers. Readers never take it.
	mu sync.Mutex
}

// New returns an empty collection of vectors of length dim compared by m.
func New(dim int, m embed.Metric) *Collection {
	c := &Collection{dim: dim, metric: m, wake: make(chan struct{}, 1)}
	c.snap.Store(&snapshot{})
	return c
}

// Dim returns the vector length.
func (c *Collection) Dim() int { return c.dim }

// Metric returns the metric.
func (c *Collection) Metric() embed.Metric { return c.metric }

// Len returns the number of live rows.
func (c *Collection) Len() int { return int(c.live.Load()) }

// Projection returns the current projection, nil before anchors are chosen.
func (c *Collection) Projection() *spatial.Projection { return c.snap.Load().proj }

func (c *Collection) newChunk(base, prevRows int) *chunk {
	maxRows := max(minChunkRows, maxChunkBytes/(4*c.dim))
	rows := minChunkRows
	if prevRows > 0 {
		rows = min(2*prevRows, maxRows)
	}
	return &chunk{
		base: base,
		rows: rows,
		vecs: allocFloats(rows * c.dim),
		ids:  make([]int64, rows),
		dead: make([]atomic.Uint64, (rows+63)/64),
	}
}

// Append adds rows with ascending ids, all greater than any id already held
// (the store assigns ids in commit order and the engine appends in that
// order). vecs[i] has length Dim. pts is nil when the collection has no
// projection; otherwise it gives every row's point.
func (c *Collection) Append(ids []int64, vecs [][]float32, pts []spatial.Point) error {
	if len(vecs) != len(ids) || (pts != nil && len(pts) != len(ids)) {
		return fmt.Errorf("search: append: %d ids, %d vectors, %d points", len(ids), len(vecs), len(pts))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.snap.Load()
	if (old.proj == nil) != (pts == nil) {
		return fmt.Errorf("search: append: points given %v, projection set %v", pts != nil, old.proj != nil)
	}
	last := int64(-1 << 63)
	if old.n > 0 {
		last = c.idAtLocked(old, old.n-1)
	}
	for i, id := range ids {
		if id <= last {
			return fmt.Errorf("search: append: id %d is not above %d", id, last)
		}
		if len(vecs[i]) != c.dim {
			return fmt.Errorf("search: append: vector %d has %d values, want %d", i, len(vecs[i]), c.dim)
		}
		last = id
	}
	chunks := old.chunks
	n := old.n
	for i := range ids {
		var ch *chunk
		if len(chunks) > 0 {
			ch = chunks[len(chunks)-1]
		}
		if ch == nil || n == ch.base+ch.rows {
			prev := 0
			if ch != nil {
				prev = ch.rows
			}
			ch = c.newChunk(n, prev)
			if pts != nil {
				ch.pts = make([]spatial.Point, ch.rows)
			}
			// A new slice header: old snapshots keep their own.
			chunks = append(chunks[:len(chunks):len(chunks)], ch)
		}
		r := n - ch.base
		copy(ch.vecs[r*c.dim:(r+1)*c.dim], vecs[i])
		ch.ids[r] = ids[i]
		if pts != nil {
			ch.pts[r] = pts[i]
		}
		n++
	}
	c.snap.Store(&snapshot{chunks: chunks, n: n, proj: old.proj})
	c.live.Add(int64(len(ids)))
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

func (c *Collection) idAtLocked(s *snapshot, i int) int64 {
	ch := s.chunks[chunkOf(s.chunks, i)]
	return ch.ids[i-ch.base]
}

// chunkOf returns the index of the chunk holding global row i.
func chunkOf(chunks []*chunk, i int) int {
	return sort.Search(len(chunks), func(k int) bool { return chunks[k].base+chunks[k].rows > i })
}

// locateLocked finds the row of id, or -1.
func (c *Collection) locateLocked(s *snapshot, id int64) (ch *chunk, row int) {
	// Ids ascend with the global row index; binary search over chunks, then rows.
	k := sort.Search(len(s.chunks), func(k int) bool {
		ck := s.chunks[k]
		end := min(ck.rows, s.n-ck.base)
		return end > 0 && ck.ids[end-1] >= id
	})
	if k == len(s.chunks) {
		return nil, -1
	}
	ck := s.chunks[k]
	end := min(ck.rows, s.n-ck.base)
	r := sort.Search(end, func(r int) bool { return ck.ids[r] >= id })
	if r == end || ck.ids[r] != id {
		return nil, -1
	}
	return ck, r
}

// Delete tombstones the rows with the given ids and returns how many live
// rows it removed; ids not held (or already deleted) are ignored.
func (c *Collection) Delete(ids []int64) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.snap.Load()
	n := 0
	for _, id := range ids {
		ch, r := c.locateLocked(s, id)
		if ch == nil || ch.isDead(r) {
			continue
		}
		ch.dead[r>>6].Or(1 << (uint(r) & 63))
		n++
	}
	c.live.Add(-int64(n))
	return n
}

// Contains reports whether id is a live row.
func (c *Collection) Contains(id int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, r := c.locateLocked(c.snap.Load(), id)
	return ch != nil && !ch.isDead(r)
}

// ForEach calls fn for every live row of the current snapshot in id order.
// vec and the point are read-only; pt is nil without a projection.
func (c *Collection) ForEach(fn func(id int64, vec []float32, pt *spatial.Point) bool) {
	s := c.snap.Load()
	for _, ch := range s.chunks {
		end := min(ch.rows, s.n-ch.base)
		for r := 0; r < end; r++ {
			if ch.isDead(r) {
				continue
			}
			var pt *spatial.Point
			if ch.pts != nil {
				pt = &ch.pts[r]
			}
			if !fn(ch.ids[r], ch.vecs[r*c.dim:(r+1)*c.dim:(r+1)*c.dim], pt) {
				return
			}
		}
	}
}

// SetProjection installs p and the points of every row held, computed by p
// (Project is deterministic, so they equal what the caller persisted). Rows
// appended afterwards must come with points.
func (c *Collection) SetProjection(p *spatial.Projection) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.snap.Load()
	chunks := make([]*chunk, len(old.chunks))
	for k, ch := range old.chunks {
		nc := *ch // shares vecs, ids and dead; new points
		nc.pts = make([]spatial.Point, ch.rows)
		end := min(ch.rows, old.n-ch.base)
		for r := 0; r < end; r++ {
			nc.pts[r] = p.Project(ch.vecs[r*c.dim : (r+1)*c.dim])
		}
		chunks[k] = &nc
	}
	c.snap.Store(&snapshot{chunks: chunks, n: old.n, proj: p})
}
