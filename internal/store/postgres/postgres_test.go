package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/migrate"
	"github.com/hartonomous/hartd/internal/spatial"
	"github.com/hartonomous/hartd/internal/store"
	"github.com/hartonomous/hartd/internal/store/seedtest"
	"github.com/hartonomous/hartd/internal/store/storetest"
	hartsql "github.com/hartonomous/hartd/sql"
)

// The tests run on the server of HARTD_TEST_POSTGRES_DSN, in a database
// created for the run (hartd_test_<pid>_<n>, dropped at its end), with a
// fresh schema per store (dropped by the test's cleanup).
const envDSN = "HARTD_TEST_POSTGRES_DSN"

var testDB struct {
	once  sync.Once
	admin string // the server's DSN as given
	name  string // the run's database
	dsn   string // DSN of the run's database
	err   error
}

var schemaSeq atomic.Int64

func TestMain(m *testing.M) {
	code := m.Run()
	if testDB.name != "" {
		if err := dropDatabase(context.Background(), testDB.admin, testDB.name); err != nil {
			fmt.Fprintf(os.Stderr, "postgres tests: drop database %s: %v\n", testDB.name, err)
		}
	}
	os.Exit(code)
}

// serverDSN returns the test server's DSN, or skips the test (fails it in
// CI) when there is none.
func serverDSN(tb testing.TB) string {
	tb.Helper()
	d := os.Getenv(envDSN)
	if d == "" {
		if os.Getenv("CI") != "" {
			tb.Fatalf("%s is not set: in CI the PostgreSQL store's tests must run; scripts/test.sh starts a PostgreSQL + PostGIS server and sets it", envDSN)
		}
		tb.Skipf("skipped: %s not set (scripts/test.sh starts a local PostgreSQL + PostGIS server and sets it)", envDSN)
	}
	return d
}

