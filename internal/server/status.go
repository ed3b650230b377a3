package server

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hartonomous/hartd/internal/auth"
	"github.com/hartonomous/hartd/internal/billing"
	"github.com/hartonomous/hartd/internal/engine"
	"github.com/hartonomous/hartd/internal/store"
)

// codeOf is the one map from domain errors to gRPC codes.
func codeOf(err error) codes.Code {
	switch {
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, engine.ErrModelNotFound), errors.Is(err, engine.ErrNotFound):
		return codes.NotFound
	case errors.Is(err, engine.ErrModelExists):
		return codes.AlreadyExists
	case errors.Is(err, engine.ErrNoProjection):
		return codes.FailedPrecondition
	case errors.Is(err, auth.ErrMissingKey), errors.Is(err, auth.ErrBadKey), errors.Is(err, auth.ErrNoKeys):
		return codes.Unauthenticated
	case errors.Is(err, store.ErrClosed), errors.Is(err, billing.ErrClosed):
		return codes.Unavailable
	case errors.Is(err, engine.ErrUnimplemented):
		return codes.Unimplemented
	}
	var fe *engine.FieldError
	if errors.As(err, &fe) {
		return codes.InvalidArgument
	}
	return codes.Internal
}

// toStatus converts an engine error into a gRPC status error. Malformed
// requests carry a google.rpc.BadRequest naming the field. Internal errors
// are logged and their detail is not sent.
func toStatus(log *slog.Logger, method string, err error) error {
	if err == nil {
		return nil
	}
	code := codeOf(err)
	if code == codes.Internal {
		log.Error("internal error", "method", method, "err", err)
		return status.Error(codes.Internal, "internal error; see the server log")
	}
	st := status.New(code, err.Error())
	var fe *engine.FieldError
	if code == codes.InvalidArgument && errors.As(err, &fe) {
		if d, derr := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: fe.Field, Description: fe.Err.Error()},
		}}); derr == nil {
			st = d
		}
	}
	return st.Err()
}
