package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hartonomous/hartd/internal/migrate"
	hartsql "github.com/hartonomous/hartd/sql"
)

// loadMigrations reads a dialect's embedded migrations. For SQL Server it
// also splits every script at its GO lines, so that a malformed separator
// is reported before anything is sent.
func loadMigrations(d dialect) ([]migrate.Migration, error) {
	ms, err := migrate.Load(hartsql.FS, d.migrations)
	if err != nil {
		return nil, err
	}
	if d.migrate.Name == migrate.SQLServer.Name {
		for _, m := range ms {
			for _, s := range [...]struct{ kind, text string }{{"up", m.Up}, {"down", m.Down}} {
				if _, err := migrate.SplitGO(s.text); err != nil {
					return nil, fmt.Errorf("%04d_%s.%s.sql: %w", m.Version, m.Name, s.kind, err)
				}
			}
		}
	}
	return ms, nil
}

// batches returns a script as the runner sends it.
func batches(d migrate.Dialect, script string) []string {
	if d.Split != nil {
		return d.Split(script)
	}
	return []string{script}
}

// historyInsert and historyDelete are the statements migrate.Runner sends
// beside each migration.
func historyInsert(d migrate.Dialect) string {
	return fmt.Sprintf(`INSERT INTO %s (Version, Name, Checksum, AppliedAt) VALUES (%s, %s, %s, %s)`, migrate.HistoryTable,
		d.Placeholder(1), d.Placeholder(2), d.Placeholder(3), d.Placeholder(4))
}

func historyDelete(d migrate.Dialect) string {
	return fmt.Sprintf(`DELETE FROM %s WHERE Version = %s`, migrate.HistoryTable, d.Placeholder(1))
}

// migrationsPhase applies the pending migrations; after, when not nil, runs
// in the same phase once the schema is current (SQL Server fits its spatial
// index there).
func migrationsPhase(d dialect, after *Phase) Phase {
	return Phase{
		Name: PhaseMigrations,
		Script: func() ([]Step, error) {
			ms, err := loadMigrations(d)
			if err != nil {
				return nil, err
			}
			steps := []Step{
				{When: "create the history table if it does not exist", SQL: d.migrate.CreateHistory},
				{SQL: historySelect},
			}
			for _, m := range ms {
				when := fmt.Sprintf("migration %04d_%s (sha256 %s), when version %d is not in %s;\n"+
					"these statements and the INSERT after them run in one transaction",
					m.Version, m.Name, m.Checksum[:12], m.Version, migrate.HistoryTable)
				for i, b := range batches(d.migrate, m.Up) {
					st := Step{SQL: b}
					if i == 0 {
						st.When = when
					}
					steps = append(steps, st)
				}
				steps = append(steps, Step{SQL: historyInsert(d.migrate), Args: []any{m.Version, m.Name, m.Checksum, "<UTC time, RFC 3339>"}})
			}
			if after != nil {
				more, err := after.Script()
				if err != nil {
					return nil, err
				}
				steps = append(steps, more...)
			}
			return steps, nil
		},
		Run: func(ctx context.Context, s *Session) (Result, error) {
			ms, err := loadMigrations(d)
			if err != nil {
				return Result{}, fail(err, "the migrations embedded in this hartd binary are malformed: rebuild hartd from a clean checkout")
			}
			db, err := s.DB(ctx, "")
			if err != nil {
				return Result{}, err
			}
			r := &migrate.Runner{DB: db, Dialect: d.migrate, Migrations: ms}
			before, err := r.History(ctx)
			if err != nil {
				return Result{}, err
			}
			t0 := time.Now()
			done, err := r.Up(ctx, -1)
			var res Result
			for _, m := range done {
				res.Notes = append(res.Notes, fmt.Sprintf("applied %04d_%s (sha256 %s)", m.Version, m.Name, m.Checksum[:12]))
			}
			if err != nil {
				return res, migrationFailure(err)
			}
			res.Status = StatusUnchanged
			if len(done) > 0 {
				res.Status = StatusChanged
				res.Notes = append(res.Notes, fmt.Sprintf("schema now at version %d of %d (%s)", len(ms), len(ms), fmtDuration(time.Since(t0))))
			} else {
				res.Notes = append(res.Notes, fmt.Sprintf("schema at version %d of %d, checksums match: nothing to apply", len(before), len(ms)))
			}
			if after != nil {
				more, err := after.Run(ctx, s)
				res.Notes = append(res.Notes, more.Notes...)
				if err != nil {
					return res, err
				}
				if more.Status == StatusChanged {
					res.Status = StatusChanged
				}
			}
			return res, nil
		},
	}
}

