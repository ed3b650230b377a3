// Package migrate applies numbered up/down SQL migrations and records each
// applied version, with the SHA-256 of its up script, in a history table.
//
// A migration folder holds NNNN_name.up.sql and NNNN_name.down.sql for
// versions 1, 2, 3, … without gaps. Each migration runs in its own
// transaction together with its history row, so a failed migration leaves
// nothing half-applied on dialects with transactional DDL. A recorded
// checksum that differs from the file's is an error: an applied migration is
// never edited, a new one is added instead.
package migrate

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// HistoryTable is the name of the table that records applied migrations.
const HistoryTable = "HartdSchemaHistory"

// Errors callers test with errors.Is.
var (
	ErrChecksum     = errors.New("migrate: checksum of an applied migration differs from its file")
	ErrNewerSchema  = errors.New("migrate: the database has a migration this binary does not know")
	ErrBadMigration = errors.New("migrate: malformed migration folder")
)

// Migration is one numbered schema change.
type Migration struct {
	Version  int
	Name     string
	Up, Down string
	// Checksum is the hex SHA-256 of Up.
	Checksum string
}

// Applied is a history row.
type Applied struct {
	Version   int
	Name      string
	Checksum  string
	AppliedAt time.Time
}

var fileRE = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.(up|down)\.sql$`)

// Load reads the migrations in dir of fsys, ordered by version. Every version
// from 1 to the highest must have both an up and a down file.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("migrate: read %s: %w", dir, err)
	}
	byVersion := map[int]*Migration{}
	for _, e := range entries {
		m := fileRE.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("%w: %s: want NNNN_name.up.sql or NNNN_name.down.sql", ErrBadMigration, e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("migrate: read %s: %w", e.Name(), err)
		}
		mg := byVersion[v]
		if mg == nil {
			mg = &Migration{Version: v, Name: m[2]}
			byVersion[v] = mg
		} else if mg.Name != m[2] {
			return nil, fmt.Errorf("%w: version %d has two names, %q and %q", ErrBadMigration, v, mg.Name, m[2])
		}
		if m[3] == "up" {
			mg.Up = string(body)
			sum := sha256.Sum256(body)
			mg.Checksum = hex.EncodeToString(sum[:])
		} else {
			mg.Down = string(body)
		}
	}
	out := make([]Migration, 0, len(byVersion))
	for _, m := range byVersion {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("%w: version %d is missing", ErrBadMigration, i+1)
		}
		if m.Up == "" || m.Down == "" {
			return nil, fmt.Errorf("%w: version %d needs both an up and a down file", ErrBadMigration, m.Version)
		}
	}
	return out, nil
}

// Dialect is what the runner needs to know of a SQL dialect.
type Dialect struct {
	Name string
	// CreateHistory creates the history table if it does not exist.
	CreateHistory string
	// Placeholder returns the n-th (1-based) bind parameter.
	Placeholder func(n int) string
	// Split splits a script into the batches sent one at a time; nil sends
	// the script whole.
	Split func(script string) []string
}

// SQLite is the embedded store's dialect.
var SQLite = Dialect{
	Name: "sqlite",
	CreateHistory: `CREATE TABLE IF NOT EXISTS ` + HistoryTable + ` (
    Version   INTEGER PRIMARY KEY,
    Name      TEXT NOT NULL,
    Checksum  TEXT NOT NULL,
    AppliedAt TEXT NOT NULL
)`,
	Placeholder: func(int) string { return "?" },
}

// Runner applies migrations to one database.
type Runner struct {
	DB         *sql.DB
	Dialect    Dialect
	Migrations []Migration
}

// History returns the applied migrations, oldest first. It creates the
// history table if it is missing.
func (r *Runner) History(ctx context.Context) ([]Applied, error) {
	if _, err := r.DB.ExecContext(ctx, r.Dialect.CreateHistory); err != nil {
		return nil, fmt.Errorf("migrate: create %s: %w", HistoryTable, err)
	}
	rows, err := r.DB.QueryContext(ctx, `SELECT Version, Name, Checksum, AppliedAt FROM `+HistoryTable+` ORDER BY Version`)
	if err != nil {
		return nil, fmt.Errorf("migrate: read %s: %w", HistoryTable, err)
	}
	defer rows.Close()
	var out []Applied
	for rows.Next() {
		var a Applied
		var at string
		if err := rows.Scan(&a.Version, &a.Name, &a.Checksum, &at); err != nil {
			return nil, fmt.Errorf("migrate: read %s: %w", HistoryTable, err)
		}
		a.AppliedAt, _ = time.Parse(time.RFC3339Nano, at)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("migrate: read %s: %w", HistoryTable, err)
	}
	return out, nil
}

// check compares the history with the known migrations.
func (r *Runner) check(applied []Applied) error {
	for _, a := range applied {
		if a.Version > len(r.Migrations) {
			return fmt.Errorf("%w: version %d (%s); upgrade hartd", ErrNewerSchema, a.Version, a.Name)
		}
		if m := r.Migrations[a.Version-1]; m.Checksum != a.Checksum {
			return fmt.Errorf("%w: version %d (%s) was applied with checksum %s, the file has %s",
				ErrChecksum, a.Version, a.Name, short(a.Checksum), short(m.Checksum))
		}
	}
	return nil
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// Up applies the pending migrations up to version to (all when to < 0) and
// returns those it applied; none when the schema is current.
func (r *Runner) Up(ctx context.Context, to int) ([]Migration, error) {
	applied, err := r.History(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.check(applied); err != nil {
		return nil, err
	}
	if to < 0 || to > len(r.Migrations) {
		to = len(r.Migrations)
	}
	var done []Migration
	for _, m := range r.Migrations[len(applied):to] {
		ins := fmt.Sprintf(`INSERT INTO %s (Version, Name, Checksum, AppliedAt) VALUES (%s, %s, %s, %s)`, HistoryTable,
			r.Dialect.Placeholder(1), r.Dialect.Placeholder(2), r.Dialect.Placeholder(3), r.Dialect.Placeholder(4))
		err := r.inTx(ctx, m.Up, ins, m.Version, m.Name, m.Checksum, time.Now().UTC().Format(time.RFC3339Nano))
		if err != nil {
			return done, fmt.Errorf("migrate: apply %04d_%s: %w", m.Version, m.Name, err)
		}
		done = append(done, m)
	}
	return done, nil
}

// Down runs down migrations, newest first, until the schema is at version to
// (0 removes everything), and returns those it ran.
func (r *Runner) Down(ctx context.Context, to int) ([]Migration, error) {
	applied, err := r.History(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.check(applied); err != nil {
		return nil, err
	}
	if to < 0 {
		to = 0
	}
	var done []Migration
	for v := len(applied); v > to; v-- {
		m := r.Migrations[v-1]
		del := fmt.Sprintf(`DELETE FROM %s WHERE Version = %s`, HistoryTable, r.Dialect.Placeholder(1))
		if err := r.inTx(ctx, m.Down, del, m.Version); err != nil {
			return done, fmt.Errorf("migrate: roll back %04d_%s: %w", m.Version, m.Name, err)
		}
		done = append(done, m)
	}
	return done, nil
}

// inTx runs script and then stmt with args in one transaction.
func (r *Runner) inTx(ctx context.Context, script, stmt string, args ...any) (err error) {
	tx, err := r.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	batches := []string{script}
	if r.Dialect.Split != nil {
		batches = r.Dialect.Split(script)
	}
	for i, b := range batches {
		if _, err := tx.ExecContext(ctx, b); err != nil {
			if len(batches) > 1 {
				return fmt.Errorf("batch %d: %w", i+1, err)
			}
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, stmt, args...); err != nil {
		return err
	}
	return tx.Commit()
}
