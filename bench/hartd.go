package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
	"github.com/hartonomous/hartd/internal/billing"
	"github.com/hartonomous/hartd/internal/engine"
	"github.com/hartonomous/hartd/internal/server"
	"github.com/hartonomous/hartd/internal/spatial"
	"github.com/hartonomous/hartd/internal/store"
	"github.com/hartonomous/hartd/internal/store/sqlite"
)

// benchModel is the model the data set is loaded into.
const benchModel = "bench"

// maxMessageBytes is the server's and the client's message limit, as
// hartd serve's default.
const maxMessageBytes = 64 << 20

// HartdResult is everything measured against hartd. Status says, per row
// key, why a measurement has no value ("unimplemented", "skipped", an
// error).
type HartdResult struct {
	Status     map[string]string `json:"status"`
	Load       *LoadResult       `json:"load,omitempty"`
	Build      *BuildResult      `json:"build,omitempty"`
	Memory     *MemoryResult     `json:"memory,omitempty"`
	Projection *ProjectionResult `json:"projection,omitempty"`
	Exact      *ModeResult       `json:"exact,omitempty"`
	Hybrid     *HybridResult     `json:"hybrid,omitempty"`
	SeedMode   *ModeResult       `json:"seed_mode,omitempty"`
	Insert     *InsertResult     `json:"insert,omitempty"`
	Reload     *ReloadResult     `json:"reload,omitempty"`
	Billing    *BillingResult    `json:"billing,omitempty"`
}

// BillingResult is the ledger's amortized cost: Records appended by
// Parallelism concurrent callers, each waiting for its record's group
// commit, as a request does.
type BillingResult struct {
	Records     int     `json:"records"`
	Parallelism int     `json:"parallelism"`
	Seconds     float64 `json:"seconds"`
	UsPerRecord float64 `json:"us_per_record"`
}

// LoadResult is the bulk load over gRPC.
type LoadResult struct {
	Vectors     int     `json:"vectors"`
	Seconds     float64 `json:"seconds"`
	VectorsPerS float64 `json:"vectors_per_s"`
	Batch       int     `json:"batch"`
	Inflight    int     `json:"inflight"`
	// SearchableAfterLoad: an EXACT search for the last vector loaded,
	// issued as soon as the load returned, found it at rank 1.
	SearchableAfterLoad *bool `json:"searchable_after_load"`
	// HybridAfterLoad is the same check in HYBRID mode: "ok", "missed",
	// "unimplemented" or an error.
	HybridAfterLoad string `json:"hybrid_after_load"`
}

// BuildResult is the index build: the load plus the wait, after it, until
// the server reports the model ready (Condition says what was checked).
type BuildResult struct {
	Seconds     *float64       `json:"seconds"`
	LoadSeconds float64        `json:"load_seconds"`
	WaitSeconds float64        `json:"wait_seconds"`
	Ready       bool           `json:"ready"`
	Condition   string         `json:"condition"`
	IndexState  map[string]any `json:"index_state,omitempty"`
}

// MemoryResult is the resident memory after the load, the index build
// and a GC.
type MemoryResult struct {
	// ServerBytes is the growth of the process's anonymous resident memory
	// (RssAnon) from just before the server started to after the load:
	// the server's footprint. The harness's data is a file mapping, which
	// counts in VmRSS but not in RssAnon.
	ServerBytes       int64   `json:"server_bytes"`
	ProcessVmRSS      int64   `json:"process_vmrss_bytes"`
	ProcessRssAnon    int64   `json:"process_rss_anon_bytes"`
	BaselineRssAnon   int64   `json:"baseline_rss_anon_bytes"`
	GoHeapInuseBytes  int64   `json:"go_heap_inuse_bytes"`
	RawFloat32Bytes   int64   `json:"raw_float32_bytes"`
	ServerRatioToRaw  float64 `json:"server_ratio_to_raw"`
	ProcessRatioToRaw float64 `json:"process_vmrss_ratio_to_raw"`
}

// ProjectionResult is the projection's cost.
type ProjectionResult struct {
	// NsPerOp is spatial.Projection.Project on the model's anchors: the
	// median over rounds of the mean over the queries.
	NsPerOp *float64 `json:"ns_per_op"`
	// EngineNsPerOp is engine.Project: validation, normalization and the
	// projection, in process.
	EngineNsPerOp *float64 `json:"engine_ns_per_op,omitempty"`
	// GRPC is the Project RPC over loopback.
	GRPC *Latency `json:"grpc,omitempty"`
	// MatchesServer: the harness's projection of a query equals the
	// server's (within 1e-6 relative).
	MatchesServer bool `json:"matches_server"`
}

// ModeResult is one search mode at one budget.
type ModeResult struct {
	Candidates int        `json:"candidates"`
	GRPC       SearchRun  `json:"grpc"`
	InProcess  *SearchRun `json:"in_process,omitempty"`
}

// HybridResult is the sweep over HYBRID's candidate budget.
type HybridResult struct {
	Status string       `json:"status"`
	Curve  []CurvePoint `json:"curve"`
}

// CurvePoint is HYBRID at one candidate budget.
type CurvePoint struct {
	Candidates int        `json:"candidates"`
	GRPC       SearchRun  `json:"grpc"`
	InProcess  *SearchRun `json:"in_process,omitempty"`
}

