package metrics

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
	"github.com/hartonomous/hartd/internal/engine"
	"github.com/hartonomous/hartd/internal/server"
	"github.com/hartonomous/hartd/internal/store/sqlite"
)

// scrape GETs /metrics and returns each sample by its series, as written:
// `name{label="value",...}`.
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape: %s\n%s", resp.Status, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("scrape: line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type rig struct {
	met    *Metrics
	client pb.HartonomousServiceClient
	addr   string // of the metrics listener
}

// newRig assembles what serve does: the metrics interceptor first, the
// logging one after it, and the engine over the instrumented store.
func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	met := New("test")
	msrv, err := met.Start("127.0.0.1:0", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := msrv.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})

	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng, err := engine.Open(ctx, met.InstrumentStore(st), log)
	if err != nil {
		t.Fatal(err)
	}
	met.SetSource(eng)

	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(met.UnaryInterceptor(), server.UnaryInterceptor(log)))
	pb.RegisterHartonomousServiceServer(gs, server.New(eng, log))
	go gs.Serve(lis)
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rig{met: met, client: pb.NewHartonomousServiceClient(conn), addr: msrv.Addr().String()}
}

const svc = `grpc_service="hartonomous.v1.HartonomousService"`

func handled(method, code string) string {
	return `grpc_server_handled_total{grpc_code="` + code + `",grpc_method="` + method + `",` + svc + `,grpc_type="unary"}`
}

func TestScrapeSeesCountersMove(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	before := scrape(t, r.addr)
	if before["hartd_ready"] != 1 || before[`hartd_build_info{version="test"}`] != 1 {
		t.Errorf("hartd_ready %v, build info %v", before["hartd_ready"], before[`hartd_build_info{version="test"}`])
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if _, ok := before[name]; !ok {
			t.Errorf("%s is missing: no Go runtime or process collector", name)
		}
	}

	if _, err := r.client.CreateModel(ctx, &pb.CreateModelRequest{Name: "m", Dimension: 3}); err != nil {
		t.Fatal(err)
	}
	items := []*pb.Item{{Vector: []float32{1, 0, 0}}, {Vector: []float32{0, 1, 0}}, {Vector: []float32{0, 0, 1}}, {Vector: []float32{1, 1, 0}}}
	ins, err := r.client.Insert(ctx, &pb.InsertRequest{Model: "m", Items: items})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := r.client.Search(ctx, &pb.SearchRequest{Model: "m", Vector: []float32{1, 0, 0}, K: 2}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.client.Search(ctx, &pb.SearchRequest{Model: "nope", Vector: []float32{1, 0, 0}, K: 2}); status.Code(err) != codes.NotFound {
		t.Fatalf("search of an unknown model: %v", err)
	}
	if _, err := r.client.Delete(ctx, &pb.DeleteRequest{Model: "m", Ids: ins.Ids[3:]}); err != nil {
		t.Fatal(err)
	}

	after := scrape(t, r.addr)
	for series, want := range map[string]float64{
		handled("CreateModel", "OK"):  1,
		handled("Insert", "OK"):       1,
		handled("Search", "OK"):       3,
		handled("Search", "NotFound"): 1,
		handled("Delete", "OK"):       1,
		`grpc_server_handling_seconds_count{grpc_code="OK",grpc_method="Search",` + svc + `,grpc_type="unary"}`: 3,
		`hartd_store_write_duration_seconds_count{op="insert",result="ok"}`:                                     1,
		`hartd_store_write_duration_seconds_count{op="delete",result="ok"}`:                                     1,
		`hartd_store_write_duration_seconds_count{op="create_model",result="ok"}`:                               1,
		`hartd_model_vectors{model="m"}`:                                                                        3,
		`hartd_model_projection_ready{model="m"}`:                                                               1,
		`hartd_index_rows{model="m"}`:                                                                           4,
		`hartd_index_live_rows{model="m"}`:                                                                      3,
		`hartd_index_tombstones{model="m"}`:                                                                     1,
	} {
		if got := after[series] - before[series]; got != want {
			t.Errorf("%s moved by %v, want %v", series, got, want)
		}
	}
	chosen := after[`hartd_model_anchors_chosen_timestamp_seconds{model="m"}`]
	if d := time.Since(time.Unix(int64(chosen), 0)); d < -time.Minute || d > time.Minute {
		t.Errorf("anchors chosen at %v, not about now", chosen)
	}
}

// Before SetSource the exposition works and says it is not ready; a failing
// source costs its own metrics only.
func TestNotReadyAndFailingSource(t *testing.T) {
	met := New("test")
	var logs syncBuffer
	msrv, err := met.Start("127.0.0.1:0", slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer msrv.Close(context.Background())
	got := scrape(t, msrv.Addr().String())
	if v, ok := got["hartd_ready"]; !ok || v != 0 {
		t.Errorf("hartd_ready = %v (present %v), want 0", v, ok)
	}
	met.SetSource(failingSource{})
	got = scrape(t, msrv.Addr().String())
	if got["hartd_ready"] != 1 || got["go_goroutines"] == 0 {
		t.Errorf("with a failing source: ready %v, go_goroutines %v", got["hartd_ready"], got["go_goroutines"])
	}
	// The handler counts a scrape's errors after serving it: the next
	// scrape shows them.
	got = scrape(t, msrv.Addr().String())
	if got[`promhttp_metric_handler_errors_total{cause="gathering"}`] < 1 {
		t.Errorf("the failing source is not counted as a gathering error")
	}
	if !strings.Contains(logs.String(), "store unavailable") {
		t.Errorf("the source's error is not logged:\n%s", logs.String())
	}
}

type failingSource struct{}

func (failingSource) StatsAll(context.Context) ([]engine.ModelStats, error) {
	return nil, errors.New("store unavailable")
}

func TestSplitMethod(t *testing.T) {
	for in, want := range map[string][2]string{
		"/hartonomous.v1.HartonomousService/Insert": {"hartonomous.v1.HartonomousService", "Insert"},
		"/grpc.health.v1.Health/Check":              {"grpc.health.v1.Health", "Check"},
		"odd":                                       {"unknown", "odd"},
	} {
		if s, m := splitMethod(in); s != want[0] || m != want[1] {
			t.Errorf("splitMethod(%q) = %q, %q; want %q", in, s, m, want)
		}
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
