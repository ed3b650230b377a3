package server

import (
	"context"
	"log/slog"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
	"github.com/hartonomous/hartd/internal/billing"
	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/engine"
	"github.com/hartonomous/hartd/internal/spatial"
)

// Service implements hartonomous.v1.HartonomousService over an engine.
type Service struct {
	pb.UnimplementedHartonomousServiceServer
	eng *engine.Engine
	log *slog.Logger
	// bill is nil without billing (WithBilling not called).
	bill *billing.Biller
}

// New returns the service for eng.
func New(eng *engine.Engine, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{eng: eng, log: log}
}

// WithBilling makes every call that does work write its ledger row through
// b, and serves GetUsage and the deduplication policies from b's store.
func (s *Service) WithBilling(b *billing.Biller) *Service {
	s.bill = b
	return s
}

// charge writes the ledger row of a call that succeeded; the call is
// acknowledged only once the row has committed.
func (s *Service) charge(ctx context.Context, method, op string, units float64, distances int64, meta map[string]any) error {
	if s.bill == nil {
		return nil
	}
	if err := s.bill.Charge(ctx, op, units, distances, meta); err != nil {
		return toStatus(s.log, method, err)
	}
	return nil
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
	if err := s.charge(ctx, "CreateModel", billing.OpCreateModel, 1, 0, map[string]any{"model": m.Name}); err != nil {
		return nil, err
	}
	return &pb.CreateModelResponse{Model: modelToPB(m)}, nil
}

// ListModels implements the RPC.
func (s *Service) ListModels(ctx context.Context, _ *pb.ListModelsRequest) (*pb.ListModelsResponse, error) {
	ms := s.eng.TenantModels(ctx)
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
	opts := engine.InsertOptions{SkipSemantic: req.GetSkipSemanticDedup()}
	if s.bill != nil && len(items) > 0 {
		// The insert's row commits in the insert's own transaction.
		rec, err := s.bill.Record(ctx, billing.OpInsert, float64(len(items)), 0,
			map[string]any{"model": req.GetModel(), "items": len(items)})
		if err != nil {
			return nil, toStatus(s.log, "Insert", err)
		}
		opts.Usage = &rec
	}
	res, err := s.eng.InsertItems(ctx, req.GetModel(), items, opts)
	if err != nil {
		return nil, toStatus(s.log, "Insert", err)
	}
	out := &pb.InsertResponse{Ids: make([]int64, len(res)), Results: make([]*pb.InsertResult, len(res))}
	for i, r := range res {
		out.Ids[i] = r.ID
		out.Results[i] = &pb.InsertResult{Id: r.ID, AtomId: r.AtomID, Status: statusToPB(r.Status), ReferenceCount: r.ReferenceCount}
	}
	return out, nil
}

// Get implements the RPC.
func (s *Service) Get(ctx context.Context, req *pb.GetRequest) (*pb.GetResponse, error) {
	it, err := s.eng.Get(ctx, req.GetModel(), req.GetId())
	if err != nil {
		return nil, toStatus(s.log, "Get", err)
	}
	if err := s.charge(ctx, "Get", billing.OpGet, 1, 0, map[string]any{"model": req.GetModel()}); err != nil {
		return nil, err
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
	if err := s.charge(ctx, "Delete", billing.OpDelete, float64(n), 0, map[string]any{"model": req.GetModel(), "deleted": n}); err != nil {
		return nil, err
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
	if err := s.charge(ctx, "Search", billing.OpSearch, 1, int64(st.Distances),
		map[string]any{"model": req.GetModel(), "mode": st.Mode.String(), "k": sr.K, "distances": st.Distances}); err != nil {
		return nil, err
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
	if err := s.charge(ctx, "Project", billing.OpProject, 1, 0, map[string]any{"model": req.GetModel()}); err != nil {
		return nil, err
	}
	return &pb.ProjectResponse{Point: pointToPB(&p)}, nil
}

func statusToPB(st engine.InsertStatus) pb.InsertStatus {
	switch st {
	case engine.StatusNew:
		return pb.InsertStatus_INSERT_STATUS_NEW
	case engine.StatusContent:
		return pb.InsertStatus_INSERT_STATUS_DEDUPLICATED_CONTENT
	case engine.StatusSemantic:
		return pb.InsertStatus_INSERT_STATUS_DEDUPLICATED_SEMANTIC
	}
	return pb.InsertStatus_INSERT_STATUS_UNSPECIFIED
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
