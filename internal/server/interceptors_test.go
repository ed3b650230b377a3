package server

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
)

var generatedID = regexp.MustCompile(`^[0-9a-f]{16}$`)

func TestInterceptorRecoversPanic(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	icpt := UnaryInterceptor(slog.New(slog.NewTextHandler(logs, nil)))
	info := &grpc.UnaryServerInfo{FullMethod: "/test.Fake/Call"}
	ctx := context.Background()

	panics := []struct {
		name string
		fn   func()
	}{
		{"string", func() { panic("secret panic value") }},
		{"error", func() { panic(errors.New("secret panic value")) }},
		{"nil", func() { panic(nil) }},
		{"runtime error", func() {
			var m map[string]int
			m["secret panic value"] = 1
		}},
	}
	for _, p := range panics {
		t.Run(p.name, func(t *testing.T) {
			resp, err := icpt(ctx, "req", info, func(context.Context, any) (any, error) {
				p.fn()
				return "unreachable", nil
			})
			if resp != nil {
				t.Errorf("resp %v after a panic, want nil", resp)
			}
			st := status.Convert(err)
			if st.Code() != codes.Internal {
				t.Fatalf("code %v (%v), want Internal", st.Code(), err)
			}
			if strings.Contains(st.Message(), "secret") {
				t.Errorf("message %q leaks the panic value", st.Message())
			}
			// Still serving: the next call through the same interceptor
			// runs normally.
			resp, err = icpt(ctx, "req", info, func(_ context.Context, req any) (any, error) { return req.(string) + " ok", nil })
			if err != nil || resp != "req ok" {
				t.Errorf("call after the panic: %v, %v; want \"req ok\"", resp, err)
			}
		})
	}
	out := logs.String()
	if !strings.Contains(out, "panic in handler") || !strings.Contains(out, "/test.Fake/Call") || !strings.Contains(out, "secret panic value") {
		t.Errorf("the panic is not logged with its method and value:\n%s", out)
	}
}

// A handler's own status passes through the interceptor unchanged.
func TestInterceptorPassesStatus(t *testing.T) {
	t.Parallel()
	icpt := UnaryInterceptor(slog.New(slog.DiscardHandler))
	want := status.Error(codes.NotFound, "no such thing")
	resp, err := icpt(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/test.Fake/Call"},
		func(context.Context, any) (any, error) { return nil, want })
	if resp != nil || status.Code(err) != codes.NotFound || status.Convert(err).Message() != "no such thing" {
		t.Errorf("got %v, %v; want %v", resp, err, want)
	}
}

// A panic in a real RPC handler, behind the real server's interceptor,
// yields Internal and the server goes on serving.
func TestPanicOverGRPC(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, harnessConfig{nilEngine: true})
	for range 2 {
		_, err := h.client.ListModels(testCtx(t), &pb.ListModelsRequest{})
		if st := status.Convert(err); st.Code() != codes.Internal || strings.Contains(st.Message(), "nil pointer") {
			t.Fatalf("ListModels on a nil engine: %v, want Internal without the panic text", err)
		}
	}
	resp, err := h.health.Check(testCtx(t), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health after panics: %v, %v", resp, err)
	}
	if !strings.Contains(h.logs.String(), "panic in handler") {
		t.Errorf("the panic is not logged")
	}
}

func TestRequestIDHeader(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	call := func(t *testing.T, ctx context.Context) (header, trailer metadata.MD, err error) {
		t.Helper()
		_, err = h.client.ListModels(ctx, &pb.ListModelsRequest{}, grpc.Header(&header), grpc.Trailer(&trailer))
		return header, trailer, err
	}
	withID := func(t *testing.T, id string) context.Context {
		return metadata.AppendToOutgoingContext(testCtx(t), RequestIDHeader, id)
	}

	t.Run("generated", func(t *testing.T) {
		md1, _, err := call(t, testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		md2, _, err := call(t, testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		id1, id2 := md1.Get(RequestIDHeader), md2.Get(RequestIDHeader)
		if len(id1) != 1 || len(id2) != 1 || !generatedID.MatchString(id1[0]) || !generatedID.MatchString(id2[0]) {
			t.Fatalf("request ids %v, %v; want one 16-hex-digit id each", id1, id2)
		}
		if id1[0] == id2[0] {
			t.Errorf("two calls got the same request id %q", id1[0])
		}
	})
	t.Run("echoed", func(t *testing.T) {
		md, _, err := call(t, withID(t, "client-req-42"))
		if err != nil {
			t.Fatal(err)
		}
		if got := md.Get(RequestIDHeader); len(got) != 1 || got[0] != "client-req-42" {
			t.Errorf("request id %v, want the caller's \"client-req-42\"", got)
		}
		if !strings.Contains(h.logs.String(), "request_id=client-req-42") {
			t.Errorf("the call is not logged with the caller's request id")
		}
	})
	t.Run("128 bytes echoed", func(t *testing.T) {
		id := strings.Repeat("r", 128)
		md, _, err := call(t, withID(t, id))
		if err != nil {
			t.Fatal(err)
		}
		if got := md.Get(RequestIDHeader); len(got) != 1 || got[0] != id {
			t.Errorf("request id %v, want the caller's", got)
		}
	})
	t.Run("over 128 bytes replaced", func(t *testing.T) {
		md, _, err := call(t, withID(t, strings.Repeat("r", 129)))
		if err != nil {
			t.Fatal(err)
		}
		if got := md.Get(RequestIDHeader); len(got) != 1 || !generatedID.MatchString(got[0]) {
			t.Errorf("request id %v, want a generated one in place of an over-long id", got)
		}
	})
	t.Run("on an error", func(t *testing.T) {
		var header, trailer metadata.MD
		_, err := h.client.Get(withID(t, "failing-req"), &pb.GetRequest{Model: "nope", Id: 1}, grpc.Header(&header), grpc.Trailer(&trailer))
		if status.Code(err) != codes.NotFound {
			t.Fatalf("Get: %v, want NotFound", err)
		}
		// A failed call may be answered trailers-only: the id is then in
		// the trailer.
		got := append(header.Get(RequestIDHeader), trailer.Get(RequestIDHeader)...)
		if len(got) == 0 || got[0] != "failing-req" {
			t.Errorf("request id %v (header %v, trailer %v), want \"failing-req\"", got, header, trailer)
		}
	})
}
