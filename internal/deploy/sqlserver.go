package deploy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/hartonomous/hartd/internal/migrate"
)

var sqlserverDialect = dialect{
	migrate:     migrate.SQLServer,
	migrations:  "sqlserver/migrations",
	table:       func(name string) string { return "dbo." + name },
	tableExists: `SELECT CASE WHEN OBJECT_ID(N'dbo.' + @p1, N'U') IS NULL THEN 0 ELSE 1 END`,
	historyName: migrate.HistoryTable,
	dropHistory: `DROP TABLE IF EXISTS dbo.` + migrate.HistoryTable,
	ph:          migrate.SQLServer.Placeholder,
}

var sqlserverProcs = procDialect{
	dir:   "sqlserver/procedures",
	split: migrate.SplitGO,
	createHistory: `IF OBJECT_ID(N'dbo.` + ProcedureHistoryTable + `', N'U') IS NULL
CREATE TABLE dbo.` + ProcedureHistoryTable + ` (
    Name      NVARCHAR(200) NOT NULL CONSTRAINT PK_` + ProcedureHistoryTable + ` PRIMARY KEY,
    Checksum  CHAR(64)      NOT NULL,
    AppliedAt NVARCHAR(40)  NOT NULL
)`,
	selectHistory: `SELECT Name, Checksum FROM dbo.` + ProcedureHistoryTable,
	upsert: `DELETE FROM dbo.` + ProcedureHistoryTable + ` WHERE Name = @p1;
INSERT INTO dbo.` + ProcedureHistoryTable + ` (Name, Checksum, AppliedAt) VALUES (@p1, @p2, @p3)`,
	objectExists: `SELECT CASE WHEN OBJECT_ID(@p1) IS NULL THEN 0 ELSE 1 END`,
	drop:         func(o procObject) string { return "DROP " + o.Kind + " IF EXISTS " + o.Name },
	dropHistory:  `DROP TABLE IF EXISTS dbo.` + ProcedureHistoryTable,
}

// SpatialIndexName is the spatial index on AtomEmbeddings.SpatialGeometry.
const SpatialIndexName = "IX_AtomEmbeddings_SpatialGeometry"

// spatialIndexDDL is the CREATE SPATIAL INDEX statement for box; the first
// migration holds it with CosineBox, and the migrations phase re-creates
// the index (DROP_EXISTING) when the data needs another box.
func spatialIndexDDL(b BoundingBox, dropExisting bool) string {
	opt := ""
	if dropExisting {
		opt = ",\n    DROP_EXISTING = ON"
	}
	return fmt.Sprintf(`SET ARITHABORT ON;
CREATE SPATIAL INDEX %s ON dbo.AtomEmbeddings (SpatialGeometry)
USING GEOMETRY_GRID
WITH (
    BOUNDING_BOX = (XMIN = %g, YMIN = %g, XMAX = %g, YMAX = %g),
    GRIDS = (LEVEL_1 = HIGH, LEVEL_2 = HIGH, LEVEL_3 = HIGH, LEVEL_4 = HIGH),
    CELLS_PER_OBJECT = 16%s
);`, SpatialIndexName, b.XMin, b.YMin, b.XMax, b.YMax, opt)
}

func sqlserverPhases(t Target) []Phase {
	d := sqlserverDialect
	fit := sqlserverSpatialFit()
	return []Phase{
		sqlserverPrerequisites(t),
		sqlserverDatabase(t),
		notApplicable(PhaseFilestream, StatusSkipped, reasonFilestream),
		notApplicable(PhaseCLR, StatusSkipped, reasonCLR),
		migrationsPhase(d, &fit),
		proceduresPhase(sqlserverProcs),
		notApplicable(PhaseServiceBroker, StatusInProcess, reasonServiceBroker),
		verificationPhase(d, sqlserverVerifyScript(t), sqlserverVerify),
		referenceDataPhase(d),
	}
}

