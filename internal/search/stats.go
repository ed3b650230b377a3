package search

import "github.com/hartonomous/hartd/internal/spatial"

// RowCounts describes a collection's rows at one instant.
type RowCounts struct {
	// Rows is every row appended, deleted ones included.
	Rows int
	// Live is the rows not deleted.
	Live int
}

// Tombstones is the number of deleted rows still held.
func (r RowCounts) Tombstones() int { return r.Rows - r.Live }

// Counts returns the collection's row counts. It takes the writers' lock
// for an instant, so that the two counts agree with each other (Append
// publishes its snapshot before it adds to the live count).
func (c *Collection) Counts() RowCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return RowCounts{Rows: c.snap.Load().n, Live: int(c.live.Load())}
}

// Bounds returns the smallest axis-aligned box holding the projected point
// of every live row of the current snapshot. ok is false when the
// collection has no projection or no live row. It reads one snapshot without
// any lock, in time linear in the rows.
func (c *Collection) Bounds() (box spatial.Box, ok bool) {
	c.ForEach(func(_ int64, _ []float32, pt *spatial.Point) bool {
		if pt == nil {
			return false // no projection: no row has a point
		}
		if !ok {
			box, ok = spatial.Box{Min: *pt, Max: *pt}, true
			return true
		}
		box.Min.X, box.Max.X = min(box.Min.X, pt.X), max(box.Max.X, pt.X)
		box.Min.Y, box.Max.Y = min(box.Min.Y, pt.Y), max(box.Max.Y, pt.Y)
		box.Min.Z, box.Max.Z = min(box.Min.Z, pt.Z), max(box.Max.Z, pt.Z)
		return true
	})
	return box, ok
}
