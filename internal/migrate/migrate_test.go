package migrate

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"testing/fstest"

	_ "modernc.org/sqlite"

	hartsql "github.com/hartonomous/hartd/sql"
)

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func testFS() fstest.MapFS {
	return fstest.MapFS{
		"m/0001_a.up.sql":   {Data: []byte("CREATE TABLE A (x INTEGER);")},
		"m/0001_a.down.sql": {Data: []byte("DROP TABLE A;")},
		"m/0002_b.up.sql":   {Data: []byte("CREATE TABLE B (x INTEGER); INSERT INTO B VALUES (1);")},
		"m/0002_b.down.sql": {Data: []byte("DROP TABLE B;")},
	}
}

func tables(t *testing.T, db *sql.DB) map[string]bool {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`) // sqlite_sequence is SQLite's own (AUTOINCREMENT)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		out[n] = true
	}
	return out
}

func TestUpDownIdempotent(t *testing.T) {
	ctx := context.Background()
	ms, err := Load(testFS(), "m")
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{DB: openDB(t), Dialect: SQLite, Migrations: ms}
	if done, err := r.Up(ctx, 1); err != nil || len(done) != 1 {
		t.Fatalf("Up(1) = %v, %v", done, err)
	}
	if done, err := r.Up(ctx, -1); err != nil || len(done) != 1 || done[0].Version != 2 {
		t.Fatalf("Up(all) = %v, %v; want version 2 applied", done, err)
	}
	if done, err := r.Up(ctx, -1); err != nil || len(done) != 0 {
		t.Fatalf("second Up = %v, %v; want nothing applied", done, err)
	}
	if tb := tables(t, r.DB); !tb["A"] || !tb["B"] {
		t.Fatalf("tables after Up: %v", tb)
	}
	if done, err := r.Down(ctx, 0); err != nil || len(done) != 2 || done[0].Version != 2 {
		t.Fatalf("Down(0) = %v, %v", done, err)
	}
	if tb := tables(t, r.DB); tb["A"] || tb["B"] {
		t.Fatalf("tables after Down(0): %v", tb)
	}
	if h, _ := r.History(ctx); len(h) != 0 {
		t.Fatalf("history after Down(0): %v", h)
	}
}

func TestChecksumMismatch(t *testing.T) {
	ctx := context.Background()
	fsys := testFS()
	ms, _ := Load(fsys, "m")
	r := &Runner{DB: openDB(t), Dialect: SQLite, Migrations: ms}
	if _, err := r.Up(ctx, -1); err != nil {
		t.Fatal(err)
	}
	fsys["m/0001_a.up.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE A (x INTEGER, y INTEGER);")}
	r.Migrations, _ = Load(fsys, "m")
	if _, err := r.Up(ctx, -1); !errors.Is(err, ErrChecksum) {
		t.Fatalf("Up with an edited migration = %v, want ErrChecksum", err)
	}
	r.Migrations = r.Migrations[:0]
	if _, err := r.Up(ctx, -1); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Up with fewer migrations than applied = %v, want ErrNewerSchema", err)
	}
}

// A failing migration leaves neither its changes nor a history row.
func TestFailedMigrationRollsBack(t *testing.T) {
	ctx := context.Background()
	fsys := testFS()
	fsys["m/0002_b.up.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE B (x INTEGER); INSERT INTO Nope VALUES (1);")}
	ms, _ := Load(fsys, "m")
	r := &Runner{DB: openDB(t), Dialect: SQLite, Migrations: ms}
	if _, err := r.Up(ctx, -1); err == nil {
		t.Fatal("Up with a broken migration succeeded")
	}
	if tb := tables(t, r.DB); tb["B"] || !tb["A"] {
		t.Fatalf("tables after a failed migration 2: %v", tb)
	}
	if h, _ := r.History(ctx); len(h) != 1 {
		t.Fatalf("history after a failed migration 2: %v", h)
	}
}

func TestLoadRejectsMalformedFolders(t *testing.T) {
	tests := map[string]fstest.MapFS{
		"gap":        {"m/0001_a.up.sql": {}, "m/0001_a.down.sql": {}, "m/0003_c.up.sql": {}, "m/0003_c.down.sql": {}},
		"no down":    {"m/0001_a.up.sql": {Data: []byte("x")}},
		"bad name":   {"m/1_a.up.sql": {}},
		"two names":  {"m/0001_a.up.sql": {}, "m/0001_b.down.sql": {}},
		"stray file": {"m/README": {}},
	}
	for name, fsys := range tests {
		if _, err := Load(fsys, "m"); !errors.Is(err, ErrBadMigration) {
			t.Errorf("%s: Load = %v, want ErrBadMigration", name, err)
		}
	}
}

// The shipped SQLite migrations apply, roll back to nothing, and apply again.
func TestShippedSQLiteMigrations(t *testing.T) {
	ctx := context.Background()
	ms, err := Load(hartsql.FS, "sqlite/migrations")
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{DB: openDB(t), Dialect: SQLite, Migrations: ms}
	for round := 0; round < 2; round++ {
		if _, err := r.Up(ctx, -1); err != nil {
			t.Fatalf("round %d: Up: %v", round, err)
		}
		if _, err := r.Down(ctx, 0); err != nil {
			t.Fatalf("round %d: Down: %v", round, err)
		}
		if tb := tables(t, r.DB); len(tb) != 1 || !tb[HistoryTable] {
			t.Fatalf("round %d: tables left after Down(0): %v", round, tb)
		}
	}
}
