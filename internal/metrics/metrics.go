package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/hartonomous/hartd/internal/engine"
)

// latencyBuckets span 100µs to 30s: an in-memory read to a large batch
// committed with fsync.
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Source gives the per-model state at scrape time; *engine.Engine is one.
type Source interface {
	StatsAll(ctx context.Context) ([]engine.ModelStats, error)
}

// Metrics is safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry // immutable

	handled  *prometheus.CounterVec
	handling *prometheus.HistogramVec
	storeDur *prometheus.HistogramVec

	src atomic.Pointer[sourceBox] // nil until SetSource
}

type sourceBox struct{ Source }

// New returns the metrics of one server; version labels hartd_build_info.
func New(version string) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_handled_total",
			Help: "RPCs completed on the server, by method and status code.",
		}, []string{"grpc_type", "grpc_service", "grpc_method", "grpc_code"}),
		handling: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "grpc_server_handling_seconds",
			Help:    "Time from receiving an RPC to its response, by method and status code.",
			Buckets: latencyBuckets,
		}, []string{"grpc_type", "grpc_service", "grpc_method", "grpc_code"}),
		storeDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hartd_store_write_duration_seconds",
			Help:    "Time of each store write transaction (op: insert, delete, create_model), by result (ok or error).",
			Buckets: latencyBuckets,
		}, []string{"op", "result"}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "hartd_build_info",
		Help:        "Always 1; the labels describe the running binary.",
		ConstLabels: prometheus.Labels{"version": version},
	})
	build.Set(1)
	ready := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hartd_ready",
		Help: "1 once the runtime core is loaded and calls are served, 0 while it loads.",
	}, func() float64 {
		if m.src.Load() != nil {
			return 1
		}
		return 0
	})
	m.reg.MustRegister(
		m.handled, m.handling, m.storeDur, build, ready, modelCollector{m},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry returns the registry, for tests and for adding collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// SetSource makes the per-model metrics read src at each scrape; before it
// they are absent and hartd_ready is 0.
func (m *Metrics) SetSource(src Source) { m.src.Store(&sourceBox{src}) }

// UnaryInterceptor counts and times every unary RPC by method and status
// code. Put it first in the chain, so that it sees the code the client
// gets (after any interceptor that turns a panic into codes.Internal).
func (m *Metrics) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		service, method := splitMethod(info.FullMethod)
		code := status.Code(err).String()
		m.handled.WithLabelValues("unary", service, method, code).Inc()
		m.handling.WithLabelValues("unary", service, method, code).Observe(time.Since(start).Seconds())
		return resp, err
	}
}

// splitMethod splits "/pkg.Service/Method".
func splitMethod(full string) (service, method string) {
	full = strings.TrimPrefix(full, "/")
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "unknown", full
}

// Handler serves the exposition format. Errors of a collector are logged
// and the other metrics still served.
func (m *Metrics) Handler(log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:          errorLog{log},
		ErrorHandling:     promhttp.ContinueOnError,
		Registry:          m.reg, // promhttp_metric_handler_errors_total
		EnableOpenMetrics: true,
	})
}

type errorLog struct{ log *slog.Logger }

func (l errorLog) Println(v ...any) { l.log.Warn("metrics", "err", fmt.Sprint(v...)) }

// Server is the metrics listener.
type Server struct {
	srv  *http.Server
	addr net.Addr
	done chan struct{}
}

// Start serves /metrics on addr (e.g. "127.0.0.1:9464") until Close.
func (m *Metrics) Start(addr string, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler(log))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "hartd metrics: see /metrics")
	})
	s := &Server{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		addr: lis.Addr(),
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	return s, nil
}

// Addr is the address listened on.
func (s *Server) Addr() net.Addr { return s.addr }

// Close stops the listener, letting scrapes in flight finish until ctx ends.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.srv.Close())
	}
	<-s.done
	if err != nil {
		return fmt.Errorf("metrics: close: %w", err)
	}
	return nil
}
