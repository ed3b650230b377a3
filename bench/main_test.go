package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseScale(t *testing.T) {
	for in, want := range map[string]int{"10k": 10000, "100K": 100000, "1m": 1000000, "2.5m": 2500000, "12345": 12345, "1_000": 1000} {
		got, err := parseScale(in)
		if err != nil || got != want {
			t.Errorf("parseScale(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abc", "-5", "0", "1.5", "5"} {
		if _, err := parseScale(in); err == nil {
			t.Errorf("parseScale(%q) succeeded", in)
		}
	}
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-scale", "100k", "-peers", "exact", "-skip", "reload,insert", "-sweep", "64,16,64"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.n != 100000 || c.dim != 768 || c.queries != 1000 || !c.peers["exact"] || c.peers["hnswlib"] ||
		!c.skip["reload"] || !c.skip["insert"] || len(c.sweep) != 2 || c.sweep[0] != 16 {
		t.Fatalf("%+v", c)
	}
	for _, bad := range [][]string{{"-peers", "faiss"}, {"-skip", "everything"}, {"-sync", "off"}, {"-sweep", "0"}, {"extra"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestRunSmall runs the whole harness on a small set against a real
// in-process hartd, without the Python peer.
func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	out := filepath.Join(t.TempDir(), "out.json")
	cfg, err := parseFlags([]string{"-scale", "3000", "-dim", "32", "-queries", "30", "-peers", "exact",
		"-cache", t.TempDir(), "-json", out, "-inserts", "5", "-sync", "normal", "-warmup", "2",
		"-sweep", "16,64", "-build-stall", "1s", "-build-timeout", "5s", "-progress", "off"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, cfg, &stdout, newUI(&stderr, "off")); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.ExactP50Ms == nil || rep.Hartd.Exact.GRPC.Recall == nil || *rep.Hartd.Exact.GRPC.Recall != 1 {
		t.Fatalf("exact: %+v\n%s", rep.Hartd.Exact, stderr.String())
	}
	if rep.ExactPeer == nil || *rep.ExactPeer.Recall != 1 {
		t.Fatalf("exact peer: %+v", rep.ExactPeer)
	}
	if rep.BulkInsertVectorsPerS == nil || !*rep.Hartd.Load.SearchableAfterLoad {
		t.Fatalf("load: %+v", rep.Hartd.Load)
	}
	if rep.ProjectionNs == nil || !rep.Hartd.Projection.MatchesServer {
		t.Fatalf("projection: %+v", rep.Hartd.Projection)
	}
	if rep.InsertP50Ms == nil || rep.ReloadS == nil || rep.Hartd.Reload.Rows != 3000+2*(5+10) {
		t.Fatalf("insert %v, reload %+v", rep.InsertP50Ms, rep.Hartd.Reload)
	}
	if rep.RSSBytes == nil || rep.BuildS == nil {
		t.Fatalf("rss %v, build %v", rep.RSSBytes, rep.BuildS)
	}
	// HYBRID and SEED are either measured or reported unimplemented.
	for _, k := range []string{"hybrid", "seed"} {
		if s := rep.Hartd.Status[k]; s != statusOK && s != statusUnimplemented {
			t.Errorf("%s: status %q", k, s)
		}
	}
	if rep.Hartd.Status["hybrid"] == statusOK && len(rep.HybridCurve) != 2 {
		t.Errorf("hybrid curve has %d points", len(rep.HybridCurve))
	}
	if !strings.Contains(stdout.String(), "| metric") {
		t.Fatalf("no table:\n%s", stdout.String())
	}
	t.Log("\n" + stdout.String())
}
