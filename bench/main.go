// Command bench measures hartd against the seed's performance table, the
// issue's targets and two peers (an exact brute-force scan and hnswlib) on
// deterministic synthetic embeddings. See README.md beside this file.
//
//	go run ./bench -scale 100k -json out.json
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// config is the parsed command line.
type config struct {
	scale        string
	n            int
	dim          int
	queries      int
	exactQueries int
	seed         uint64
	k            int
	jsonOut      string
	cacheDir     string
	peers        map[string]bool
	skip         map[string]bool
	sweep        []int
	seedCand     int
	batch        int
	inflight     int
	inserts      int
	sync         string
	efs          []int
	install      bool
	rebuild      bool
	progress     string
	warmup       int
	buildWait    time.Duration
	buildStall   time.Duration
}

var (
	knownPeers = []string{"exact", "hnswlib"}
	knownSkips = []string{"hartd", "exact", "hybrid", "seed", "projection", "insert", "reload", "inprocess"}
)

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	var peers, skip, sweep, efs, seed string
	fs.StringVar(&c.scale, "scale", "10k", "number of base vectors: 10k, 100k, 1m or any integer (k and m suffixes)")
	fs.IntVar(&c.dim, "dim", 768, "dimension")
	fs.IntVar(&c.queries, "queries", 1000, "held-out queries")
	fs.IntVar(&c.exactQueries, "exact-queries", 200, "queries timed for the exact rows (hartd EXACT and the exact peer: a full scan each)")
	fs.StringVar(&seed, "seed", "1", "seed of the data generator")
	fs.IntVar(&c.k, "k", 10, "neighbours per query (recall@k)")
	fs.StringVar(&c.jsonOut, "json", "", "write the report as JSON to this file")
	fs.StringVar(&c.cacheDir, "cache", "", "cache of data, queries and ground truth (default bench/cache of the module)")
	fs.StringVar(&peers, "peers", "hnswlib,exact", "peers to run: hnswlib, exact (comma-separated; \"none\" for none)")
	fs.StringVar(&skip, "skip", "", "rows to skip: "+strings.Join(knownSkips, ", ")+" (comma-separated)")
	fs.StringVar(&sweep, "sweep", "16,32,64,128,256,512,1024,2048", "HYBRID candidate budgets to sweep")
	fs.IntVar(&c.seedCand, "seed-candidates", 100, "candidates of the SEED mode (the seed used 100)")
	fs.IntVar(&c.batch, "batch", 1000, "bulk load: vectors per Insert call")
	fs.IntVar(&c.inflight, "inflight", 4, "bulk load: Insert calls in flight")
	fs.IntVar(&c.inserts, "inserts", 500, "one-item inserts timed (over gRPC, and as many in process)")
	fs.StringVar(&c.sync, "sync", "full", "the store's durability, as hartd serve --sync: full or normal")
	fs.StringVar(&efs, "ef", "10,16,24,32,48,64,96,128,192,256", "hnswlib: ef values to sweep")
	fs.BoolVar(&c.install, "install", true, "install Debian's python3-hnswlib and python3-numpy with apt-get when missing")
	fs.BoolVar(&c.rebuild, "rebuild-peers", false, "rebuild the hnswlib index even when it is cached")
	fs.StringVar(&c.progress, "progress", "auto", "progress bars: auto (on a terminal), on or off")
	fs.IntVar(&c.warmup, "warmup", 20, "untimed queries before each timed run")
	fs.DurationVar(&c.buildWait, "build-timeout", 15*time.Minute, "longest wait for the server to report its index built")
	fs.DurationVar(&c.buildStall, "build-stall", 2*time.Minute, "give up waiting for the index when its state has not changed for this long")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if c.n, err = parseScale(c.scale); err != nil {
		return nil, err
	}
	if c.seed, err = strconv.ParseUint(seed, 10, 64); err != nil {
		return nil, fmt.Errorf("-seed: %w", err)
	}
	switch {
	case c.dim < 2 || c.dim > 4096:
		return nil, fmt.Errorf("-dim %d: want 2 to 4096", c.dim)
	case c.queries < 1:
		return nil, fmt.Errorf("-queries %d: want at least 1", c.queries)
	case c.exactQueries < 1:
		return nil, fmt.Errorf("-exact-queries %d: want at least 1", c.exactQueries)
	case c.k < 1 || c.k > TruthK || c.k > c.n:
		return nil, fmt.Errorf("-k %d: want 1 to min(%d, scale)", c.k, TruthK)
	case c.batch < 1 || c.batch > 10000:
		return nil, fmt.Errorf("-batch %d: want 1 to 10000", c.batch)
	case c.inflight < 1:
		return nil, fmt.Errorf("-inflight %d: want at least 1", c.inflight)
	case c.sync != "full" && c.sync != "normal":
		return nil, fmt.Errorf("-sync %q: want full or normal", c.sync)
	}
	if c.peers, err = parseSet("-peers", peers, knownPeers); err != nil {
		return nil, err
	}
	if c.skip, err = parseSet("-skip", skip, knownSkips); err != nil {
		return nil, err
	}
	if c.sweep, err = parseInts("-sweep", sweep); err != nil {
		return nil, err
	}
	if c.efs, err = parseInts("-ef", efs); err != nil {
		return nil, err
	}
	if c.cacheDir == "" {
		c.cacheDir = defaultCacheDir()
	}
	return c, nil
}

