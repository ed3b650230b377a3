package deploy

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, byte for byte, or rewrites the
// file under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/deploy -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the generated SQL (go test ./internal/deploy -update rewrites it after a deliberate change)\n%s",
			path, firstDiff(string(want), string(got)))
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\nwant %q\n got %q", i+1, w, g)
		}
	}
	return "(same lines, different bytes)"
}

var goldenTargets = []struct{ dir, dsn string }{
	{"sqlserver", "sqlserver://sa:secret@127.0.0.1:1433?database=Hartonomous"},
	{"postgres", "postgres://hartd:secret@127.0.0.1:5432/hartd?sslmode=disable"},
	{"sqlite", "sqlite:///var/lib/hartd/hartd.db"},
}

// The SQL of every phase of every dialect, byte for byte: a change to a
// migration, a procedure or a phase's statements shows up here as a diff
// to review.
func TestDryRunGolden(t *testing.T) {
	for _, g := range goldenTargets {
		t.Run(g.dir, func(t *testing.T) {
			tg, err := ParseDSN(g.dsn)
			if err != nil {
				t.Fatal(err)
			}
			p, err := NewPlan(tg)
			if err != nil {
				t.Fatal(err)
			}
			if got := phaseNames(p.Phases); strings.Join(got, ",") != strings.Join(PhaseNames, ",") {
				t.Fatalf("phases %v, want %v", got, PhaseNames)
			}
			for i, ph := range p.Phases {
				one, err := p.Only(ph.Name)
				if err != nil {
					t.Fatal(err)
				}
				var b bytes.Buffer
				if err := (&Runner{Out: &b}).DryRun(one); err != nil {
					t.Fatal(err)
				}
				if strings.Contains(b.String(), "secret") {
					t.Fatalf("%s: the dry run prints the password", ph.Name)
				}
				golden(t, fmt.Sprintf("%s/%02d_%s.sql", g.dir, i+1, ph.Name), b.Bytes())
			}
			for _, to := range []int{0} {
				rp, err := NewRollbackPlan(tg, to)
				if err != nil {
					t.Fatal(err)
				}
				var b bytes.Buffer
				if err := (&Runner{Out: &b}).DryRun(rp); err != nil {
					t.Fatal(err)
				}
				golden(t, fmt.Sprintf("%s/rollback_to_%d.sql", g.dir, to), b.Bytes())
			}
		})
	}
}

// The whole SQL Server dry run needs no server and holds the spatial index.
func TestSQLServerDryRunIsComplete(t *testing.T) {
	tg, _ := ParseDSN("sqlserver://sa:x@127.0.0.1:1?database=Hartonomous")
	p, _ := NewPlan(tg)
	var b bytes.Buffer
	if err := (&Runner{Out: &b, Open: nil}).DryRun(p); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"CREATE DATABASE [Hartonomous]", "SET COMPATIBILITY_LEVEL = 160", "READ_COMMITTED_SNAPSHOT ON",
		"ALLOW_SNAPSHOT_ISOLATION ON", "QUERY_STORE = ON",
		"CREATE SPATIAL INDEX IX_AtomEmbeddings_SpatialGeometry", "BOUNDING_BOX = (XMIN = -1, YMIN = -2, XMAX = 2, YMAX = 2)",
		"CREATE OR ALTER PROCEDURE dbo.sp_HybridSearch", "CREATE OR ALTER PROCEDURE dbo.sp_ExactVectorSearch",
		"CREATE OR ALTER PROCEDURE dbo.sp_InitializeSpatialAnchors", "CREATE OR ALTER PROCEDURE dbo.sp_ProjectVector",
		"-- ==== 9/9 reference-data",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q", want)
		}
	}
}
