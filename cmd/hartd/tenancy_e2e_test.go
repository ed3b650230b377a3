package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
)

// TestLedgerAfterSIGKILL: every search acknowledged before a SIGKILL has
// its ledger row after the restart. A search is acknowledged only once its
// row's group commit is done.
func TestLedgerAfterSIGKILL(t *testing.T) {
	const (
		model   = "billed"
		dim     = 16
		callers = 32
		runFor  = 700 * time.Millisecond
	)
	dir := t.TempDir()
	s := startHartd(t, dir)
	createModel(t, s.client, model, dim, pb.Metric_METRIC_COSINE)
	r := rand.New(rand.NewPCG(3, 3))
	items := make([]*pb.Item, 200)
	for i := range items {
		items[i] = &pb.Item{Vector: randVector(r, dim)}
	}
	if _, err := s.client.Insert(rpcCtx(t), &pb.InsertRequest{Model: model, Items: items}); err != nil {
		t.Fatal(err)
	}
	var acked, inFlight atomic.Int64
	var killed atomic.Bool
	var wg sync.WaitGroup
	errc := make(chan error, callers)
	for g := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(4, uint64(g)))
			for !killed.Load() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				inFlight.Add(1)
				_, err := s.client.Search(ctx, &pb.SearchRequest{Model: model, Vector: randVector(r, dim), K: 5})
				inFlight.Add(-1)
				cancel()
				if err != nil {
					if !killed.Load() {
						errc <- fmt.Errorf("caller %d: search failed before the kill: %w", g, err)
					}
					return
				}
				acked.Add(1)
			}
		}()
	}
	time.Sleep(runFor)
	killed.Store(true)
	atKill, inFlightAtKill := acked.Load(), inFlight.Load()
	s.kill()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	s2 := startHartd(t, dir)
	u, err := s2.client.GetUsage(rpcCtx(t), &pb.GetUsageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var searches, inserts uint64
	for _, l := range u.Lines {
		switch l.Group {
		case "search":
			searches = l.Records
		case "insert":
			inserts = l.Records
		}
	}
	total := acked.Load()
	t.Logf("%d searches acknowledged (%d when the kill was decided, %d in flight) by %d callers in %v; ledger after SIGKILL and restart: %d search rows, %d insert rows",
		total, atKill, inFlightAtKill, callers, runFor, searches, inserts)
	if searches < uint64(total) {
		t.Fatalf("ledger holds %d search rows after SIGKILL, fewer than the %d acknowledged", searches, total)
	}
	if searches > uint64(total)+uint64(callers) {
		t.Fatalf("ledger holds %d search rows, more than %d acknowledged + %d possibly in flight", searches, total, callers)
	}
	if inserts != 1 {
		t.Fatalf("ledger holds %d insert rows, want 1", inserts)
	}
}

var keyRE = regexp.MustCompile(`hartd_[A-Za-z0-9_-]{43}`)

// TestKeysAndTenants: keys made by the CLI on the store turn
// authentication on in a running server; tenants are isolated; a server
// without keys refuses a non-loopback address.
func TestKeysAndTenants(t *testing.T) {
	dir := t.TempDir()
	env := childEnv()
	// Without keys, beyond loopback: refused.
	_, stderr, code := runCLI(t, env, "serve", "--data-dir", dir, "--listen", "0.0.0.0:0", "--log-format", "json")
	if code == 0 || !strings.Contains(stderr, "without API keys") {
		t.Fatalf("serve on 0.0.0.0 without keys: exit %d, %s", code, stderr)
	}
	s := startHartd(t, dir, "--auth-ttl", "50ms")
	createModel(t, s.client, "m", 3, pb.Metric_METRIC_COSINE) // the default tenant, no key yet
	keys := map[string]string{}
	for _, tn := range []string{"acme", "globex"} {
		out, stderr, code := runCLI(t, env, "keys", "create", "--tenant", tn, "--data-dir", dir)
		if code != 0 {
			t.Fatalf("keys create: %s", stderr)
		}
		keys[tn] = keyRE.FindString(out)
		if keys[tn] == "" {
			t.Fatalf("keys create printed no key: %s", out)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := s.client.ListModels(rpcCtx(t), &pb.ListModelsRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("a call without a key once keys exist: %v", err)
	}
	ctxOf := func(tn string) context.Context {
		return metadata.AppendToOutgoingContext(rpcCtx(t), "authorization", "Bearer "+keys[tn])
	}
	for _, tn := range []string{"acme", "globex"} {
		if _, err := s.client.CreateModel(ctxOf(tn), &pb.CreateModelRequest{Name: "m", Dimension: 3}); err != nil {
			t.Fatal(err)
		}
	}
	ins, err := s.client.Insert(ctxOf("acme"), &pb.InsertRequest{Model: "m", Items: []*pb.Item{{Vector: []float32{1, 0, 0}, Text: "t"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.client.Get(ctxOf("globex"), &pb.GetRequest{Model: "m", Id: ins.Ids[0]}); status.Code(err) != codes.NotFound {
		t.Fatalf("globex's Get of acme's row: %v", err)
	}
	// The CLI with HARTD_API_KEY.
	out, stderr, code := runCLI(t, append(childEnv(), "HARTD_API_KEY="+keys["acme"]), "usage", "--addr", s.addr)
	if code != 0 || !strings.Contains(out, "tenant acme") || !strings.Contains(out, "insert") {
		t.Fatalf("hartd usage: exit %d\n%s%s", code, out, stderr)
	}
	out, _, code = runCLI(t, env, "keys", "list", "--data-dir", dir)
	if code != 0 || strings.Contains(out, keys["acme"]) || !strings.Contains(out, "globex") {
		t.Fatalf("keys list:\n%s", out)
	}
}
