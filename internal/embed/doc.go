// Package embed holds what hartd knows about a vector on its own: the metric
// it is compared with, validation and normalization of request vectors, the
// distance kernels, and the byte encoding used by the stores.
//
// Kernels are function values: a plain-Go reference (DotRef, EuclideanRef) that
// defines the result, and a SIMD version (github.com/viterin/vek, AVX2 where
// the CPU has it) that the rest of hartd calls through Dot and Euclidean. Tests hold
// the SIMD version to the reference over odd lengths. No kernel allocates.
//
// Vectors are []float32 throughout; sums that decide correctness (norms,
// the projection) are taken in float64.
package embed
