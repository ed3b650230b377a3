package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// genVersion is part of the cache key: bump it whenever the generator's
// output for given parameters changes.
const genVersion = 1

// Streams of the generator: the same process, independent random numbers.
const (
	streamSetup   = 0 // cluster centres, spreads, weights, rotation
	streamBase    = 1 // the data
	streamQueries = 2 // held-out queries
	streamExtra   = 3 // vectors for the one-item inserts
)

// genChunk is the number of rows drawn from one random source. Row i comes
// from the source of chunk i/genChunk, so the output does not depend on the
// number of workers.
const genChunk = 1024

// Generator parameters (version 1). See README.md, "The data".
const (
	specPower    = 0.5  // per-dimension std ∝ (j+1)^-specPower
	meanScale    = 0.6  // a shared offset (anisotropy: random pairs have a positive cosine)
	zipfPower    = 0.9  // cluster k has weight ∝ (k+1)^-zipfPower
	spreadMedian = 0.75 // median cluster spread, relative to the spread of the centres
	spreadSigma  = 0.35 // log-normal sigma of the spreads
	rotRounds    = 2    // rounds of signs, block Hadamard transforms and a permutation
)

// DataParams identify a synthetic data set.
type DataParams struct {
	N    int    `json:"n"`
	Dim  int    `json:"dim"`
	Seed uint64 `json:"seed"`
}

// Key is the name of the data set's cache directory.
func (p DataParams) Key() string {
	return fmt.Sprintf("v%d-n%d-d%d-s%d", genVersion, p.N, p.Dim, p.Seed)
}

// Clusters is the number of cluster centres for n rows.
func Clusters(n int) int { return max(32, n/1000) }

// Generator draws unit vectors from a mixture of clusters of unequal size
// and spread with a decaying spectrum, rotated so that the spectrum is not
// aligned with the axes. It is immutable and safe for concurrent use.
type Generator struct {
	dim     int
	seed    uint64
	spec    []float64   // per-dimension std of the latent space
	centers [][]float64 // latent centres, the shared offset included
	spread  []float64   // per-cluster spread
	cum     []float64   // cumulative cluster weights, last = 1
	rot     rotation
}

// NewGenerator builds the generator of p: the same parameters always give
// the same vectors.
func NewGenerator(p DataParams) *Generator {
	r := rand.New(rand.NewPCG(p.Seed, streamKey(streamSetup, 0)))
	d := p.Dim
	g := &Generator{dim: d, seed: p.Seed, spec: make([]float64, d)}
	for j := range d {
		g.spec[j] = math.Pow(float64(j+1), -specPower)
	}
	mean := make([]float64, d)
	for j := range d {
		mean[j] = meanScale * g.spec[j] * r.NormFloat64()
	}
	c := Clusters(p.N)
	g.centers = make([][]float64, c)
	g.spread = make([]float64, c)
	w := make([]float64, c)
	var total float64
	for k := range c {
		v := make([]float64, d)
		for j := range d {
			v[j] = mean[j] + g.spec[j]*r.NormFloat64()
		}
		g.centers[k] = v
		g.spread[k] = spreadMedian * math.Exp(spreadSigma*r.NormFloat64())
		w[k] = math.Pow(float64(k+1), -zipfPower)
		total += w[k]
	}
	g.cum = make([]float64, c)
	var acc float64
	for k := range c {
		acc += w[k] / total
		g.cum[k] = acc
	}
	g.cum[c-1] = 1
	g.rot = newRotation(d, r)
	return g
}

