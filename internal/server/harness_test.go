package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/test/bufconn"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
	"github.com/hartonomous/hartd/internal/auth"
	"github.com/hartonomous/hartd/internal/billing"
	"github.com/hartonomous/hartd/internal/engine"
	"github.com/hartonomous/hartd/internal/store/sqlite"
)

// TestMain fails the package if any test leaves a goroutine behind: the
// harness stops the gRPC server, closes the client connection and closes the
// store, so nothing of grpc, database/sql or modernc.org/sqlite may outlive a
// test. No goroutine is ignored.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// smallMsg is the transport limit of the default harness: small enough that
// a test can exceed it cheaply.
const smallMsg = 1 << 20

// syncBuffer is an io.Writer for a slog handler that tests read while the
// server writes.
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

// harness is a real hartd gRPC server, assembled as cmd/hartd/serve.go does,
// over an in-memory listener, with the engine on a real SQLite store in a
// temporary directory.
type harness struct {
	client pb.HartonomousServiceClient
	health healthpb.HealthClient
	conn   *grpc.ClientConn
	eng    *engine.Engine
	st     *sqlite.Store
	logs   *syncBuffer
}

type harnessConfig struct {
	maxMsg int
	// nilEngine registers a Service without an engine, whose every
	// engine-backed call panics: a way to drive a panic through the real
	// server stack.
	nilEngine bool
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, harnessConfig{maxMsg: smallMsg})
}

func newHarnessWith(t *testing.T, cfg harnessConfig) *harness {
	t.Helper()
	if cfg.maxMsg == 0 {
		cfg.maxMsg = smallMsg
	}
	ctx := context.Background()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	dir := t.TempDir() // removed after the cleanup below has closed the store
	st, err := sqlite.Open(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	eng, err := engine.Open(ctx, st, log)
	if err != nil {
		_ = st.Close()
		t.Fatalf("engine.Open: %v", err)
	}

	lis := bufconn.Listen(1 << 20)
	var authz Auth
	authz.Set(auth.New(st, time.Millisecond, false))
	biller := billing.NewBiller(st, time.Millisecond, log)
	gs := grpc.NewServer(
		grpc.MaxRecvMsgSize(cfg.maxMsg),
		grpc.MaxSendMsgSize(cfg.maxMsg),
		grpc.ChainUnaryInterceptor(UnaryInterceptor(log), authz.UnaryInterceptor(log)),
	)
	svcEng := eng
	if cfg.nilEngine {
		svcEng = nil
	}
	pb.RegisterHartonomousServiceServer(gs, New(svcEng, log).WithBilling(biller))
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(pb.HartonomousService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)

	served := make(chan error, 1)
	go func() { served <- gs.Serve(lis) }()

	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	)
	if err != nil {
		gs.Stop()
		_ = st.Close()
		t.Fatalf("grpc.NewClient: %v", err)
	}

	t.Cleanup(func() {
		if err := conn.Close(); err != nil {
			t.Errorf("closing the client connection: %v", err)
		}
		hs.Shutdown()
		stopped := make(chan struct{})
		go func() { gs.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			t.Errorf("GracefulStop did not return within 5s; stopping")
			gs.Stop()
			<-stopped
		}
		if err := <-served; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("Serve: %v", err)
		}
		biller.Close()
		eng.Close()
		if err := st.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	})
	return &harness{
		client: pb.NewHartonomousServiceClient(conn),
		health: healthpb.NewHealthClient(conn),
		conn:   conn,
		eng:    eng,
		st:     st,
		logs:   logs,
	}
}

// testCtx is a per-call context with a deadline, so that a hung call fails
// the test instead of the run.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
