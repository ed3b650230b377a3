// Package engine is hartd's domain core: it validates requests, writes
// through the store and keeps each model's runtime core (internal/search) in
// step with it. It knows nothing of gRPC; internal/server translates.
//
// Write invariant: every write holds Engine.wmu from before its store
// transaction until the runtime core reflects it, and the core is updated
// only after the store has committed. So the core's rows are always a prefix,
// in commit order, of what the store holds (less deletions), which is what
// search.Collection.Append requires, and nothing is acknowledged or searchable
// before it is durable.
//
// Errors are domain errors: ErrModelNotFound, ErrNotFound, ErrModelExists,
// ErrNoProjection, and *FieldError for a request that is malformed, naming
// the field as a path ("items[3].vector").
package engine