// streamKey mixes a stream and a chunk number into the second PCG seed.
func streamKey(stream, chunk uint64) uint64 {
	x := stream<<48 ^ chunk
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// Fill writes rows [first, first+len(dst)/dim) of stream into dst. first
// must be a multiple of genChunk.
func (g *Generator) Fill(stream uint64, first int, dst []float32) {
	d := g.dim
	n := len(dst) / d
	x := make([]float64, d)
	scratch := make([]float64, d)
	var r *rand.Rand
	for i := range n {
		row := first + i
		if r == nil || row%genChunk == 0 {
			r = rand.New(rand.NewPCG(g.seed, streamKey(stream, uint64(row/genChunk))))
		}
		k := sort.SearchFloat64s(g.cum, r.Float64())
		k = min(k, len(g.cum)-1)
		c, s := g.centers[k], g.spread[k]
		for j := range d {
			x[j] = c[j] + s*g.spec[j]*r.NormFloat64()
		}
		g.rot.apply(x, scratch)
		var nn float64
		for _, v := range x {
			nn += v * v
		}
		inv := 1 / math.Sqrt(nn)
		out := dst[i*d : (i+1)*d]
		for j, v := range x {
			out[j] = float32(v * inv)
		}
	}
}

// rotation is a fixed random orthogonal map that costs O(d log d) per
// vector: rounds of random signs, orthonormal Walsh–Hadamard transforms on
// power-of-two windows that together cover every coordinate, and a random
// permutation. The windows tile the vector when the dimension has a
// power-of-two divisor of at least 64 (768 = 3 × 256); otherwise they are
// two overlapping windows of the largest power of two below the dimension.
// After the second round every latent axis is spread over all coordinates.
type rotation struct {
	d       int
	windows [][2]int // start, length
	signs   [][]float64
	perms   [][]int
}

func newRotation(d int, r *rand.Rand) rotation {
	rt := rotation{d: d}
	if b := d & -d; b >= 64 {
		for s := 0; s < d; s += b {
			rt.windows = append(rt.windows, [2]int{s, b})
		}
	} else {
		b := 1 << (bits.Len(uint(d)) - 1)
		rt.windows = append(rt.windows, [2]int{0, b})
		if b != d {
			rt.windows = append(rt.windows, [2]int{d - b, b})
		}
	}
	for range rotRounds {
		s := make([]float64, d)
		for j := range s {
			s[j] = 1
			if r.Uint64()&1 == 1 {
				s[j] = -1
			}
		}
		rt.signs = append(rt.signs, s)
		rt.perms = append(rt.perms, r.Perm(d))
	}
	return rt
}

func (rt *rotation) apply(x, scratch []float64) {
	if rt.d < 2 {
		return
	}
	for k := range rt.signs {
		for j, s := range rt.signs[k] {
			x[j] *= s
		}
		for _, w := range rt.windows {
			fwht(x[w[0] : w[0]+w[1]])
		}
		for j, p := range rt.perms[k] {
			scratch[j] = x[p]
		}
		copy(x, scratch)
	}
}

// fwht is the orthonormal Walsh–Hadamard transform in place; len(x) is a
// power of two, at least 4 (a shorter x is only scaled, which keeps it
// orthogonal).
func fwht(x []float64) {
	n := len(x)
	if n < 4 {
		if n == 2 {
			u, v := x[0], x[1]
			x[0], x[1] = (u+v)*math.Sqrt2/2, (u-v)*math.Sqrt2/2
		}
		return
	}
	// The first two levels as one radix-4 pass.
	for i := 0; i+3 < n; i += 4 {
		v := x[i : i+4 : i+4]
		a, b, c, d := v[0]+v[1], v[0]-v[1], v[2]+v[3], v[2]-v[3]
		v[0], v[1], v[2], v[3] = a+c, b+d, a-c, b-d
	}
	s := 1 / math.Sqrt(float64(n))
	if n == 4 {
		for i := range x {
			x[i] *= s
		}
		return
	}
	for h := 4; h < n; h <<= 1 {
		last := h<<1 == n
		for i := 0; i < n; i += h << 1 {
			a := x[i : i+h]
			b := x[i+h : i+2*h]
			b = b[:len(a)]
			if last { // the normalization folded into the last level
				for j := range a {
					u, v := a[j], b[j]
					a[j], b[j] = (u+v)*s, (u-v)*s
				}
				continue
			}
			for j := range a {
				u, v := a[j], b[j]
				a[j], b[j] = u+v, u-v
			}
		}
	}
}

// generate writes n rows of stream as .fvecs to path, atomically (a
// temporary file renamed at the end), with workers generating chunks in
// parallel and one writer keeping their order. tick is called with the
// number of rows written.
func generate(g *Generator, stream uint64, n int, path string, tick func(int)) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	defer func() {
		if f != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	w := bufio.NewWriterSize(f, 4<<20)
	if err := generateTo(g, stream, n, w, tick); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("generate: write %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("generate: close %s: %w", filepath.Base(path), err)
	}
	f = nil
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	return nil
}

// generateTo writes n rows of stream to w as .fvecs records.
func generateTo(g *Generator, stream uint64, n int, w io.Writer, tick func(int)) error {
	d := g.dim
	chunks := (n + genChunk - 1) / genChunk
	workers := runtime.GOMAXPROCS(0)
	type job struct {
		idx int
		out chan []byte
	}
	jobs := make(chan job)
	order := make(chan chan []byte, 2*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]float32, genChunk*d)
			for j := range jobs {
				first := j.idx * genChunk
				rows := min(genChunk, n-first)
				g.Fill(stream, first, buf[:rows*d])
				j.out <- encodeFvecs(buf[:rows*d], d)
			}
		}()
	}
	stop := make(chan struct{})
	go func() {
		defer close(order)
		defer close(jobs)
		for i := range chunks {
			ch := make(chan []byte, 1)
			select {
			case order <- ch:
			case <-stop:
				return
			}
			select {
			case jobs <- job{i, ch}:
			case <-stop:
				return
			}
		}
	}()
	var werr error
	for ch := range order {
		b := <-ch
		if werr == nil {
			if _, err := w.Write(b); err != nil {
				werr = fmt.Errorf("generate: write: %w", err)
				close(stop)
			}
			if tick != nil {
				tick(len(b) / (4 + 4*d))
			}
		}
	}
	wg.Wait()
	return werr
}

