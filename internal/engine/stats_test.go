package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/hartonomous/hartd/internal/store/sqlite"
)

// Stats reads the anchors from the store, so they survive a restart; the
// counts and bounds come from the rebuilt core.
func TestStatsAcrossRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func() (*Engine, func()) {
		st, err := sqlite.Open(ctx, dir, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		e, err := Open(ctx, st, nil)
		if err != nil {
			st.Close()
			t.Fatal(err)
		}
		return e, func() { e.Close(); st.Close() }
	}
	e, closeAll := open()
	if _, err := e.Stats(ctx, "nope"); !errors.Is(err, ErrModelNotFound) {
		t.Fatalf("Stats of an unknown model: %v", err)
	}
	if _, err := e.CreateModel(ctx, "m", 3, "l2", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateModel(ctx, "empty", 3, "cosine", 1); err != nil {
		t.Fatal(err)
	}
	ids, err := e.Insert(ctx, "m", []Item{{Vector: []float32{0, 0, 0}}, {Vector: []float32{2, 0, 0}},
		{Vector: []float32{0, 3, 0}}, {Vector: []float32{1, 1, 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Delete(ctx, "m", ids[1:2]); err != nil {
		t.Fatal(err)
	}
	before, err := e.Stats(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 2 || before[0].Name != "empty" || before[1].Name != "m" {
		t.Fatalf("Stats: %+v", before)
	}
	if s := before[0]; s.Anchors != nil || s.Bounds != nil || s.Index != (IndexStats{}) || s.Decisions != nil {
		t.Errorf("empty model: %+v", s)
	}
	m := before[1]
	if m.Anchors == nil || m.Bounds == nil || m.Index != (IndexStats{Rows: 4, LiveRows: 3, Tombstones: 1, Tail: 4}) || m.Count != 3 {
		t.Fatalf("m: %+v", m)
	}
	if !m.AnchorsChosenAt.Equal(m.Anchors.ChosenAt) || m.AnchorsChosenAt.IsZero() {
		t.Errorf("AnchorsChosenAt %v, anchors %v", m.AnchorsChosenAt, m.Anchors.ChosenAt)
	}
	closeAll()

	e, closeAll = open()
	defer closeAll()
	after, err := e.Stats(ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	a := after[0]
	if a.Anchors == nil || a.Anchors.EmbeddingIDs != m.Anchors.EmbeddingIDs || !a.Anchors.ChosenAt.Equal(m.Anchors.ChosenAt) {
		t.Errorf("anchors after a restart %+v, before %+v", a.Anchors, m.Anchors)
	}
	if *a.Bounds != *m.Bounds {
		t.Errorf("bounds after a restart %v, before %v", *a.Bounds, *m.Bounds)
	}
	// The rebuilt core holds only the live rows.
	if a.Index != (IndexStats{Rows: 3, LiveRows: 3, Tail: 3}) {
		t.Errorf("index after a restart %+v", a.Index)
	}
}