// parseScale reads 10k, 100k, 1m, 2.5m or a plain integer.
func parseScale(s string) (int, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	switch {
	case strings.HasSuffix(t, "k"):
		mult, t = 1e3, strings.TrimSuffix(t, "k")
	case strings.HasSuffix(t, "m"):
		mult, t = 1e6, strings.TrimSuffix(t, "m")
	}
	t = strings.ReplaceAll(t, "_", "")
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("-scale %q: want e.g. 10k, 100k, 1m or an integer", s)
	}
	n := int(f*mult + 0.5)
	if n < 10 || float64(n) != f*mult {
		return 0, fmt.Errorf("-scale %q: want a whole number of vectors, at least 10", s)
	}
	return n, nil
}

func parseSet(flagName, s string, known []string) (map[string]bool, error) {
	out := map[string]bool{}
	if strings.TrimSpace(s) == "" || s == "none" {
		return out, nil
	}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(strings.ToLower(f))
		if f == "" {
			continue
		}
		if !slices.Contains(known, f) {
			return nil, fmt.Errorf("%s: unknown %q (know %s)", flagName, f, strings.Join(known, ", "))
		}
		out[f] = true
	}
	return out, nil
}

func parseInts(flagName, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%s: %q is not a positive integer", flagName, f)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: empty", flagName)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// defaultCacheDir is bench/cache of the enclosing module (git-ignored), or
// of the working directory when no go.mod is found above it.
func defaultCacheDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return filepath.Join("bench", "cache")
	}
	for d := wd; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/hartonomous/hartd") {
			return filepath.Join(d, "bench", "cache")
		}
		if filepath.Dir(d) == d {
			return filepath.Join("bench", "cache")
		}
	}
}

// UI writes progress to stderr: bars on a terminal, else one line per step.
type UI struct {
	w    io.Writer
	bars bool
	mu   sync.Mutex
}

func newUI(w io.Writer, mode string) *UI {
	u := &UI{w: w}
	switch mode {
	case "on":
		u.bars = true
	case "off":
	default:
		if f, ok := w.(*os.File); ok {
			u.bars = term.IsTerminal(int(f.Fd()))
		}
	}
	return u
}

// Printf writes a progress line.
func (u *UI) Printf(format string, args ...any) {
	u.mu.Lock()
	defer u.mu.Unlock()
	fmt.Fprintf(u.w, format, args...)
}

// Bar is a progress bar, or a no-op that prints one line when done.
type Bar struct {
	ui    *UI
	pb    *progressbar.ProgressBar
	desc  string
	unit  string
	start time.Time
	mu    sync.Mutex
	n     int64
}

// Bar starts a progress bar of total steps.
func (u *UI) Bar(desc string, total int64, unit string) *Bar {
	b := &Bar{ui: u, desc: desc, unit: unit, start: time.Now()}
	if u.bars {
		b.pb = progressbar.NewOptions64(total,
			progressbar.OptionSetDescription(desc),
			progressbar.OptionSetWriter(u.w),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(unit),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
			progressbar.OptionClearOnFinish(),
		)
	}
	return b
}

