package server

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
	"github.com/hartonomous/hartd/internal/auth"
	"github.com/hartonomous/hartd/internal/logctx"
	"github.com/hartonomous/hartd/internal/tenant"
)

// AuthorizationHeader carries "Bearer <API key>".
const AuthorizationHeader = "authorization"

// Auth authenticates the calls of HartonomousService; other services
// (health, reflection) are open. Until Set, while the store is not open,
// calls pass unauthenticated: the Gate answers them UNAVAILABLE.
type Auth struct {
	a atomic.Pointer[auth.Authenticator]
}

// Set installs the authenticator.
func (x *Auth) Set(a *auth.Authenticator) { x.a.Store(a) }

// bearer returns the API key of the call's authorization header, or "".
func bearer(ctx context.Context) string {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return ""
	}
	for _, v := range md.Get(AuthorizationHeader) {
		if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
			return strings.TrimSpace(v[7:])
		}
	}
	return ""
}

var servicePrefix = "/" + pb.HartonomousService_ServiceDesc.ServiceName + "/"

// UnaryInterceptor puts the caller's identity (internal/tenant) in the
// context of each call of HartonomousService, or ends the call with
// codes.Unauthenticated. Put it after UnaryInterceptor, so that refused
// calls are logged.
func (x *Auth) UnaryInterceptor(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		a := x.a.Load()
		if a == nil || !strings.HasPrefix(info.FullMethod, servicePrefix) {
			return handler(ctx, req)
		}
		id, err := a.Authenticate(ctx, bearer(ctx))
		if err != nil {
			return nil, toStatus(log, info.FullMethod, err)
		}
		ctx = logctx.With(tenant.With(ctx, id), slog.String("tenant", id.TenantName), slog.String("principal", id.Principal))
		return handler(ctx, req)
	}
}
