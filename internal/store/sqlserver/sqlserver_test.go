package sqlserver

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/spatial"
	"github.com/hartonomous/hartd/internal/store"
	"github.com/hartonomous/hartd/internal/store/seedtest"
	"github.com/hartonomous/hartd/internal/store/storetest"
)

const skipMessage = "skipped: HARTD_TEST_SQLSERVER_DSN not set; SQL Server cannot run on this machine"

// serverDSN returns HARTD_TEST_SQLSERVER_DSN (a login that may create
// databases) or skips.
func serverDSN(t *testing.T) string {
	t.Helper()
	d := os.Getenv("HARTD_TEST_SQLSERVER_DSN")
	if d == "" {
		t.Skip(skipMessage)
	}
	return d
}

// freshDatabase creates an empty database on the test server, dropped when
// the test ends, and returns a DSN for it.
func freshDatabase(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(serverDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("database", "master")
	u.RawQuery = q.Encode()
	admin, err := sql.Open("sqlserver", u.String())
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("hartd_store_test_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatal(err)
	}
	for _, opt := range []string{"COMPATIBILITY_LEVEL = 160", "READ_COMMITTED_SNAPSHOT ON", "ALLOW_SNAPSHOT_ISOLATION ON"} {
		if _, err := admin.Exec(`ALTER DATABASE ` + name + ` SET ` + opt); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		admin.Exec(`ALTER DATABASE ` + name + ` SET SINGLE_USER WITH ROLLBACK IMMEDIATE`)
		admin.Exec(`DROP DATABASE ` + name)
		admin.Close()
	})
	q.Set("database", name)
	u.RawQuery = q.Encode()
	return u.String()
}

func openFresh(t *testing.T) (*Store, string) {
	t.Helper()
	d := freshDatabase(t)
	s, err := Open(context.Background(), d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, d
}

// The conformance suite of store.Store, against a real SQL Server.
func TestConformance(t *testing.T) {
	serverDSN(t)
	storetest.Run(t, func(t *testing.T) (store.Store, func() store.Store) {
		s, d := openFresh(t)
		return s, func() store.Store {
			s2, err := Open(context.Background(), d, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s2.Close() })
			return s2
		}
	})
}

// SeedSearch against a brute-force computation of the seed's two steps.
func TestSeedSearch(t *testing.T) {
	serverDSN(t)
	seedtest.Run(t, func(t *testing.T) seedtest.Store {
		s, _ := openFresh(t)
		return s
	})
}

// The stored GEOMETRY is what SQL Server reads as the point (x y z).
func TestGeometry(t *testing.T) {
	s, _ := openFresh(t)
	ctx := context.Background()
	m, err := s.CreateModel(ctx, store.Model{Name: "g", Dimension: 2, Metric: embed.L2})
	if err != nil {
		t.Fatal(err)
	}
	p := spatial.Point{X: 0.5, Y: -1.25, Z: 3}
	ids, err := s.Insert(ctx, store.Batch{ModelID: m.ID, Items: []store.NewItem{{Vector: []float32{1, 2}, Point: &p}}, AnchorItems: [3]int{-1, -1, -1}})
	if err != nil {
		t.Fatal(err)
	}
	var wkt string
	var raw []byte
	if err := s.db.QueryRow(`SELECT SpatialGeometry.AsTextZM(), CAST(SpatialGeometry AS VARBINARY(MAX)) FROM dbo.AtomEmbeddings WHERE EmbeddingId = @p1`, ids[0]).Scan(&wkt, &raw); err != nil {
		t.Fatal(err)
	}
	if wkt != "POINT (0.5 -1.25 3)" || !bytes.Equal(raw, spatial.EncodeMSSQLPoint(p)) {
		t.Fatalf("stored %q %X", wkt, raw)
	}
}

// Without a server: the rows the bulk copies send.
func TestRows(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	p := spatial.Point{X: 1, Y: 2, Z: 3}
	it := store.NewItem{Vector: []float32{1, -2}, Point: &p, Text: "t", Metadata: `{"a":1}`, ContentHash: []byte{1, 2}}
	row := embeddingRow(10, 20, 30, it, at)
	if len(row) != len(embeddingColumns) {
		t.Fatalf("embedding row has %d values for %d columns", len(row), len(embeddingColumns))
	}
	if !bytes.Equal(row[4].([]byte), embed.EncodeVector(it.Vector)) || !bytes.Equal(row[5].([]byte), spatial.EncodeMSSQLPoint(p)) ||
		row[6] != 1.0 || row[7] != 2.0 || row[8] != 3.0 || row[3] != 2 || row[9] != at {
		t.Fatalf("embedding row %v", row)
	}
	bare := embeddingRow(1, 2, 3, store.NewItem{Vector: []float32{1}}, at)
	for _, i := range []int{5, 6, 7, 8} {
		if bare[i] != nil {
			t.Fatalf("a row without a point has %v in %s", bare[i], embeddingColumns[i])
		}
	}
	arow := atomRow(7, 1, it, at)
	if len(arow) != len(atomColumns) || arow[3] != "t" || arow[4] != nil || arow[6] != `{"a":1}` || arow[7] != 1 {
		t.Fatalf("atom row %v", arow)
	}
	if got := idsJSON([]int64{1, 9007199254740993}); got != "[1,9007199254740993]" {
		t.Fatalf("idsJSON = %s", got)
	}
}

// Without a server: an unreachable one is ErrUnreachable, and the message
// keeps the password out.
func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := Open(ctx, "sqlserver://sa:S3cret-pw@127.0.0.1:1?database=Hartonomous&dial+timeout=2", Options{})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Open(closed port) = %v, want ErrUnreachable", err)
	}
	if strings.Contains(err.Error(), "S3cret-pw") {
		t.Fatalf("the error shows the password: %v", err)
	}
}
