//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
)

func randVector(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// TestDurabilityAfterSIGKILL: every insert acknowledged before a SIGKILL
// survives it, with its text and vector.
func TestDurabilityAfterSIGKILL(t *testing.T) {
	const (
		model      = "durable"
		dim        = 32
		writers    = 4
		wantAcked  = 2000
		maxRunTime = 1500 * time.Millisecond
	)
	dir := t.TempDir()
	s := startHartd(t, dir)
	createModel(t, s.client, model, dim, pb.Metric_METRIC_COSINE)

	type ackedItem struct {
		id   int64
		text string
		vec  []float32
	}
	var (
		mu       sync.Mutex
		acked    []ackedItem
		batches  int
		nAcked   atomic.Int64
		inFlight atomic.Int64
		killed   atomic.Bool
		wg       sync.WaitGroup
	)
	errc := make(chan error, writers)
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(1, uint64(g)))
			seq := 0
			for !killed.Load() {
				n := 1 + r.IntN(50)
				items := make([]*pb.Item, n)
				texts := make([]string, n)
				for i := range items {
					texts[i] = fmt.Sprintf("g%d-%d", g, seq)
					seq++
					items[i] = &pb.Item{Vector: randVector(r, dim), Text: texts[i]}
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				inFlight.Add(1)
				resp, err := s.client.Insert(ctx, &pb.InsertRequest{Model: model, Items: items})
				inFlight.Add(-1)
				cancel()
				if err != nil {
					if !killed.Load() {
						why := "the server was running"
						if s.hasExited() {
							why = fmt.Sprintf("the server had exited on its own: %v", s.waitErr)
						}
						errc <- fmt.Errorf("writer %d: insert failed before the kill (%s): %v", g, why, err)
					}
					return // after the kill: not acknowledged, ignored
				}
				if len(resp.Ids) != n {
					errc <- fmt.Errorf("writer %d: %d ids for %d items", g, len(resp.Ids), n)
					return
				}
				mu.Lock()
				for i, id := range resp.Ids {
					acked = append(acked, ackedItem{id: id, text: texts[i], vec: items[i].Vector})
				}
				batches++
				mu.Unlock()
				nAcked.Add(int64(n))
			}
		}()
	}

	start := time.Now()
	for nAcked.Load() < wantAcked && time.Since(start) < maxRunTime {
		time.Sleep(5 * time.Millisecond)
	}
	killed.Store(true)
	inFlightAtKill := inFlight.Load()
	s.kill()
	ranFor := time.Since(start)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	if len(acked) == 0 {
		t.Fatal("no insert was acknowledged before the kill")
	}
	seen := make(map[int64]bool, len(acked))
	for _, a := range acked {
		if seen[a.id] {
			t.Fatalf("id %d acknowledged twice", a.id)
		}
		seen[a.id] = true
	}

	s2 := startHartd(t, dir)
	count := modelCount(t, s2.client, model)
	t.Logf("acknowledged %d items in %d batches in %v; %d calls in flight at the kill; count after restart %d",
		len(acked), batches, ranFor.Round(time.Millisecond), inFlightAtKill, count)
	if count < uint64(len(acked)) {
		t.Errorf("count after restart %d < %d acknowledged", count, len(acked))
	}

	// Every acknowledged item, by Get.
	work := make(chan ackedItem)
	var bad atomic.Int64
	var gw sync.WaitGroup
	for range 4 {
		gw.Add(1)
		go func() {
			defer gw.Done()
			for a := range work {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				resp, err := s2.client.Get(ctx, &pb.GetRequest{Model: model, Id: a.id})
				cancel()
				var problem string
				switch {
				case err != nil:
					problem = err.Error()
				case resp.Item.Text != a.text:
					problem = fmt.Sprintf("text %q, want %q", resp.Item.Text, a.text)
				case !sameVector(resp.Item.Vector, normalized(a.vec), 1e-6):
					problem = "vector differs from the normalized vector inserted"
				}
				if problem != "" && bad.Add(1) <= 10 {
					t.Errorf("acknowledged id %d (%s): %s", a.id, a.text, problem)
				}
			}
		}()
	}
	for _, a := range acked {
		work <- a
	}
	close(work)
	gw.Wait()
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d of %d acknowledged items lost or changed", n, len(acked))
	}

	// Search finds them: a sample, and the last acknowledged item.
	r := rand.New(rand.NewPCG(7, 7))
	probes := []ackedItem{acked[len(acked)-1]}
	for range 20 {
		probes = append(probes, acked[r.IntN(len(acked))])
	}
	for _, a := range probes {
		resp, err := s2.client.Search(rpcCtx(t), &pb.SearchRequest{Model: model, Vector: a.vec, K: 5, Mode: pb.SearchMode_SEARCH_MODE_EXACT})
		if err != nil {
			t.Fatalf("search for %d: %v", a.id, err)
		}
		if len(resp.Hits) == 0 || resp.Hits[0].Id != a.id {
			t.Errorf("search with the vector of %d: hits %v", a.id, hitIDs(resp.Hits))
			continue
		}
		if h := resp.Hits[0]; math.Abs(float64(h.Score)-1) > 1e-4 || h.Text != a.text {
			t.Errorf("search with the vector of %d: rank 1 score %v text %q, want ≈1 and %q", a.id, h.Score, h.Text, a.text)
		}
	}
}

