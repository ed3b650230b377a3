package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestSummarize(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	l := summarize(d)
	if l.N != 100 || math.Abs(l.P50Ms-50.5) > 1e-9 || math.Abs(l.MeanMs-50.5) > 1e-9 || math.Abs(l.P99Ms-99.01) > 1e-9 {
		t.Fatalf("%+v", l)
	}
	if math.Abs(l.QPS-1000/50.5) > 1e-9 || math.Abs(l.QPSMean-1000/50.5) > 1e-9 {
		t.Fatalf("qps %v", l.QPS)
	}
	if summarize(nil) != nil {
		t.Fatal("no samples must give nil")
	}
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Fatalf("median %v", m)
	}
}

func TestQPSAtRecall(t *testing.T) {
	pts := []recallQPS{{0.80, 4000}, {0.90, 3000}, {0.97, 1600}, {0.99, 900}}
	got := qpsAtRecall(pts, 0.95)
	// 0.95 is 5/7 of the way from 0.90 to 0.97.
	if want := 3000 + (5.0/7.0)*(1600-3000); got == nil || math.Abs(*got-want) > 1e-9 {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got := qpsAtRecall([]recallQPS{{0.96, 500}, {0.99, 100}}, 0.95); got == nil || *got != 500 {
		t.Fatalf("first point already above: %v", got)
	}
	if got := qpsAtRecall([]recallQPS{{0.5, 500}, {0.9, 100}}, 0.95); got != nil {
		t.Fatalf("never reached: %v", *got)
	}
}

func TestVerdict(t *testing.T) {
	cases := []struct {
		v      *float64
		op     string
		target float64
		seed   *float64
		status string
		want   string
	}{
		{ptr(0.8), "<=", 1, ptr(150.0), "", "pass; within seed threshold"},
		{ptr(2.0), "<=", 1, ptr(1.5), "", "miss; over seed threshold"},
		{ptr(60000.0), ">=", 50000, nil, "", "pass"},
		{ptr(0.9), ">=", 0.95, nil, "", "miss"},
		{nil, "<=", 1, nil, statusUnimplemented, "unimplemented"},
		{nil, "<=", 1, nil, "", "not measured"},
		{ptr(3.0), "", 0, nil, "", "info"},
	}
	for _, c := range cases {
		if got := verdict(c.v, c.op, c.target, c.seed, c.status); got != c.want {
			t.Errorf("verdict(%v %s %v) = %q, want %q", c.v, c.op, c.target, got, c.want)
		}
	}
}

func testConfig() *config {
	c, err := parseFlags([]string{"-scale", "10k"}, &bytes.Buffer{})
	if err != nil {
		panic(err)
	}
	return c
}

// sampleReport has HYBRID unimplemented and everything else measured.
func sampleReport() *Report {
	cfg := testConfig()
	r := newReport(cfg)
	lat := &Latency{N: 1000, P50Ms: 4.2, P99Ms: 6.1, MeanMs: 4.4, QPS: 227}
	r.Hartd = &HartdResult{
		Status:     map[string]string{"hybrid": statusUnimplemented, "seed": statusUnimplemented},
		Load:       &LoadResult{Vectors: 10000, Seconds: 0.5, VectorsPerS: 20000, SearchableAfterLoad: ptr(true)},
		Build:      &BuildResult{Seconds: ptr(0.6), LoadSeconds: 0.5, WaitSeconds: 0.1, Ready: true},
		Memory:     &MemoryResult{ServerBytes: 40 << 20, ProcessVmRSS: 100 << 20},
		Projection: &ProjectionResult{NsPerOp: ptr(250.0), GRPC: lat},
		Exact:      &ModeResult{GRPC: SearchRun{Status: statusOK, Recall: ptr(1.0), Latency: lat}},
		Hybrid:     &HybridResult{Status: statusUnimplemented},
		SeedMode:   &ModeResult{Candidates: 100, GRPC: SearchRun{Status: statusUnimplemented}},
		Insert:     &InsertResult{GRPC: lat, InProcess: lat},
		Reload:     &ReloadResult{Seconds: ptr(1.5), OpenSeconds: 1.2, Ready: true},
	}
	r.Hnswlib = &HnswlibResult{Status: statusOK, Version: "0.6.2", M: 16, EfConstruction: 64, Points: []HnswPoint{
		{Ef: 10, Recall: 0.9, QPS: 5000, P50Ms: 0.2, P99Ms: 0.3, MeanMs: 0.2},
		{Ef: 32, Recall: 0.97, QPS: 3000, P50Ms: 0.33, P99Ms: 0.5, MeanMs: 0.33},
	}}
	r.finish(cfg)
	return r
}

func TestTableFormatting(t *testing.T) {
	r := sampleReport()
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"| metric", "seed baseline", "seed threshold", "verdict", "unimplemented",
		"billing record insert", "100 ms (seed: 1M)", "pass; within seed threshold", "hnswlib 0.6.2", "≤ 1.5× raw float32"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// Every line of the main table has the same width.
	var width int
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "| metric") && width == 0 {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		w := utf8.RuneCountInString(line)
		if width == 0 {
			width = w
		} else if w != width {
			t.Fatalf("ragged table: %d vs %d runes in %q", w, width, line)
		}
	}
}

func TestJSONKeys(t *testing.T) {
	r := sampleReport()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"hybrid_recall_at_10", "hybrid_p50_ms", "hybrid_p99_ms", "exact_p50_ms", "seed_mode_recall_at_10",
		"projection_ns", "insert_p50_ms", "bulk_insert_vectors_per_s", "build_s", "rss_bytes", "reload_s",
		"hnswlib_qps_at_recall_0_95", "hybrid_qps_ratio_to_hnswlib", "hybrid_curve", "machine", "params", "table"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	for _, k := range []string{"hybrid_p50_ms", "seed_mode_recall_at_10", "hybrid_qps_ratio_to_hnswlib"} {
		if m[k] != nil {
			t.Errorf("%s = %v, want null (unimplemented)", k, m[k])
		}
	}
	if m["exact_p50_ms"] != 4.2 || m["rss_bytes"] != float64(40<<20) {
		t.Errorf("exact_p50_ms %v, rss_bytes %v", m["exact_p50_ms"], m["rss_bytes"])
	}
	// hnswlib: 0.95 between ef=10 (0.90, 5000) and ef=32 (0.97, 3000).
	if got, want := m["hnswlib_qps_at_recall_0_95"].(float64), 5000+(5.0/7.0)*(3000-5000); math.Abs(got-want) > 1e-6 {
		t.Errorf("hnswlib qps %v, want %v", got, want)
	}
	mach := m["machine"].(map[string]any)
	if mach["go_version"] == "" || mach["cores"].(float64) < 1 {
		t.Errorf("machine %v", mach)
	}
}

func TestScrubPaths(t *testing.T) {
	cache := t.TempDir()
	in := []byte(`{"note":"open ` + cache + `/x/base.fvecs: ` + os.TempDir() + `/hartd-bench-1/hartd.db"}`)
	out := string(scrubPaths(in, cache))
	if strings.Contains(out, cache) || strings.Contains(out, os.TempDir()+"/") {
		t.Fatalf("a path remains: %s", out)
	}
}
