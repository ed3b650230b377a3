package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
	"github.com/hartonomous/hartd/internal/store"
)

// heldStore holds Models, the engine's first call while loading, until
// release is closed: a slow load the test controls.
type heldStore struct {
	store.Store
	release <-chan struct{}
}

func (s *heldStore) Models(ctx context.Context) ([]store.Model, error) {
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.Store.Models(ctx)
}

// lockedBuffer is a log destination safe for the server and the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// loopbackAddr returns a loopback address whose port was free a moment ago.
func loopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// metricValue scrapes one series from a metrics listener; -1 if absent.
func metricValue(t *testing.T, addr, series string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	return -1
}

func healthOf(ctx context.Context, conn *grpc.ClientConn) (healthpb.HealthCheckResponse_ServingStatus, error) {
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return resp.GetStatus(), err
}

// runCmd runs the hartd command line in process.
func runCmd(ctx context.Context, args ...string) (string, error) {
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

// TestServeReportsLoading runs serve in process with a load that waits for
// the test: the listener and the health service come up first, NOT_SERVING,
// service calls get UNAVAILABLE "loading" and are counted; once the load
// ends, SERVING, the calls work, status prints the model; on shutdown a
// health watcher sees NOT_SERVING.
func TestServeReportsLoading(t *testing.T) {
	clearHartdEnv(t)
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	logs := &lockedBuffer{}
	c := serveConfig{
		dataDir: t.TempDir(), listen: loopbackAddr(t), metricsListen: loopbackAddr(t),
		maxMessageBytes: 64 << 20, sync: "normal", shutdownTimeout: 10 * time.Second,
		wrapStore: func(st store.Store) store.Store { return &heldStore{Store: st, release: release} },
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	go func() {
		served <- serve(ctx, c, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}()
	defer func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	}()

	conn, err := grpc.NewClient(c.listen, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	callCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Loading: the health service answers NOT_SERVING.
	var hs healthpb.HealthCheckResponse_ServingStatus
	for deadline := time.Now().Add(20 * time.Second); ; {
		if hs, err = healthOf(callCtx, conn); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health never answered: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if hs != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health while loading: %v, want NOT_SERVING", hs)
	}
	client := pb.NewHartonomousServiceClient(conn)
	_, err = client.ListModels(callCtx, &pb.ListModelsRequest{})
	if st := status.Convert(err); st.Code() != codes.Unavailable || !strings.HasPrefix(st.Message(), "loading") {
		t.Fatalf("ListModels while loading: %v, want UNAVAILABLE loading", err)
	}
	if _, err := client.Stats(callCtx, &pb.StatsRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("Stats while loading: %v, want UNAVAILABLE", err)
	}
	if v := metricValue(t, c.metricsListen, "hartd_ready"); v != 0 {
		t.Errorf("hartd_ready while loading = %v, want 0", v)
	}
	unavailable := `grpc_server_handled_total{grpc_code="Unavailable",grpc_method="ListModels",grpc_service="hartonomous.v1.HartonomousService",grpc_type="unary"}`
	if v := metricValue(t, c.metricsListen, unavailable); v != 1 {
		t.Errorf("%s = %v, want 1", unavailable, v)
	}
	out, err := runCmd(callCtx, "status", "--addr", c.listen)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(out, "NOT_SERVING") {
		t.Errorf("status while loading: %q, %v; want NOT_SERVING and exit 1", out, err)
	}

	// Loaded.
	unblock()
	for deadline := time.Now().Add(20 * time.Second); hs != healthpb.HealthCheckResponse_SERVING; {
		if time.Now().After(deadline) {
			t.Fatalf("health after the load: %v, %v; want SERVING", hs, err)
		}
		time.Sleep(10 * time.Millisecond)
		hs, err = healthOf(callCtx, conn)
	}
	if _, err := client.CreateModel(callCtx, &pb.CreateModelRequest{Name: "demo", Dimension: 3}); err != nil {
		t.Fatal(err)
	}
	items := []*pb.Item{{Vector: []float32{1, 0, 0}}, {Vector: []float32{0, 1, 0}}, {Vector: []float32{0, 0, 1}}, {Vector: []float32{1, 1, 1}}}
	if _, err := client.Insert(callCtx, &pb.InsertRequest{Model: "demo", Items: items}); err != nil {
		t.Fatal(err)
	}
	if v := metricValue(t, c.metricsListen, "hartd_ready"); v != 1 {
		t.Errorf("hartd_ready when serving = %v, want 1", v)
	}
	if v := metricValue(t, c.metricsListen, `hartd_model_vectors{model="demo"}`); v != 4 {
		t.Errorf(`hartd_model_vectors{model="demo"} = %v, want 4`, v)
	}

	out, err = runCmd(callCtx, "status", "--addr", c.listen)
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	for _, want := range []string{"SERVING", "model demo: 3-d cosine, 4 vectors", "projection: ready; anchors ", "range:      x [",
		"rows:       4, 4 live, 0 tombstones", "index:      not built", "decisions:  none"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	out, err = runCmd(callCtx, "status", "--addr", c.listen, "--json")
	if err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	var js struct {
		Health string `json:"health"`
		Models []struct {
			Name      string `json:"name"`
			Count     string `json:"count"` // uint64: a string in protojson
			Decisions []any  `json:"decisions"`
			Anchors   struct {
				EmbeddingIDs []string `json:"embedding_ids"`
			} `json:"anchors"`
			Index struct {
				LiveRows string `json:"live_rows"`
			} `json:"index"`
		} `json:"models"`
	}
	if err := json.Unmarshal([]byte(out), &js); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	if js.Health != "SERVING" || len(js.Models) != 1 || js.Models[0].Name != "demo" || js.Models[0].Count != "4" ||
		js.Models[0].Decisions == nil || len(js.Models[0].Anchors.EmbeddingIDs) != 3 || js.Models[0].Index.LiveRows != "4" {
		t.Errorf("status --json:\n%s", out)
	}

	// Shutdown: a watcher sees NOT_SERVING.
	watchCtx, cancelWatch := context.WithCancel(callCtx)
	defer cancelWatch()
	w, err := healthpb.NewHealthClient(conn).Watch(watchCtx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := w.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("watch: %v, %v", r, err)
	}
	stop()
	if r, err := w.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("watch during shutdown: %v, %v; want NOT_SERVING", r, err)
	}
	cancelWatch() // the watch is a call in flight: end it so that GracefulStop returns
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not return after shutdown")
	}
	if !strings.Contains(logs.String(), `"msg":"store closed"`) {
		t.Errorf("the store was not closed")
	}
}

// A signal during the load ends serve cleanly, without an error.
func TestServeStopsWhileLoading(t *testing.T) {
	clearHartdEnv(t)
	release := make(chan struct{}) // never closed: the load waits for ctx
	c := serveConfig{
		dataDir: t.TempDir(), listen: loopbackAddr(t), maxMessageBytes: 1 << 20, sync: "normal", shutdownTimeout: 5 * time.Second,
		wrapStore: func(st store.Store) store.Store { return &heldStore{Store: st, release: release} },
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	conn, err := grpc.NewClient(c.listen, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		hctx, cancel := context.WithTimeout(context.Background(), time.Second)
		hs, err := healthOf(hctx, conn)
		cancel()
		if err == nil {
			if hs != healthpb.HealthCheckResponse_NOT_SERVING {
				t.Fatalf("health while loading: %v", hs)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health never answered: %v", err)
		}
	}
	stop()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("serve stopped while loading: %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not return")
	}
}
