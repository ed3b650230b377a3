package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// Latency summarizes per-query (or per-call) times.
type Latency struct {
	N      int     `json:"n"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MeanMs float64 `json:"mean_ms"`
	// QPS is 1 / median latency: queries per second of one client issuing
	// one query at a time, from the median so that a noisy neighbour on a
	// shared machine does not decide it. QPSMean is 1 / mean latency.
	QPS     float64 `json:"qps"`
	QPSMean float64 `json:"qps_mean"`
}

// summarize returns nil for no samples.
func summarize(d []time.Duration) *Latency {
	if len(d) == 0 {
		return nil
	}
	ms := make([]float64, len(d))
	var sum float64
	for i, x := range d {
		ms[i] = float64(x) / 1e6
		sum += ms[i]
	}
	slices.Sort(ms)
	mean := sum / float64(len(ms))
	l := &Latency{N: len(ms), P50Ms: quantile(ms, 0.5), P90Ms: quantile(ms, 0.9), P99Ms: quantile(ms, 0.99), MeanMs: mean}
	if mean > 0 {
		l.QPSMean = 1000 / mean
	}
	if l.P50Ms > 0 {
		l.QPS = 1000 / l.P50Ms
	}
	return l
}

// quantile of sorted values, by linear interpolation between order
// statistics (the median of an even count is the mean of the middle two).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	f := pos - float64(lo)
	return sorted[lo]*(1-f) + sorted[hi]*f
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return quantile(s, 0.5)
}

// Statuses of a measurement that has no value.
const (
	statusOK            = "ok"
	statusUnimplemented = "unimplemented"
	statusSkipped       = "skipped"
	statusNotBuilt      = "not built"
	statusNotReached    = "not reached"
)

// recallQPS is one point of a recall–throughput curve.
type recallQPS struct{ recall, qps float64 }

// qpsAtRecall returns the throughput at the target recall: linear
// interpolation between the last point below the target and the first at
// or above it, taken in knob order (cheapest first); the first point's
// throughput when it already reaches the target; nil when no point does.
func qpsAtRecall(points []recallQPS, target float64) *float64 {
	for i, p := range points {
		if p.recall < target {
			continue
		}
		if i == 0 {
			return ptr(p.qps)
		}
		a := points[i-1]
		if p.recall == a.recall {
			return ptr(p.qps)
		}
		f := (target - a.recall) / (p.recall - a.recall)
		return ptr(a.qps + f*(p.qps-a.qps))
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// Machine describes where the run happened.
type Machine struct {
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	MemBytes   int64  `json:"mem_bytes"`
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	Kernel     string `json:"kernel,omitempty"`
	// LoadAvg is the 1-minute load average when the run started and when
	// it ended: above the core count, other work shared the machine and
	// the timings are inflated.
	LoadAvgStart float64 `json:"loadavg_start"`
	LoadAvgEnd   float64 `json:"loadavg_end"`
}

// loadAvg is the 1-minute load average, or 0.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var v float64
	if _, err := fmt.Sscan(string(b), &v); err != nil {
		return 0
	}
	return v
}

func machineInfo() Machine {
	m := Machine{CPU: "unknown", Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		_ = f.Close()
	}
	if v, ok := procStatus("/proc/meminfo", "MemTotal"); ok {
		m.MemBytes = v
	}
	m.LoadAvgStart = loadAvg()
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	return m
}

// procStatus reads a "Name:   123 kB" line of a /proc file, in bytes.
func procStatus(path, name string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != name {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			return 0, false
		}
		var n int64
		if _, err := fmt.Sscan(f[0], &n); err != nil {
			return 0, false
		}
		if len(f) > 1 && f[1] == "kB" {
			n <<= 10
		}
		return n, true
	}
	return 0, false
}

// Params are the run's parameters.
type Params struct {
	Scale          string   `json:"scale"`
	N              int      `json:"n"`
	Dim            int      `json:"dim"`
	Queries        int      `json:"queries"`
	ExactQueries   int      `json:"exact_queries"`
	Seed           uint64   `json:"seed"`
	K              int      `json:"k"`
	GenVersion     int      `json:"gen_version"`
	Sync           string   `json:"sync"`
	Batch          int      `json:"batch"`
	Inflight       int      `json:"inflight"`
	Inserts        int      `json:"inserts"`
	Sweep          []int    `json:"hybrid_candidates_sweep"`
	SeedCandidates int      `json:"seed_mode_candidates"`
	Ef             []int    `json:"hnswlib_ef_sweep"`
	Peers          []string `json:"peers"`
	Skip           []string `json:"skip"`
	Warmup         int      `json:"warmup_queries"`
}

// DataInfo describes the data set and what this run computed.
type DataInfo struct {
	CacheKey        string  `json:"cache_key"`
	Clusters        int     `json:"clusters"`
	Generated       bool    `json:"generated_this_run"`
	TruthComputed   bool    `json:"truth_computed_this_run"`
	GenerateSeconds float64 `json:"generate_s"`
	TruthSeconds    float64 `json:"truth_s"`
	PrepareSeconds  float64 `json:"prepare_s"`
	// Shape of the data over the first 100 queries: the mean cosine of a
	// query with its nearest, 10th and 100th neighbour and with random rows.
	Top1Cosine   float64 `json:"top1_cosine_mean"`
	Top10Cosine  float64 `json:"top10_cosine_mean"`
	Top100Cosine float64 `json:"top100_cosine_mean"`
	RandomCosine float64 `json:"random_cosine_mean"`
}

// shape fills the cosine statistics of d from the data set.
func (d *DataInfo) shape(ds *Dataset) {
	nq := min(100, ds.Query.N)
	var t1, t10, t100, rnd float64
	for i := range nq {
		q, gt := ds.Query.Row(i), ds.Truth[i]
		t1 += dot64(q, ds.Base.Row(int(gt[0])))
		t10 += dot64(q, ds.Base.Row(int(gt[min(9, len(gt)-1)])))
		t100 += dot64(q, ds.Base.Row(int(gt[len(gt)-1])))
		for j := range 100 {
			rnd += dot64(q, ds.Base.Row((i*7919+j*104729)%ds.Base.N)) / 100
		}
	}
	f := float64(nq)
	d.Top1Cosine, d.Top10Cosine, d.Top100Cosine, d.RandomCosine = t1/f, t10/f, t100/f, rnd/f
}

// Row is one line of the table.
type Row struct {
	Key           string   `json:"key"`
	Metric        string   `json:"metric"`
	SeedBaseline  string   `json:"seed_baseline"`
	SeedThreshold string   `json:"seed_threshold"`
	Target        string   `json:"target"`
	Measured      string   `json:"measured"`
	Value         *float64 `json:"value"`
	Unit          string   `json:"unit,omitempty"`
	InProcess     string   `json:"in_process,omitempty"`
	Verdict       string   `json:"verdict"`
}

// Report is everything a run measured. The flat keys are the summary; the
// nested objects hold the detail. A nil value (JSON null) was not measured:
// the table says why.
type Report struct {
	HybridRecallAt10      *float64 `json:"hybrid_recall_at_10"`
	HybridCandidates      *int     `json:"hybrid_candidates"`
	HybridP50Ms           *float64 `json:"hybrid_p50_ms"`
	HybridP99Ms           *float64 `json:"hybrid_p99_ms"`
	HybridQPS             *float64 `json:"hybrid_qps_at_recall_0_95"`
	ExactP50Ms            *float64 `json:"exact_p50_ms"`
	SeedModeRecallAt10    *float64 `json:"seed_mode_recall_at_10"`
	ProjectionNs          *float64 `json:"projection_ns"`
	InsertP50Ms           *float64 `json:"insert_p50_ms"`
	BillingRecordUs       *float64 `json:"billing_record_us"`
	BulkInsertVectorsPerS *float64 `json:"bulk_insert_vectors_per_s"`
	BuildS                *float64 `json:"build_s"`
	RSSBytes              *int64   `json:"rss_bytes"`
	RawFloat32Bytes       int64    `json:"raw_float32_bytes"`
	RSSRatio              *float64 `json:"rss_ratio_to_raw"`
	ReloadS               *float64 `json:"reload_s"`
	ExactPeerP50Ms        *float64 `json:"exact_peer_p50_ms"`
	HnswlibQPS            *float64 `json:"hnswlib_qps_at_recall_0_95"`
	HybridQPSRatio        *float64 `json:"hybrid_qps_ratio_to_hnswlib"`

	Table       []Row              `json:"table"`
	HybridCurve []CurvePoint       `json:"hybrid_curve"`
	Hartd       *HartdResult       `json:"hartd,omitempty"`
	ExactPeer   *ExactPeerResult   `json:"exact_peer,omitempty"`
	Hnswlib     *HnswlibResult     `json:"hnswlib,omitempty"`
	Machine     Machine            `json:"machine"`
	Params      Params             `json:"params"`
	Data        DataInfo           `json:"data"`
	Timings     map[string]float64 `json:"timings_s"`
	Notes       []string           `json:"notes"`
	Time        time.Time          `json:"time"`
}

func newReport(cfg *config) *Report {
	keys := func(m map[string]bool) []string {
		out := []string{}
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	return &Report{
		Machine: machineInfo(),
		Params: Params{Scale: cfg.scale, N: cfg.n, Dim: cfg.dim, Queries: cfg.queries, ExactQueries: min(cfg.exactQueries, cfg.queries), Seed: cfg.seed, K: cfg.k,
			GenVersion: genVersion, Sync: cfg.sync, Batch: cfg.batch, Inflight: cfg.inflight, Inserts: cfg.inserts,
			Sweep: cfg.sweep, SeedCandidates: cfg.seedCand, Ef: cfg.efs, Peers: keys(cfg.peers), Skip: keys(cfg.skip),
			Warmup: cfg.warmup},
		RawFloat32Bytes: int64(cfg.n) * int64(cfg.dim) * 4,
		Timings:         map[string]float64{},
		Notes:           []string{},
		HybridCurve:     []CurvePoint{},
		Time:            time.Now().UTC().Truncate(time.Second),
	}
}

// targetRecall is the recall the hybrid rows and the peer comparison are
// taken at.
const targetRecall = 0.95

// finish derives the summary keys and the table from the measurements.
func (r *Report) finish(cfg *config) {
	h := r.Hartd
	if h == nil {
		h = &HartdResult{Status: map[string]string{}}
		if cfg.skip["hartd"] {
			for _, k := range []string{"hybrid", "exact", "seed", "projection", "insert", "bulk", "build", "rss", "reload"} {
				h.Status[k] = statusSkipped
			}
		}
	}
	status := func(key string) string {
		if s, ok := h.Status[key]; ok && s != "" {
			return s
		}
		return "not measured"
	}

	// HYBRID: the cheapest budget reaching the target recall.
	if h.Hybrid != nil {
		r.HybridCurve = h.Hybrid.Curve
		if c := h.Hybrid.chosen(); c != nil {
			r.HybridCandidates = &c.Candidates
			r.HybridRecallAt10 = c.GRPC.Recall
			if c.GRPC.Latency != nil {
				r.HybridP50Ms, r.HybridP99Ms = &c.GRPC.Latency.P50Ms, &c.GRPC.Latency.P99Ms
			}
		}
		r.HybridQPS = qpsAtRecall(h.Hybrid.curveQPS(true), targetRecall)
	}
	if h.Exact != nil && h.Exact.GRPC.Latency != nil {
		r.ExactP50Ms = &h.Exact.GRPC.Latency.P50Ms
	}
	if h.SeedMode != nil {
		r.SeedModeRecallAt10 = h.SeedMode.GRPC.Recall
	}
	if h.Projection != nil {
		r.ProjectionNs = h.Projection.NsPerOp
	}
	if h.Insert != nil && h.Insert.GRPC != nil {
		r.InsertP50Ms = &h.Insert.GRPC.P50Ms
	}
	if h.Billing != nil {
		r.BillingRecordUs = &h.Billing.UsPerRecord
	}
	if h.Load != nil && h.Load.VectorsPerS > 0 {
		r.BulkInsertVectorsPerS = &h.Load.VectorsPerS
	}
	if h.Build != nil {
		r.BuildS = h.Build.Seconds
	}
	if h.Memory != nil && h.Memory.ServerBytes > 0 {
		r.RSSBytes = &h.Memory.ServerBytes
		r.RSSRatio = ptr(float64(h.Memory.ServerBytes) / float64(r.RawFloat32Bytes))
	}
	if h.Reload != nil {
		r.ReloadS = h.Reload.Seconds
	}
	if r.ExactPeer != nil && r.ExactPeer.Latency != nil {
		r.ExactPeerP50Ms = &r.ExactPeer.Latency.P50Ms
	}
	if r.Hnswlib != nil && len(r.Hnswlib.Points) > 0 {
		pts := make([]recallQPS, len(r.Hnswlib.Points))
		for i, p := range r.Hnswlib.Points {
			pts[i] = recallQPS{p.Recall, p.QPS}
		}
		r.HnswlibQPS = qpsAtRecall(pts, targetRecall)
		r.Hnswlib.QPSAtTarget = r.HnswlibQPS
	}
	if r.HybridQPS != nil && r.HnswlibQPS != nil && *r.HnswlibQPS > 0 {
		r.HybridQPSRatio = ptr(*r.HybridQPS / *r.HnswlibQPS)
	}

	r.Machine.LoadAvgEnd = loadAvg()
	if busy := max(r.Machine.LoadAvgStart, r.Machine.LoadAvgEnd); busy > float64(r.Machine.Cores)+0.5 {
		r.Notes = append(r.Notes, fmt.Sprintf("the machine was busy: load average %.1f at the start, %.1f at the end, on %d cores; the timings are inflated",
			r.Machine.LoadAvgStart, r.Machine.LoadAvgEnd, r.Machine.Cores))
	}
	scaleNote := ""
	if cfg.n != 1_000_000 {
		scaleNote = " (seed: 1M)"
	}
	var rows []Row
	add := func(row Row) { rows = append(rows, row) }

	// hybrid rows
	{
		row := Row{Key: "hybrid_p50", Metric: fmt.Sprintf("hybrid search p50, recall@%d ≥ %.2f, gRPC", cfg.k, targetRecall),
			SeedBaseline: "100 ms" + scaleNote, SeedThreshold: "150 ms", Target: "≤ 1 ms", Unit: "ms", Value: r.HybridP50Ms}
		row99 := Row{Key: "hybrid_p99", Metric: "hybrid search p99, same budget, gRPC", Target: "≤ 3 ms", Unit: "ms", Value: r.HybridP99Ms}
		rowR := Row{Key: "hybrid_recall", Metric: fmt.Sprintf("hybrid recall@%d at that budget", cfg.k), Target: "≥ 0.95", Value: r.HybridRecallAt10}
		st := status("hybrid")
		if h.Hybrid != nil && h.Hybrid.Status == statusOK && r.HybridCandidates == nil {
			st = statusNotReached
			if best := h.Hybrid.best(); best != nil {
				rowR.Value = best.GRPC.Recall
				rowR.Measured = fmt.Sprintf("best %s at candidates=%d", fmtRecall(best.GRPC.Recall), best.Candidates)
			}
		}
		if c := h.Hybrid.chosen(); c != nil {
			row.Measured = fmt.Sprintf("%s (candidates=%d)", fmtMs(r.HybridP50Ms), c.Candidates)
			row99.Measured = fmtMs(r.HybridP99Ms)
			rowR.Measured = fmt.Sprintf("%s (candidates=%d)", fmtRecall(r.HybridRecallAt10), c.Candidates)
			if c.InProcess != nil && c.InProcess.Latency != nil {
				row.InProcess = fmtMs(&c.InProcess.Latency.P50Ms)
				row99.InProcess = fmtMs(&c.InProcess.Latency.P99Ms)
			}
		}
		row.Verdict = verdict(row.Value, "<=", 1, ptr(150.0), st)
		row99.Verdict = verdict(row99.Value, "<=", 3, nil, st)
		rowR.Verdict = verdict(rowR.Value, ">=", targetRecall, nil, st)
		if row.Measured == "" {
			row.Measured, row99.Measured = "—", "—"
		}
		if rowR.Measured == "" {
			rowR.Measured = "—"
		}
		add(row)
		add(row99)
		add(rowR)
	}
	{
		row := Row{Key: "hybrid_qps_ratio", Metric: fmt.Sprintf("hybrid QPS ÷ hnswlib QPS at recall %.2f, in process", targetRecall),
			Target: "≥ 1.0×", Value: r.HybridQPSRatio, Measured: "—"}
		st := status("hybrid")
		switch {
		case r.HybridQPSRatio != nil:
			row.Measured = fmt.Sprintf("%.2f× (%s vs %s QPS)", *r.HybridQPSRatio, fmtNum(*r.HybridQPS), fmtNum(*r.HnswlibQPS))
		case r.Hnswlib == nil:
			st = "no peer"
		case r.Hnswlib.Status != statusOK:
			st = "peer " + r.Hnswlib.Status
		case r.HnswlibQPS == nil:
			st = "peer " + statusNotReached
		case h.Hybrid != nil && h.Hybrid.Status == statusOK:
			st = statusNotReached
		}
		row.Verdict = verdict(row.Value, ">=", 1, nil, st)
		add(row)
	}
	{
		row := Row{Key: "hnswlib_qps", Metric: fmt.Sprintf("peer hnswlib QPS at recall %.2f (M=16, efC=64, 1 thread)", targetRecall),
			Value: r.HnswlibQPS, Measured: "—", Unit: "qps"}
		st := "not run"
		if r.Hnswlib != nil {
			st = r.Hnswlib.Status
			if st == statusOK && r.HnswlibQPS == nil {
				st = statusNotReached
			}
		}
		if r.HnswlibQPS != nil {
			row.Measured = fmtNum(*r.HnswlibQPS) + " QPS"
		}
		row.Verdict = verdict(row.Value, "", 0, nil, st)
		add(row)
	}
	{
		row := Row{Key: "exact_p50", Metric: fmt.Sprintf("exact search p50, k=%d, gRPC (%d queries)", cfg.k, min(cfg.exactQueries, cfg.queries)), Target: "≤ 40 ms", Unit: "ms",
			Value: r.ExactP50Ms, Measured: fmtMs(r.ExactP50Ms)}
		if h.Exact != nil && h.Exact.InProcess != nil && h.Exact.InProcess.Latency != nil {
			row.InProcess = fmtMs(&h.Exact.InProcess.Latency.P50Ms)
		}
		if h.Exact != nil && h.Exact.GRPC.Recall != nil {
			row.Measured += fmt.Sprintf(" (recall %s)", fmtRecall(h.Exact.GRPC.Recall))
		}
		row.Verdict = verdict(row.Value, "<=", 40, nil, status("exact"))
		add(row)
	}
	{
		row := Row{Key: "exact_peer_p50", Metric: fmt.Sprintf("peer exact brute force p50 (Go + vek, all cores, %d queries)", min(cfg.exactQueries, cfg.queries)), Unit: "ms",
			Value: r.ExactPeerP50Ms, Measured: fmtMs(r.ExactPeerP50Ms)}
		st := "not run"
		if r.ExactPeer != nil {
			st = r.ExactPeer.Status
		}
		row.Verdict = verdict(row.Value, "", 0, nil, st)
		add(row)
	}
	{
		row := Row{Key: "seed_mode_recall", Metric: fmt.Sprintf("SEED mode recall@%d (candidates=%d)", cfg.k, cfg.seedCand),
			Value: r.SeedModeRecallAt10, Measured: fmtRecall(r.SeedModeRecallAt10)}
		if h.SeedMode != nil && h.SeedMode.GRPC.Latency != nil {
			row.Measured += ", p50 " + fmtMs(&h.SeedMode.GRPC.Latency.P50Ms)
			if h.SeedMode.InProcess != nil && h.SeedMode.InProcess.Latency != nil {
				row.InProcess = fmtMs(&h.SeedMode.InProcess.Latency.P50Ms)
			}
		}
		row.Verdict = verdict(row.Value, "", 0, nil, status("seed"))
		add(row)
	}
	{
		row := Row{Key: "projection", Metric: fmt.Sprintf("spatial projection of one %d-d vector", cfg.dim),
			SeedBaseline: "12 ms", SeedThreshold: "20 ms", Target: "≤ 0.3 µs", Unit: "ns", Value: r.ProjectionNs, Measured: "—"}
		if r.ProjectionNs != nil {
			row.Measured = fmtNs(*r.ProjectionNs) + " (spatial.Projection.Project)"
			if p := h.Projection; p != nil && p.GRPC != nil {
				row.InProcess = fmt.Sprintf("Project RPC p50 %s", fmtMs(&p.GRPC.P50Ms))
			}
		}
		row.Verdict = verdict(row.Value, "<=", 300, ptr(20e6), status("projection"))
		add(row)
	}
	{
		row := Row{Key: "insert_p50", Metric: "embedding insertion: 1 item, gRPC, p50, acked after commit",
			SeedBaseline: "5 ms", SeedThreshold: "10 ms", Target: "≤ 1 ms", Unit: "ms", Value: r.InsertP50Ms, Measured: fmtMs(r.InsertP50Ms)}
		if h.Insert != nil && h.Insert.GRPC != nil {
			row.Measured += fmt.Sprintf(" (sync=%s, p99 %s)", cfg.sync, fmtMs(&h.Insert.GRPC.P99Ms))
		}
		if h.Insert != nil && h.Insert.InProcess != nil {
			row.InProcess = fmtMs(&h.Insert.InProcess.P50Ms)
		}
		row.Verdict = verdict(row.Value, "<=", 1, ptr(10.0), status("insert"))
		add(row)
	}
	{
		row := Row{Key: "billing_insert", Metric: "billing record insert, amortized, concurrent callers", SeedBaseline: "0.4 ms",
			SeedThreshold: "1 ms", Target: "≤ 20 µs", Unit: "ms", Measured: "—", Verdict: status("billing")}
		if b := h.Billing; b != nil {
			ms := b.UsPerRecord / 1000
			row.Value = &ms
			row.Measured = fmt.Sprintf("%.1f µs (%d records, %d callers, sync=%s)", b.UsPerRecord, b.Records, b.Parallelism, cfg.sync)
			row.Verdict = verdict(row.Value, "<=", 0.02, ptr(1.0), status("billing"))
		}
		add(row)
	}
	{
		row := Row{Key: "bulk_insert", Metric: fmt.Sprintf("bulk insert, gRPC, batches of %d, %d in flight", cfg.batch, cfg.inflight),
			Target: "≥ 50,000 vectors/s", Unit: "vectors/s", Value: r.BulkInsertVectorsPerS, Measured: "—"}
		if r.BulkInsertVectorsPerS != nil {
			row.Measured = fmtNum(*r.BulkInsertVectorsPerS) + " vectors/s"
			if h.Load.SearchableAfterLoad != nil {
				if *h.Load.SearchableAfterLoad {
					row.Measured += ", searchable at once"
				} else {
					row.Measured += ", NOT searchable at once"
				}
			}
		}
		v := verdict(row.Value, ">=", 50000, nil, status("bulk"))
		if h.Load != nil && h.Load.SearchableAfterLoad != nil && !*h.Load.SearchableAfterLoad {
			v = "miss (last vector not found at rank 1 right after the load)"
		}
		row.Verdict = v
		add(row)
	}
	{
		row := Row{Key: "build", Metric: "index build from scratch: load + wait until reported built",
			Target: "≤ 5 min", Unit: "s", Value: r.BuildS, Measured: "—"}
		if r.BuildS != nil {
			row.Measured = fmt.Sprintf("%.1f s (load %.1f s + wait %.2f s)", *r.BuildS, h.Build.LoadSeconds, h.Build.WaitSeconds)
			if !h.Build.Ready {
				row.Measured += ", never reported built"
			}
			if h.Reload != nil && h.Reload.Seconds != nil {
				row.InProcess = fmt.Sprintf("rebuild after restart %.1f s", *h.Reload.Seconds-h.Reload.OpenSeconds)
			}
		}
		row.Verdict = verdict(row.Value, "<=", 300, nil, status("build"))
		if h.Build != nil && !h.Build.Ready && r.BuildS != nil {
			row.Verdict = "miss (not reported built)"
		}
		add(row)
	}
	{
		row := Row{Key: "rss", Metric: "resident memory of the server after load + GC",
			Target: "≤ 1.5× raw float32", Unit: "ratio", Value: r.RSSRatio, Measured: "—"}
		if r.RSSBytes != nil {
			row.Measured = fmt.Sprintf("%s = %.2f× raw (%s)", fmtBytes(*r.RSSBytes), *r.RSSRatio, fmtBytes(r.RawFloat32Bytes))
			row.InProcess = "process VmRSS " + fmtBytes(h.Memory.ProcessVmRSS)
		}
		row.Verdict = verdict(row.Value, "<=", 1.5, nil, status("rss"))
		add(row)
	}
	{
		row := Row{Key: "reload", Metric: "start-up reload: reopen store + engine until ready",
			Target: "≤ 30 s", Unit: "s", Value: r.ReloadS, Measured: "—"}
		if r.ReloadS != nil {
			row.Measured = fmt.Sprintf("%.2f s (engine.Open %.2f s)", *r.ReloadS, h.Reload.OpenSeconds)
		}
		row.Verdict = verdict(row.Value, "<=", 30, nil, status("reload"))
		add(row)
	}
	r.Table = rows
}

// verdict compares a value with its target (op "<=" or ">="; "" for
// rows without a target) and, for lower-is-better rows, with the seed's
// threshold. Without a value it returns the status.
func verdict(v *float64, op string, target float64, seedThreshold *float64, status string) string {
	if v == nil {
		if status == "" || status == statusOK {
			return "not measured"
		}
		return status
	}
	var s string
	switch op {
	case "<=":
		s = "miss"
		if *v <= target {
			s = "pass"
		}
	case ">=":
		s = "miss"
		if *v >= target {
			s = "pass"
		}
	default:
		return "info"
	}
	if seedThreshold != nil {
		if *v <= *seedThreshold {
			s += "; within seed threshold"
		} else {
			s += "; over seed threshold"
		}
	}
	return s
}

func fmtMs(v *float64) string {
	if v == nil {
		return "—"
	}
	x := *v
	switch {
	case x < 0.01:
		return fmt.Sprintf("%.1f µs", x*1000)
	case x < 1:
		return fmt.Sprintf("%.3f ms", x)
	case x < 10:
		return fmt.Sprintf("%.2f ms", x)
	case x < 1000:
		return fmt.Sprintf("%.1f ms", x)
	}
	return fmt.Sprintf("%.2f s", x/1000)
}

func fmtNs(x float64) string {
	if x < 10_000 {
		return fmt.Sprintf("%.0f ns", x)
	}
	return fmt.Sprintf("%.1f µs", x/1000)
}

func fmtRecall(v *float64) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.3f", *v)
}

// fmtNum prints a positive number with thousands separators, no decimals
// from 100 up.
func fmtNum(x float64) string {
	if x < 100 {
		return fmt.Sprintf("%.1f", x)
	}
	s := fmt.Sprintf("%.0f", x)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
}

// WriteTable prints the table, the HYBRID curve and the peer's curve.
func (r *Report) WriteTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "\nhartd bench: %d × %d-d, %d queries, k=%d, seed %d, data %s; %s, %d cores, %s\n",
		r.Params.N, r.Params.Dim, r.Params.Queries, r.Params.K, r.Params.Seed, r.Data.CacheKey,
		r.Machine.CPU, r.Machine.Cores, r.Machine.GoVersion)
	fmt.Fprintf(bw, "data: %d clusters; mean cosine of a query with its 1st / 10th / 100th neighbour %.3f / %.3f / %.3f, with a random row %.3f\n\n",
		r.Data.Clusters, r.Data.Top1Cosine, r.Data.Top10Cosine, r.Data.Top100Cosine, r.Data.RandomCosine)
	head := []string{"metric", "seed baseline", "seed threshold", "target", "measured", "in process", "verdict"}
	cells := [][]string{head}
	for _, row := range r.Table {
		cells = append(cells, []string{row.Metric, dash(row.SeedBaseline), dash(row.SeedThreshold), dash(row.Target),
			dash(row.Measured), dash(row.InProcess), row.Verdict})
	}
	writeGrid(bw, cells)

	if len(r.HybridCurve) > 0 {
		fmt.Fprintf(bw, "\nHYBRID recall@%d vs latency (candidates = SearchRequest.candidates):\n\n", r.Params.K)
		cells := [][]string{{"candidates", "recall", "p50 gRPC", "p99 gRPC", "QPS gRPC", "p50 in proc", "QPS in proc", "distances", "status"}}
		for _, p := range r.HybridCurve {
			row := []string{fmt.Sprint(p.Candidates), fmtRecall(p.GRPC.Recall), "—", "—", "—", "—", "—", "—", p.GRPC.Status}
			if l := p.GRPC.Latency; l != nil {
				row[2], row[3], row[4] = fmtMs(&l.P50Ms), fmtMs(&l.P99Ms), fmtNum(l.QPS)
			}
			if p.InProcess != nil && p.InProcess.Latency != nil {
				row[5], row[6] = fmtMs(&p.InProcess.Latency.P50Ms), fmtNum(p.InProcess.Latency.QPS)
			}
			if p.GRPC.DistancesMean != nil {
				row[7] = fmtNum(*p.GRPC.DistancesMean)
			}
			cells = append(cells, row)
		}
		writeGrid(bw, cells)
		fmt.Fprintln(bw, "\nQPS = 1 / median latency, one query at a time; distances = exact distances computed per query.")
	}
	if r.Hnswlib != nil && len(r.Hnswlib.Points) > 0 {
		fmt.Fprintf(bw, "\nhnswlib %s (Debian %s; M=%d, efConstruction=%d, build %.1f s on %d threads%s), 1 query thread:\n\n",
			r.Hnswlib.Version, dash(r.Hnswlib.DebianPackage), r.Hnswlib.M, r.Hnswlib.EfConstruction, r.Hnswlib.BuildSeconds, r.Hnswlib.BuildThreads,
			map[bool]string{true: ", index cached", false: ""}[r.Hnswlib.IndexCached])
		cells := [][]string{{"ef", "recall", "p50", "p99", "QPS"}}
		for _, p := range r.Hnswlib.Points {
			cells = append(cells, []string{fmt.Sprint(p.Ef), fmt.Sprintf("%.3f", p.Recall), fmtMs(&p.P50Ms), fmtMs(&p.P99Ms), fmtNum(p.QPS)})
		}
		writeGrid(bw, cells)
	}
	fmt.Fprintf(bw, "\nwall times: %s\n", r.phases())
	if len(r.Notes) > 0 {
		fmt.Fprintln(bw)
		for _, n := range r.Notes {
			fmt.Fprintln(bw, "note:", n)
		}
	}
	fmt.Fprintln(bw)
	return bw.Flush()
}

// phases summarizes where the run's time went.
func (r *Report) phases() string {
	var parts []string
	d := r.Data
	if d.Generated || d.TruthComputed {
		parts = append(parts, fmt.Sprintf("data %.1f s (generate %.1f s, ground truth %.1f s)", d.PrepareSeconds, d.GenerateSeconds, d.TruthSeconds))
	} else {
		parts = append(parts, fmt.Sprintf("data from the cache %.1f s (first built in %.1f s + %.1f s)", d.PrepareSeconds, d.GenerateSeconds, d.TruthSeconds))
	}
	for _, p := range []struct{ key, name string }{{"exact_peer_s", "exact peer"}, {"hnswlib_s", "hnswlib"}, {"hartd_s", "hartd"}} {
		if v, ok := r.Timings[p.key]; ok {
			s := fmt.Sprintf("%s %.1f s", p.name, v)
			if p.key == "hnswlib_s" && r.Hnswlib != nil && r.Hnswlib.Status == statusOK && !r.Hnswlib.IndexCached {
				s += fmt.Sprintf(" (build %.1f s)", r.Hnswlib.BuildSeconds)
			}
			if p.key == "hartd_s" && r.Hartd != nil {
				var sub []string
				if r.Hartd.Load != nil {
					sub = append(sub, fmt.Sprintf("load %.1f s", r.Hartd.Load.Seconds))
				}
				if r.Hartd.Reload != nil && r.Hartd.Reload.Seconds != nil {
					sub = append(sub, fmt.Sprintf("reload %.1f s", *r.Hartd.Reload.Seconds))
				}
				if len(sub) > 0 {
					s += " (" + strings.Join(sub, ", ") + ")"
				}
			}
			parts = append(parts, s)
		}
	}
	parts = append(parts, fmt.Sprintf("total %.1f s", r.Timings["total_s"]))
	return strings.Join(parts, "; ")
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// writeGrid prints cells as a Markdown table with padded columns.
func writeGrid(w io.Writer, cells [][]string) {
	width := make([]int, len(cells[0]))
	for _, row := range cells {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(row []string) {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range row {
			b.WriteString(" ")
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)))
			b.WriteString(" |")
		}
		fmt.Fprintln(w, b.String())
	}
	line(cells[0])
	sep := make([]string, len(width))
	for i, n := range width {
		sep[i] = strings.Repeat("-", n)
	}
	line(sep)
	for _, row := range cells[1:] {
		line(row)
	}
}

// scrubPaths replaces the machine's directories that an error message may
// carry (the cache, the temporary directory, the home directory) so that
// no path of this machine goes into a report.
func scrubPaths(b []byte, cacheDir string) []byte {
	var pairs []string
	if abs, err := filepath.Abs(cacheDir); err == nil {
		pairs = append(pairs, abs, "<cache>")
	}
	pairs = append(pairs, filepath.Clean(os.TempDir()), "<tmp>")
	if home, err := os.UserHomeDir(); err == nil && len(home) > 1 {
		pairs = append(pairs, home, "<home>")
	}
	if wd, err := os.Getwd(); err == nil && len(wd) > 1 {
		pairs = append(pairs, wd, "<cwd>")
	}
	return []byte(strings.NewReplacer(pairs...).Replace(string(b)))
}

// WriteJSONFile writes the report as indented JSON.
func (r *Report) WriteJSONFile(path, cacheDir string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("json report: %w", err)
	}
	b = scrubPaths(b, cacheDir)
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("json report: %w", err)
	}
	return nil
}
