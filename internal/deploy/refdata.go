package deploy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The seed's post-deployment reference data.
const (
	defaultPolicyName      = "Default"
	defaultPolicyThreshold = 0.95
	defaultModelName       = "default-embedding"
)

// referenceDataPhase seeds the Default deduplication policy when the
// schema has a DeduplicationPolicies table, and reports on the seed's
// default model, which hartd does not register: a model's dimension and
// metric are facts only its user knows, and a guessed one would accept
// vectors of the wrong shape.
func referenceDataPhase(d dialect) Phase {
	policies := d.table("DeduplicationPolicies")
	selPolicy := fmt.Sprintf(`SELECT COUNT(*) FROM %s WHERE %s = %s`, policies, col(d, "PolicyName"), d.ph(1))
	insPolicy := fmt.Sprintf(`INSERT INTO %s (%s, %s, %s) VALUES (%s, %s, %s)`, policies,
		col(d, "PolicyName"), col(d, "SemanticThreshold"), col(d, "IsActive"), d.ph(1), d.ph(2), d.ph(3))
	selModel := fmt.Sprintf(`SELECT %s, %s, %s FROM %s WHERE %s = 1 AND %s = %s`,
		col(d, "ModelId"), col(d, "Dimension"), col(d, "Metric"), d.table("Models"), col(d, "TenantId"), col(d, "ModelName"), d.ph(1))
	active := any(1)
	if d.migrate.Name == "postgres" {
		active = true
	}
	return Phase{
		Name: PhaseReferenceData,
		Script: func() ([]Step, error) {
			return []Step{
				{SQL: d.tableExists, Args: []any{"DeduplicationPolicies"}},
				{When: "when DeduplicationPolicies exists", SQL: selPolicy, Args: []any{defaultPolicyName}},
				{When: "when it exists and has no Default policy", SQL: insPolicy, Args: []any{defaultPolicyName, defaultPolicyThreshold, active}},
				{When: "the seed's default model is looked up, never registered", SQL: selModel, Args: []any{defaultModelName}},
			}, nil
		},
		Run: func(ctx context.Context, s *Session) (Result, error) {
			db, err := s.DB(ctx, "")
			if err != nil {
				return Result{}, err
			}
			var res Result
			ok, err := d.exists(ctx, db, "DeduplicationPolicies")
			if err != nil {
				return Result{}, err
			}
			switch {
			case !ok:
				res.Status = StatusSkipped
				res.Notes = append(res.Notes, fmt.Sprintf("dedup policy %s (%.2f): skipped: the schema has no DeduplicationPolicies table (no migration creates one yet)",
					defaultPolicyName, defaultPolicyThreshold))
			default:
				var n int
				if err := db.QueryRowContext(ctx, selPolicy, defaultPolicyName).Scan(&n); err != nil {
					return Result{}, fmt.Errorf("read DeduplicationPolicies: %w", err)
				}
				if n > 0 {
					res.Status = StatusUnchanged
					res.Notes = append(res.Notes, fmt.Sprintf("dedup policy %s: present, left as it is", defaultPolicyName))
				} else {
					if _, err := db.ExecContext(ctx, insPolicy, defaultPolicyName, defaultPolicyThreshold, active); err != nil {
						return Result{}, fmt.Errorf("insert the %s dedup policy: %w", defaultPolicyName, err)
					}
					res.Status = StatusChanged
					res.Notes = append(res.Notes, fmt.Sprintf("dedup policy %s (%.2f): inserted", defaultPolicyName, defaultPolicyThreshold))
				}
			}
			var id int64
			var dim int
			var metric string
			switch err := db.QueryRowContext(ctx, selModel, defaultModelName).Scan(&id, &dim, &metric); {
			case errors.Is(err, sql.ErrNoRows):
				res.Notes = append(res.Notes, fmt.Sprintf("model %s: not registered: a model's dimension and metric are its user's to choose "+
					"(hartd models create --name %s --dim N [--metric l2])", defaultModelName, defaultModelName))
			case err != nil:
				return res, fmt.Errorf("read Models: %w", err)
			default:
				res.Notes = append(res.Notes, fmt.Sprintf("model %s: present (id %d, %d-d %s), left as it is", defaultModelName, id, dim, metric))
			}
			return res, nil
		},
	}
}

// col returns a column name as the dialect writes it.
func col(d dialect, name string) string {
	if d.migrate.Name == "postgres" {
		return `"` + name + `"`
	}
	return name
}
