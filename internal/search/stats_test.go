package search

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/spatial"
)

func TestCountsAndBounds(t *testing.T) {
	const dim = 8
	r := rand.New(rand.NewPCG(7, 7))
	c := New(dim, embed.L2)
	if _, ok := c.Bounds(); ok {
		t.Fatal("Bounds of an empty collection: ok")
	}
	if got := c.Counts(); got != (RowCounts{}) {
		t.Fatalf("Counts of an empty collection = %+v", got)
	}

	// Rows before the projection have no point: no bounds.
	vecs := make([][]float32, 300)
	ids := make([]int64, len(vecs))
	for i := range vecs {
		vecs[i] = make([]float32, dim)
		for j := range vecs[i] {
			vecs[i][j] = float32(r.NormFloat64())
		}
		ids[i] = int64(i + 1)
	}
	if err := c.Append(ids[:100], vecs[:100], nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Bounds(); ok {
		t.Fatal("Bounds without a projection: ok")
	}
	proj, err := spatial.NewProjection(vecs[0], vecs[1], vecs[2])
	if err != nil {
		t.Fatal(err)
	}
	c.SetProjection(proj)
	pts := make([]spatial.Point, 200)
	for i := range pts {
		pts[i] = proj.Project(vecs[100+i])
	}
	if err := c.Append(ids[100:], vecs[100:], pts); err != nil {
		t.Fatal(err)
	}
	deleted := map[int64]bool{}
	for i := 0; i < len(ids); i += 3 {
		deleted[ids[i]] = true
	}
	var del []int64
	for id := range deleted {
		del = append(del, id)
	}
	c.Delete(del)

	got := c.Counts()
	want := RowCounts{Rows: 300, Live: 300 - len(deleted)}
	if got != want || got.Tombstones() != len(deleted) {
		t.Fatalf("Counts = %+v (tombstones %d), want %+v (tombstones %d)", got, got.Tombstones(), want, len(deleted))
	}

	// The reference: every live row's point, by brute force.
	var ref spatial.Box
	first := true
	for i, v := range vecs {
		if deleted[ids[i]] {
			continue
		}
		p := proj.Project(v)
		if first {
			ref, first = spatial.Box{Min: p, Max: p}, false
			continue
		}
		ref.Min = spatial.Point{X: min(ref.Min.X, p.X), Y: min(ref.Min.Y, p.Y), Z: min(ref.Min.Z, p.Z)}
		ref.Max = spatial.Point{X: max(ref.Max.X, p.X), Y: max(ref.Max.Y, p.Y), Z: max(ref.Max.Z, p.Z)}
	}
	box, ok := c.Bounds()
	if !ok || box != ref {
		t.Fatalf("Bounds = %v, %v; want %v", box, ok, ref)
	}

	// Deleting everything leaves no bounds.
	c.Delete(ids)
	if _, ok := c.Bounds(); ok {
		t.Fatal("Bounds with no live row: ok")
	}
	if got := c.Counts(); got.Live != 0 || got.Rows != 300 {
		t.Fatalf("Counts after deleting all = %+v", got)
	}
}

// TestStatsBesideWriters runs Counts and Bounds beside Append and Delete,
// for the race detector, and checks that the counts always agree.
func TestStatsBesideWriters(t *testing.T) {
	const dim = 4
	c := New(dim, embed.L2)
	proj, err := spatial.NewProjection([]float32{1, 0, 0, 0}, []float32{0, 1, 0, 0}, []float32{0, 0, 1, 0})
	if err != nil {
		t.Fatal(err)
	}
	c.SetProjection(proj)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(1, 2))
		for id := int64(1); id <= 2000; id++ {
			v := []float32{float32(r.NormFloat64()), float32(r.NormFloat64()), float32(r.NormFloat64()), float32(r.NormFloat64())}
			if err := c.Append([]int64{id}, [][]float32{v}, []spatial.Point{proj.Project(v)}); err != nil {
				t.Error(err)
				break
			}
			if id%5 == 0 {
				c.Delete([]int64{id - 2})
			}
		}
		close(stop)
	}()
	for done := false; !done; {
		select {
		case <-stop:
			done = true
		default:
		}
		rc := c.Counts()
		if rc.Live > rc.Rows || rc.Tombstones() < 0 {
			t.Fatalf("inconsistent counts %+v", rc)
		}
		c.Bounds()
	}
	wg.Wait()
}
