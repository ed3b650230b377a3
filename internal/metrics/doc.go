// Package metrics is hartd's Prometheus instrumentation, kept apart from the
// packages it observes: nothing else imports client_golang.
//
// A Metrics holds its own registry (never the global one) with:
//
//   - grpc_server_handled_total and grpc_server_handling_seconds, by
//     grpc_service, grpc_method and grpc_code, from UnaryInterceptor (the
//     names of go-grpc-middleware's Prometheus provider, so that existing
//     dashboards work);
//   - hartd_store_write_duration_seconds by op and result, from the store
//     decorator InstrumentStore;
//   - per model, read from the engine at scrape time (SetSource):
//     hartd_model_vectors, hartd_model_projection_ready,
//     hartd_model_anchors_chosen_timestamp_seconds, hartd_index_rows,
//     hartd_index_live_rows, hartd_index_tombstones;
//   - hartd_ready (0 while the runtime core loads), hartd_build_info;
//   - the Go runtime (go_*) and process (process_*) collectors.
//
// Start serves the exposition at /metrics on a listener of its own, never
// on the gRPC address.
package metrics