// withParams returns d (URL or keyword form) naming database db, with the
// given run-time parameters and user info.
func withParams(tb testing.TB, d, db string, params map[string]string, user *url.Userinfo) string {
	tb.Helper()
	if strings.Contains(d, "://") {
		u, err := url.Parse(d)
		if err != nil {
			tb.Fatalf("%s: %v", envDSN, err)
		}
		if db != "" {
			u.Path = "/" + db
		}
		if user != nil {
			u.User = user
		}
		q := u.Query()
		for k, v := range params {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	if db != "" {
		d += " dbname=" + db
	}
	if user != nil {
		pw, _ := user.Password()
		d += fmt.Sprintf(" user=%s password='%s'", user.Username(), pw)
	}
	for k, v := range params {
		d += fmt.Sprintf(" %s='%s'", k, v)
	}
	return d
}

// database returns the DSN of the run's database, creating it (with
// PostGIS) on first use.
func database(tb testing.TB) string {
	tb.Helper()
	admin := serverDSN(tb)
	testDB.once.Do(func() {
		ctx := context.Background()
		testDB.admin = admin
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			testDB.err = fmt.Errorf("connect to %s: %w", envDSN, err)
			return
		}
		defer conn.Close(ctx)
		name := fmt.Sprintf("hartd_test_%d_%d", os.Getpid(), rand.Uint32())
		if _, err := conn.Exec(ctx, `CREATE DATABASE `+name); err != nil {
			testDB.err = fmt.Errorf("create database %s: %w", name, err)
			return
		}
		testDB.name = name
		testDB.dsn = withParams(tb, admin, name, nil, nil)
		c2, err := pgx.Connect(ctx, testDB.dsn)
		if err != nil {
			testDB.err = err
			return
		}
		defer c2.Close(ctx)
		if _, err := c2.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS postgis`); err != nil {
			testDB.err = fmt.Errorf("create extension postgis in %s (is postgresql-NN-postgis-3 installed on the server?): %w", name, err)
		}
	})
	if testDB.err != nil {
		tb.Fatal(testDB.err)
	}
	return testDB.dsn
}

func dropDatabase(ctx context.Context, admin, name string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	return err
}

// freshSchema returns a DSN whose search_path starts with a new, empty
// schema, dropped when the test ends.
func freshSchema(tb testing.TB) (dsnStr, schema string) {
	tb.Helper()
	ctx := context.Background()
	db := database(tb)
	schema = fmt.Sprintf("hartd_s%d", schemaSeq.Add(1))
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		conn, err := pgx.Connect(ctx, db)
		if err != nil {
			tb.Error(err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			tb.Error(err)
		}
	})
	return withParams(tb, db, "", map[string]string{"search_path": schema + ",public"}, nil), schema
}

func openFresh(tb testing.TB, opts Options) *Store {
	tb.Helper()
	d, _ := freshSchema(tb)
	s, err := Open(context.Background(), d, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func conformance(t *testing.T, opts Options) {
	storetest.Run(t, func(t *testing.T) (store.Store, func() store.Store) {
		d, _ := freshSchema(t)
		s, err := Open(context.Background(), d, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		reopen := func() store.Store {
			s2, err := Open(context.Background(), d, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s2.Close() })
			return s2
		}
		return s, reopen
	})
}

// TestConformance runs the store suite with the default COPY threshold, and
// with every batch through COPY and through pipelined INSERTs.
func TestConformance(t *testing.T) {
	serverDSN(t)
	t.Run("default", func(t *testing.T) { conformance(t, Options{}) })
	t.Run("copy", func(t *testing.T) { conformance(t, Options{CopyThreshold: -1}) })
	t.Run("insert", func(t *testing.T) { conformance(t, Options{CopyThreshold: 1 << 30}) })
}

func TestSeedSearch(t *testing.T) {
	seedtest.Run(t, func(t *testing.T) seedtest.Store {
		s := openFresh(t, Options{})
		return s
	})
}

func randVec(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	embed.Normalize(v)
	return v
}

// TestCopyIsAtomic: a COPY that fails on its 70th row leaves no atom and no
// embedding.
func TestCopyIsAtomic(t *testing.T) {
	ctx := context.Background()
	s := openFresh(t, Options{})
	m, err := s.CreateModel(ctx, store.Model{Name: "m", Dimension: 4, Metric: embed.Cosine})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	items := make([]store.NewItem, 100)
	for i := range items {
		items[i] = store.NewItem{Vector: randVec(r, 4), Text: "t", Metadata: `{"a":1}`}
	}
	items[70].Metadata = `"a string"`
	if _, err := s.Insert(ctx, store.Batch{ModelID: m.ID, Items: items, AnchorItems: [3]int{-1, -1, -1}}); err == nil {
		t.Fatal("a COPY batch with a bad item succeeded")
	}
	for _, table := range []string{"Atoms", "AtomEmbeddings"} {
		var n int
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%s has %d rows after a failed Insert (%v)", table, n, err)
		}
	}
	if _, err := s.Insert(ctx, store.Batch{ModelID: m.ID + 99, Items: items[:50], AnchorItems: [3]int{-1, -1, -1}}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("COPY into a missing model = %v, want ErrNotFound", err)
	}
}

// TestGeometry: both write paths store the point as geometry(PointZ, 0),
// which reads back as the EWKB that spatial.EncodeEWKB writes.
func TestGeometry(t *testing.T) {
	ctx := context.Background()
	for _, threshold := range []int{-1, 1 << 30} {
		s := openFresh(t, Options{CopyThreshold: threshold})
		m, err := s.CreateModel(ctx, store.Model{Name: "m", Dimension: 3, Metric: embed.L2})
		if err != nil {
			t.Fatal(err)
		}
		pts := []spatial.Point{{X: 1, Y: 2, Z: 3}, {X: -0.125, Y: 1e-300, Z: 0}}
		items := []store.NewItem{{Vector: []float32{1, 2, 3}, Point: &pts[0]}, {Vector: []float32{4, 5, 6}, Point: &pts[1]}, {Vector: []float32{7, 8, 9}}}
		ids, err := s.Insert(ctx, store.Batch{ModelID: m.ID, Items: items, AnchorItems: [3]int{-1, -1, -1}})
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range ids {
			var ewkb []byte
			var typ *string
			var srid *int
			err := s.pool.QueryRow(ctx, `SELECT ST_AsEWKB("SpatialGeometry", 'NDR'), GeometryType("SpatialGeometry"), ST_SRID("SpatialGeometry")
FROM "AtomEmbeddings" WHERE "EmbeddingId" = $1`, id).Scan(&ewkb, &typ, &srid)
			if err != nil {
				t.Fatal(err)
			}
			if items[i].Point == nil {
				if ewkb != nil {
					t.Fatalf("threshold %d: item %d without a point has geometry %x", threshold, i, ewkb)
				}
				continue
			}
			p, gotSRID, err := spatial.DecodeEWKB(ewkb)
			if err != nil || p != *items[i].Point || gotSRID != 0 || *typ != "POINT" || *srid != 0 {
				t.Fatalf("threshold %d: item %d geometry %x (%v, SRID %v) = %v, %v; want %v", threshold, i, ewkb, *typ, *srid, p, err, *items[i].Point)
			}
			if want := spatial.EncodeEWKB(p); string(want) != string(ewkb) {
				t.Fatalf("PostGIS EWKB %x, spatial.EncodeEWKB %x", ewkb, want)
			}
		}
	}
}

// TestSchema: the mixed-case names are kept, the indexes exist, Open is
// idempotent, concurrent Opens migrate once, and the down script leaves no
// hartd table.
func TestSchema(t *testing.T) {
	ctx := context.Background()
	d, schema := freshSchema(t)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(ctx, d, Options{})
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	s, err := Open(ctx, d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM `+schema+`.hartdschemahistory`).Scan(&n); err != nil || n != 2 { // 0001 and 0002
		t.Fatalf("history rows = %d, %v", n, err)
	}
	tables := func() map[string]bool {
		rows, err := s.pool.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, schema)
		if err != nil {
			t.Fatal(err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, n := range names {
			out[n] = true
		}
		return out
	}
	got := tables()
	for _, want := range []string{"Tenants", "Models", "Atoms", "AtomEmbeddings", "SpatialAnchors", "hartdschemahistory"} {
		if !got[want] {
			t.Errorf("table %q missing; have %v", want, got)
		}
	}
	var udt string
	if err := s.pool.QueryRow(ctx, `SELECT format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = '"AtomEmbeddings"'::regclass AND attname = 'SpatialGeometry'`).Scan(&udt); err != nil || udt != "geometry(PointZ)" {
		t.Errorf(`"AtomEmbeddings"."SpatialGeometry" is %q (%v), want geometry(PointZ)`, udt, err)
	}
	var am string
	if err := s.pool.QueryRow(ctx, `SELECT am.amname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
WHERE c.relname = 'IX_AtomEmbeddings_Spatial' AND c.relnamespace = $1::regnamespace`, schema).Scan(&am); err != nil || am != "gist" {
		t.Errorf("IX_AtomEmbeddings_Spatial uses %q (%v), want gist", am, err)
	}
	ms, err := migrate.Load(hartsql.FS, "postgres/migrations")
	if err != nil {
		t.Fatal(err)
	}
	sqlDB := stdlib.OpenDBFromPool(s.pool)
	defer sqlDB.Close()
	r := &migrate.Runner{DB: sqlDB, Dialect: migrate.Postgres, Migrations: ms}
	if done, err := r.Down(ctx, 0); err != nil || len(done) != len(ms) {
		t.Fatalf("Down(0) = %v, %v", done, err)
	}
	if got := tables(); len(got) != 1 || !got["hartdschemahistory"] {
		t.Fatalf("tables after Down(0): %v, want only the history", got)
	}
	if done, err := r.Up(ctx, -1); err != nil || len(done) != len(ms) {
		t.Fatalf("Up after Down = %v, %v", done, err)
	}
}

func TestSkipMessage(t *testing.T) {
	if os.Getenv(envDSN) != "" || os.Getenv("CI") != "" {
		t.Skip("the variable is set (or CI): nothing to check")
	}
	// serverDSN skips with the message the brief asks for; run it in a
	// subtest and check that it skipped.
	var skipped bool
	t.Run("probe", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		serverDSN(t)
	})
	if !skipped {
		t.Fatal("serverDSN did not skip without the variable")
	}
}

// closedPort returns a loopback port on which nothing listens.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestOpenUnreachable(t *testing.T) {
	port := closedPort(t)
	d := fmt.Sprintf("postgres://hartd:Secret-Pw-42@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=5", port)
	_, err := Open(context.Background(), d, Options{})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Open on a closed port = %v, want ErrUnreachable", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, fmt.Sprintf("127.0.0.1:%d", port)) || strings.Contains(msg, "Secret-Pw-42") {
		t.Fatalf("message must name the address and hide the password: %s", msg)
	}
	t.Log(msg)
}

