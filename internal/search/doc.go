// Package search is hartd's runtime core: the in-memory copy of each model's
// vectors and projected points, and the searches over it.
//
// A Collection holds one model's rows in append-only chunks. Writers (Append,
// Delete, SetProjection) are serialized by the Collection's mutex; readers
// never take it. A reader loads the current snapshot (an atomic pointer) and
// reads only rows below the snapshot's length, which writers never modify
// again: a writer fills rows past the published length and then publishes a
// new snapshot. Deletion is a tombstone bit, set atomically, that readers
// check. So a scan runs beside inserts with no lock held across it.
//
// The store, not this package, is the system of record: a Collection is
// rebuilt from it at start (see internal/engine).
package search