func sqlserverRollback(t Target, to int) []Phase {
	return []Phase{
		dropProceduresPhase(sqlserverDialect, sqlserverProcs, to),
		rollbackPhase(sqlserverDialect, to),
	}
}

// quoteIdent returns a SQL Server [identifier].
func quoteIdent(s string) string { return "[" + strings.ReplaceAll(s, "]", "]]") + "]" }

// quoteN returns a SQL Server N'literal'.
func quoteN(s string) string { return "N" + quoteLiteral(s) }

const sqlserverServerInfo = `SELECT @@VERSION,
       CAST(SERVERPROPERTY('Edition') AS NVARCHAR(128)),
       CAST(SERVERPROPERTY('EngineEdition') AS INT),
       SUSER_SNAME(),
       IS_SRVROLEMEMBER('sysadmin'),
       HAS_PERMS_BY_NAME(NULL, NULL, 'CREATE ANY DATABASE'),
       CASE WHEN DB_ID(@p1) IS NULL THEN 0 ELSE 1 END,
       HAS_PERMS_BY_NAME(@p1, 'DATABASE', 'CONTROL'),
       geometry::Point(1, 2, 0).STAsText()`

func sqlserverPrerequisites(t Target) Phase {
	return Phase{
		Name: PhasePrerequisites,
		Script: func() ([]Step, error) {
			return []Step{{On: "master", When: "version (2022/16.x or later), edition, login, permissions, the database's existence, spatial types",
				SQL: sqlserverServerInfo, Args: []any{t.Database}}}, nil
		},
		Run: func(ctx context.Context, s *Session) (Result, error) {
			db, err := s.DB(ctx, "master")
			if err != nil {
				return Result{}, err
			}
			var (
				atAt, edition, login, point string
				engine                      int
				sysadmin, createDB, control sql.NullInt64
				exists                      int
			)
			if err := db.QueryRowContext(ctx, sqlserverServerInfo, t.Database).Scan(&atAt, &edition, &engine, &login,
				&sysadmin, &createDB, &exists, &control, &point); err != nil {
				return Result{}, fmt.Errorf("read the server's version and permissions: %w", err)
			}
			v, err := CheckSQLServerVersion(atAt)
			if err != nil {
				return Result{}, fail(err, "upgrade the server to SQL Server 2022 (16.x) or later, or deploy to PostgreSQL or the embedded SQLite store")
			}
			notes := []string{
				fmt.Sprintf("%s, %s", v, edition),
				fmt.Sprintf("spatial types: %s", point),
			}
			admin := sysadmin.Int64 == 1
			switch {
			case exists == 0 && !admin && createDB.Int64 != 1:
				return Result{Notes: notes}, failf(fmt.Sprintf("grant it: USE master; GRANT CREATE ANY DATABASE TO [%s]; or create the database %s and make the login its db_owner", login, t.Database),
					"database %s does not exist and login %s may not create it (no CREATE ANY DATABASE)", t.Database, login)
			case exists == 1 && !admin && control.Int64 != 1:
				return Result{Notes: notes}, failf(fmt.Sprintf("make the login an owner: USE %s; ALTER ROLE db_owner ADD MEMBER [<its user>]", quoteIdent(t.Database)),
					"login %s is not an owner of database %s (no CONTROL permission; db_owner has it)", login, t.Database)
			}
			switch {
			case admin:
				notes = append(notes, fmt.Sprintf("login %s: sysadmin", login))
			case exists == 1:
				notes = append(notes, fmt.Sprintf("login %s: CONTROL on database %s (db_owner)", login, t.Database))
			default:
				notes = append(notes, fmt.Sprintf("login %s: CREATE ANY DATABASE", login))
			}
			if exists == 1 {
				notes = append(notes, fmt.Sprintf("database %s exists", t.Database))
			} else {
				notes = append(notes, fmt.Sprintf("database %s does not exist yet", t.Database))
			}
			return Result{Status: StatusOK, Notes: notes}, nil
		},
	}
}

