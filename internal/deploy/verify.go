package deploy

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/hartonomous/hartd/internal/migrate"
)

// check is one row of the verification table.
type check struct {
	what, want, found string
	ok                bool
}

type checks []check

func (c *checks) add(what, want, found string, ok bool) {
	*c = append(*c, check{what, want, found, ok})
}

// result renders the checks as a table and fails when any failed.
func (c checks) result() (Result, error) {
	wWhat, wWant := len("check"), len("want")
	for _, k := range c {
		wWhat, wWant = max(wWhat, len(k.what)), max(wWant, len(k.want))
	}
	row := func(a, b, c, d string) string {
		return strings.TrimRight(fmt.Sprintf("%-*s  %-*s  %-4s  %s", wWhat, a, wWant, b, c, d), " ")
	}
	notes := []string{row("check", "want", "ok", "found")}
	var failed []string
	for _, k := range c {
		mark := "ok"
		if !k.ok {
			mark = "FAIL"
			failed = append(failed, k.what)
		}
		notes = append(notes, row(k.what, k.want, mark, k.found))
	}
	res := Result{Status: StatusOK, Notes: notes}
	if len(failed) > 0 {
		return res, failf("deploy the missing parts with hartd deploy (all phases), then verify again",
			"%d of %d checks failed: %s", len(failed), len(c), strings.Join(failed, ", "))
	}
	res.Notes = append(res.Notes, fmt.Sprintf("all %d checks passed", len(c)))
	return res, nil
}

// verifySchema adds the checks every dialect shares: the core tables and
// the migration history against the migrations of this binary.
func verifySchema(ctx context.Context, db *sql.DB, d dialect, c *checks) error {
	ms, err := loadMigrations(d)
	if err != nil {
		return err
	}
	applied, ok, err := d.appliedVersions(ctx, db)
	if err != nil {
		return err
	}
	latest := fmt.Sprintf("version %d (%04d_%s)", len(ms), len(ms), ms[len(ms)-1].Name)
	switch {
	case !ok:
		c.add("migrations", latest, "no "+migrate.HistoryTable+" table", false)
	default:
		found := fmt.Sprintf("version %d", len(applied))
		good := len(applied) == len(ms)
		for _, a := range applied {
			if a.Version < 1 || a.Version > len(ms) {
				good, found = false, fmt.Sprintf("unknown version %d (%s)", a.Version, a.Name)
				break
			}
			if m := ms[a.Version-1]; m.Checksum != a.Checksum {
				good, found = false, fmt.Sprintf("version %d with a foreign checksum %.12s", a.Version, a.Checksum)
				break
			}
		}
		if good {
			found += ", checksums match"
		}
		c.add("migrations", latest, found, good)
	}
	for _, t := range coreTables {
		ok, err := d.exists(ctx, db, t)
		if err != nil {
			return err
		}
		c.add("table "+t, "exists", present(ok), ok)
	}
	return nil
}

func present(ok bool) string {
	if ok {
		return "exists"
	}
	return "missing"
}

// verificationPhase runs the shared checks, then extra.
func verificationPhase(d dialect, script func() []Step, extra func(ctx context.Context, s *Session, db *sql.DB, c *checks) error) Phase {
	return Phase{
		Name: PhaseVerification,
		Script: func() ([]Step, error) {
			steps := []Step{{SQL: historySelect, When: "when " + migrate.HistoryTable + " exists"}}
			for _, t := range coreTables {
				steps = append(steps, Step{SQL: d.tableExists, Args: []any{t}})
			}
			return append(steps, script()...), nil
		},
		Run: func(ctx context.Context, s *Session) (Result, error) {
			db, err := s.DB(ctx, "")
			if err != nil {
				return Result{}, err
			}
			var c checks
			if err := verifySchema(ctx, db, d, &c); err != nil {
				return Result{}, err
			}
			if extra != nil {
				if err := extra(ctx, s, db, &c); err != nil {
					return Result{}, err
				}
			}
			return c.result()
		},
	}
}
