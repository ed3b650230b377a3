package deploy

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	hartsql "github.com/hartonomous/hartd/sql"
)

// ProcedureHistoryTable records, per procedure file, the SHA-256 of the text
// the procedures phase last applied. A file whose checksum matches and whose
// objects all exist is unchanged; any other is applied again (its
// statements are CREATE OR ALTER / CREATE OR REPLACE), in one transaction
// with its history row.
const ProcedureHistoryTable = "HartdProcedureHistory"

// procFile is one file of a procedures folder: NNNN_name.sql, applied in
// order of NNNN.
type procFile struct {
	Name     string
	Checksum string
	Batches  []string
	Objects  []procObject
}

// procObject is a function or procedure that a file creates.
type procObject struct {
	Kind string // PROCEDURE or FUNCTION
	Name string // as written: dbo.sp_HybridSearch, hartd_float32s
}

var (
	procFileRE   = regexp.MustCompile(`^\d{4}_[a-z0-9_]+\.sql$`)
	procObjectRE = regexp.MustCompile(`(?im)^\s*CREATE\s+OR\s+(?:ALTER|REPLACE)\s+(PROCEDURE|FUNCTION)\s+([A-Za-z0-9_.]+)`)
)

// procDialect is how a dialect stores and finds its procedures.
type procDialect struct {
	dir   string
	split func(string) ([]string, error)
	// createHistory creates ProcedureHistoryTable if it does not exist.
	createHistory string
	// selectHistory yields (name, checksum) rows.
	selectHistory string
	// upsert writes (name, checksum, applied-at) for a file.
	upsert string
	// objectExists takes an object's name and yields 1 when it exists.
	objectExists string
	// drop returns the statement that drops an object if it exists.
	drop func(procObject) string
	// dropHistory drops ProcedureHistoryTable if it exists.
	dropHistory string
}

