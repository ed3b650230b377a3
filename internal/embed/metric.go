package embed

import (
	"fmt"
	"strings"
)

// Metric is how a model compares vectors.
type Metric uint8

const (
	// Cosine models store unit vectors; the score is the cosine similarity
	// (the dot product of unit vectors), higher is nearer.
	Cosine Metric = iota + 1
	// L2 models store vectors as given; the score is the Euclidean distance,
	// lower is nearer.
	L2
)

// String returns the metric's name as stored: "cosine" or "l2".
func (m Metric) String() string {
	switch m {
	case Cosine:
		return "cosine"
	case L2:
		return "l2"
	}
	return fmt.Sprintf("Metric(%d)", uint8(m))
}

// ParseMetric parses "cosine" or "l2" (case-insensitive). The empty string is
// Cosine, the default.
func ParseMetric(s string) (Metric, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "cosine":
		return Cosine, nil
	case "l2", "euclidean":
		return L2, nil
	}
	return 0, fmt.Errorf("%w: %q (want cosine or l2)", ErrUnknownMetric, s)
}

// Better reports whether score a ranks before score b under m.
func (m Metric) Better(a, b float32) bool {
	if m == Cosine {
		return a > b
	}
	return a < b
}