func TestOpenBadDSNHidesPassword(t *testing.T) {
	for _, d := range []string{
		"postgres://hartd:Secret-Pw-42@127.0.0.1:notaport/db",
		"postgres://hartd:Secret-Pw-42@127.0.0.1/db?sslmode=sometimes",
		"host=127.0.0.1 password=Secret-Pw-42 port=notaport",
		"postgres://hartd:Secret%20Pw%2042@[::1/db",
	} {
		_, err := Open(context.Background(), d, Options{})
		if err == nil {
			t.Fatalf("Open(%q) succeeded", d)
		}
		if msg := err.Error(); strings.Contains(msg, "Secret") || strings.Contains(msg, "Pw-42") {
			t.Fatalf("the message shows the password: %s", msg)
		}
	}
}

func TestOpenWrongPassword(t *testing.T) {
	ctx := context.Background()
	admin := serverDSN(t)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DO $$ BEGIN
    CREATE ROLE hartd_pwtest LOGIN PASSWORD 'Right-Pw-42';
EXCEPTION WHEN duplicate_object THEN
    ALTER ROLE hartd_pwtest LOGIN PASSWORD 'Right-Pw-42';
END $$`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.Exec(ctx, `DROP ROLE IF EXISTS hartd_pwtest`) })
	d := withParams(t, admin, "", nil, url.UserPassword("hartd_pwtest", "Wrong-Pw-42"))
	s, err := Open(ctx, d, Options{})
	if err == nil {
		s.Close()
		t.Skip("the server trusts hartd_pwtest (pg_hba.conf): no password is checked; scripts/test.sh's server checks it")
	}
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "authentication") || strings.Contains(err.Error(), "Wrong-Pw-42") {
		t.Fatalf("Open with a wrong password = %v; want ErrAuth, naming authentication, without the password", err)
	}
	t.Log(err)
}

func TestOpenMissingDatabase(t *testing.T) {
	d := withParams(t, serverDSN(t), "hartd_no_such_database", nil, nil)
	_, err := Open(context.Background(), d, Options{})
	if !errors.Is(err, ErrNoDatabase) || !strings.Contains(err.Error(), "CREATE DATABASE") {
		t.Fatalf("Open of a missing database = %v, want ErrNoDatabase", err)
	}
}

// TestOpenWithoutPostGIS runs the real check on the real server for an
// extension that no server has, as a server without PostGIS's files would
// answer for postgis.
func TestOpenWithoutPostGIS(t *testing.T) {
	d, _ := freshSchema(t)
	old := requiredExtension
	requiredExtension = "postgis_not_installed_here"
	defer func() { requiredExtension = old }()
	_, err := Open(context.Background(), d, Options{})
	if !errors.Is(err, ErrNoPostGIS) {
		t.Fatalf("Open = %v, want ErrNoPostGIS", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "pg_available_extensions") || !strings.Contains(msg, "apt-get install postgresql-") {
		t.Fatalf("message does not say the cause and the fix: %s", msg)
	}
	t.Log(msg)
}

func TestNoExtensionMessage(t *testing.T) {
	err := noExtensionError("postgis", "db.example:5432, database \"hartd\"", 150004)
	want := `postgres: PostGIS is not available: the server at db.example:5432, database "hartd" has no "postgis" extension ` +
		`(it is not in pg_available_extensions): install PostGIS on the database server ` +
		`(Debian/Ubuntu: apt-get install postgresql-15-postgis-3) and start hartd again`
	if !errors.Is(err, ErrNoPostGIS) || err.Error() != want {
		t.Fatalf("noExtensionError =\n%s\nwant\n%s", err, want)
	}
}

func TestClosedStore(t *testing.T) {
	s := openFresh(t, Options{})
	s.Close()
	if _, err := s.SeedSearch(context.Background(), 1, embed.L2, []float32{1}, spatial.Point{}, 1, 1); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("SeedSearch after Close = %v", err)
	}
}

// TestOpenMayNotCreatePostGIS: PostGIS is on the server but not in the
// database, and the role may not create it: the message says who must run
// what.
func TestOpenMayNotCreatePostGIS(t *testing.T) {
	ctx := context.Background()
	database(t) // the run's database, for its name
	admin := serverDSN(t)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	db := testDB.name + "_noext"
	for _, q := range []string{
		`DO $$ BEGIN CREATE ROLE hartd_noext LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
		`CREATE DATABASE ` + db,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_ = dropDatabase(ctx, admin, db)
		_, _ = conn.Exec(ctx, `DROP ROLE IF EXISTS hartd_noext`)
	})
	d := withParams(t, admin, db, nil, url.User("hartd_noext"))
	_, err = Open(ctx, d, Options{})
	if !isCode(err, "42501") {
		t.Skipf("the server does not let hartd_noext in without a password, or let it create tables: %v", err)
	}
	// PostgreSQL 15 lets only the owner create in schema public.
	if !strings.Contains(err.Error(), "GRANT CREATE ON SCHEMA") {
		t.Fatalf("message lacks the fix: %v", err)
	}
	t.Log(err)
	c2, err := pgx.Connect(ctx, withParams(t, admin, db, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c2.Exec(ctx, `GRANT CREATE ON SCHEMA public TO hartd_noext`)
	c2.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, d, Options{})
	if err == nil {
		s.Close()
		t.Fatal("a role that may not create extensions migrated a database without PostGIS")
	}
	for _, want := range []string{"CREATE EXTENSION postgis", "superuser", db} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("message lacks %q: %v", want, err)
		}
	}
	t.Log(err)
}
