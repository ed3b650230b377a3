package deploy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hartonomous/hartd/internal/migrate"
)

// sqlitePageSize is the page size of a database the database phase
// creates; the embedded store creates its databases with the same.
const sqlitePageSize = 16 << 10

var sqliteDialect = dialect{
	migrate:     migrate.SQLite,
	migrations:  "sqlite/migrations",
	table:       func(name string) string { return name },
	tableExists: `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`,
	historyName: migrate.HistoryTable,
	dropHistory: `DROP TABLE IF EXISTS ` + migrate.HistoryTable,
	ph:          func(int) string { return "?" },
}

// Reasons shared by the dialects that have no such thing.
const (
	reasonFilestream    = "hartd stores no out-of-row blobs: vectors are float32 bytes in the embedding row, so no FILESTREAM filegroup is needed"
	reasonCLR           = "the SIMD vector math runs in hartd itself, so no CLR assembly is created and no UNSAFE assembly is trusted"
	reasonServiceBroker = "the OODA loop runs inside hartd (analyze, hypothesize, act, learn over its own measurements): no queues, contracts or activation procedures in the database"
	reasonNoProcedures  = "SQLite has no stored procedures: SQL-side clients use hartd's gRPC API (hybrid and exact search, projection) instead"
)

func sqlitePhases(t Target) []Phase {
	d := sqliteDialect
	return []Phase{
		sqlitePrerequisites(t),
		sqliteDatabase(t),
		notApplicable(PhaseFilestream, StatusNotApplicable, "SQLite has no FILESTREAM; "+reasonFilestream),
		notApplicable(PhaseCLR, StatusNotApplicable, "SQLite has no CLR; "+reasonCLR),
		migrationsPhase(d, nil),
		notApplicable(PhaseProcedures, StatusNotApplicable, reasonNoProcedures),
		notApplicable(PhaseServiceBroker, StatusInProcess, reasonServiceBroker),
		verificationPhase(d, sqliteVerifyScript, sqliteVerify),
		referenceDataPhase(d),
	}
}

func sqliteRollback(t Target, to int) []Phase {
	return []Phase{
		notApplicable(PhaseProcedures, StatusNotApplicable, reasonNoProcedures),
		rollbackPhase(sqliteDialect, to),
	}
}

const (
	sqliteVersion = `SELECT sqlite_version()`
	sqliteRTree   = `CREATE VIRTUAL TABLE temp.hartd_rtree_probe USING rtree (id, min_x, max_x)`
	sqliteJSON    = `SELECT json_type('{"a":1}')`
)

func sqlitePrerequisites(t Target) Phase {
	return Phase{
		Name: PhasePrerequisites,
		Script: func() ([]Step, error) {
			return []Step{
				{On: ":memory:", When: "the SQLite version, its R*Tree and JSON functions", SQL: sqliteVersion},
				{On: ":memory:", SQL: sqliteRTree},
				{On: ":memory:", SQL: sqliteJSON},
				{When: "and the database file's directory must exist and be writable, or be creatable"},
			}, nil
		},
		Run: func(ctx context.Context, s *Session) (Result, error) {
			db, err := s.open(ctx, SQLite, ":memory:")
			if err != nil {
				return Result{}, fmt.Errorf("open an in-memory SQLite database: %w", err)
			}
			defer db.Close()
			var version, jt string
			if err := db.QueryRowContext(ctx, sqliteVersion).Scan(&version); err != nil {
				return Result{}, err
			}
			if _, err := db.ExecContext(ctx, sqliteRTree); err != nil {
				return Result{}, fail(fmt.Errorf("SQLite %s has no R*Tree module: %w", version, err), "build hartd with modernc.org/sqlite, which includes R*Tree")
			}
			if err := db.QueryRowContext(ctx, sqliteJSON).Scan(&jt); err != nil {
				return Result{}, fail(fmt.Errorf("SQLite %s has no JSON functions: %w", version, err), "build hartd with modernc.org/sqlite, which includes JSON")
			}
			dirNote, err := sqliteDirCheck(t.Database)
			if err != nil {
				return Result{}, err
			}
			return result(StatusOK,
				fmt.Sprintf("SQLite %s (modernc.org/sqlite, pure Go): R*Tree and JSON functions present", version),
				dirNote), nil
		},
	}
}

