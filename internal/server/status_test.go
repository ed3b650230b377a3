package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hartonomous/hartd/internal/engine"
	"github.com/hartonomous/hartd/internal/store"
)

func TestCodeOf(t *testing.T) {
	t.Parallel()
	field := func(f string, err error) error { return &engine.FieldError{Field: f, Err: err} }
	wrap := func(err error) error { return fmt.Errorf("layer: %w", err) }
	cases := []struct {
		name string
		err  error
		want codes.Code
	}{
		{"model not found", engine.ErrModelNotFound, codes.NotFound},
		{"model not found, wrapped", wrap(fmt.Errorf("%w: %q", engine.ErrModelNotFound, "m")), codes.NotFound},
		{"model not found in a field error", field("model", fmt.Errorf("%w: %q", engine.ErrModelNotFound, "m")), codes.NotFound},
		{"not found", engine.ErrNotFound, codes.NotFound},
		{"not found in a wrapped field error", wrap(field("ids[1]", fmt.Errorf("%w: id 9", engine.ErrNotFound))), codes.NotFound},
		{"model exists", wrap(fmt.Errorf("%w: %q", engine.ErrModelExists, "m")), codes.AlreadyExists},
		{"no projection", wrap(fmt.Errorf("%w (model %q holds 2 vectors)", engine.ErrNoProjection, "m")), codes.FailedPrecondition},
		{"field error", field("k", engine.ErrInvalid), codes.InvalidArgument},
		{"field error, wrapped twice", wrap(wrap(field("items[3].vector", errors.New("bad")))), codes.InvalidArgument},
		{"field error over a size limit", field("items[0].text", fmt.Errorf("%w: 2 MiB", engine.ErrTooLarge)), codes.InvalidArgument},
		{"store closed", store.ErrClosed, codes.Unavailable},
		{"store closed, wrapped", wrap(fmt.Errorf("engine: get 3: %w", store.ErrClosed)), codes.Unavailable},
		{"canceled", context.Canceled, codes.Canceled},
		{"canceled, wrapped", wrap(context.Canceled), codes.Canceled},
		{"canceled beats a field error", field("vector", context.Canceled), codes.Canceled},
		{"deadline", context.DeadlineExceeded, codes.DeadlineExceeded},
		{"deadline, wrapped", wrap(fmt.Errorf("sqlite: insert: %w", context.DeadlineExceeded)), codes.DeadlineExceeded},
		{"plain error", errors.New("disk on fire"), codes.Internal},
		{"wrapped plain error", wrap(errors.New("disk on fire")), codes.Internal},
		{"invalid without a field", engine.ErrInvalid, codes.Internal},
		{"store not found is not the engine's", wrap(store.ErrNotFound), codes.Internal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := codeOf(tc.err); got != tc.want {
				t.Errorf("codeOf(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestToStatusNil(t *testing.T) {
	t.Parallel()
	if err := toStatus(slog.New(slog.DiscardHandler), "Get", nil); err != nil {
		t.Errorf("toStatus(nil) = %v, want nil", err)
	}
}

func TestToStatusInternalDoesNotLeak(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	secret := "sqlite: open secret-store.db: disk I/O error"
	err := toStatus(log, "Insert", fmt.Errorf("engine: insert into %q: %w", "m", errors.New(secret)))
	st := status.Convert(err)
	if st.Code() != codes.Internal {
		t.Fatalf("code %v, want Internal", st.Code())
	}
	for _, s := range []string{"secret", "sqlite", "disk", "engine"} {
		if strings.Contains(st.Message(), s) {
			t.Errorf("message %q leaks %q", st.Message(), s)
		}
	}
	if len(st.Details()) != 0 {
		t.Errorf("internal status carries details %v", st.Details())
	}
	if out := logs.String(); !strings.Contains(out, "disk I/O error") || !strings.Contains(out, "Insert") {
		t.Errorf("the internal error is not logged with its method: %q", out)
	}
}

func TestToStatusFieldError(t *testing.T) {
	t.Parallel()
	fe := &engine.FieldError{Field: "items[3].vector", Err: fmt.Errorf("%w: value 2 is NaN", engine.ErrInvalid)}
	err := toStatus(slog.New(slog.DiscardHandler), "Insert", fmt.Errorf("outer: %w", fe))
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("code %v, want InvalidArgument", st.Code())
	}
	if !strings.Contains(st.Message(), "items[3].vector") || !strings.Contains(st.Message(), "value 2 is NaN") {
		t.Errorf("message %q does not name the field and the fault", st.Message())
	}
	br := badRequestOf(st)
	if br == nil || len(br.GetFieldViolations()) != 1 {
		t.Fatalf("details %v, want one BadRequest field violation", st.Details())
	}
	v := br.GetFieldViolations()[0]
	if v.GetField() != "items[3].vector" || v.GetDescription() != fe.Err.Error() {
		t.Errorf("violation %v, want field %q, description %q", v, "items[3].vector", fe.Err.Error())
	}
}

// Non-InvalidArgument domain errors keep their message and carry no
// BadRequest, even when they are field errors.
func TestToStatusNotFoundHasNoBadRequest(t *testing.T) {
	t.Parallel()
	err := toStatus(slog.New(slog.DiscardHandler), "Get",
		&engine.FieldError{Field: "id", Err: fmt.Errorf("%w: id 7 in model %q", engine.ErrNotFound, "m")})
	st := status.Convert(err)
	if st.Code() != codes.NotFound || !strings.Contains(st.Message(), "id 7") {
		t.Errorf("status %v, want NotFound naming id 7", st)
	}
	if br := badRequestOf(st); br != nil {
		t.Errorf("NotFound carries a BadRequest %v", br)
	}
}