// loadProcedures reads a procedures folder of the embedded FS.
func loadProcedures(pd procDialect) ([]procFile, error) {
	entries, err := fs.ReadDir(hartsql.FS, pd.dir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", pd.dir, err)
	}
	var out []procFile
	for _, e := range entries {
		if !procFileRE.MatchString(e.Name()) {
			return nil, fmt.Errorf("%s/%s: want NNNN_name.sql", pd.dir, e.Name())
		}
		body, err := fs.ReadFile(hartsql.FS, path.Join(pd.dir, e.Name()))
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		f := procFile{Name: e.Name(), Checksum: hex.EncodeToString(sum[:])}
		if f.Batches, err = pd.split(string(body)); err != nil {
			return nil, fmt.Errorf("%s/%s: %w", pd.dir, e.Name(), err)
		}
		for _, m := range procObjectRE.FindAllStringSubmatch(string(body), -1) {
			f.Objects = append(f.Objects, procObject{Kind: strings.ToUpper(m[1]), Name: m[2]})
		}
		if len(f.Objects) == 0 {
			return nil, fmt.Errorf("%s/%s creates no procedure or function", pd.dir, e.Name())
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func procedureNames(files []procFile) []string {
	var out []string
	for _, f := range files {
		for _, o := range f.Objects {
			out = append(out, o.Name)
		}
	}
	return out
}

// proceduresPhase installs the procedure files whose text changed or whose
// objects are missing.
func proceduresPhase(pd procDialect) Phase {
	return Phase{
		Name: PhaseProcedures,
		Script: func() ([]Step, error) {
			files, err := loadProcedures(pd)
			if err != nil {
				return nil, err
			}
			steps := []Step{
				{When: "create the procedure history if it does not exist", SQL: pd.createHistory},
				{SQL: pd.selectHistory},
			}
			for _, f := range files {
				for _, o := range f.Objects {
					steps = append(steps, Step{SQL: pd.objectExists, Args: []any{o.Name}})
				}
				for i, b := range f.Batches {
					st := Step{SQL: b}
					if i == 0 {
						st.When = fmt.Sprintf("%s (sha256 %s), when its checksum in %s differs or one of its objects is missing;\n"+
							"these statements and the history row after them run in one transaction", f.Name, f.Checksum[:12], ProcedureHistoryTable)
					}
					steps = append(steps, st)
				}
				steps = append(steps, Step{SQL: pd.upsert, Args: []any{f.Name, f.Checksum, "<UTC time, RFC 3339>"}})
			}
			return steps, nil
		},
		Run: func(ctx context.Context, s *Session) (Result, error) {
			files, err := loadProcedures(pd)
			if err != nil {
				return Result{}, fail(err, "the procedures embedded in this hartd binary are malformed: rebuild hartd from a clean checkout")
			}
			db, err := s.DB(ctx, "")
			if err != nil {
				return Result{}, err
			}
			if _, err := db.ExecContext(ctx, pd.createHistory); err != nil {
				return Result{}, fmt.Errorf("create %s: %w", ProcedureHistoryTable, err)
			}
			recorded, err := procHistory(ctx, db, pd)
			if err != nil {
				return Result{}, err
			}
			res := Result{Status: StatusUnchanged}
			for _, f := range files {
				missing, err := missingObjects(ctx, db, pd, f)
				if err != nil {
					return res, err
				}
				sum, known := recorded[f.Name]
				if sum == f.Checksum && len(missing) == 0 {
					continue
				}
				if err := applyProcFile(ctx, db, pd, f); err != nil {
					return res, fail(fmt.Errorf("%s: %w", f.Name, err),
						"%s was rolled back with its transaction; the files before it are installed. Fix the cause and run hartd deploy again", f.Name)
				}
				why := "installed"
				switch {
				case known && sum != f.Checksum:
					why = fmt.Sprintf("updated (sha256 %.12s, was %.12s)", f.Checksum, sum)
				case known:
					why = "re-created (missing: " + strings.Join(missing, ", ") + ")"
				}
				res.Status = StatusChanged
				res.Notes = append(res.Notes, fmt.Sprintf("%s %s: %s", why, f.Name, strings.Join(objectNames(f), ", ")))
			}
			if res.Status == StatusUnchanged {
				res.Notes = append(res.Notes, fmt.Sprintf("%d file(s), %d object(s): checksums match and every object exists",
					len(files), len(procedureNames(files))))
			}
			return res, nil
		},
	}
}

func objectNames(f procFile) []string {
	out := make([]string, len(f.Objects))
	for i, o := range f.Objects {
		out[i] = o.Name
	}
	return out
}

func procHistory(ctx context.Context, db *sql.DB, pd procDialect) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, pd.selectHistory)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", ProcedureHistoryTable, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, sum string
		if err := rows.Scan(&name, &sum); err != nil {
			return nil, fmt.Errorf("read %s: %w", ProcedureHistoryTable, err)
		}
		out[name] = strings.TrimSpace(sum)
	}
	return out, rows.Err()
}

func missingObjects(ctx context.Context, db *sql.DB, pd procDialect, f procFile) ([]string, error) {
	var missing []string
	for _, o := range f.Objects {
		var n int
		if err := db.QueryRowContext(ctx, pd.objectExists, o.Name).Scan(&n); err != nil {
			return nil, fmt.Errorf("look for %s: %w", o.Name, err)
		}
		if n == 0 {
			missing = append(missing, o.Name)
		}
	}
	return missing, nil
}