// Add advances the bar by n steps; safe for concurrent use.
func (b *Bar) Add(n int) {
	b.mu.Lock()
	b.n += int64(n)
	b.mu.Unlock()
	if b.pb != nil {
		_ = b.pb.Add(n)
	}
}

// Finish clears the bar and prints a summary line.
func (b *Bar) Finish() {
	if b.pb != nil {
		_ = b.pb.Finish()
	}
	b.mu.Lock()
	n := b.n
	b.mu.Unlock()
	el := time.Since(b.start)
	rate := ""
	if s := el.Seconds(); s > 0 && n > 0 {
		rate = fmt.Sprintf(", %.0f %s/s", float64(n)/s, b.unit)
	}
	b.ui.Printf("  %s: %d %s in %s%s\n", b.desc, n, b.unit, el.Round(time.Millisecond), rate)
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, newUI(os.Stderr, cfg.progress)); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		stop()
		os.Exit(1)
	}
}

// run measures everything the configuration asks for and writes the report.
func run(ctx context.Context, cfg *config, out io.Writer, ui *UI) error {
	start := time.Now()
	rep := newReport(cfg)
	ui.Printf("bench: %d × %d-d vectors, %d queries, seed %d, k=%d on %s (%d cores, %s)\n",
		cfg.n, cfg.dim, cfg.queries, cfg.seed, cfg.k, rep.Machine.CPU, rep.Machine.Cores, rep.Machine.GoVersion)

	t := time.Now()
	ds, err := loadDataset(ctx, cfg.cacheDir, DataParams{N: cfg.n, Dim: cfg.dim, Seed: cfg.seed}, cfg.queries, ui)
	if err != nil {
		return err
	}
	defer ds.Close()
	rep.Data = DataInfo{
		CacheKey: ds.Params.Key(), Clusters: Clusters(cfg.n), Generated: ds.Generated, TruthComputed: ds.TruthComputed,
		GenerateSeconds: ds.GenSeconds, TruthSeconds: ds.TruthSeconds, PrepareSeconds: time.Since(t).Seconds(),
	}
	rep.Data.shape(ds)
	if !ds.Generated && !ds.TruthComputed {
		ui.Printf("data, queries and ground truth from the cache (%s; first built in %.1f s + %.1f s)\n",
			ds.Params.Key(), ds.GenSeconds, ds.TruthSeconds)
	}

	// Peers first, then hartd, back to back in one process: the same data,
	// the same machine state.
	if cfg.peers["exact"] {
		runtime.GC()
		t := time.Now()
		rep.ExactPeer = runExactPeer(ctx, ds, cfg, ui)
		rep.Timings["exact_peer_s"] = time.Since(t).Seconds()
	}
	if cfg.peers["hnswlib"] {
		runtime.GC()
		t := time.Now()
		rep.Hnswlib = runHnswlib(ctx, ds, cfg, ui)
		rep.Timings["hnswlib_s"] = time.Since(t).Seconds()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !cfg.skip["hartd"] {
		runtime.GC()
		t := time.Now()
		h, err := runHartd(ctx, ds, cfg, ui)
		rep.Timings["hartd_s"] = time.Since(t).Seconds()
		if h != nil {
			rep.Hartd = h
		}
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			rep.Notes = append(rep.Notes, "hartd run stopped early: "+err.Error())
			ui.Printf("hartd: %v\n", err)
		}
	}
	rep.Timings["total_s"] = time.Since(start).Seconds()
	rep.finish(cfg)
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		return fmt.Errorf("print table: %w", err)
	}
	if _, err := out.Write(scrubPaths(table.Bytes(), cfg.cacheDir)); err != nil {
		return fmt.Errorf("print table: %w", err)
	}
	if cfg.jsonOut != "" {
		if err := rep.WriteJSONFile(cfg.jsonOut, cfg.cacheDir); err != nil {
			return err
		}
		ui.Printf("wrote %s\n", filepath.Base(cfg.jsonOut))
	}
	ui.Printf("bench: done in %s\n", time.Since(start).Round(time.Second))
	return nil
}