// sqlserverDatabaseBatches are the database phase's batches, run on
// master. Each is guarded by the state it changes, so each is idempotent
// and none runs in a transaction (CREATE and ALTER DATABASE cannot).
// READ_COMMITTED_SNAPSHOT needs the database to itself: WITH NO_WAIT fails
// at once, rather than waiting for or killing other sessions.
func sqlserverDatabaseBatches(db string) []string {
	n, q := quoteN(db), quoteIdent(db)
	state := func(col string) string {
		return fmt.Sprintf("(SELECT %s FROM sys.databases WHERE name = %s)", col, n)
	}
	return []string{
		fmt.Sprintf("IF DB_ID(%s) IS NULL\n    CREATE DATABASE %s", n, q),
		fmt.Sprintf("IF %s <> 160\n    ALTER DATABASE %s SET COMPATIBILITY_LEVEL = 160", state("compatibility_level"), q),
		fmt.Sprintf("IF %s = 0\n    ALTER DATABASE %s SET READ_COMMITTED_SNAPSHOT ON WITH NO_WAIT", state("is_read_committed_snapshot_on"), q),
		fmt.Sprintf("IF %s IN (0, 2)\n    ALTER DATABASE %s SET ALLOW_SNAPSHOT_ISOLATION ON", state("snapshot_isolation_state"), q),
		fmt.Sprintf("IF %s = 0\n    ALTER DATABASE %s SET QUERY_STORE = ON (OPERATION_MODE = READ_WRITE)", state("is_query_store_on"), q),
	}
}

const sqlserverDatabaseState = `SELECT compatibility_level, is_read_committed_snapshot_on, snapshot_isolation_state_desc, is_query_store_on
FROM sys.databases WHERE name = @p1`

type mssqlDBState struct {
	exists     bool
	compat     int
	rcsi       bool
	snapshot   string
	queryStore bool
}

func readDBState(ctx context.Context, db *sql.DB, name string) (mssqlDBState, error) {
	var st mssqlDBState
	err := db.QueryRowContext(ctx, sqlserverDatabaseState, name).Scan(&st.compat, &st.rcsi, &st.snapshot, &st.queryStore)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read sys.databases: %w", err)
	}
	st.exists = true
	return st, nil
}

func sqlserverDatabase(t Target) Phase {
	return Phase{
		Name: PhaseDatabase,
		Script: func() ([]Step, error) {
			steps := []Step{{On: "master", SQL: sqlserverDatabaseState, Args: []any{t.Database}}}
			for _, b := range sqlserverDatabaseBatches(t.Database) {
				steps = append(steps, Step{On: "master", SQL: b})
			}
			steps[1].When = "each batch alone, outside any transaction, guarded by the setting it changes"
			return steps, nil
		},
		Run: func(ctx context.Context, s *Session) (Result, error) {
			db, err := s.DB(ctx, "master")
			if err != nil {
				return Result{}, err
			}
			before, err := readDBState(ctx, db, t.Database)
			if err != nil {
				return Result{}, err
			}
			for _, b := range sqlserverDatabaseBatches(t.Database) {
				if _, err := db.ExecContext(ctx, b); err != nil {
					first, _, _ := strings.Cut(b, "\n")
					if strings.Contains(b, "READ_COMMITTED_SNAPSHOT") {
						return Result{}, fail(fmt.Errorf("%s: %w", first, err),
							"READ_COMMITTED_SNAPSHOT needs the database without other sessions: stop the applications using %s and run hartd deploy again", t.Database)
					}
					return Result{}, fmt.Errorf("%s: %w", first, err)
				}
			}
			after, err := readDBState(ctx, db, t.Database)
			if err != nil {
				return Result{}, err
			}
			res := Result{Status: StatusUnchanged}
			change := func(what string, was, is any) {
				if fmt.Sprint(was) != fmt.Sprint(is) {
					res.Status = StatusChanged
					res.Notes = append(res.Notes, fmt.Sprintf("%s: %v → %v", what, was, is))
				}
			}
			if !before.exists {
				res.Status = StatusChanged
				res.Notes = append(res.Notes, "created database "+t.Database)
			} else {
				change("compatibility level", before.compat, after.compat)
				change("READ_COMMITTED_SNAPSHOT", onOff(before.rcsi), onOff(after.rcsi))
				change("ALLOW_SNAPSHOT_ISOLATION", before.snapshot, after.snapshot)
				change("Query Store", onOff(before.queryStore), onOff(after.queryStore))
			}
			res.Notes = append(res.Notes, fmt.Sprintf("%s: compatibility level %d, READ_COMMITTED_SNAPSHOT %s, snapshot isolation %s, Query Store %s",
				t.Database, after.compat, onOff(after.rcsi), after.snapshot, onOff(after.queryStore)))
			return res, nil
		},
	}
}