func applyProcFile(ctx context.Context, db *sql.DB, pd procDialect, f procFile) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	for i, b := range f.Batches {
		if _, err := tx.ExecContext(ctx, b); err != nil {
			return fmt.Errorf("batch %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, pd.upsert, f.Name, f.Checksum, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("record in %s: %w", ProcedureHistoryTable, err)
	}
	return tx.Commit()
}

// dropProceduresPhase drops every procedure and function the files create,
// newest file first, and the procedure history, when the rollback goes
// below the current schema version or to 0.
func dropProceduresPhase(d dialect, pd procDialect, to int) Phase {
	return Phase{
		Name: PhaseProcedures,
		Script: func() ([]Step, error) {
			files, err := loadProcedures(pd)
			if err != nil {
				return nil, err
			}
			steps := []Step{{When: fmt.Sprintf("when the schema is above version %d (or the rollback goes to 0): the procedures are written against the newest schema", to)}}
			for _, st := range dropSteps(pd, files) {
				steps = append(steps, Step{SQL: st})
			}
			return steps, nil
		},
		Run: func(ctx context.Context, s *Session) (Result, error) {
			files, err := loadProcedures(pd)
			if err != nil {
				return Result{}, fail(err, "the procedures embedded in this hartd binary are malformed: rebuild hartd from a clean checkout")
			}
			db, err := s.DB(ctx, "")
			if err != nil {
				return Result{}, err
			}
			applied, _, err := d.appliedVersions(ctx, db)
			if err != nil {
				return Result{}, err
			}
			if len(applied) <= to && to > 0 {
				return result(StatusUnchanged, fmt.Sprintf("schema at version %d, not above %d: procedures stay", len(applied), to)), nil
			}
			var gone []string
			for _, f := range files {
				m, err := missingObjects(ctx, db, pd, f)
				if err != nil {
					return Result{}, err
				}
				if len(m) < len(f.Objects) {
					gone = append(gone, f.Name)
				}
			}
			var hist int
			if err := db.QueryRowContext(ctx, d.tableExists, historyTableName(d)).Scan(&hist); err != nil {
				return Result{}, err
			}
			if len(gone) == 0 && hist == 0 {
				return result(StatusUnchanged, "no hartd procedures or functions to drop"), nil
			}
			for _, st := range dropSteps(pd, files) {
				if _, err := db.ExecContext(ctx, st); err != nil {
					return Result{}, fmt.Errorf("%s: %w", st, err)
				}
			}
			return result(StatusChanged, fmt.Sprintf("dropped %d procedure(s) and function(s) of %d file(s), and %s",
				len(procedureNames(files)), len(files), ProcedureHistoryTable)), nil
		},
	}
}

func dropSteps(pd procDialect, files []procFile) []string {
	var out []string
	for i := len(files) - 1; i >= 0; i-- {
		obs := files[i].Objects
		for j := len(obs) - 1; j >= 0; j-- {
			out = append(out, pd.drop(obs[j]))
		}
	}
	return append(out, pd.dropHistory)
}

// historyTableName is ProcedureHistoryTable as d.tableExists wants it.
func historyTableName(d dialect) string {
	if d.migrate.Name == "postgres" {
		return strings.ToLower(ProcedureHistoryTable)
	}
	return ProcedureHistoryTable
}

// verifyProcedures checks that every object exists and every file is
// recorded at this binary's checksum.
func verifyProcedures(ctx context.Context, db *sql.DB, d dialect, pd procDialect, c *checks) error {
	files, err := loadProcedures(pd)
	if err != nil {
		return err
	}
	var hist int
	if err := db.QueryRowContext(ctx, d.tableExists, historyTableName(d)).Scan(&hist); err != nil {
		return err
	}
	recorded := map[string]string{}
	if hist > 0 {
		if recorded, err = procHistory(ctx, db, pd); err != nil {
			return err
		}
	}
	for _, f := range files {
		missing, err := missingObjects(ctx, db, pd, f)
		if err != nil {
			return err
		}
		found := "all exist"
		if len(missing) > 0 {
			found = "missing " + strings.Join(missing, ", ")
		}
		c.add("procedures "+f.Name, fmt.Sprintf("%d object(s)", len(f.Objects)), found, len(missing) == 0)
		sum := recorded[f.Name]
		switch {
		case sum == "":
			found = "not recorded"
		case sum == f.Checksum:
			found = "sha256 " + sum[:12]
		default:
			found = fmt.Sprintf("sha256 %.12s (another build's)", sum)
		}
		c.add("checksum "+f.Name, "sha256 "+f.Checksum[:12], found, sum == f.Checksum)
	}
	return nil
}
