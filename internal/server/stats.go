package server

import (
	"context"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
	"github.com/hartonomous/hartd/internal/engine"
)

// Stats implements the RPC.
func (s *Service) Stats(ctx context.Context, req *pb.StatsRequest) (*pb.StatsResponse, error) {
	ms, err := s.eng.Stats(ctx, req.GetModel())
	if err != nil {
		return nil, toStatus(s.log, "Stats", err)
	}
	out := &pb.StatsResponse{Models: make([]*pb.ModelStats, len(ms))}
	for i, m := range ms {
		out.Models[i] = modelStatsToPB(m)
	}
	return out, nil
}

func modelStatsToPB(m engine.ModelStats) *pb.ModelStats {
	ps := &pb.ModelStats{
		Name: m.Name, Count: uint64(m.Count), Dimension: uint32(m.Dimension), Metric: metricToPB(m.Metric),
		ProjectionReady: m.ProjectionReady,
		Index:           indexToPB(m.Index),
		Decisions:       []*pb.Decision{},
	}
	if a := m.Anchors; a != nil {
		ps.Anchors = &pb.AnchorInfo{EmbeddingIds: append([]int64(nil), a.EmbeddingIDs[:]...), ChosenTime: timestamppb.New(a.ChosenAt)}
	}
	if b := m.Bounds; b != nil {
		ps.ProjectionBounds = &pb.Box{Min: pointToPB(&b.Min), Max: pointToPB(&b.Max)}
	}
	for _, d := range m.Decisions {
		ps.Decisions = append(ps.Decisions, &pb.Decision{Time: timestamppb.New(d.Time), Action: d.Action, Reason: d.Reason})
	}
	return ps
}

func indexToPB(ix engine.IndexStats) *pb.IndexState {
	out := &pb.IndexState{Rows: uint64(ix.Rows), LiveRows: uint64(ix.LiveRows), Tombstones: uint64(ix.Tombstones),
		IndexBuilt: ix.Built, Partitions: uint32(ix.Partitions), IndexedRows: uint64(ix.Indexed), TailRows: uint64(ix.Tail),
		TrainedOnRows: uint64(ix.TrainedOn), IndexBytes: uint64(ix.Bytes)}
	if !ix.BuiltAt.IsZero() {
		out.BuiltTime = timestamppb.New(ix.BuiltAt)
	}
	return out
}