// sqliteDirCheck checks that the database file can be created or opened for
// writing, creating nothing.
func sqliteDirCheck(path string) (string, error) {
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			return "", failf("name a file, not a directory, in sqlite:///PATH", "%s is a directory", path)
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return "", fail(err, "make %s readable and writable by this user", path)
		}
		f.Close()
		return fmt.Sprintf("%s exists and is writable", path), nil
	}
	dir := filepath.Dir(path)
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				return "", failf("choose a path whose parents are directories", "%s is not a directory", d)
			}
			probe, err := os.CreateTemp(d, ".hartd-deploy-probe-*")
			if err != nil {
				return "", fail(fmt.Errorf("cannot create files in %s: %w", d, err), "make %s writable by this user, or choose another path", d)
			}
			probe.Close()
			os.Remove(probe.Name())
			if d == dir {
				return fmt.Sprintf("%s does not exist yet; %s is writable", path, dir), nil
			}
			return fmt.Sprintf("%s does not exist yet; %s will be created in %s", path, dir, d), nil
		}
		if !errors.Is(err, fs.ErrNotExist) || filepath.Dir(d) == d {
			return "", fail(err, "choose a path hartd can create")
		}
	}
}

const (
	sqlitePageSizeSet = `PRAGMA page_size = 16384`
	sqliteWALSet      = `PRAGMA journal_mode = WAL`
	sqliteWALGet      = `PRAGMA journal_mode`
	sqlitePageSizeGet = `PRAGMA page_size`
)

func sqliteDatabase(t Target) Phase {
	return Phase{
		Name: PhaseDatabase,
		Script: func() ([]Step, error) {
			return []Step{
				{When: "when the file does not exist: create its directory and the file, with 16 KiB pages", SQL: sqlitePageSizeSet},
				{SQL: sqliteWALGet},
				{When: "when the journal mode is not WAL", SQL: sqliteWALSet},
			}, nil
		},
		Run: func(ctx context.Context, s *Session) (Result, error) {
			path := t.Database
			_, err := os.Stat(path)
			created := errors.Is(err, fs.ErrNotExist)
			if created {
				if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
					return Result{}, fail(err, "make the directory of %s creatable, or choose another path", path)
				}
			}
			db, err := s.DB(ctx, "")
			if err != nil {
				return Result{}, err
			}
			if created {
				if _, err := db.ExecContext(ctx, sqlitePageSizeSet); err != nil {
					return Result{}, err
				}
			}
			var mode string
			if err := db.QueryRowContext(ctx, sqliteWALGet).Scan(&mode); err != nil {
				return Result{}, fail(err, "%s is not an SQLite database, or is damaged: move it away or choose another path", path)
			}
			res := Result{Status: StatusUnchanged}
			was := mode
			if !strings.EqualFold(mode, "wal") {
				if err := db.QueryRowContext(ctx, sqliteWALSet).Scan(&mode); err != nil {
					return Result{}, err
				}
				if !strings.EqualFold(mode, "wal") {
					return Result{}, failf("close the other connections to the database and run again", "journal mode stays %q after PRAGMA journal_mode = WAL", mode)
				}
				res.Status = StatusChanged
			}
			var page int
			if err := db.QueryRowContext(ctx, sqlitePageSizeGet).Scan(&page); err != nil {
				return Result{}, err
			}
			switch {
			case created:
				res.Status = StatusChanged
				res.Notes = append(res.Notes, fmt.Sprintf("created %s: page size %d, journal mode WAL", path, page))
			case res.Status == StatusChanged:
				res.Notes = append(res.Notes, fmt.Sprintf("%s exists: journal mode set to WAL (was %s)", path, was))
			default:
				res.Notes = append(res.Notes, fmt.Sprintf("%s exists: page size %d, journal mode WAL", path, page))
			}
			return res, nil
		},
	}
}

func sqliteVerifyScript() []Step {
	return []Step{
		{SQL: `SELECT sql FROM sqlite_master WHERE name = 'AtomEmbeddingsSpatialIndex'`},
		{SQL: sqliteWALGet},
		{SQL: `SELECT COUNT(*) FROM Tenants WHERE TenantId = 1`},
	}
}

func sqliteVerify(ctx context.Context, _ *Session, db *sql.DB, c *checks) error {
	var ddl string
	err := db.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = 'AtomEmbeddingsSpatialIndex'`).Scan(&ddl)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		c.add("spatial index AtomEmbeddingsSpatialIndex", "R*Tree", "missing", false)
	case err != nil:
		return err
	default:
		ok := strings.Contains(strings.ToLower(ddl), "using rtree")
		found := "R*Tree"
		if !ok {
			found = "not an R*Tree"
		}
		c.add("spatial index AtomEmbeddingsSpatialIndex", "R*Tree", found, ok)
	}
	var mode string
	if err := db.QueryRowContext(ctx, sqliteWALGet).Scan(&mode); err != nil {
		return err
	}
	c.add("journal mode", "wal", mode, strings.EqualFold(mode, "wal"))
	if ok, err := sqliteDialect.exists(ctx, db, "Tenants"); err != nil || !ok {
		return err
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM Tenants WHERE TenantId = 1`).Scan(&n); err != nil {
		return err
	}
	c.add("default tenant", "tenant 1", fmt.Sprintf("%d row(s)", n), n == 1)
	return nil
}