func onOff(b bool) string {
	if b {
		return "ON"
	}
	return "OFF"
}

const (
	sqlserverIndexBox = `SELECT t.bounding_box_xmin, t.bounding_box_ymin, t.bounding_box_xmax, t.bounding_box_ymax
FROM sys.spatial_index_tessellations AS t
JOIN sys.indexes AS i ON i.object_id = t.object_id AND i.index_id = t.index_id
WHERE t.object_id = OBJECT_ID(N'dbo.AtomEmbeddings') AND i.name = N'` + SpatialIndexName + `'`
	sqlserverL2Range = `SELECT MIN(e.SpatialX), MIN(e.SpatialY), MAX(e.SpatialX), MAX(e.SpatialY), COUNT_BIG(e.SpatialX)
FROM dbo.AtomEmbeddings AS e
JOIN dbo.Models AS m ON m.ModelId = e.ModelId
WHERE m.Metric = 'l2' AND e.SpatialX IS NOT NULL`
)

// sqlserverSpatialFit checks the spatial index's bounding box against the
// data and re-creates the index when they differ.
func sqlserverSpatialFit() Phase {
	return Phase{
		Name: "spatial index",
		Script: func() ([]Step, error) {
			return []Step{
				{When: "the spatial index's bounding box against the one the data needs (docs/deploy.md)", SQL: sqlserverIndexBox},
				{SQL: sqlserverL2Range},
				{When: "when the boxes differ: re-create the index with the data's box, in a transaction, e.g. for l2 points in [-3, 5] × [-1, 1]",
					SQL: spatialIndexDDL(FitBoundingBox(&DataRange{XMin: -3, YMin: -1, XMax: 5, YMax: 1, Points: 1}), true)},
			}, nil
		},
		Run: func(ctx context.Context, s *Session) (Result, error) {
			db, err := s.DB(ctx, "")
			if err != nil {
				return Result{}, err
			}
			var cur BoundingBox
			err = db.QueryRowContext(ctx, sqlserverIndexBox).Scan(&cur.XMin, &cur.YMin, &cur.XMax, &cur.YMax)
			missing := errors.Is(err, sql.ErrNoRows)
			if err != nil && !missing {
				return Result{}, fmt.Errorf("read the spatial index's bounding box: %w", err)
			}
			var r DataRange
			var x0, y0, x1, y1 sql.NullFloat64
			if err := db.QueryRowContext(ctx, sqlserverL2Range).Scan(&x0, &y0, &x1, &y1, &r.Points); err != nil {
				return Result{}, fmt.Errorf("read the l2 models' point range: %w", err)
			}
			r.XMin, r.YMin, r.XMax, r.YMax = x0.Float64, y0.Float64, x1.Float64, y1.Float64
			want := FitBoundingBox(&r)
			why := "the cosine box (no l2 points yet)"
			if r.Points > 0 {
				why = fmt.Sprintf("from %d l2 point(s) in [%g, %g] × [%g, %g]", r.Points, r.XMin, r.XMax, r.YMin, r.YMax)
			}
			if !missing && cur == want {
				return result(StatusUnchanged, fmt.Sprintf("spatial index %s: bounding box %v fits the data (%s)", SpatialIndexName, cur, why)), nil
			}
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return Result{}, err
			}
			if _, err := tx.ExecContext(ctx, spatialIndexDDL(want, !missing)); err != nil {
				_ = tx.Rollback()
				return Result{}, fmt.Errorf("re-create %s: %w", SpatialIndexName, err)
			}
			if err := tx.Commit(); err != nil {
				return Result{}, err
			}
			if missing {
				return result(StatusChanged, fmt.Sprintf("spatial index %s: created with bounding box %v (%s)", SpatialIndexName, want, why)), nil
			}
			return result(StatusChanged, fmt.Sprintf("spatial index %s: bounding box %v → %v (%s)", SpatialIndexName, cur, want, why)), nil
		},
	}
}

