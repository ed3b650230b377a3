package deploy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/hartonomous/hartd/internal/migrate"
)

// MinPostgresVersion is the oldest PostgreSQL hartd deploys to (13, as
// server_version_num).
const MinPostgresVersion = 130000

var postgresDialect = dialect{
	migrate:     migrate.Postgres,
	migrations:  "postgres/migrations",
	table:       func(name string) string { return `"` + name + `"` },
	tableExists: `SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = $1`,
	// The runner names the history table without quotes: PostgreSQL folds
	// it to lower case.
	historyName: strings.ToLower(migrate.HistoryTable),
	dropHistory: `DROP TABLE IF EXISTS ` + migrate.HistoryTable,
	ph:          migrate.Postgres.Placeholder,
}

var postgresProcs = procDialect{
	dir:   "postgres/procedures",
	split: func(s string) ([]string, error) { return []string{strings.TrimSpace(s)}, nil },
	createHistory: `CREATE TABLE IF NOT EXISTS ` + ProcedureHistoryTable + ` (
    Name      text        PRIMARY KEY,
    Checksum  text        NOT NULL,
    AppliedAt timestamptz NOT NULL
)`,
	selectHistory: `SELECT Name, Checksum FROM ` + ProcedureHistoryTable,
	upsert: `INSERT INTO ` + ProcedureHistoryTable + ` (Name, Checksum, AppliedAt) VALUES ($1, $2, $3)
ON CONFLICT (Name) DO UPDATE SET Checksum = EXCLUDED.Checksum, AppliedAt = EXCLUDED.AppliedAt`,
	objectExists: `SELECT COUNT(*) FROM pg_catalog.pg_proc WHERE proname = $1 AND pronamespace = current_schema()::regnamespace`,
	drop:         func(o procObject) string { return "DROP " + o.Kind + " IF EXISTS " + o.Name },
	dropHistory:  `DROP TABLE IF EXISTS ` + ProcedureHistoryTable,
}

func postgresPhases(t Target) []Phase {
	d := postgresDialect
	return []Phase{
		postgresPrerequisites(t),
		postgresDatabase(t),
		notApplicable(PhaseFilestream, StatusNotApplicable, "PostgreSQL has no FILESTREAM; "+reasonFilestream),
		notApplicable(PhaseCLR, StatusNotApplicable, "PostgreSQL has no CLR; "+reasonCLR),
		migrationsPhase(d, nil),
		proceduresPhase(postgresProcs),
		notApplicable(PhaseServiceBroker, StatusInProcess, reasonServiceBroker),
		verificationPhase(d, postgresVerifyScript, postgresVerify),
		referenceDataPhase(d),
	}
}

func postgresRollback(t Target, to int) []Phase {
	return []Phase{
		dropProceduresPhase(postgresDialect, postgresProcs, to),
		rollbackPhase(postgresDialect, to),
	}
}

