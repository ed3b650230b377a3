package server

import (
	"context"
	"fmt"
	"reflect"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// LoadingMessage is the message of the codes.Unavailable status that a
// Gate returns before its service is ready.
const LoadingMessage = "loading: the server is loading its runtime core; retry once grpc.health.v1 reports SERVING"

// Gate registers a gRPC service before its implementation exists, so that
// the server can listen (and report NOT_SERVING through grpc.health.v1)
// while the runtime core loads. Until SetReady, every call of the service
// is decoded, passes through the server's interceptors (so it is logged and
// counted) and ends with codes.Unavailable and LoadingMessage; afterwards
// each call goes to the implementation.
//
// It wraps each method of the service description, so an RPC added to the
// proto needs no change here.
type Gate struct {
	desc  grpc.ServiceDesc // immutable after NewGate
	iface reflect.Type     // the service's interface; immutable
	impl  atomic.Pointer[readyImpl]
}

type readyImpl struct{ srv any }

// NewGate returns a gate for the service described by desc, such as
// pb.HartonomousService_ServiceDesc.
func NewGate(desc *grpc.ServiceDesc) *Gate {
	g := &Gate{desc: *desc, iface: reflect.TypeOf(desc.HandlerType).Elem()}
	g.desc.Methods = make([]grpc.MethodDesc, len(desc.Methods))
	for i, m := range desc.Methods {
		g.desc.Methods[i] = grpc.MethodDesc{MethodName: m.MethodName, Handler: g.method(m.Handler)}
	}
	g.desc.Streams = make([]grpc.StreamDesc, len(desc.Streams))
	for i, s := range desc.Streams {
		s.Handler = g.stream(s.Handler)
		g.desc.Streams[i] = s
	}
	// The implementation is checked against desc.HandlerType in SetReady;
	// the gate itself implements nothing.
	g.desc.HandlerType = (*any)(nil)
	return g
}

// Register registers the gated service on s.
func (g *Gate) Register(s grpc.ServiceRegistrar) { s.RegisterService(&g.desc, g) }

// SetReady sends every later call to impl. It panics if impl does not
// implement the service's interface, as grpc's RegisterService would.
func (g *Gate) SetReady(impl any) {
	if t := reflect.TypeOf(impl); t == nil || !t.Implements(g.iface) {
		panic(fmt.Sprintf("server: Gate.SetReady: %T does not implement %v", impl, g.iface))
	}
	g.impl.Store(&readyImpl{srv: impl})
}

// Ready reports whether SetReady was called.
func (g *Gate) Ready() bool { return g.impl.Load() != nil }

func (g *Gate) method(h grpc.MethodHandler) grpc.MethodHandler {
	return func(_ any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
		if r := g.impl.Load(); r != nil {
			return h(r.srv, ctx, dec, icpt)
		}
		// Let the generated handler decode the request and run the
		// interceptors, then answer in place of the implementation.
		return h(nil, ctx, dec, func(ctx context.Context, req any, info *grpc.UnaryServerInfo, _ grpc.UnaryHandler) (any, error) {
			loading := func(context.Context, any) (any, error) { return nil, status.Error(codes.Unavailable, LoadingMessage) }
			if icpt == nil {
				return loading(ctx, req)
			}
			return icpt(ctx, req, info, loading)
		})
	}
}

func (g *Gate) stream(h grpc.StreamHandler) grpc.StreamHandler {
	return func(_ any, ss grpc.ServerStream) error {
		if r := g.impl.Load(); r != nil {
			return h(r.srv, ss)
		}
		return status.Error(codes.Unavailable, LoadingMessage)
	}
}
