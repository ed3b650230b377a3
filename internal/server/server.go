package server

import (
	"context"
	"log/slog"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/engine"
	"github.com/hartonomous/hartd/internal/spatial"
)

// Service implements hartonomous.v1.HartonomousService over an engine.
type Service struct {
	pb.UnimplementedHartonomousServiceServer
	eng *engine.Engine
	log *slog.Logger
}

// New returns the service for eng.
func New(eng *engine.Engine, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{eng: eng, log: log}
}

func metricToPB(m embed.Metric) pb.Metric {
	if m == embed.L2 {
		return pb.Metric_METRIC_L2
	}
	return pb.Metric_METRIC_COSINE
}

func modelToPB(m engine.ModelInfo) *pb.Model {
	return &pb.Model{
		Name: m.Name, Dimension: uint32(m.Dimension), Metric: metricToPB(m.Metric), Count: uint64(m.Count),
		ProjectionReady: m.ProjectionReady, CreateTime: timestamppb.New(m.CreatedAt), AnchorSeed: m.AnchorSeed,
	}
}

func pointToPB(p *spatial.Point) *pb.Point {
	if p == nil {
		return nil
	}
	return &pb.Point{X: p.X, Y: p.Y, Z: p.Z}
}

func pointFromPB(p *pb.Point) spatial.Point {
	return spatial.Point{X: p.GetX(), Y: p.GetY(), Z: p.GetZ()}
}

// CreateModel implements the RPC.
func (s *Service) CreateModel(ctx context.Context, req *pb.CreateModelRequest) (*pb.CreateModelResponse, error) {
	metric := ""
	switch req.GetMetric() {
	case pb.Metric_METRIC_UNSPECIFIED, pb.Metric_METRIC_COSINE:
		metric = "cosine"
	case pb.Metric_METRIC_L2:
		metric = "l2"
	default:
		metric = req.GetMetric().String()
	}
	m, err := s.eng.CreateModel(ctx, req.GetName(), int(req.GetDimension()), metric, req.GetAnchorSeed())
	if err != nil {
		return nil, toStatus(s.log, "CreateModel", err)
	}
	return &pb.CreateModelResponse{Model: modelToPB(m)}, nil
}

// ListModels implements the RPC.
func (s *Service) ListModels(context.Context, *pb.ListModelsRequest) (*pb.ListModelsResponse, error) {
	ms := s.eng.Models()
	out := &pb.ListModelsResponse{Models: make([]*pb.Model, len(ms))}
	for i, m := range ms {
		out.Models[i] = modelToPB(m)
	}
	return out, nil
}

// Insert implements the RPC.
func (s *Service) Insert(ctx context.Context, req *pb.InsertRequest) (*pb.InsertResponse, error) {
	items := make([]engine.Item, len(req.GetItems()))
	for i, it := range req.GetItems() {
		items[i] = engine.Item{Vector: it.GetVector(), Text: it.GetText(), SourceURI: it.GetSourceUri(),
			SourceType: it.GetSourceType(), Metadata: it.GetMetadata()}
	}
	ids, err := s.eng.Insert(ctx, req.GetModel(), items)
	if err != nil {
		return nil, toStatus(s.log, "Insert", err)
	}
	return &pb.InsertResponse{Ids: ids}, nil
}

// Get implements the RPC.
func (s *Service) Get(ctx context.Context, req *pb.GetRequest) (*pb.GetResponse, error) {
	it, err := s.eng.Get(ctx, req.GetModel(), req.GetId())
	if err != nil {
		return nil, toStatus(s.log, "Get", err)
	}
	return &pb.GetResponse{Item: &pb.StoredItem{
		Id: it.ID, AtomId: it.AtomID, Model: req.GetModel(), Vector: it.Vector, Point: pointToPB(it.Point),
		Text: it.Text, SourceUri: it.SourceURI, SourceType: it.SourceType, Metadata: it.Metadata,
		CreateTime: timestamppb.New(it.CreatedAt),
	}}, nil
}