// encodeFvecs encodes rows of dimension d as .fvecs records: a
// little-endian int32 dimension, then the values.
func encodeFvecs(v []float32, d int) []byte {
	n := len(v) / d
	b := make([]byte, n*(4+4*d))
	for i := range n {
		o := i * (4 + 4*d)
		binary.LittleEndian.PutUint32(b[o:], uint32(d))
		for j, x := range v[i*d : (i+1)*d] {
			binary.LittleEndian.PutUint32(b[o+4+4*j:], math.Float32bits(x))
		}
	}
	return b
}

// Matrix is a read-only .fvecs file mapped into memory: its pages are the
// file's (page cache), so they do not count as the process's anonymous
// memory and do not skew the server's measured footprint.
type Matrix struct {
	N, Dim int
	mm     []byte
	flat   []float32 // set instead of mm by matrixOf
}

// matrixOf wraps rows held in memory (tests, small sets).
func matrixOf(v []float32, d int) *Matrix { return &Matrix{N: len(v) / d, Dim: d, flat: v} }

var littleEndian = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

// openMatrix maps an .fvecs file whose every record has dimension dim.
func openMatrix(path string, dim int) (*Matrix, error) {
	if !littleEndian {
		return nil, errors.New("open matrix: a little-endian machine is required")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open matrix: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open matrix: %w", err)
	}
	rec := int64(4 + 4*dim)
	if fi.Size()%rec != 0 || fi.Size() == 0 {
		return nil, fmt.Errorf("open matrix %s: size %d is not a multiple of %d-d records", filepath.Base(path), fi.Size(), dim)
	}
	mm, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("open matrix: mmap %s: %w", filepath.Base(path), err)
	}
	m := &Matrix{N: int(fi.Size() / rec), Dim: dim, mm: mm}
	if d := binary.LittleEndian.Uint32(mm); int(d) != dim {
		_ = m.Close()
		return nil, fmt.Errorf("open matrix %s: dimension %d, want %d", filepath.Base(path), d, dim)
	}
	return m, nil
}

// Row returns row i; the slice must not be modified.
func (m *Matrix) Row(i int) []float32 {
	if m.flat != nil {
		return m.flat[i*m.Dim : (i+1)*m.Dim]
	}
	off := i*(4+4*m.Dim) + 4
	return unsafe.Slice((*float32)(unsafe.Pointer(&m.mm[off])), m.Dim)
}

// Close unmaps the file.
func (m *Matrix) Close() error {
	if m == nil || m.mm == nil {
		return nil
	}
	err := unix.Munmap(m.mm)
	m.mm = nil
	return err
}

// Dataset is a cached data set: base vectors, held-out queries and their
// exact top-TruthK neighbours among the base vectors (row numbers).
type Dataset struct {
	Params  DataParams
	Queries int
	Dir     string // cache directory of the data set (never written to a report)
	Base    *Matrix
	Query   *Matrix
	Truth   [][]int32
	// Generated and TruthComputed say what this run had to compute; the
	// times are what it took (or, when cached, what it took originally).
	Generated, TruthComputed bool
	GenSeconds, TruthSeconds float64
}

// Close unmaps the data set's files.
func (ds *Dataset) Close() error {
	return errors.Join(ds.Base.Close(), ds.Query.Close())
}

// TruthK is how many exact neighbours the cache keeps per query.
const TruthK = 100