// chosen is the cheapest point reaching the target recall (over gRPC).
func (h *HybridResult) chosen() *CurvePoint {
	if h == nil {
		return nil
	}
	for i := range h.Curve {
		p := &h.Curve[i]
		if p.GRPC.Status == statusOK && p.GRPC.Recall != nil && *p.GRPC.Recall >= targetRecall {
			return p
		}
	}
	return nil
}

// best is the point of highest recall.
func (h *HybridResult) best() *CurvePoint {
	if h == nil {
		return nil
	}
	var b *CurvePoint
	for i := range h.Curve {
		p := &h.Curve[i]
		if p.GRPC.Recall != nil && (b == nil || *p.GRPC.Recall > *b.GRPC.Recall) {
			b = p
		}
	}
	return b
}

// curveQPS returns the measured points in budget order: recall and
// throughput, in process when measured there (inProcess) else over gRPC.
func (h *HybridResult) curveQPS(inProcess bool) []recallQPS {
	if h == nil {
		return nil
	}
	var out []recallQPS
	for _, p := range h.Curve {
		run := &p.GRPC
		if inProcess && p.InProcess != nil && p.InProcess.Latency != nil {
			run = p.InProcess
		}
		if p.GRPC.Recall != nil && run.Latency != nil {
			out = append(out, recallQPS{*p.GRPC.Recall, run.Latency.QPS})
		}
	}
	return out
}

// SearchRun is one timed pass over the queries, one query at a time.
type SearchRun struct {
	Status        string     `json:"status"`
	Error         string     `json:"error,omitempty"`
	Recall        *float64   `json:"recall"`
	Latency       *Latency   `json:"latency"`
	ModeReported  string     `json:"mode_reported,omitempty"`
	DistancesMean *float64   `json:"distances_computed_mean,omitempty"`
	Tiers         []TierMean `json:"tiers,omitempty"`
}

// TierMean is a candidate tier's statistics averaged over the queries.
type TierMean struct {
	Name         string  `json:"name"`
	ExaminedMean float64 `json:"examined_mean"`
	PassedMean   float64 `json:"passed_mean"`
	TimeUsMean   float64 `json:"time_us_mean"`
}

// InsertResult is the one-item inserts, acknowledged after commit.
type InsertResult struct {
	GRPC      *Latency `json:"grpc"`
	InProcess *Latency `json:"in_process"`
}

// ReloadResult is the restart on the same data directory.
type ReloadResult struct {
	// Seconds: from opening the store to the model reported ready and a
	// first query answered with the right vector at rank 1.
	Seconds *float64 `json:"seconds"`
	// OpenSeconds: sqlite.Open + engine.Open (the runtime core loaded).
	OpenSeconds float64 `json:"open_seconds"`
	Ready       bool    `json:"ready"`
	Rows        uint64  `json:"rows"`
	Condition   string  `json:"condition"`
}

// hartdServer is a real hartd assembled as cmd/hartd serve does: the
// SQLite store, the engine and the gRPC service on a loopback port.
type hartdServer struct {
	st   *sqlite.Store
	eng  *engine.Engine
	gs   *grpc.Server
	conn *grpc.ClientConn
	cli  pb.HartonomousServiceClient
	done chan error
}

func startServer(ctx context.Context, dir, syncMode string, log *slog.Logger) (*hartdServer, error) {
	st, err := sqlite.Open(ctx, dir, sqlite.Options{Synchronous: syncMode})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	eng, err := engine.Open(ctx, st, log)
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("open engine: %w", err)
	}
	s := &hartdServer{st: st, eng: eng}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	s.gs = grpc.NewServer(
		grpc.MaxRecvMsgSize(maxMessageBytes),
		grpc.MaxSendMsgSize(maxMessageBytes),
		grpc.ChainUnaryInterceptor(server.UnaryInterceptor(log)),
	)
	pb.RegisterHartonomousServiceServer(s.gs, server.New(eng, log))
	s.done = make(chan error, 1)
	go func() { s.done <- s.gs.Serve(lis) }()
	s.conn, err = grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageBytes), grpc.MaxCallSendMsgSize(maxMessageBytes)))
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("dial: %w", err)
	}
	s.cli = pb.NewHartonomousServiceClient(s.conn)
	return s, nil
}

// Close stops the service, the engine (when it has a Close method: the
// background indexer) and the store.
func (s *hartdServer) Close() error {
	var errs []error
	if s.conn != nil {
		errs = append(errs, s.conn.Close())
	}
	if s.gs != nil {
		s.gs.GracefulStop()
		<-s.done
	}
	switch c := any(s.eng).(type) {
	case interface{ Close() error }:
		errs = append(errs, c.Close())
	case interface{ Close() }:
		c.Close()
	}
	if s.st != nil {
		errs = append(errs, s.st.Close())
	}
	return errors.Join(errs...)
}

// memory returns the process's RssAnon and VmRSS after a GC that returns
// freed memory to the system.
func memory() (anon, vmrss int64) {
	runtime.GC()
	debug.FreeOSMemory()
	anon, _ = procStatus("/proc/self/status", "RssAnon")
	vmrss, _ = procStatus("/proc/self/status", "VmRSS")
	return anon, vmrss
}

