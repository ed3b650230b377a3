package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
	"github.com/hartonomous/hartd/internal/auth"
	"github.com/hartonomous/hartd/internal/billing"
	"github.com/hartonomous/hartd/internal/engine"
	"github.com/hartonomous/hartd/internal/logctx"
	"github.com/hartonomous/hartd/internal/metrics"
	"github.com/hartonomous/hartd/internal/ooda"
	"github.com/hartonomous/hartd/internal/server"
	"github.com/hartonomous/hartd/internal/store"
	"github.com/hartonomous/hartd/internal/store/dsn"
	"github.com/hartonomous/hartd/internal/store/open"
	"github.com/hartonomous/hartd/internal/tlsx"
)

type serveConfig struct {
	dsn             string
	dataDir         string
	listen          string
	maxMessageBytes int
	sync            string
	logFormat       string
	logLevel        string
	shutdownTimeout time.Duration
	pprofListen     string
	metricsListen   string
	configFile      string
	oodaInterval    time.Duration
	oodaRecall      float64
	tlsCert         string
	tlsKey          string
	tlsClientCA     string
	authTTL         time.Duration

	// wrapStore, when set, wraps the store before the engine opens it: a
	// test's way to slow the load down. Nil in production.
	wrapStore func(store.Store) store.Store
}

func newServeCmd() *cobra.Command {
	var c serveConfig
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gRPC service",
		Long: `Run the gRPC service. Without --dsn the embedded SQLite store lives in
--data-dir and is created, and its schema migrated, on first start; with
--dsn it uses PostgreSQL + PostGIS or SQL Server, prepared by hartd deploy.
SIGTERM or SIGINT stops accepting calls, lets those in flight finish, and
closes the store.`,
		Args: cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			_, err := applyConfigFile(cmd.Flags())
			return err
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(c.logFormat, c.logLevel)
			if err != nil {
				return err
			}
			return serve(cmd.Context(), c, log)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.dsn, "dsn", "", "the store: empty for the embedded SQLite store in --data-dir, else sqlite:///path/hartd.db, postgres://user:pass@host/db or sqlserver://user:pass@host?database=db (deployed with hartd deploy)")
	f.StringVar(&c.dataDir, "data-dir", "./hartd-data", "directory of the embedded store")
	f.StringVar(&c.listen, "listen", DefaultAddr, "address to listen on")
	f.IntVar(&c.maxMessageBytes, "max-message-bytes", 64<<20, "largest request accepted; larger ones get RESOURCE_EXHAUSTED")
	f.StringVar(&c.sync, "sync", "full", "store durability: full (fsync every commit) or normal (survives a crash of hartd, not of the machine)")
	f.StringVar(&c.logFormat, "log-format", "auto", "auto (text on a terminal, else JSON), text or json")
	f.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	f.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long calls in flight may take to finish on shutdown")
	f.StringVar(&c.pprofListen, "pprof-listen", "", "serve Go's net/http/pprof profiles on this address (off when empty; keep it on loopback)")
	f.StringVar(&c.metricsListen, "metrics-listen", "", "serve Prometheus metrics at /metrics on this address, e.g. 127.0.0.1:9464 (off when empty)")
	f.DurationVar(&c.oodaInterval, "ooda-interval", time.Hour, "how often the optimization loop measures each model's recall on its recent queries and retrains drifted indexes (0: off)")
	f.Float64Var(&c.oodaRecall, "ooda-target-recall", 0.95, "recall@10 below which the optimization loop retrains a model's index")
	f.StringVar(&c.tlsCert, "tls-cert", "", "PEM certificate: serve gRPC over TLS (with --tls-key)")
	f.StringVar(&c.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	f.StringVar(&c.tlsClientCA, "tls-client-ca", "", "PEM CA: require client certificates it signed (mutual TLS; needs --tls-cert)")
	f.DurationVar(&c.authTTL, "auth-ttl", auth.DefaultTTL, "how long the server trusts what it read of the API keys and rates; keys created or revoked with hartd keys apply within it")
	registerConfigFlag(f, &c.configFile)
	return cmd
}

func newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	// logctx adds the request id to every line logged with a request's
	// context, wherever it is logged.
	switch format {
	case "auto":
		if term.IsTerminal(int(os.Stderr.Fd())) {
			return slog.New(logctx.NewHandler(slog.NewTextHandler(os.Stderr, opts))), nil
		}
		return slog.New(logctx.NewHandler(slog.NewJSONHandler(os.Stderr, opts))), nil
	case "text":
		return slog.New(logctx.NewHandler(slog.NewTextHandler(os.Stderr, opts))), nil
	case "json":
		return slog.New(logctx.NewHandler(slog.NewJSONHandler(os.Stderr, opts))), nil
	}
	return nil, fmt.Errorf("--log-format %q: want auto, text or json", format)
}

