package server

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
	"github.com/hartonomous/hartd/internal/logctx"
)

// fakeService answers ListModels and records the request id its context
// carries for the log.
type fakeService struct {
	pb.UnimplementedHartonomousServiceServer
	requestID chan string
}

func (f *fakeService) ListModels(ctx context.Context, _ *pb.ListModelsRequest) (*pb.ListModelsResponse, error) {
	for _, a := range logctx.Attrs(ctx) {
		if a.Key == "request_id" {
			f.requestID <- a.Value.String()
		}
	}
	return &pb.ListModelsResponse{Models: []*pb.Model{{Name: "fake"}}}, nil
}

func serveGate(t *testing.T, opts ...grpc.ServerOption) (*Gate, pb.HartonomousServiceClient) {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer(opts...)
	g := NewGate(&pb.HartonomousService_ServiceDesc)
	g.Register(gs)
	served := make(chan struct{})
	go func() { _ = gs.Serve(lis); close(served) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		gs.Stop()
		<-served
	})
	return g, pb.NewHartonomousServiceClient(conn)
}

func TestGateLoadingThenReady(t *testing.T) {
	for _, withInterceptor := range []bool{false, true} {
		name := "no interceptor"
		var opts []grpc.ServerOption
		var logs *syncBuffer
		if withInterceptor {
			name = "interceptor"
			logs = &syncBuffer{}
			opts = append(opts, grpc.ChainUnaryInterceptor(UnaryInterceptor(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))))
		}
		t.Run(name, func(t *testing.T) {
			g, client := serveGate(t, opts...)
			if g.Ready() {
				t.Fatal("Ready before SetReady")
			}
			// Every method of the service, known to the gate or not, is
			// UNAVAILABLE while loading.
			_, err := client.ListModels(testCtx(t), &pb.ListModelsRequest{})
			if st := status.Convert(err); st.Code() != codes.Unavailable || st.Message() != LoadingMessage {
				t.Fatalf("ListModels while loading: %v", err)
			}
			if _, err := client.Stats(testCtx(t), &pb.StatsRequest{}); status.Code(err) != codes.Unavailable {
				t.Fatalf("Stats while loading: %v", err)
			}
			if logs != nil && !strings.Contains(logs.String(), "code=Unavailable") {
				t.Errorf("the refused call did not pass through the interceptor:\n%s", logs.String())
			}

			fake := &fakeService{requestID: make(chan string, 1)}
			g.SetReady(fake)
			resp, err := client.ListModels(testCtx(t), &pb.ListModelsRequest{})
			if err != nil || len(resp.Models) != 1 || resp.Models[0].Name != "fake" {
				t.Fatalf("ListModels when ready: %v, %v", resp, err)
			}
			if withInterceptor {
				// The interceptor hands the request id to the handler's
				// context, for the lines it logs.
				if id := <-fake.requestID; !generatedID.MatchString(id) {
					t.Errorf("request id in the handler's context: %q", id)
				}
			}
			// Methods the implementation lacks get its own answer.
			if _, err := client.Stats(testCtx(t), &pb.StatsRequest{}); status.Code(err) != codes.Unimplemented {
				t.Fatalf("Stats of the fake: %v, want Unimplemented", err)
			}
		})
	}
}

func TestGateSetReadyChecksType(t *testing.T) {
	g := NewGate(&pb.HartonomousService_ServiceDesc)
	defer func() {
		if p := recover(); p == nil || !strings.Contains(p.(string), "does not implement") {
			t.Errorf("SetReady of a wrong type: panic %v", p)
		}
		if g.Ready() {
			t.Error("ready after a failed SetReady")
		}
	}()
	g.SetReady(struct{}{})
}
