// Package server is hartd's gRPC layer: it converts messages to engine
// calls and engine errors to status codes, in one place (status.go), and
// nothing else. Validation and behaviour live in internal/engine.
package server
