package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/viterin/vek/vek32"
)

// ExactPeerResult is the exact brute-force peer: a plain parallel Go scan
// over the float32 data with vek's SIMD dot product, outside hartd.
type ExactPeerResult struct {
	Status  string   `json:"status"`
	Threads int      `json:"threads"`
	Recall  *float64 `json:"recall"`
	Latency *Latency `json:"latency"`
}

// exactScan returns the k rows of base with the highest inner product with
// q, best first, scanning with workers goroutines.
func exactScan(base *Matrix, q []float32, k, workers int) []int32 {
	heaps := make([]*topK, workers)
	var wg sync.WaitGroup
	per := (base.N + workers - 1) / workers
	for w := range workers {
		h := newTopK(k)
		heaps[w] = h
		lo, hi := w*per, min((w+1)*per, base.N)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := lo; r < hi; r++ {
				s := vek32.Dot(q, base.Row(r))
				if !h.full() || s >= h.scores[0] {
					h.push(s, int32(r))
				}
			}
		}()
	}
	wg.Wait()
	all := newTopK(k)
	for _, h := range heaps {
		for i := range h.ids {
			all.push(h.scores[i], h.ids[i])
		}
	}
	return all.sorted()
}

func runExactPeer(ctx context.Context, ds *Dataset, cfg *config, ui *UI) *ExactPeerResult {
	workers := runtime.GOMAXPROCS(0)
	res := &ExactPeerResult{Status: statusOK, Threads: workers}
	nq := min(ds.Query.N, cfg.exactQueries)
	for i := range min(cfg.warmup, ds.Query.N) {
		exactScan(ds.Base, ds.Query.Row(ds.Query.N-1-i), cfg.k, workers)
	}
	bar := ui.Bar("peer exact brute force", int64(nq), "queries")
	lat := make([]time.Duration, 0, nq)
	var recall float64
	for i := range nq {
		if ctx.Err() != nil {
			res.Status = "interrupted"
			break
		}
		t := time.Now()
		got := exactScan(ds.Base, ds.Query.Row(i), cfg.k, workers)
		lat = append(lat, time.Since(t))
		recall += recallAt(got, ds.Truth[i], cfg.k)
		bar.Add(1)
	}
	bar.Finish()
	if len(lat) > 0 {
		res.Recall = ptr(recall / float64(len(lat)))
		res.Latency = summarize(lat)
		ui.Printf("  peer exact: recall %.3f, p50 %s, p99 %s (%d threads)\n", *res.Recall, fmtMs(&res.Latency.P50Ms), fmtMs(&res.Latency.P99Ms), workers)
	}
	return res
}

//go:embed peers/hnswlib_peer.py
var hnswlibScript []byte

// debianPython is Debian's interpreter, which sees Debian's python3-hnswlib
// and python3-numpy (a python earlier on PATH may not).
const debianPython = "/usr/bin/python3"

// hnswlibPackages are installed with apt-get when the import fails.
var hnswlibPackages = []string{"python3-hnswlib", "python3-numpy"}

// HNSW build parameters of the peer.
const (
	hnswM   = 16
	hnswEfC = 64
)

// HnswlibResult is the hnswlib peer.
type HnswlibResult struct {
	Status         string      `json:"status"`
	Install        string      `json:"install"`
	Error          string      `json:"error,omitempty"`
	Version        string      `json:"version,omitempty"`
	DebianPackage  string      `json:"debian_package,omitempty"`
	NumpyVersion   string      `json:"numpy_version,omitempty"`
	PythonVersion  string      `json:"python_version,omitempty"`
	M              int         `json:"M"`
	EfConstruction int         `json:"ef_construction"`
	BuildSeconds   float64     `json:"build_s"`
	BuildThreads   int         `json:"build_threads"`
	IndexCached    bool        `json:"index_cached"`
	Points         []HnswPoint `json:"points"`
	QPSAtTarget    *float64    `json:"qps_at_recall_0_95"`
}

