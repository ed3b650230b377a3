package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/hartonomous/hartd/internal/logctx"
)

// RequestIDHeader carries a request's id: taken from the caller when it
// sends one, else made up, and always returned in the response header.
const RequestIDHeader = "x-request-id"

func requestID(ctx context.Context) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(RequestIDHeader); len(v) > 0 && v[0] != "" && len(v[0]) <= 128 {
			return v[0]
		}
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// UnaryInterceptor logs every call with its request id, code and duration,
// passes the id to the handler in its context (internal/logctx), and turns
// a panic into codes.Internal so that one bad request cannot take the
// server down.
func UnaryInterceptor(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		start := time.Now()
		id := requestID(ctx)
		_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDHeader, id))
		defer func() {
			if p := recover(); p != nil {
				log.Error("panic in handler", "method", info.FullMethod, "request_id", id, "panic", p, "stack", string(debug.Stack()))
				resp, err = nil, status.Error(codes.Internal, "internal error; see the server log")
			}
			code := status.Code(err)
			level := slog.LevelDebug
			if code != codes.OK {
				level = slog.LevelInfo
			}
			if code == codes.Internal || code == codes.Unknown {
				level = slog.LevelError
			}
			attrs := []any{"method", info.FullMethod, "request_id", id, "code", code.String(), "took", time.Since(start)}
			if err != nil {
				attrs = append(attrs, "err", status.Convert(err).Message())
			}
			log.Log(ctx, level, "rpc", attrs...)
		}()
		// Lines the handler logs with its context carry the request id too
		// (see internal/logctx).
		return handler(logctx.With(ctx, slog.String("request_id", id)), req)
	}
}
