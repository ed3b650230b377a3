package open

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hartonomous/hartd/internal/store/postgres"
	"github.com/hartonomous/hartd/internal/store/sqlite"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		dsn  string
		want Target
		err  error
	}{
		{"", Target{Dialect: SQLite}, nil},
		{"  ", Target{Dialect: SQLite}, nil},
		{"sqlite:///var/lib/hartd/hart.db", Target{Dialect: SQLite, Path: "/var/lib/hartd/hart.db"}, nil},
		{"sqlite://data/hart.db", Target{Dialect: SQLite, Path: "data/hart.db"}, nil},
		{"sqlite:hart.db?synchronous=normal", Target{Dialect: SQLite, Path: "hart.db", Synchronous: "normal"}, nil},
		{"SQLite:///a%20b/hart.db", Target{Dialect: SQLite, Path: "/a b/hart.db"}, nil},
		{"sqlite:///", Target{}, ErrUnknownDSN},
		{"sqlite:///x.db?cache=shared", Target{}, ErrUnknownDSN},
		{"postgres://hartd@127.0.0.1:5432/hartd?sslmode=disable", Target{Dialect: Postgres, DSN: "postgres://hartd@127.0.0.1:5432/hartd?sslmode=disable"}, nil},
		{"postgresql://u:p@h/d", Target{Dialect: Postgres, DSN: "postgresql://u:p@h/d"}, nil},
		{"sqlserver://sa:pw@h:1433?database=hartd", Target{Dialect: SQLServer, DSN: "sqlserver://sa:pw@h:1433?database=hartd"}, nil},
		{"mysql://u:p@h/d", Target{}, ErrUnknownDSN},
		{"hart.db", Target{}, ErrUnknownDSN},
	} {
		got, err := Parse(tc.dsn)
		if !errors.Is(err, tc.err) || (err == nil && got != tc.want) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v, %v", tc.dsn, got, err, tc.want, tc.err)
		}
	}
}

// TestSecretsNeverShow: no error of Open shows a DSN's password.
func TestSecretsNeverShow(t *testing.T) {
	ctx := context.Background()
	for _, d := range []string{
		"mysql://root:Hush-Pw-77@db/hartd",
		"sqlserver://sa:Hush-Pw-77@127.0.0.1:1433?database=hartd",
		"sqlserver://127.0.0.1?database=hartd&password=Hush-Pw-77",
		"postgres://hartd:Hush-Pw-77@127.0.0.1:1/hartd?sslmode=disable&connect_timeout=2",
		"postgres://hartd:Hush-Pw-77@127.0.0.1:notaport/hartd",
		"postgresql://127.0.0.1:1/hartd?password=Hush-Pw-77&connect_timeout=2",
		"oops host=h password=Hush-Pw-77",
	} {
		_, err := Open(ctx, d, Options{DataDir: t.TempDir()})
		if err == nil {
			t.Fatalf("Open(%q) succeeded", d)
		}
		if strings.Contains(err.Error(), "Hush") || strings.Contains(err.Error(), "Pw-77") {
			t.Errorf("Open(%q) error shows the password: %v", d, err)
		}
	}
}

// TestOpenSQLServer: a sqlserver:// DSN reaches the SQL Server store (here
// its error for a closed port), whose message hides the password.
func TestOpenSQLServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	d := fmt.Sprintf("sqlserver://sa:Hush-Pw-77@127.0.0.1:%d?database=hartd&dial+timeout=5", port)
	_, err = Open(context.Background(), d, Options{})
	if err == nil || errors.Is(err, ErrUnknownDSN) || !strings.Contains(err.Error(), "sqlserver") {
		t.Fatalf("Open(sqlserver://…) = %v, want the SQL Server store's error", err)
	}
	if strings.Contains(err.Error(), "Hush") {
		t.Fatalf("the message shows the password: %v", err)
	}
}

func TestOpenSQLite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, "", Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if p := s.(*sqlite.Store).Path(); p != filepath.Join(dir, sqlite.FileName) {
		t.Fatalf("path %s", p)
	}
	s.Close()
	file := filepath.Join(t.TempDir(), "x.db")
	s, err = Open(ctx, "sqlite://"+file+"?synchronous=normal", Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, "sqlite://"+file+"?synchronous=sometimes", Options{}); err == nil {
		t.Fatal("synchronous=sometimes accepted")
	}
}

func TestOpenPostgres(t *testing.T) {
	d := os.Getenv("HARTD_TEST_POSTGRES_DSN")
	if d == "" {
		t.Skip("skipped: HARTD_TEST_POSTGRES_DSN not set (scripts/test.sh starts a local PostgreSQL + PostGIS server and sets it)")
	}
	// Routing only, without touching the server: a database that does not
	// exist gets the postgres store's own error. (The postgres package's
	// tests cover the store on fresh schemas.)
	u, err := url.Parse(d)
	if err != nil {
		t.Skipf("HARTD_TEST_POSTGRES_DSN is not a URL: %v", err)
	}
	u.Scheme, u.Path = "postgresql", "/hartd_no_such_database"
	if _, err := Open(context.Background(), u.String(), Options{}); !errors.Is(err, postgres.ErrNoDatabase) {
		t.Fatalf("Open(postgresql://…/hartd_no_such_database) = %v, want postgres.ErrNoDatabase", err)
	}
}