// HnswPoint is hnswlib at one ef, one query at a time on one thread.
type HnswPoint struct {
	Ef     int     `json:"ef"`
	Recall float64 `json:"recall"`
	P50Ms  float64 `json:"p50_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MeanMs float64 `json:"mean_ms"`
	// QPS is 1 / median latency, as for hartd; QPSMean is 1 / mean.
	QPS     float64 `json:"qps"`
	QPSMean float64 `json:"qps_mean"`
}

func pythonImports(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, debianPython, "-c", "import hnswlib, numpy").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, lastLine(out))
	}
	return nil
}

// debianVersion is the installed version of a Debian package, or "".
func debianVersion(ctx context.Context, pkg string) string {
	out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${Version}", pkg).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// ensureHnswlib makes Debian's python3-hnswlib importable, installing it
// with apt-get when allowed, and says what it did.
func ensureHnswlib(ctx context.Context, cfg *config, ui *UI) (did string, err error) {
	if _, err := os.Stat(debianPython); err != nil {
		return "no " + debianPython, fmt.Errorf("%s not found", debianPython)
	}
	if err := pythonImports(ctx); err == nil {
		return "already installed", nil
	}
	cmdline := "apt-get install -y --no-install-recommends " + strings.Join(hnswlibPackages, " ")
	if !cfg.install {
		return "missing; not installed (-install=false)", fmt.Errorf("hnswlib or numpy missing: run %s", cmdline)
	}
	if os.Geteuid() != 0 {
		return "missing; not root, so not installed", fmt.Errorf("hnswlib or numpy missing: run (as root) %s", cmdline)
	}
	apt := func(args ...string) error {
		ui.Printf("peer hnswlib: running apt-get %s\n", strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get %s: %w: %s", args[0], err, lastLine(out))
		}
		return nil
	}
	install := append([]string{"install", "-y", "--no-install-recommends"}, hnswlibPackages...)
	err = apt(install...)
	did = "installed with " + cmdline
	if err != nil {
		ui.Printf("peer hnswlib: %v; updating the package lists and retrying\n", err)
		if uerr := apt("update"); uerr != nil {
			return "install failed: " + uerr.Error(), uerr
		}
		if err = apt(install...); err != nil {
			return "install failed: " + err.Error(), err
		}
		did = "installed with apt-get update && " + cmdline
	}
	if err := pythonImports(ctx); err != nil {
		return did + ", but the import still fails", err
	}
	ui.Printf("peer hnswlib: %s\n", did)
	return did, nil
}

// runHnswlib builds (or loads from the cache) an HNSW index of the data
// with Debian's hnswlib and sweeps ef, through peers/hnswlib_peer.py.
func runHnswlib(ctx context.Context, ds *Dataset, cfg *config, ui *UI) *HnswlibResult {
	res := &HnswlibResult{M: hnswM, EfConstruction: hnswEfC, Points: []HnswPoint{}}
	did, err := ensureHnswlib(ctx, cfg, ui)
	res.Install = did
	if err != nil {
		res.Status, res.Error = "not installed", err.Error()
		ui.Printf("peer hnswlib: skipped: %v\n", err)
		return res
	}
	index := filepath.Join(ds.Dir, fmt.Sprintf("hnswlib-M%d-efc%d.bin", hnswM, hnswEfC))
	if cfg.rebuild {
		_ = os.Remove(index)
		_ = os.Remove(index + ".json")
	}
	efs := make([]string, len(cfg.efs))
	for i, e := range cfg.efs {
		efs[i] = strconv.Itoa(e)
	}
	args := []string{"-",
		"--base", filepath.Join(ds.Dir, fileName("base", ds.Params.N)),
		"--queries", filepath.Join(ds.Dir, fileName("queries", ds.Queries)),
		"--truth", filepath.Join(ds.Dir, fileName("truth", ds.Queries)),
		"--truth-width", strconv.Itoa(min(TruthK, ds.Params.N)),
		"--dim", strconv.Itoa(ds.Params.Dim),
		"--k", strconv.Itoa(cfg.k),
		"--M", strconv.Itoa(hnswM),
		"--efc", strconv.Itoa(hnswEfC),
		"--ef", strings.Join(efs, ","),
		"--threads", strconv.Itoa(runtime.NumCPU()),
		"--seed", strconv.FormatUint(cfg.seed, 10),
		"--warmup", strconv.Itoa(cfg.warmup),
		"--index", index,
	}
	ui.Printf("peer hnswlib: M=%d, efConstruction=%d, ef sweep %s, 1 query thread\n", hnswM, hnswEfC, strings.Join(efs, ","))
	cmd := exec.CommandContext(ctx, debianPython, args...)
	cmd.Stdin = bytes.NewReader(hnswlibScript)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = ui.w
	if err := cmd.Run(); err != nil {
		res.Status, res.Error = "error", fmt.Sprintf("hnswlib peer: %v", err)
		ui.Printf("peer hnswlib: %s\n", res.Error)
		return res
	}
	var out struct {
		Version       string      `json:"version"`
		NumpyVersion  string      `json:"numpy_version"`
		PythonVersion string      `json:"python_version"`
		BuildS        float64     `json:"build_s"`
		BuildThreads  int         `json:"build_threads"`
		IndexCached   bool        `json:"index_cached"`
		Points        []HnswPoint `json:"points"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		res.Status, res.Error = "error", fmt.Sprintf("hnswlib peer output: %v", err)
		return res
	}
	res.Status = statusOK
	res.Version, res.NumpyVersion, res.PythonVersion = out.Version, out.NumpyVersion, out.PythonVersion
	res.BuildSeconds, res.BuildThreads, res.IndexCached = out.BuildS, out.BuildThreads, out.IndexCached
	for i := range out.Points {
		p := &out.Points[i]
		if p.P50Ms > 0 {
			p.QPS = 1000 / p.P50Ms
		}
		if p.MeanMs > 0 {
			p.QPSMean = 1000 / p.MeanMs
		}
	}
	res.Points = out.Points
	res.DebianPackage = debianVersion(ctx, "python3-hnswlib")
	return res
}