// migrationFailure attaches the fix to a migration error.
func migrationFailure(err error) error {
	switch {
	case errors.Is(err, migrate.ErrChecksum):
		return fail(err, "an applied migration differs from the one in this hartd binary (the file was edited after it was applied, "+
			"or another hartd build deployed this database): deploy with the hartd version that applied it, or roll back with "+
			"that version (hartd deploy rollback --to N) and deploy again")
	case errors.Is(err, migrate.ErrNewerSchema):
		return fail(err, "the database was deployed by a newer hartd: upgrade this hartd binary, or roll back with the newer one")
	}
	return fail(err, "the failed migration was rolled back with its transaction and nothing of it remains; fix the cause and run hartd deploy again")
}

// rollbackPhase runs down migrations to version to and, at 0, drops the
// history table too.
func rollbackPhase(d dialect, to int) Phase {
	return Phase{
		Name: PhaseMigrations,
		Script: func() ([]Step, error) {
			ms, err := loadMigrations(d)
			if err != nil {
				return nil, err
			}
			steps := []Step{{SQL: historySelect}}
			for i := len(ms) - 1; i >= to; i-- { // ms[i] is version i+1
				m := ms[i]
				for j, b := range batches(d.migrate, m.Down) {
					st := Step{SQL: b}
					if j == 0 {
						st.When = fmt.Sprintf("roll back %04d_%s when it is applied; with the DELETE after it, in one transaction", m.Version, m.Name)
					}
					steps = append(steps, st)
				}
				steps = append(steps, Step{SQL: historyDelete(d.migrate), Args: []any{m.Version}})
			}
			if to == 0 {
				steps = append(steps, Step{When: "at version 0, the history table goes too", SQL: d.dropHistory})
			}
			return steps, nil
		},
		Run: func(ctx context.Context, s *Session) (Result, error) {
			ms, err := loadMigrations(d)
			if err != nil {
				return Result{}, fail(err, "the migrations embedded in this hartd binary are malformed: rebuild hartd from a clean checkout")
			}
			db, err := s.DB(ctx, "")
			if err != nil {
				return Result{}, err
			}
			applied, ok, err := d.appliedVersions(ctx, db)
			if err != nil {
				return Result{}, err
			}
			if !ok {
				return result(StatusUnchanged, fmt.Sprintf("no %s table: nothing of hartd's schema to roll back", migrate.HistoryTable)), nil
			}
			var res Result
			res.Status = StatusUnchanged
			if len(applied) > to {
				r := &migrate.Runner{DB: db, Dialect: d.migrate, Migrations: ms}
				done, err := r.Down(ctx, to)
				for _, m := range done {
					res.Notes = append(res.Notes, fmt.Sprintf("rolled back %04d_%s", m.Version, m.Name))
				}
				if err != nil {
					return res, migrationFailure(err)
				}
				res.Status = StatusChanged
			} else {
				res.Notes = append(res.Notes, fmt.Sprintf("schema at version %d, not above %d: nothing to roll back", len(applied), to))
			}
			if to == 0 {
				if _, err := db.ExecContext(ctx, d.dropHistory); err != nil {
					return res, fmt.Errorf("drop %s: %w", migrate.HistoryTable, err)
				}
				res.Notes = append(res.Notes, "dropped "+migrate.HistoryTable)
				res.Status = StatusChanged
			}
			return res, nil
		},
	}
}