// hartdRun carries the state of the measurements against one server.
type hartdRun struct {
	cfg   *config
	ds    *Dataset
	ui    *UI
	q     *Matrix // the queries, copied to the heap
	srv   *hartdServer
	res   *HartdResult
	ids   []int64 // id of base row i
	minID int64
	dense []int32 // row of id minID+i, -1 if none
	// inserted counts the one-item inserts, for the reload's row count.
	inserted int
	// loadEnd is when the last Insert of the load returned.
	loadEnd time.Time
}

func (h *hartdRun) row(id int64) int32 {
	if i := id - h.minID; i >= 0 && i < int64(len(h.dense)) {
		return h.dense[i]
	}
	return -1
}

// runHartd starts a server in process on a temporary data directory and
// measures every hartd row. It returns what it measured even on error.
func runHartd(ctx context.Context, ds *Dataset, cfg *config, ui *UI) (*HartdResult, error) {
	res := &HartdResult{Status: map[string]string{}}
	dir, err := os.MkdirTemp("", "hartd-bench-*")
	if err != nil {
		return res, fmt.Errorf("hartd: %w", err)
	}
	defer os.RemoveAll(dir)

	qcopy := make([]float32, ds.Query.N*ds.Query.Dim)
	for i := range ds.Query.N {
		copy(qcopy[i*ds.Query.Dim:], ds.Query.Row(i))
	}
	h := &hartdRun{cfg: cfg, ds: ds, ui: ui, q: matrixOf(qcopy, ds.Query.Dim), res: res, ids: make([]int64, ds.Base.N)}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	baseAnon, _ := memory()
	h.srv, err = startServer(ctx, dir, cfg.sync, log)
	if err != nil {
		return res, fmt.Errorf("hartd: %w", err)
	}
	closed := false
	defer func() {
		if !closed {
			_ = h.srv.Close()
		}
	}()
	ui.Printf("hartd: server in process on a temporary data directory (sync=%s)\n", cfg.sync)
	if _, err := h.srv.cli.CreateModel(ctx, &pb.CreateModelRequest{Name: benchModel, Dimension: uint32(cfg.dim),
		Metric: pb.Metric_METRIC_COSINE, AnchorSeed: cfg.seed}); err != nil {
		return res, fmt.Errorf("hartd: create model: %w", err)
	}

	if err := h.load(ctx); err != nil {
		res.Status["bulk"] = "error: " + err.Error()
		return res, err
	}
	h.build(ctx)
	anon, vmrss := memory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	raw := int64(ds.Base.N) * int64(ds.Base.Dim) * 4
	res.Memory = &MemoryResult{ServerBytes: anon - baseAnon, ProcessVmRSS: vmrss, ProcessRssAnon: anon,
		BaselineRssAnon: baseAnon, GoHeapInuseBytes: int64(ms.HeapInuse), RawFloat32Bytes: raw,
		ServerRatioToRaw: float64(anon-baseAnon) / float64(raw), ProcessRatioToRaw: float64(vmrss) / float64(raw)}
	ui.Printf("hartd: resident memory %s (server, RssAnon growth) = %.2f× raw float32; process VmRSS %s\n",
		fmtBytes(res.Memory.ServerBytes), res.Memory.ServerRatioToRaw, fmtBytes(vmrss))
	h.indexIDs()

	steps := []struct {
		key string
		fn  func(context.Context) error
	}{
		{"projection", h.projection},
		{"exact", h.exact},
		{"hybrid", h.hybrid},
		{"seed", h.seedMode},
		{"insert", h.insert},
		{"billing", h.billing},
	}
	for _, s := range steps {
		if cfg.skip[s.key] {
			res.Status[s.key] = statusSkipped
			continue
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		runtime.GC()
		if err := s.fn(ctx); err != nil {
			res.Status[s.key] = "error: " + err.Error()
			ui.Printf("hartd: %s: %v\n", s.key, err)
		}
	}
	closed = true
	if err := h.srv.Close(); err != nil {
		return res, fmt.Errorf("hartd: close: %w", err)
	}
	h.srv = nil
	if cfg.skip["reload"] {
		res.Status["reload"] = statusSkipped
		return res, nil
	}
	if err := h.reload(ctx, dir, log); err != nil {
		res.Status["reload"] = "error: " + err.Error()
		return res, err
	}
	return res, nil
}

// load inserts every base vector over gRPC, cfg.batch per call with
// cfg.inflight calls in flight, then checks at once that the last vector
// is found.
func (h *hartdRun) load(ctx context.Context) error {
	n, cfg := h.ds.Base.N, h.cfg
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bar := h.ui.Bar("hartd: bulk load", int64(n), "vectors")
	batches := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	start := time.Now()
	for range cfg.inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for first := range batches {
				last := min(first+cfg.batch, n)
				items := make([]*pb.Item, 0, last-first)
				for i := first; i < last; i++ {
					items = append(items, &pb.Item{Vector: h.ds.Base.Row(i)})
				}
				resp, err := h.srv.cli.Insert(ctx, &pb.InsertRequest{Model: benchModel, Items: items})
				if err == nil && len(resp.GetIds()) != last-first {
					err = fmt.Errorf("%d ids for %d items", len(resp.GetIds()), last-first)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("insert rows %d-%d: %w", first, last-1, err)
						cancel()
					}
					mu.Unlock()
					continue
				}
				copy(h.ids[first:last], resp.GetIds())
				bar.Add(last - first)
			}
		}()
	}