// quotePG returns a PostgreSQL "identifier".
func quotePG(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

const (
	postgresServerInfo = `SELECT version(), current_setting('server_version_num')::integer, current_user,
       r.rolsuper, r.rolcreatedb,
       EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1),
       (SELECT default_version FROM pg_catalog.pg_available_extensions WHERE name = 'postgis')
FROM pg_catalog.pg_roles AS r WHERE r.rolname = current_user`
	postgresDBInfo = `SELECT (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'postgis'),
       pg_catalog.pg_get_userbyid(d.datdba) = current_user OR r.rolsuper
FROM pg_catalog.pg_database AS d, pg_catalog.pg_roles AS r
WHERE d.datname = current_database() AND r.rolname = current_user`
)

// postgresServer is what the prerequisites phase reads of a server.
type postgresServer struct {
	Version        string
	VersionNum     int
	User           string
	Superuser      bool
	CreateDB       bool
	Exists         bool
	PostGISDefault sql.NullString // available to CREATE EXTENSION
	PostGIS        sql.NullString // installed in the database (when it exists)
	Owner          bool           // owner of the database, or superuser
}

// checkPostgres decides whether a server can take a deployment.
func checkPostgres(s postgresServer, db string) error {
	switch {
	case s.VersionNum < MinPostgresVersion:
		return failf("upgrade the server to PostgreSQL 13 or later",
			"PostgreSQL %d.%d is older than hartd's minimum, 13", s.VersionNum/10000, s.VersionNum%10000)
	case !s.PostGISDefault.Valid && !s.PostGIS.Valid:
		return failf("install PostGIS on the database server (Debian: apt-get install postgresql-NN-postgis-3 for the server's major version NN), then run hartd deploy again",
			"PostGIS is not installed on the server: pg_available_extensions has no postgis, and hartd's schema needs its geometry type and GiST operator classes")
	case !s.Exists && !s.Superuser && !s.CreateDB:
		return failf(fmt.Sprintf("create it as a superuser (CREATE DATABASE %s OWNER %s), or grant the role CREATEDB", quotePG(db), quotePG(s.User)),
			"database %s does not exist and role %s may not create it (no CREATEDB)", db, s.User)
	case s.Exists && !s.Owner:
		return failf(fmt.Sprintf("run hartd deploy as the database's owner or a superuser, or ALTER DATABASE %s OWNER TO %s", quotePG(db), quotePG(s.User)),
			"role %s does not own database %s", s.User, db)
	case !s.PostGIS.Valid && !s.Superuser:
		return failf(fmt.Sprintf("have a superuser run CREATE EXTENSION postgis; in database %s once, then run hartd deploy again", db),
			"PostGIS is available but not created in database %s, and role %s is not a superuser, which CREATE EXTENSION postgis needs", db, s.User)
	}
	return nil
}

func postgresPrerequisites(t Target) Phase {
	return Phase{
		Name: PhasePrerequisites,
		Script: func() ([]Step, error) {
			return []Step{
				{On: "postgres", When: "version (13 or later), role, the database's existence, PostGIS on the server", SQL: postgresServerInfo, Args: []any{t.Database}},
				{When: "when the database exists: PostGIS in it, and whether the role owns it", SQL: postgresDBInfo},
			}, nil
		},
		Run: func(ctx context.Context, s *Session) (Result, error) {
			db, err := s.DB(ctx, "postgres")
			if err != nil {
				return Result{}, err
			}
			var ps postgresServer
			if err := db.QueryRowContext(ctx, postgresServerInfo, t.Database).Scan(&ps.Version, &ps.VersionNum, &ps.User,
				&ps.Superuser, &ps.CreateDB, &ps.Exists, &ps.PostGISDefault); err != nil {
				return Result{}, fmt.Errorf("read the server's version and the role: %w", err)
			}
			if ps.Exists {
				tdb, err := s.DB(ctx, "")
				if err != nil {
					return Result{}, err
				}
				if err := tdb.QueryRowContext(ctx, postgresDBInfo).Scan(&ps.PostGIS, &ps.Owner); err != nil {
					return Result{}, fmt.Errorf("read database %s: %w", t.Database, err)
				}
			}
			version, _, _ := strings.Cut(ps.Version, ",")
			notes := []string{version}
			if err := checkPostgres(ps, t.Database); err != nil {
				return Result{Notes: notes}, err
			}
			role := "owner"
			switch {
			case ps.Superuser:
				role = "superuser"
			case !ps.Exists:
				role = "CREATEDB"
			}
			notes = append(notes, fmt.Sprintf("role %s: %s", ps.User, role))
			switch {
			case ps.PostGIS.Valid:
				notes = append(notes, fmt.Sprintf("PostGIS %s in database %s", ps.PostGIS.String, t.Database))
			default:
				notes = append(notes, fmt.Sprintf("PostGIS %s available; the first migration creates it", ps.PostGISDefault.String))
			}
			if ps.Exists {
				notes = append(notes, fmt.Sprintf("database %s exists", t.Database))
			} else {
				notes = append(notes, fmt.Sprintf("database %s does not exist yet", t.Database))
			}
			return Result{Status: StatusOK, Notes: notes}, nil
		},
	}
}

const postgresDBExists = `SELECT COUNT(*) FROM pg_catalog.pg_database WHERE datname = $1`

func postgresDatabase(t Target) Phase {
	create := fmt.Sprintf("CREATE DATABASE %s ENCODING 'UTF8' TEMPLATE template0", quotePG(t.Database))
	return Phase{
		Name: PhaseDatabase,
		Script: func() ([]Step, error) {
			return []Step{
				{On: "postgres", SQL: postgresDBExists, Args: []any{t.Database}},
				{On: "postgres", When: "when it does not exist; alone, outside any transaction (CREATE DATABASE cannot run in one)", SQL: create},
			}, nil
		},
		Run: func(ctx context.Context, s *Session) (Result, error) {
			db, err := s.DB(ctx, "postgres")
			if err != nil {
				return Result{}, err
			}
			var n int
			if err := db.QueryRowContext(ctx, postgresDBExists, t.Database).Scan(&n); err != nil {
				return Result{}, fmt.Errorf("look for database %s: %w", t.Database, err)
			}
			if n > 0 {
				return result(StatusUnchanged, fmt.Sprintf("database %s exists", t.Database)), nil
			}
			if _, err := db.ExecContext(ctx, create); err != nil {
				return Result{}, fmt.Errorf("create database %s: %w", t.Database, err)
			}
			return result(StatusChanged, fmt.Sprintf("created database %s (UTF8)", t.Database)), nil
		},
	}
}

const (
	postgresGiST = `SELECT am.amname FROM pg_catalog.pg_index AS x
JOIN pg_catalog.pg_class AS i ON i.oid = x.indexrelid
JOIN pg_catalog.pg_am AS am ON am.oid = i.relam
WHERE x.indrelid = to_regclass(current_schema() || '."AtomEmbeddings"')
  AND pg_catalog.pg_get_indexdef(x.indexrelid) LIKE '%("SpatialGeometry")%'`
	postgresPostGIS = `SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'postgis'`
)

func postgresVerifyScript() []Step {
	return []Step{
		{SQL: postgresGiST},
		{SQL: postgresPostGIS},
		{SQL: postgresProcs.selectHistory},
		{SQL: postgresProcs.objectExists, Args: []any{"<each function>"}},
		{SQL: `SELECT COUNT(*) FROM "Tenants" WHERE "TenantId" = 1`},
	}
}

func postgresVerify(ctx context.Context, _ *Session, db *sql.DB, c *checks) error {
	var am string
	err := db.QueryRowContext(ctx, postgresGiST).Scan(&am)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		c.add(`spatial index on "SpatialGeometry"`, "gist", "missing", false)
	case err != nil:
		return err
	default:
		c.add(`spatial index on "SpatialGeometry"`, "gist", am, am == "gist")
	}
	var postgis sql.NullString
	if err := db.QueryRowContext(ctx, postgresPostGIS).Scan(&postgis); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	found := "missing"
	if postgis.Valid {
		found = postgis.String
	}
	c.add("extension postgis", "installed", found, postgis.Valid)
	if err := verifyProcedures(ctx, db, postgresDialect, postgresProcs, c); err != nil {
		return err
	}
	if ok, err := postgresDialect.exists(ctx, db, "Tenants"); err != nil || !ok {
		return err
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM "Tenants" WHERE "TenantId" = 1`).Scan(&n); err != nil {
		return err
	}
	c.add("default tenant", "tenant 1", fmt.Sprintf("%d row(s)", n), n == 1)
	return nil
}
