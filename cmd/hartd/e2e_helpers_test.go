//go:build unix

package main

// End-to-end test harness: TestMain builds the real hartd binary once, and
// startHartd runs `hartd serve` on a free loopback port with its own data
// directory, waiting for the gRPC health check to report SERVING.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
)

// hartdBin is the binary built by TestMain.
var hartdBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hartd-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "hartd")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build: %v\n%s", err, out)
		return 1
	}
	hartdBin = bin
	return m.Run()
}

// childEnv is the test's environment without any HARTD_* variable, so that
// the caller's settings cannot leak into the processes under test.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HARTD_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// syncBuffer is a bytes.Buffer safe for a writer and readers in different
// goroutines (exec copies a child's stderr from its own goroutine).
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// hartd is one running `hartd serve` process and a client connected to it.
type hartd struct {
	t       *testing.T
	dataDir string
	addr    string
	cmd     *exec.Cmd
	stderr  *syncBuffer
	exited  chan struct{} // closed once cmd.Wait has returned
	waitErr error         // set before exited is closed

	conn   *grpc.ClientConn
	client pb.HartonomousServiceClient
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pick a port: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// dialFast connects with a short reconnect backoff, so that a server that
// has just started is seen at once.
func dialFast(addr string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	bc := backoff.DefaultConfig
	bc.BaseDelay, bc.MaxDelay = 20*time.Millisecond, 200*time.Millisecond
	opts = append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bc, MinConnectTimeout: time.Second}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64 << 20)),
	}, opts...)
	return grpc.NewClient(addr, opts...)
}

// startHartd runs `hartd serve` on dataDir and waits until it serves. The
// process is killed, if still running, and the client closed when the test
// ends; the server's log is printed if the test failed.
func startHartd(t *testing.T, dataDir string, extraArgs ...string) *hartd {
	t.Helper()
	for attempt := 1; ; attempt++ {
		s := launch(t, dataDir, freeAddr(t), extraArgs)
		err := s.waitServing(30 * time.Second)
		if err == nil {
			return s
		}
		// Another process may have taken the port between freeAddr and
		// the server's listen: try another one.
		if attempt < 3 && strings.Contains(s.stderr.String(), "address already in use") {
			t.Logf("port %s was taken; retrying", s.addr)
			continue
		}
		t.Fatalf("hartd serve on %s: %v", s.addr, err)
	}
}

func launch(t *testing.T, dataDir, addr string, extraArgs []string) *hartd {
	t.Helper()
	args := append([]string{"serve", "--data-dir", dataDir, "--listen", addr, "--log-format", "json"}, extraArgs...)
	s := &hartd{t: t, dataDir: dataDir, addr: addr, stderr: &syncBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(hartdBin, args...)
	s.cmd.Env = childEnv()
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start hartd: %v", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	conn, err := dialFast(addr)
	if err != nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
		t.Fatalf("dial %s: %v", addr, err)
	}
	s.conn, s.client = conn, pb.NewHartonomousServiceClient(conn)
	t.Cleanup(func() {
		s.conn.Close()
		if !s.hasExited() {
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("hartd serve (%s) log:\n%s", s.addr, s.stderr.String())
		}
	})
	return s
}

func (s *hartd) hasExited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// waitServing polls grpc.health.v1 (service "") until SERVING.
func (s *hartd) waitServing(timeout time.Duration) error {
	hc := healthpb.NewHealthClient(s.conn)
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if s.hasExited() {
			return fmt.Errorf("the server exited (%v) before serving", s.waitErr)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: ""})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		if err != nil {
			last = err
		} else {
			last = fmt.Errorf("health status %v", resp.GetStatus())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("not serving after %v: %v", timeout, last)
}

// kill sends SIGKILL and waits for the process to end.
func (s *hartd) kill() {
	s.t.Helper()
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.t.Fatalf("kill hartd: %v", err)
	}
	<-s.exited
	s.conn.Close()
}

// terminate sends SIGTERM and returns the exit code, failing the test if
// the process has not ended within timeout.
func (s *hartd) terminate(timeout time.Duration) int {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatalf("SIGTERM hartd: %v", err)
	}
	select {
	case <-s.exited:
	case <-time.After(timeout):
		s.t.Fatalf("hartd still running %v after SIGTERM", timeout)
	}
	s.conn.Close()
	return s.cmd.ProcessState.ExitCode()
}

// logMessages returns the "msg" of every JSON log line the server wrote.
func (s *hartd) logMessages() []string {
	var out []string
	for _, line := range strings.Split(s.stderr.String(), "\n") {
		var rec struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg != "" {
			out = append(out, rec.Msg)
		}
	}
	return out
}

func rpcCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func createModel(t *testing.T, c pb.HartonomousServiceClient, name string, dim int, m pb.Metric) {
	t.Helper()
	if _, err := c.CreateModel(rpcCtx(t), &pb.CreateModelRequest{Name: name, Dimension: uint32(dim), Metric: m}); err != nil {
		t.Fatalf("create model %s: %v", name, err)
	}
}

func modelCount(t *testing.T, c pb.HartonomousServiceClient, name string) uint64 {
	t.Helper()
	resp, err := c.ListModels(rpcCtx(t), &pb.ListModelsRequest{})
	if err != nil {
		t.Fatalf("list models: %v", err)
	}
	for _, m := range resp.Models {
		if m.Name == name {
			return m.Count
		}
	}
	t.Fatalf("model %s not listed", name)
	return 0
}

// normalized is v scaled to unit length as the server does it (norm in
// float64).
func normalized(v []float32) []float32 {
	var sq float64
	for _, x := range v {
		sq += float64(x) * float64(x)
	}
	inv := 1 / math.Sqrt(sq)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) * inv)
	}
	return out
}

func sameVector(a, b []float32, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i])-float64(b[i])) > tol {
			return false
		}
	}
	return true
}

// runCLI runs a client command of the binary and returns its output and
// exit code.
func runCLI(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, hartdBin, args...)
	cmd.Env = env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run hartd %s: %v", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), code
}