// Delete implements the RPC.
func (s *Service) Delete(ctx context.Context, req *pb.DeleteRequest) (*pb.DeleteResponse, error) {
	n, err := s.eng.Delete(ctx, req.GetModel(), req.GetIds())
	if err != nil {
		return nil, toStatus(s.log, "Delete", err)
	}
	return &pb.DeleteResponse{Deleted: uint64(n)}, nil
}

// Search implements the RPC.
func (s *Service) Search(ctx context.Context, req *pb.SearchRequest) (*pb.SearchResponse, error) {
	sr := engine.SearchRequest{Model: req.GetModel(), Vector: req.GetVector(), K: int(req.GetK()),
		Candidates: int(min(req.GetCandidates(), 1<<30)), Mode: modeFromPB(req.GetMode())}
	switch r := req.GetRegion().(type) {
	case *pb.SearchRequest_Box:
		sr.Region = spatial.Box{Min: pointFromPB(r.Box.GetMin()), Max: pointFromPB(r.Box.GetMax())}
		sr.RegionField = "box"
	case *pb.SearchRequest_Sphere:
		sr.Region = spatial.Sphere{Center: pointFromPB(r.Sphere.GetCenter()), Radius: r.Sphere.GetRadius()}
		sr.RegionField = "sphere"
	}
	hits, st, err := s.eng.Search(ctx, sr)
	if err != nil {
		return nil, toStatus(s.log, "Search", err)
	}
	out := &pb.SearchResponse{Hits: make([]*pb.Hit, len(hits)), Stats: &pb.SearchStats{
		Mode:              modeToPB(st.Mode),
		Rows:              uint64(st.Rows),
		RegionPruned:      uint64(st.RegionPruned),
		DistancesComputed: uint64(st.Distances),
		PrepareUs:         uint64(st.Prepare.Microseconds()),
		ScanUs:            uint64(st.Scan.Microseconds()),
		FetchUs:           uint64(st.Fetch.Microseconds()),
	}}
	for _, t := range st.Tiers {
		out.Stats.Tiers = append(out.Stats.Tiers, &pb.TierStats{Name: t.Name, Examined: uint64(t.Examined),
			Passed: uint64(t.Passed), TimeUs: uint64(t.Time.Microseconds())})
	}
	for i, h := range hits {
		out.Hits[i] = &pb.Hit{Id: h.ID, AtomId: h.AtomID, Score: h.Score, Point: pointToPB(h.Point), Text: h.Text,
			SourceUri: h.SourceURI, SourceType: h.SourceType, Metadata: h.Metadata}
	}
	return out, nil
}

// Project implements the RPC.
func (s *Service) Project(ctx context.Context, req *pb.ProjectRequest) (*pb.ProjectResponse, error) {
	p, err := s.eng.Project(ctx, req.GetModel(), req.GetVector())
	if err != nil {
		return nil, toStatus(s.log, "Project", err)
	}
	return &pb.ProjectResponse{Point: pointToPB(&p)}, nil
}

var modes = map[pb.SearchMode]engine.Mode{
	pb.SearchMode_SEARCH_MODE_UNSPECIFIED: engine.ModeDefault,
	pb.SearchMode_SEARCH_MODE_EXACT:       engine.ModeExact,
	pb.SearchMode_SEARCH_MODE_HYBRID:      engine.ModeHybrid,
	pb.SearchMode_SEARCH_MODE_SEED:        engine.ModeSeed,
	pb.SearchMode_SEARCH_MODE_STORE:       engine.ModeStore,
}

// modeFromPB passes an enum value this server does not know through as
// the same number, which the engine rejects naming the field and the value.
func modeFromPB(m pb.SearchMode) engine.Mode {
	if em, ok := modes[m]; ok {
		return em
	}
	return engine.Mode(m)
}

func modeToPB(m engine.Mode) pb.SearchMode {
	for pm, em := range modes {
		if em == m && pm != pb.SearchMode_SEARCH_MODE_UNSPECIFIED {
			return pm
		}
	}
	return pb.SearchMode_SEARCH_MODE_UNSPECIFIED
}