// serve listens first, with grpc.health.v1 NOT_SERVING and every
// HartonomousService call answered UNAVAILABLE "loading", then opens the
// store and loads the runtime core, then reports SERVING. On ctx's end it
// reports NOT_SERVING, finishes the calls in flight and closes the store.
func serve(ctx context.Context, c serveConfig, log *slog.Logger) error {
	start := time.Now()
	met := metrics.New(version)
	if c.metricsListen != "" {
		ms, err := met.Start(c.metricsListen, log)
		if err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := ms.Close(cctx); err != nil {
				log.Warn("closing the metrics listener", "err", err)
			}
		}()
		log.Info("metrics", "listen", ms.Addr().String())
	}
	if c.pprofListen != "" {
		if err := startPprof(c.pprofListen, log); err != nil {
			return err
		}
	}
	var tlsCfg *tls.Config
	if c.tlsCert != "" || c.tlsKey != "" {
		cfg, err := tlsx.ServerConfig(c.tlsCert, c.tlsKey, c.tlsClientCA)
		if err != nil {
			return err
		}
		tlsCfg = cfg
	} else if c.tlsClientCA != "" {
		return errors.New("--tls-client-ca needs --tls-cert and --tls-key")
	}
	lis, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.listen, err)
	}
	loopback := isLoopback(lis.Addr())
	if !loopback && tlsCfg == nil {
		log.Warn("serving beyond loopback without TLS: API keys and data travel in clear; set --tls-cert and --tls-key", "listen", lis.Addr().String())
	}
	var authz server.Auth
	sopts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(c.maxMessageBytes),
		grpc.MaxSendMsgSize(c.maxMessageBytes),
		// Metrics first, to count the code the client gets; the log
		// before authentication, to log refused calls.
		grpc.ChainUnaryInterceptor(met.UnaryInterceptor(), server.UnaryInterceptor(log), authz.UnaryInterceptor(log)),
	}
	if tlsCfg != nil {
		sopts = append(sopts, grpc.Creds(credentials.NewTLS(tlsCfg)))
	}
	gs := grpc.NewServer(sopts...)
	gate := server.NewGate(&pb.HartonomousService_ServiceDesc)
	gate.Register(gs)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	setHealth(hs, healthpb.HealthCheckResponse_NOT_SERVING)
	errc := make(chan error, 1)
	go func() { errc <- gs.Serve(lis) }()
	where := c.dataDir // never a password in a log line
	if c.dsn != "" {
		where = dsn.Redact(c.dsn)
	}
	log.Info("listening; loading the runtime core", "listen", lis.Addr().String(), "store", where)

	// stop ends the gRPC server: NOT_SERVING, then the calls in flight may
	// finish within the shutdown timeout. Every return below calls it
	// before the deferred closes of the engine and the store run.
	stop := func() {
		hs.Shutdown()
		done := make(chan struct{})
		go func() { gs.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(c.shutdownTimeout):
			log.Warn("calls still in flight after the shutdown timeout; cancelling them")
			gs.Stop()
			<-done
		}
	}

	st, err := open.Open(ctx, c.dsn, open.Options{DataDir: c.dataDir, Synchronous: c.sync, Log: log})
	if err != nil {
		stop()
		return loadErr(ctx, err, log)
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("closing the store", "err", err)
		} else {
			log.Info("store closed", "store", where)
		}
	}()
	hasKeys, err := st.HasAPIKeys(ctx)
	if err != nil {
		stop()
		return loadErr(ctx, err, log)
	}
	if !hasKeys && !loopback {
		stop()
		return fmt.Errorf("refusing to serve on %s, beyond loopback, without API keys: with no key every caller is the default tenant; create one with hartd keys create --tenant NAME, or listen on 127.0.0.1", lis.Addr())
	}
	authz.Set(auth.New(st, c.authTTL, !loopback))
	if hasKeys {
		log.Info("authentication on: calls need authorization: Bearer <API key>")
	} else {
		log.Info("no API key exists: single-tenant (default), on loopback only; hartd keys create turns authentication on")
	}
	biller := billing.NewBiller(st, c.authTTL, log)
	defer biller.Close() // after the gRPC server stopped, before the store closes
	est := store.Store(st)
	if c.wrapStore != nil {
		est = c.wrapStore(est)
	}
	eng, err := engine.Open(ctx, met.InstrumentStore(est), log)
	if err != nil {
		stop()
		return loadErr(ctx, err, log)
	}
	defer eng.Close() // before the store closes: deferred calls run last-in first-out
	gate.SetReady(server.New(eng, log).WithBilling(biller))
	met.SetSource(eng)
	if c.oodaInterval > 0 {
		loop := ooda.New(eng, ooda.Targets{Recall: c.oodaRecall}, log)
		lctx, lcancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); loop.Run(lctx, c.oodaInterval) }()
		defer func() { lcancel(); <-done }() // before the engine closes
	}
	setHealth(hs, healthpb.HealthCheckResponse_SERVING)
	log.Info("serving", "listen", lis.Addr().String(), "store", where, "models", len(eng.Models()),
		"started_in", time.Since(start).Round(time.Millisecond), "version", version)

	select {
	case err := <-errc:
		stop()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing calls in flight", "timeout", c.shutdownTimeout)
	stop()
	return nil
}

// isLoopback says whether a listener's address is a loopback one.
func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// setHealth sets the status of the server ("") and of HartonomousService.
func setHealth(hs *health.Server, s healthpb.HealthCheckResponse_ServingStatus) {
	hs.SetServingStatus("", s)
	hs.SetServingStatus(pb.HartonomousService_ServiceDesc.ServiceName, s)
}

// loadErr is the result of serve when opening the store or loading the
// core failed: none when a signal interrupted the load.
func loadErr(ctx context.Context, err error, log *slog.Logger) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		log.Info("stopped while loading", "err", err)
		return nil
	}
	return err
}

// startPprof serves the runtime profiles on their own listener, so that they
// are never reachable through the gRPC address.
func startPprof(addr string, log *slog.Logger) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--pprof-listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(lis); err != nil && err != http.ErrServerClosed {
			log.Error("pprof server", "err", err)
		}
	}()
	log.Info("pprof", "listen", lis.Addr().String())
	return nil
}