feed:
	for first := 0; first < n; first += cfg.batch {
		select {
		case batches <- first:
		case <-ctx.Done():
			break feed
		}
	}
	close(batches)
	wg.Wait()
	h.loadEnd = time.Now()
	secs := h.loadEnd.Sub(start).Seconds()
	bar.Finish()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	lr := &LoadResult{Vectors: n, Seconds: secs, VectorsPerS: float64(n) / secs, Batch: cfg.batch, Inflight: cfg.inflight}
	h.res.Load = lr

	// Searchable at once: the last row, EXACT then HYBRID, k=1.
	last := h.ds.Base.Row(n - 1)
	resp, err := h.srv.cli.Search(ctx, &pb.SearchRequest{Model: benchModel, Vector: last, K: 1, Mode: pb.SearchMode_SEARCH_MODE_EXACT})
	if err != nil {
		return fmt.Errorf("search right after the load: %w", err)
	}
	ok := len(resp.GetHits()) > 0 && resp.GetHits()[0].GetId() == h.ids[n-1]
	lr.SearchableAfterLoad = &ok
	resp, err = h.srv.cli.Search(ctx, &pb.SearchRequest{Model: benchModel, Vector: last, K: 1, Mode: pb.SearchMode_SEARCH_MODE_HYBRID})
	switch {
	case err != nil:
		lr.HybridAfterLoad = classify(err)
	case len(resp.GetHits()) > 0 && resp.GetHits()[0].GetId() == h.ids[n-1]:
		lr.HybridAfterLoad = statusOK
	default:
		lr.HybridAfterLoad = "missed"
	}
	h.ui.Printf("hartd: loaded %d vectors in %.1f s (%s vectors/s); last vector at rank 1 right after: exact %v, hybrid %s\n",
		n, secs, fmtNum(lr.VectorsPerS), ok, lr.HybridAfterLoad)
	return nil
}

// indexIDs builds the id → row map.
func (h *hartdRun) indexIDs() {
	lo, hi := slices.Min(h.ids), slices.Max(h.ids)
	h.minID = lo
	h.dense = make([]int32, hi-lo+1)
	for i := range h.dense {
		h.dense[i] = -1
	}
	for r, id := range h.ids {
		h.dense[id-lo] = int32(r)
	}
}

// readiness is what "the index is built" means, read from the fields the
// server's IndexState has: any bool field named *built* or *ready* must be
// true, an integer field named tail*, *unindexed* or *pending* must be 0,
// one named *covered* or *indexed* must reach the live rows. known is
// false when IndexState has none of them; waitReady then falls back on a
// HYBRID probe.
func readiness(ms *pb.ModelStats, want uint64) (ready, known bool, cond string) {
	conds := []string{fmt.Sprintf("count=%d", want), "projection_ready"}
	ready = ms.GetCount() == want && ms.GetProjectionReady()
	idx := ms.GetIndex()
	if idx == nil {
		return ready, false, strings.Join(conds, ", ")
	}
	m := idx.ProtoReflect()
	fields := m.Descriptor().Fields()
	live := idx.GetLiveRows()
	for i := range fields.Len() {
		fd := fields.Get(i)
		name := string(fd.Name())
		v := m.Get(fd)
		switch fd.Kind() {
		case protoreflect.BoolKind:
			if strings.Contains(name, "built") || strings.Contains(name, "ready") {
				conds = append(conds, "index."+name)
				ready = ready && v.Bool()
				known = true
			}
		case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Uint32Kind, protoreflect.Uint64Kind,
			protoreflect.Sint32Kind, protoreflect.Sint64Kind:
			var x uint64
			if fd.Kind() == protoreflect.Uint32Kind || fd.Kind() == protoreflect.Uint64Kind {
				x = v.Uint()
			} else {
				x = uint64(max(v.Int(), 0))
			}
			switch {
			case strings.HasPrefix(name, "tail") || strings.Contains(name, "unindexed") || strings.Contains(name, "pending"):
				conds = append(conds, "index."+name+"=0")
				ready = ready && x == 0
				known = true
			case strings.Contains(name, "covered") || strings.Contains(name, "indexed"):
				conds = append(conds, "index."+name+"=live_rows")
				ready = ready && x >= live
				known = true
			}
		}
	}
	return ready, known, strings.Join(conds, ", ")
}

// probeCond describes the fallback readiness test.
const probeCond = "a HYBRID probe computes exact distances for fewer than half the rows (its index is in use)"