func hitIDs(hits []*pb.Hit) []int64 {
	ids := make([]int64, len(hits))
	for i, h := range hits {
		ids[i] = h.Id
	}
	return ids
}

// TestRestartSameResults: a clean stop and restart changes no search result.
func TestRestartSameResults(t *testing.T) {
	const (
		model   = "restart"
		dim     = 64
		total   = 3000
		batch   = 500
		queries = 20
		k       = 10
	)
	dir := t.TempDir()
	s := startHartd(t, dir)
	createModel(t, s.client, model, dim, pb.Metric_METRIC_COSINE)
	r := rand.New(rand.NewPCG(2, 3))
	for b := 0; b < total; b += batch {
		items := make([]*pb.Item, batch)
		for i := range items {
			items[i] = &pb.Item{Vector: randVector(r, dim), Text: fmt.Sprintf("item %d", b+i)}
		}
		if _, err := s.client.Insert(rpcCtx(t), &pb.InsertRequest{Model: model, Items: items}); err != nil {
			t.Fatalf("insert: %v", err)
		}
	}
	qs := make([][]float32, queries)
	for i := range qs {
		qs[i] = randVector(r, dim)
	}
	search := func(c pb.HartonomousServiceClient) [][]*pb.Hit {
		t.Helper()
		out := make([][]*pb.Hit, len(qs))
		for i, q := range qs {
			resp, err := c.Search(rpcCtx(t), &pb.SearchRequest{Model: model, Vector: q, K: k})
			if err != nil {
				t.Fatalf("search %d: %v", i, err)
			}
			if len(resp.Hits) != k {
				t.Fatalf("search %d: %d hits, want %d", i, len(resp.Hits), k)
			}
			out[i] = resp.Hits
		}
		return out
	}
	before := search(s.client)

	if code := s.terminate(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	if msgs := s.logMessages(); !slices.Contains(msgs, "store closed") {
		t.Errorf("the log does not say the store was closed; messages: %q", msgs)
	}

	s2 := startHartd(t, dir)
	if n := modelCount(t, s2.client, model); n != total {
		t.Errorf("count after restart %d, want %d", n, total)
	}
	after := search(s2.client)
	for i := range before {
		for j := range before[i] {
			b, a := before[i][j], after[i][j]
			if a.Id != b.Id || math.Float32bits(a.Score) != math.Float32bits(b.Score) || a.Text != b.Text {
				t.Errorf("query %d rank %d: after restart id %d score %v text %q, before id %d score %v text %q",
					i, j+1, a.Id, a.Score, a.Text, b.Id, b.Score, b.Text)
			}
		}
	}
}

// sentSignal is a stats handler that closes sent when the client has
// handed a request message to the transport.
type sentSignal struct {
	once sync.Once
	sent chan struct{}
}

func (h *sentSignal) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (h *sentSignal) HandleRPC(_ context.Context, s stats.RPCStats) {
	if _, ok := s.(*stats.OutPayload); ok {
		h.once.Do(func() { close(h.sent) })
	}
}
func (h *sentSignal) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (h *sentSignal) HandleConn(context.Context, stats.ConnStats)                       {}

// TestGracefulShutdownFinishesInFlight: SIGTERM during a large Insert
// either lets it commit and answer, or fails it before any commit; never a
// partial batch, and the process exits 0.
func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	const (
		model = "graceful"
		dim   = 256
		n     = 5000
	)
	r := rand.New(rand.NewPCG(4, 5))
	items := make([]*pb.Item, n)
	for i := range items {
		items[i] = &pb.Item{Vector: randVector(r, dim), Text: fmt.Sprintf("big %d", i)}
	}
	for _, delay := range []time.Duration{0, 100 * time.Millisecond} {
		t.Run(fmt.Sprintf("sigterm+%v", delay), func(t *testing.T) {
			dir := t.TempDir()
			s := startHartd(t, dir)
			createModel(t, s.client, model, dim, pb.Metric_METRIC_COSINE)

			sig := &sentSignal{sent: make(chan struct{})}
			conn, err := dialFast(s.addr, grpc.WithStatsHandler(sig), grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			type result struct {
				ids []int64
				err error
			}
			done := make(chan result, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				resp, err := pb.NewHartonomousServiceClient(conn).Insert(ctx, &pb.InsertRequest{Model: model, Items: items})
				done <- result{resp.GetIds(), err}
			}()
			select {
			case <-sig.sent:
			case res := <-done:
				t.Fatalf("insert ended (%v) before its request was seen sent", res.err)
			case <-time.After(30 * time.Second):
				t.Fatal("the insert was not sent within 30s")
			}
			time.Sleep(delay)
			code := s.terminate(30 * time.Second)
			var res result
			select {
			case res = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("the insert has not returned 30s after the server exited")
			}
			if code != 0 {
				t.Errorf("exit code %d after SIGTERM, want 0", code)
			}

			s2 := startHartd(t, dir)
			count := modelCount(t, s2.client, model)
			if res.err != nil {
				t.Logf("insert failed: %v; count after restart %d", res.err, count)
				if c := status.Code(res.err); c != codes.Unavailable && c != codes.Canceled {
					t.Errorf("insert failed with %v, want Unavailable or Canceled", c)
				}
				if count != 0 {
					t.Errorf("failed insert left %d of %d items", count, n)
				}
				return
			}
			t.Logf("insert succeeded; count after restart %d", count)
			if len(res.ids) != n || count != n {
				t.Fatalf("insert acknowledged %d ids; count after restart %d; want %d", len(res.ids), count, n)
			}
			for _, i := range []int{0, 1, 1234, 2500, 4321, n - 2, n - 1} {
				id := res.ids[i]
				resp, err := s2.client.Get(rpcCtx(t), &pb.GetRequest{Model: model, Id: id})
				if err != nil {
					t.Fatalf("get %d (item %d): %v", id, i, err)
				}
				if want := fmt.Sprintf("big %d", i); resp.Item.Text != want {
					t.Errorf("item %d: text %q, want %q", i, resp.Item.Text, want)
				}
			}
		})
	}
}

// TestCLI drives the client commands of the binary against a server.
func TestCLI(t *testing.T) {
	const (
		dim = 16
		n   = 1000
		row = 321
	)
	s := startHartd(t, t.TempDir())
	env := childEnv()
	cli := func(args ...string) (string, string) {
		t.Helper()
		out, errOut, code := runCLI(t, env, append(args, "--addr", s.addr)...)
		if code != 0 {
			t.Fatalf("hartd %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
		}
		return out, errOut
	}

	// The data: record i (from 1) has text "record i" and metadata {"i":i}.
	r := rand.New(rand.NewPCG(8, 9))
	file := filepath.Join(t.TempDir(), "data.jsonl")
	var sb strings.Builder
	for i := 1; i <= n; i++ {
		v := randVector(r, dim)
		parts := make([]string, dim)
		for j, x := range v {
			parts[j] = strconv.FormatFloat(float64(x), 'g', -1, 32)
		}
		fmt.Fprintf(&sb, `{"vector":[%s],"text":"record %d","source_type":"test","metadata":{"i":%d,"odd":%v}}`+"\n",
			strings.Join(parts, ","), i, i, i%2 == 1)
	}
	if err := os.WriteFile(file, []byte(sb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	wantText := fmt.Sprintf("record %d", row)

	out, _ := cli("models", "create", "--name", "demo", "--dim", strconv.Itoa(dim))
	if !strings.Contains(out, "created model demo") {
		t.Errorf("models create printed %q", out)
	}
	out, _ = cli("import", "--model", "demo", "--progress", "off", file)
	if !strings.Contains(out, fmt.Sprintf("imported %d vectors into demo", n)) {
		t.Errorf("import printed %q", out)
	}

	out, _ = cli("models", "list")
	if f := tableRow(out, "demo"); len(f) < 4 || f[1] != strconv.Itoa(dim) || f[2] != "cosine" || f[3] != strconv.Itoa(n) {
		t.Errorf("models list: row of demo %q, want dimension %d, cosine, count %d; output:\n%s", f, dim, n, out)
	}
	out, _ = cli("models", "list", "--json")
	var listed struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	if err := json.Unmarshal([]byte(firstLine(out)), &listed); err != nil || listed.Name != "demo" || listed.Count != n {
		t.Errorf("models list --json: %q (%v), want demo with count %d", out, err, n)
	}

	type hit struct {
		Rank     int             `json:"rank"`
		ID       int64           `json:"id"`
		Score    float64         `json:"score"`
		Text     string          `json:"text"`
		Metadata json.RawMessage `json:"metadata"`
	}
	searchRow := func() []hit {
		t.Helper()
		out, _ := cli("search", "--model", "demo", "--vector-file", file, "--row", strconv.Itoa(row), "-k", "3", "--json")
		var hits []hit
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var h hit
			if err := json.Unmarshal([]byte(line), &h); err != nil {
				t.Fatalf("search --json printed a line that is not JSON: %q: %v", line, err)
			}
			hits = append(hits, h)
		}
		return hits
	}
	hits := searchRow()
	if len(hits) != 3 {
		t.Fatalf("search -k 3: %d hits: %+v", len(hits), hits)
	}
	if h := hits[0]; h.ID != row || h.Rank != 1 || math.Abs(h.Score-1) > 1e-4 || h.Text != wantText {
		t.Errorf("search --row %d: first hit %+v, want id %d, score ≈1, text %q", row, h, row, wantText)
	} else {
		var meta struct {
			I   int  `json:"i"`
			Odd bool `json:"odd"`
		}
		if err := json.Unmarshal(hits[0].Metadata, &meta); err != nil || meta.I != row || !meta.Odd {
			t.Errorf("first hit metadata %s (%v), want i %d odd true", hits[0].Metadata, err, row)
		}
	}

	out, _ = cli("search", "--model", "demo", "--id", strconv.Itoa(row))
	if f := tableRow(out, "1"); len(f) < 3 || f[1] != strconv.Itoa(row) || !approxOne(f[2]) {
		t.Errorf("search --id %d: rank 1 row %q; output:\n%s", row, f, out)
	}

	out, _ = cli("get", "--model", "demo", "--id", strconv.Itoa(row))
	var item struct {
		ID         int64     `json:"id"`
		Text       string    `json:"text"`
		SourceType string    `json:"source_type"`
		Vector     []float32 `json:"vector"`
		Metadata   struct {
			I int `json:"i"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(out), &item); err != nil {
		t.Fatalf("get printed %q: %v", out, err)
	}
	if item.ID != row || item.Text != wantText || item.SourceType != "test" || len(item.Vector) != dim || item.Metadata.I != row {
		t.Errorf("get --id %d: %+v", row, item)
	}

	out, _ = cli("delete", "--model", "demo", strconv.Itoa(row))
	if strings.TrimSpace(out) != "deleted 1" {
		t.Errorf("delete printed %q", out)
	}
	for _, h := range searchRow() {
		if h.ID == row {
			t.Errorf("search --row %d after deleting %d still returns it: %+v", row, row, h)
		}
	}
	if _, errOut, code := runCLI(t, env, "get", "--model", "demo", "--id", strconv.Itoa(row), "--addr", s.addr); code == 0 || !strings.Contains(errOut, "NotFound") {
		t.Errorf("get of a deleted id: exit %d, stderr %q; want non-zero and NotFound", code, errOut)
	}

	t.Run("bad dimension", func(t *testing.T) {
		for _, dim := range []string{"0", "5000", "-1"} {
			out, errOut, code := runCLI(t, env, "models", "create", "--name", "bad"+dim, "--dim", dim, "--addr", s.addr)
			if code == 0 {
				t.Errorf("models create --dim %s: exit 0 (%q), want failure", dim, out)
				continue
			}
			if !strings.Contains(errOut, "dimension") {
				t.Errorf("models create --dim %s: stderr %q does not name the dimension", dim, errOut)
			}
		}
	})

	t.Run("HARTD_ADDR", func(t *testing.T) {
		out, errOut, code := runCLI(t, childEnv("HARTD_ADDR="+s.addr), "models", "list")
		if code != 0 || tableRow(out, "demo") == nil {
			t.Errorf("models list with HARTD_ADDR and no --addr: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		// The flag wins over the environment.
		out, errOut, code = runCLI(t, childEnv("HARTD_ADDR=127.0.0.1:1"), "models", "list", "--addr", s.addr)
		if code != 0 || tableRow(out, "demo") == nil {
			t.Errorf("models list with --addr and a wrong HARTD_ADDR: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
	})
}

// tableRow returns the whitespace-separated fields of the first line of a
// table whose first field is first, or nil.
func tableRow(out, first string) []string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == first {
			return f
		}
	}
	return nil
}

func approxOne(s string) bool {
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && math.Abs(f-1) <= 1e-4
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// TestInsertAfterDeletingNewest: deleting a model's newest item and then
// inserting must work, and the new item must be searchable.
func TestInsertAfterDeletingNewest(t *testing.T) {
	const model, dim = "reuse", 8
	s := startHartd(t, t.TempDir())
	createModel(t, s.client, model, dim, pb.Metric_METRIC_COSINE)
	r := rand.New(rand.NewPCG(10, 11))
	items := make([]*pb.Item, 10)
	for i := range items {
		items[i] = &pb.Item{Vector: randVector(r, dim), Text: fmt.Sprintf("first %d", i)}
	}
	resp, err := s.client.Insert(rpcCtx(t), &pb.InsertRequest{Model: model, Items: items})
	if err != nil {
		t.Fatal(err)
	}
	newest := resp.Ids[len(resp.Ids)-1]
	if _, err := s.client.Delete(rpcCtx(t), &pb.DeleteRequest{Model: model, Ids: []int64{newest}}); err != nil {
		t.Fatal(err)
	}
	v := randVector(r, dim)
	resp, err = s.client.Insert(rpcCtx(t), &pb.InsertRequest{Model: model, Items: []*pb.Item{{Vector: v, Text: "after"}}})
	if err != nil {
		// The store must never hand out a deleted id again: the runtime
		// core appends in id order and would refuse it after the commit.
		t.Fatalf("insert after deleting the newest item (id %d): %v", newest, err)
	}
	id := resp.Ids[0]
	if id <= newest {
		t.Errorf("new id %d is not above the deleted newest id %d", id, newest)
	}
	if n := modelCount(t, s.client, model); n != 10 {
		t.Errorf("count %d, want 10", n)
	}
	sr, err := s.client.Search(rpcCtx(t), &pb.SearchRequest{Model: model, Vector: v, K: 1, Mode: pb.SearchMode_SEARCH_MODE_EXACT})
	if err != nil {
		t.Fatal(err)
	}
	if len(sr.Hits) != 1 || sr.Hits[0].Id != id || sr.Hits[0].Text != "after" {
		t.Errorf("search for the new item %d: %v", id, hitIDs(sr.Hits))
	}
}