const sqlserverDBSettings = `SELECT compatibility_level, is_read_committed_snapshot_on, snapshot_isolation_state_desc, is_query_store_on
FROM sys.databases WHERE database_id = DB_ID()`

func sqlserverVerifyScript(Target) func() []Step {
	return func() []Step {
		return []Step{
			{SQL: sqlserverIndexBox},
			{SQL: sqlserverL2Range},
			{SQL: sqlserverProcs.selectHistory},
			{SQL: sqlserverProcs.objectExists, Args: []any{"<each procedure and function>"}},
			{SQL: sqlserverDBSettings},
			{SQL: `SELECT COUNT(*) FROM dbo.Tenants WHERE TenantId = 1`},
		}
	}
}

func sqlserverVerify(ctx context.Context, _ *Session, db *sql.DB, c *checks) error {
	var cur BoundingBox
	err := db.QueryRowContext(ctx, sqlserverIndexBox).Scan(&cur.XMin, &cur.YMin, &cur.XMax, &cur.YMax)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		c.add("spatial index "+SpatialIndexName, "GEOMETRY_GRID", "missing", false)
	case err != nil:
		return err
	default:
		var r DataRange
		var x0, y0, x1, y1 sql.NullFloat64
		if err := db.QueryRowContext(ctx, sqlserverL2Range).Scan(&x0, &y0, &x1, &y1, &r.Points); err != nil {
			return err
		}
		r.XMin, r.YMin, r.XMax, r.YMax = x0.Float64, y0.Float64, x1.Float64, y1.Float64
		want := FitBoundingBox(&r)
		c.add("spatial index "+SpatialIndexName, "box "+want.String(), "box "+cur.String(), cur == want)
	}
	if err := verifyProcedures(ctx, db, sqlserverDialect, sqlserverProcs, c); err != nil {
		return err
	}
	var (
		compat     int
		rcsi, qs   bool
		snapshot   string
		tenantRows int
	)
	if err := db.QueryRowContext(ctx, sqlserverDBSettings).Scan(&compat, &rcsi, &snapshot, &qs); err != nil {
		return err
	}
	c.add("compatibility level", "160", fmt.Sprint(compat), compat == 160)
	c.add("READ_COMMITTED_SNAPSHOT", "ON", onOff(rcsi), rcsi)
	c.add("ALLOW_SNAPSHOT_ISOLATION", "ON", snapshot, snapshot == "ON")
	c.add("Query Store", "ON", onOff(qs), qs)
	if ok, err := sqlserverDialect.exists(ctx, db, "Tenants"); err != nil || !ok {
		return err
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM dbo.Tenants WHERE TenantId = 1`).Scan(&tenantRows); err != nil {
		return err
	}
	c.add("default tenant", "tenant 1", fmt.Sprintf("%d row(s)", tenantRows), tenantRows == 1)
	return nil
}
