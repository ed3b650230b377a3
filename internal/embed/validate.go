package embed

import (
	"errors"
	"fmt"
	"math"
)

// MaxDim is the largest dimension a model may have.
const MaxDim = 4096

// Errors returned by Validate and ParseMetric; callers test them with errors.Is.
var (
	ErrDimension     = errors.New("embed: dimension mismatch")
	ErrNonFinite     = errors.New("embed: value is not finite")
	ErrZeroVector    = errors.New("embed: zero vector has no direction")
	ErrUnknownMetric = errors.New("embed: unknown metric")
)

// Validate checks that v has exactly dim values, all finite, and, for a
// cosine model, a non-zero norm. The error says which value is wrong.
func Validate(v []float32, dim int, m Metric) error {
	if len(v) != dim {
		return fmt.Errorf("%w: got %d values, the model has dimension %d", ErrDimension, len(v), dim)
	}
	var sq float64
	for i, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%w: value %d is %v", ErrNonFinite, i, x)
		}
		sq += f * f
	}
	if m == Cosine && sq == 0 {
		return fmt.Errorf("%w: a cosine model needs a non-zero vector", ErrZeroVector)
	}
	if math.IsInf(sq, 0) {
		return fmt.Errorf("%w: the squared norm overflows float64", ErrNonFinite)
	}
	return nil
}

// Normalize scales v in place to unit length, computing the norm in float64.
// A zero vector is left unchanged.
func Normalize(v []float32) {
	var sq float64
	for _, x := range v {
		sq += float64(x) * float64(x)
	}
	if sq == 0 {
		return
	}
	inv := 1 / math.Sqrt(sq)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
}

// Prepare validates v for a model of the given dimension and metric and
// returns the vector as the model stores it: a copy, normalized for Cosine.
// v itself is never modified.
func Prepare(v []float32, dim int, m Metric) ([]float32, error) {
	if err := Validate(v, dim, m); err != nil {
		return nil, err
	}
	out := make([]float32, len(v))
	copy(out, v)
	if m == Cosine {
		Normalize(out)
	}
	return out, nil
}
