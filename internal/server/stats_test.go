package server

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
)

func TestStatsRPC(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := testCtx(t)

	resp, err := h.client.Stats(ctx, &pb.StatsRequest{})
	if err != nil || len(resp.Models) != 0 {
		t.Fatalf("Stats of no model: %v, %v", resp, err)
	}
	if _, err := h.client.Stats(ctx, &pb.StatsRequest{Model: "nope"}); status.Code(err) != codes.NotFound {
		t.Fatalf("Stats of an unknown model: %v, want NotFound", err)
	}

	mustCreate(t, h, "b", 3, pb.Metric_METRIC_L2)
	mustCreate(t, h, "a", 3, pb.Metric_METRIC_COSINE)
	mustInsert(t, h, "b", &pb.Item{Vector: []float32{1, 0, 0}})
	ids := mustInsert(t, h, "a",
		&pb.Item{Vector: []float32{1, 0, 0}}, &pb.Item{Vector: []float32{0, 1, 0}},
		&pb.Item{Vector: []float32{0, 0, 1}}, &pb.Item{Vector: []float32{1, 1, 0}})
	if _, err := h.client.Delete(ctx, &pb.DeleteRequest{Model: "a", Ids: ids[3:]}); err != nil {
		t.Fatal(err)
	}

	resp, err = h.client.Stats(ctx, &pb.StatsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Models) != 2 || resp.Models[0].Name != "a" || resp.Models[1].Name != "b" {
		t.Fatalf("models %v, want a and b by name", resp.Models)
	}
	a, b := resp.Models[0], resp.Models[1]
	if a.Count != 3 || a.Dimension != 3 || a.Metric != pb.Metric_METRIC_COSINE || !a.ProjectionReady {
		t.Errorf("a: %v", a)
	}
	if ix := a.Index; ix.GetRows() != 4 || ix.GetLiveRows() != 3 || ix.GetTombstones() != 1 {
		t.Errorf("a's index: %v", ix)
	}
	if a.Anchors == nil || len(a.Anchors.EmbeddingIds) != 3 || a.Anchors.ChosenTime == nil {
		t.Fatalf("a's anchors: %v", a.Anchors)
	}
	for _, id := range a.Anchors.EmbeddingIds {
		if id < ids[0] || id > ids[3] {
			t.Errorf("anchor id %d is not one of a's embeddings %v", id, ids)
		}
	}
	// The range holds the point of every live embedding.
	r := a.ProjectionBounds
	if r == nil {
		t.Fatal("a has no projection bounds")
	}
	for _, id := range ids[:3] {
		it, err := h.client.Get(ctx, &pb.GetRequest{Model: "a", Id: id})
		if err != nil {
			t.Fatal(err)
		}
		p := it.Item.Point
		if p.X < r.Min.X || p.X > r.Max.X || p.Y < r.Min.Y || p.Y > r.Max.Y || p.Z < r.Min.Z || p.Z > r.Max.Z {
			t.Errorf("point %v of %d outside the bounds %v", p, id, r)
		}
	}
	if len(a.Decisions) != 0 {
		t.Errorf("decisions %v, want none until the adaptive loop exists", a.Decisions)
	}
	// b has one vector: no anchors, no bounds.
	if b.Count != 1 || b.ProjectionReady || b.Anchors != nil || b.ProjectionBounds != nil || b.Index.GetRows() != 1 {
		t.Errorf("b: %v", b)
	}

	one, err := h.client.Stats(ctx, &pb.StatsRequest{Model: "b"})
	if err != nil || len(one.Models) != 1 || one.Models[0].Name != "b" {
		t.Fatalf("Stats of b: %v, %v", one, err)
	}
}