// waitReady polls Stats until the model is ready (see readiness), the
// timeout passes, or nothing it watches has changed for stall. When the
// server's IndexState says nothing about an index, it probes HYBRID with
// probe: the index is in use once a search no longer computes an exact
// distance for most rows. A server without HYBRID is ready once it holds
// every row with its projection.
func waitReady(ctx context.Context, cli pb.HartonomousServiceClient, want uint64, probe []float32, timeout, stall time.Duration) (bool, string, *pb.ModelStats, error) {
	deadline := time.Now().Add(timeout)
	var last string
	changed := time.Now()
	useProbe := probe != nil
	for {
		resp, err := cli.Stats(ctx, &pb.StatsRequest{Model: benchModel})
		if err != nil {
			return false, "", nil, fmt.Errorf("stats: %w", err)
		}
		if len(resp.GetModels()) != 1 {
			return false, "", nil, fmt.Errorf("stats: %d models", len(resp.GetModels()))
		}
		ms := resp.GetModels()[0]
		ok, known, cond := readiness(ms, want)
		fp := protojson.Format(ms.GetIndex()) + fmt.Sprint(ms.GetCount(), ms.GetProjectionReady())
		if !known && useProbe && ok {
			sr, err := cli.Search(ctx, &pb.SearchRequest{Model: benchModel, Vector: probe, K: 10, Mode: pb.SearchMode_SEARCH_MODE_HYBRID})
			switch {
			case classify(err) == statusUnimplemented:
				useProbe = false
			case err != nil:
				return false, cond, ms, fmt.Errorf("hybrid probe: %w", err)
			default:
				cond += ", " + probeCond
				d := sr.GetStats().GetDistancesComputed()
				ok = d < want/2
				fp += fmt.Sprint(d, len(sr.GetStats().GetTiers()))
			}
		}
		if ok {
			return true, cond, ms, nil
		}
		if fp != last {
			last, changed = fp, time.Now()
		}
		if now := time.Now(); now.After(deadline) || now.Sub(changed) > stall {
			return false, cond, ms, nil
		}
		select {
		case <-ctx.Done():
			return false, cond, ms, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func indexStateMap(ms *pb.ModelStats) map[string]any {
	if ms.GetIndex() == nil {
		return nil
	}
	b, err := protojson.MarshalOptions{EmitUnpopulated: true, UseProtoNames: true}.Marshal(ms.GetIndex())
	if err != nil {
		return nil
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil
	}
	return out
}

// build waits for the server to report the index built after the load.
func (h *hartdRun) build(ctx context.Context) {
	ready, cond, ms, err := waitReady(ctx, h.srv.cli, uint64(h.ds.Base.N), h.q.Row(0), h.cfg.buildWait, h.cfg.buildStall)
	wait := time.Since(h.loadEnd).Seconds()
	br := &BuildResult{LoadSeconds: h.res.Load.Seconds, WaitSeconds: wait, Ready: ready, Condition: cond, IndexState: indexStateMap(ms)}
	h.res.Build = br
	if err != nil {
		h.res.Status["build"] = "error: " + err.Error()
		return
	}
	br.Seconds = ptr(br.LoadSeconds + wait)
	h.ui.Printf("hartd: ready %.2f s after the load (%s)%s\n", wait, cond, map[bool]string{true: "", false: ": NOT REPORTED READY"}[ready])
}

// projection times spatial.Projection.Project on the model's own anchors.
func (h *hartdRun) projection(ctx context.Context) error {
	resp, err := h.srv.cli.Stats(ctx, &pb.StatsRequest{Model: benchModel})
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	aids := resp.GetModels()[0].GetAnchors().GetEmbeddingIds()
	if len(aids) != 3 {
		return fmt.Errorf("the model reports %d anchors", len(aids))
	}
	var a [3][]float32
	for i, id := range aids {
		g, err := h.srv.cli.Get(ctx, &pb.GetRequest{Model: benchModel, Id: id})
		if err != nil {
			return fmt.Errorf("get anchor %d: %w", id, err)
		}
		a[i] = g.GetItem().GetVector()
	}
	proj, err := spatial.NewProjection(a[0], a[1], a[2])
	if err != nil {
		return fmt.Errorf("projection: %w", err)
	}
	pr := &ProjectionResult{}
	h.res.Projection = pr
	q0 := h.q.Row(0)
	sp, err := h.srv.cli.Project(ctx, &pb.ProjectRequest{Model: benchModel, Vector: q0})
	if err != nil {
		return fmt.Errorf("project: %w", err)
	}
	mine := proj.Project(q0)
	srvPt := spatial.Point{X: sp.GetPoint().GetX(), Y: sp.GetPoint().GetY(), Z: sp.GetPoint().GetZ()}
	pr.MatchesServer = mine.Dist(srvPt) <= 1e-6*(1+mine.Dist(spatial.Point{}))

	nq := h.q.N
	var sink float64
	const rounds = 21
	per := make([]float64, 0, rounds)
	for r := range rounds + 1 {
		t := time.Now()
		for i := range nq {
			p := proj.Project(h.q.Row(i))
			sink += p.X
		}
		if r > 0 { // round 0 warms up
			per = append(per, float64(time.Since(t).Nanoseconds())/float64(nq))
		}
	}
	pr.NsPerOp = ptr(median(per))
	per = per[:0]
	for r := range 6 {
		t := time.Now()
		for i := range nq {
			p, err := h.srv.eng.Project(ctx, benchModel, h.q.Row(i))
			if err != nil {
				return fmt.Errorf("engine project: %w", err)
			}
			sink += p.Y
		}
		if r > 0 {
			per = append(per, float64(time.Since(t).Nanoseconds())/float64(nq))
		}
	}
	pr.EngineNsPerOp = ptr(median(per))
	calls := min(nq, 500)
	lat := make([]time.Duration, 0, calls)
	for i := range calls + 20 {
		t := time.Now()
		if _, err := h.srv.cli.Project(ctx, &pb.ProjectRequest{Model: benchModel, Vector: h.q.Row(i % nq)}); err != nil {
			return fmt.Errorf("project: %w", err)
		}
		if i >= 20 {
			lat = append(lat, time.Since(t))
		}
	}
	pr.GRPC = summarize(lat)
	_ = sink
	h.ui.Printf("hartd: projection %s/op (spatial), %s/op (engine), Project RPC p50 %s; matches the server: %v\n",
		fmtNs(*pr.NsPerOp), fmtNs(*pr.EngineNsPerOp), fmtMs(&pr.GRPC.P50Ms), pr.MatchesServer)
	return nil
}

// searchOut is what one search returned.
type searchOut struct {
	ids       []int64
	distances int
	mode      string
	tiers     []TierMean // one sample per tier
}

type searchFn func(ctx context.Context, q []float32, k, candidates int) (searchOut, error)

func (h *hartdRun) grpcSearch(mode pb.SearchMode) searchFn {
	return func(ctx context.Context, q []float32, k, cand int) (searchOut, error) {
		resp, err := h.srv.cli.Search(ctx, &pb.SearchRequest{Model: benchModel, Vector: q, K: uint32(k), Mode: mode, Candidates: uint32(cand)})
		if err != nil {
			return searchOut{}, err
		}
		o := searchOut{ids: make([]int64, len(resp.GetHits())), distances: int(resp.GetStats().GetDistancesComputed()),
			mode: resp.GetStats().GetMode().String()}
		for i, hit := range resp.GetHits() {
			o.ids[i] = hit.GetId()
		}
		for _, t := range resp.GetStats().GetTiers() {
			o.tiers = append(o.tiers, TierMean{Name: t.GetName(), ExaminedMean: float64(t.GetExamined()),
				PassedMean: float64(t.GetPassed()), TimeUsMean: float64(t.GetTimeUs())})
		}
		return o, nil
	}
}

func (h *hartdRun) engineSearch(mode engine.Mode) searchFn {
	return func(ctx context.Context, q []float32, k, cand int) (searchOut, error) {
		hits, st, err := h.srv.eng.Search(ctx, engine.SearchRequest{Model: benchModel, Vector: q, K: k, Mode: mode, Candidates: cand})
		if err != nil {
			return searchOut{}, err
		}
		o := searchOut{ids: make([]int64, len(hits)), distances: st.Distances, mode: st.Mode.String()}
		for i, hit := range hits {
			o.ids[i] = hit.ID
		}
		for _, t := range st.Tiers {
			o.tiers = append(o.tiers, TierMean{Name: t.Name, ExaminedMean: float64(t.Examined), PassedMean: float64(t.Passed),
				TimeUsMean: float64(t.Time.Microseconds())})
		}
		return o, nil
	}
}

// classify names an error: "unimplemented" for a mode the server does not
// have yet, else the error.
func classify(err error) string {
	if err == nil {
		return statusOK
	}
	if status.Code(err) == codes.Unimplemented || errors.Is(err, engine.ErrUnimplemented) {
		return statusUnimplemented
	}
	return "error: " + err.Error()
}

// runQueries times the first nq queries one at a time through each of
// fns, interleaved query by query (the order alternating) so that every
// transport sees the same machine, after warm-up queries through each; and
// scores recall@k against the ground truth. A function whose warm-up fails
// is reported with that status and not timed.
func (h *hartdRun) runQueries(ctx context.Context, label string, fns []searchFn, cand, nq int) []SearchRun {
	k := h.cfg.k
	nq = min(nq, h.q.N)
	runs := make([]SearchRun, len(fns))
	live := make([]bool, len(fns))
	nlive := 0
	for j, fn := range fns {
		live[j] = true
		for i := range min(h.cfg.warmup, h.q.N) {
			if _, err := fn(ctx, h.q.Row(h.q.N-1-i), k, cand); err != nil {
				live[j] = false
				if st := classify(err); st == statusUnimplemented {
					runs[j] = SearchRun{Status: st}
				} else {
					runs[j] = SearchRun{Status: "error", Error: err.Error()}
				}
				break
			}
		}
		if live[j] {
			nlive++
		}
	}
	if nlive == 0 {
		return runs
	}
	type acc struct {
		lat          []time.Duration
		recall, dist float64
		tiers        map[string]*TierMean
		order        []string
		mode         string
	}
	accs := make([]acc, len(fns))
	for j := range accs {
		accs[j] = acc{lat: make([]time.Duration, 0, nq), tiers: map[string]*TierMean{}}
	}
	runtime.GC()
	bar := h.ui.Bar(label, int64(nq*nlive), "queries")
	defer bar.Finish()
	found := make([]int32, 0, k)
	for i := range nq {
		if err := ctx.Err(); err != nil {
			for j := range runs {
				if live[j] {
					runs[j] = SearchRun{Status: "error", Error: err.Error()}
				}
			}
			return runs
		}
		q := h.q.Row(i)
		for jj := range fns {
			j := (i + jj) % len(fns)
			if !live[j] {
				continue
			}
			t := time.Now()
			o, err := fns[j](ctx, q, k, cand)
			d := time.Since(t)
			if err != nil {
				live[j] = false
				runs[j] = SearchRun{Status: "error", Error: err.Error()}
				continue
			}
			a := &accs[j]
			a.lat = append(a.lat, d)
			found = found[:0]
			for _, id := range o.ids {
				found = append(found, h.row(id))
			}
			a.recall += recallAt(found, h.ds.Truth[i], k)
			a.dist += float64(o.distances)
			a.mode = o.mode
			for _, t := range o.tiers {
				m := a.tiers[t.Name]
				if m == nil {
					m = &TierMean{Name: t.Name}
					a.tiers[t.Name] = m
					a.order = append(a.order, t.Name)
				}
				m.ExaminedMean += t.ExaminedMean
				m.PassedMean += t.PassedMean
				m.TimeUsMean += t.TimeUsMean
			}
			bar.Add(1)
		}
	}
	for j := range fns {
		if !live[j] {
			continue
		}
		a := &accs[j]
		n := float64(len(a.lat))
		run := SearchRun{Status: statusOK, Recall: ptr(a.recall / n), Latency: summarize(a.lat),
			DistancesMean: ptr(a.dist / n), ModeReported: a.mode}
		for _, name := range a.order {
			m := a.tiers[name]
			run.Tiers = append(run.Tiers, TierMean{Name: name, ExaminedMean: m.ExaminedMean / n,
				PassedMean: m.PassedMean / n, TimeUsMean: m.TimeUsMean / n})
		}
		runs[j] = run
	}
	return runs
}

// mode measures one mode at one budget over the first nq queries, over
// gRPC and in process, interleaved.
func (h *hartdRun) mode(ctx context.Context, name string, pm pb.SearchMode, em engine.Mode, cand, nq int, inProcess bool) *ModeResult {
	label := fmt.Sprintf("hartd: %s", name)
	if cand > 0 {
		label += fmt.Sprintf(" candidates=%d", cand)
	}
	fns := []searchFn{h.grpcSearch(pm)}
	if inProcess && !h.cfg.skip["inprocess"] {
		fns = append(fns, h.engineSearch(em))
	}
	runs := h.runQueries(ctx, label, fns, cand, nq)
	r := &ModeResult{Candidates: cand, GRPC: runs[0]}
	if len(runs) > 1 && runs[0].Status != statusUnimplemented {
		r.InProcess = &runs[1]
	}
	h.ui.Printf("  %s: %s\n", label, describeRun(r.GRPC, r.InProcess))
	return r
}

func describeRun(g SearchRun, ip *SearchRun) string {
	if g.Status != statusOK {
		if g.Error != "" {
			return g.Status + ": " + g.Error
		}
		return g.Status
	}
	s := fmt.Sprintf("recall %.3f, gRPC p50 %s p99 %s", *g.Recall, fmtMs(&g.Latency.P50Ms), fmtMs(&g.Latency.P99Ms))
	if ip != nil && ip.Latency != nil {
		s += fmt.Sprintf(", in process p50 %s", fmtMs(&ip.Latency.P50Ms))
	}
	return s
}

func (h *hartdRun) exact(ctx context.Context) error {
	h.res.Exact = h.mode(ctx, "EXACT", pb.SearchMode_SEARCH_MODE_EXACT, engine.ModeExact, 0, h.cfg.exactQueries, true)
	h.res.Status["exact"] = h.res.Exact.GRPC.Status
	return nil
}

func (h *hartdRun) hybrid(ctx context.Context) error {
	hr := &HybridResult{Status: statusOK}
	h.res.Hybrid = hr
	// In process only up to the first budget reaching inProcessUpTo: the
	// comparison with hnswlib at recall 0.95 needs no more, and the large
	// budgets are the slow ones.
	const inProcessUpTo = 0.99
	inProcess := true
	for _, c := range h.cfg.sweep {
		if err := ctx.Err(); err != nil {
			return err
		}
		runtime.GC()
		m := h.mode(ctx, "HYBRID", pb.SearchMode_SEARCH_MODE_HYBRID, engine.ModeHybrid, c, h.q.N, inProcess)
		if m.GRPC.Recall != nil && *m.GRPC.Recall >= inProcessUpTo {
			inProcess = false
		}
		if m.GRPC.Status == statusUnimplemented {
			hr.Status = statusUnimplemented
			break
		}
		hr.Curve = append(hr.Curve, CurvePoint{Candidates: c, GRPC: m.GRPC, InProcess: m.InProcess})
	}
	h.res.Status["hybrid"] = hr.Status
	return nil
}

func (h *hartdRun) seedMode(ctx context.Context) error {
	h.res.SeedMode = h.mode(ctx, "SEED", pb.SearchMode_SEARCH_MODE_SEED, engine.ModeSeed, h.cfg.seedCand, h.q.N, true)
	h.res.Status["seed"] = h.res.SeedMode.GRPC.Status
	return nil
}

// insert times one-item inserts, each its own transaction acknowledged
// after commit: over gRPC, then in process. The vectors are fresh draws of
// the same distribution (a stream of their own).
func (h *hartdRun) insert(ctx context.Context) error {
	const warm = 10
	n := h.cfg.inserts
	if n < 1 {
		h.res.Status["insert"] = statusSkipped
		return nil
	}
	d := h.cfg.dim
	total := 2 * (n + warm)
	rows := (total + genChunk - 1) / genChunk * genChunk
	buf := make([]float32, rows*d)
	NewGenerator(h.ds.Params).Fill(streamExtra, 0, buf)
	next := 0
	vec := func() []float32 { v := buf[next*d : (next+1)*d]; next++; return v }

	bar := h.ui.Bar("hartd: one-item inserts", int64(2*n), "inserts")
	defer bar.Finish()
	var g, ip []time.Duration
	for i := range n + warm {
		v := vec()
		t := time.Now()
		if _, err := h.srv.cli.Insert(ctx, &pb.InsertRequest{Model: benchModel, Items: []*pb.Item{{Vector: v}}}); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		if i >= warm {
			g = append(g, time.Since(t))
			bar.Add(1)
		}
	}
	for i := range n + warm {
		v := vec()
		t := time.Now()
		if _, err := h.srv.eng.Insert(ctx, benchModel, []engine.Item{{Vector: v}}); err != nil {
			return fmt.Errorf("engine insert: %w", err)
		}
		if i >= warm {
			ip = append(ip, time.Since(t))
			bar.Add(1)
		}
	}
	h.res.Insert = &InsertResult{GRPC: summarize(g), InProcess: summarize(ip)}
	h.res.Status["insert"] = statusOK
	h.inserted = 2 * (n + warm)
	return nil
}

// reload reopens the store and the engine on the same directory and waits
// until the model is ready and answers a query with the right vector.
func (h *hartdRun) reload(ctx context.Context, dir string, log *slog.Logger) error {
	runtime.GC()
	debug.FreeOSMemory()
	want := uint64(h.ds.Base.N + h.inserted)
	start := time.Now()
	srv, err := startServer(ctx, dir, h.cfg.sync, log)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	defer srv.Close()
	rr := &ReloadResult{OpenSeconds: time.Since(start).Seconds()}
	h.res.Reload = rr
	stall := h.cfg.buildStall
	if h.res.Build != nil && !h.res.Build.Ready {
		// The index was never reported built after the load (hartd builds
		// none below its threshold of rows): do not wait long for it now.
		stall = min(stall, 5*time.Second)
	}
	ready, cond, ms, err := waitReady(ctx, srv.cli, want, h.q.Row(0), h.cfg.buildWait, stall)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	rr.Ready, rr.Condition, rr.Rows = ready, cond+", a query answered", ms.GetCount()
	// A first query, in the best mode the server has, must find a known
	// vector at rank 1.
	probe := h.ds.Base.Row(h.ds.Base.N / 2)
	want1 := h.ids[h.ds.Base.N/2]
	mode := pb.SearchMode_SEARCH_MODE_HYBRID
	resp, err := srv.cli.Search(ctx, &pb.SearchRequest{Model: benchModel, Vector: probe, K: 1, Mode: mode})
	if classify(err) == statusUnimplemented {
		mode = pb.SearchMode_SEARCH_MODE_EXACT
		resp, err = srv.cli.Search(ctx, &pb.SearchRequest{Model: benchModel, Vector: probe, K: 1, Mode: mode})
	}
	if err != nil {
		return fmt.Errorf("reload: first query: %w", err)
	}
	secs := time.Since(start).Seconds()
	if len(resp.GetHits()) == 0 || resp.GetHits()[0].GetId() != want1 {
		rr.Ready = false
		rr.Condition += " (the probe vector was NOT at rank 1)"
	}
	rr.Seconds = &secs
	h.res.Status["reload"] = statusOK
	h.ui.Printf("hartd: reload ready in %.2f s (engine.Open %.2f s, %d rows, first query %s)%s\n", secs, rr.OpenSeconds, rr.Rows,
		strings.TrimPrefix(mode.String(), "SEARCH_MODE_"), map[bool]string{true: "", false: ": NOT READY"}[rr.Ready])
	return nil
}

// billing measures the ledger on the server's store: ledgerCallers
// goroutines append ledgerRecords records in all, each waiting for its group
// commit, and the cost is the wall time per record.
func (h *hartdRun) billing(ctx context.Context) error {
	const ledgerRecords, ledgerCallers = 50000, 256
	l := billing.NewLedger(h.srv.st, nil)
	defer l.Close()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, ledgerCallers)
	start := time.Now()
	for range ledgerCallers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= ledgerRecords {
				rec := store.UsageRecord{TenantID: store.DefaultTenant, Principal: "bench", Operation: "search",
					Units: 1, BaseRate: 0.01, Multiplier: 1, DCU: 0.01, Cost: 0.0000008, At: time.Now().UTC()}
				if err := l.Append(ctx, rec); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	h.res.Billing = &BillingResult{Records: ledgerRecords, Parallelism: ledgerCallers, Seconds: secs,
		UsPerRecord: secs * 1e6 / ledgerRecords}
	h.res.Status["billing"] = statusOK
	h.ui.Printf("hartd: ledger: %d records by %d callers in %.2f s, %.1f µs per record\n", ledgerRecords, ledgerCallers, secs, h.res.Billing.UsPerRecord)
	return nil
}