// cacheMeta is written beside a cached file once it is complete.
type cacheMeta struct {
	GenVersion int        `json:"gen_version"`
	Params     DataParams `json:"params"`
	Rows       int        `json:"rows"`
	Seconds    float64    `json:"seconds"`
}

func fileName(kind string, rows int) string {
	switch kind {
	case "base":
		return "base.fvecs"
	case "queries":
		return fmt.Sprintf("queries-%d.fvecs", rows)
	case "truth":
		return fmt.Sprintf("truth-%d-top%d.ivecs", rows, TruthK)
	}
	panic("unknown kind " + kind)
}

func readMeta(path string) (cacheMeta, bool) {
	var m cacheMeta
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &m) != nil {
		return m, false
	}
	return m, true
}

func writeMeta(path string, m cacheMeta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("cache meta: %w", err)
	}
	if err := os.WriteFile(path+".tmp", append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("cache meta: %w", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("cache meta: %w", err)
	}
	return nil
}

// cached reports whether path holds a complete file for p: its meta file
// exists, matches, and the file has the expected size.
func cached(path string, p DataParams, rows int, size int64) (cacheMeta, bool) {
	m, ok := readMeta(path + ".json")
	if !ok || m.GenVersion != genVersion || m.Params != p || m.Rows != rows {
		return m, false
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Size() != size {
		return m, false
	}
	return m, true
}

// loadDataset returns the data set of p with nq queries and its ground
// truth, from cacheDir when cached there, else generated (and cached).
func loadDataset(ctx context.Context, cacheDir string, p DataParams, nq int, ui *UI) (*Dataset, error) {
	dir := filepath.Join(cacheDir, p.Key())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	ds := &Dataset{Params: p, Queries: nq, Dir: dir}
	var g *Generator
	gen := func() *Generator {
		if g == nil {
			g = NewGenerator(p)
		}
		return g
	}
	rec := int64(4 + 4*p.Dim)
	for _, f := range []struct {
		kind   string
		stream uint64
		rows   int
	}{{"base", streamBase, p.N}, {"queries", streamQueries, nq}} {
		path := filepath.Join(dir, fileName(f.kind, f.rows))
		m, ok := cached(path, p, f.rows, int64(f.rows)*rec)
		if ok {
			ds.GenSeconds += m.Seconds
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		start := time.Now()
		bar := ui.Bar("generating "+f.kind, int64(f.rows), "vectors")
		err := generate(gen(), f.stream, f.rows, path, func(n int) { bar.Add(n) })
		bar.Finish()
		if err != nil {
			return nil, err
		}
		secs := time.Since(start).Seconds()
		ds.GenSeconds += secs
		ds.Generated = true
		if err := writeMeta(path+".json", cacheMeta{GenVersion: genVersion, Params: p, Rows: f.rows, Seconds: secs}); err != nil {
			return nil, err
		}
		ui.Printf("generated %d %s vectors (%d-d) in %.1f s\n", f.rows, f.kind, p.Dim, secs)
	}
	var err error
	if ds.Base, err = openMatrix(filepath.Join(dir, fileName("base", p.N)), p.Dim); err != nil {
		return nil, err
	}
	if ds.Query, err = openMatrix(filepath.Join(dir, fileName("queries", nq)), p.Dim); err != nil {
		_ = ds.Base.Close()
		return nil, err
	}
	k := min(TruthK, p.N)
	tpath := filepath.Join(dir, fileName("truth", nq))
	if m, ok := cached(tpath, p, nq, int64(nq)*int64(4+4*k)); ok {
		if ds.Truth, err = readIvecs(tpath); err == nil {
			ds.TruthSeconds = m.Seconds
			return ds, nil
		}
	}
	start := time.Now()
	bar := ui.Bar("ground truth", int64(p.N), "rows")
	ds.Truth, err = groundTruth(ctx, ds.Base, ds.Query, k, func(n int) { bar.Add(n) })
	bar.Finish()
	if err == nil {
		err = writeIvecs(tpath, ds.Truth)
	}
	if err == nil {
		ds.TruthSeconds = time.Since(start).Seconds()
		ds.TruthComputed = true
		err = writeMeta(tpath+".json", cacheMeta{GenVersion: genVersion, Params: p, Rows: nq, Seconds: ds.TruthSeconds})
	}
	if err != nil {
		_ = ds.Close()
		return nil, err
	}
	ui.Printf("ground truth (top %d of %d queries) in %.1f s\n", k, nq, ds.TruthSeconds)
	return ds, nil
}
