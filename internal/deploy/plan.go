package deploy

import "fmt"

// NewPlan returns the deployment of t: every phase, in order.
func NewPlan(t Target) (*Plan, error) {
	var phases []Phase
	switch t.Dialect {
	case SQLite:
		phases = sqlitePhases(t)
	case SQLServer:
		phases = sqlserverPhases(t)
	case Postgres:
		phases = postgresPhases(t)
	default:
		return nil, fmt.Errorf("%w: dialect %q", ErrDSN, t.Dialect)
	}
	return &Plan{Target: t, Title: "deploy", Phases: phases}, nil
}

// NewRollbackPlan returns the rollback of t to schema version to: the
// procedures go first (they are written against the newest schema and are
// re-created by the next deploy), then the down migrations run, newest
// first; at version 0 the history tables go too, leaving nothing of hartd.
func NewRollbackPlan(t Target, to int) (*Plan, error) {
	if to < 0 {
		return nil, fmt.Errorf("deploy: rollback --to %d: want a version ≥ 0", to)
	}
	var d dialect
	var phases []Phase
	switch t.Dialect {
	case SQLite:
		d, phases = sqliteDialect, sqliteRollback(t, to)
	case SQLServer:
		d, phases = sqlserverDialect, sqlserverRollback(t, to)
	case Postgres:
		d, phases = postgresDialect, postgresRollback(t, to)
	default:
		return nil, fmt.Errorf("%w: dialect %q", ErrDSN, t.Dialect)
	}
	ms, err := loadMigrations(d)
	if err != nil {
		return nil, err
	}
	if to > len(ms) {
		return nil, fmt.Errorf("deploy: rollback --to %d: this hartd knows versions 0 to %d", to, len(ms))
	}
	return &Plan{Target: t, Title: fmt.Sprintf("deploy rollback --to %d", to), Phases: phases}, nil
}
