package engine

import (
	"errors"
	"fmt"
)

// Errors callers test with errors.Is.
var (
	ErrModelNotFound = errors.New("engine: model not found")
	ErrModelExists   = errors.New("engine: model already exists")
	ErrNotFound      = errors.New("engine: not found")
	ErrNoProjection  = errors.New("engine: the model has no projection yet: anchors are chosen once it holds three distinct, non-collinear vectors")
	ErrInvalid       = errors.New("engine: invalid argument")
	ErrTooLarge      = errors.New("engine: over the size limit")
	ErrUnimplemented = errors.New("engine: not implemented yet")
)

// FieldError is a malformed request: Field is the path of the offending
// field, such as "items[3].metadata" or "k".
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field string, err error) error { return &FieldError{Field: field, Err: err} }

func fieldErrf(field string, sentinel error, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}
