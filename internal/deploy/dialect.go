package deploy

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/hartonomous/hartd/internal/migrate"
)

// coreTables are the tables of the hartd schema, named as in the seed.
var coreTables = []string{"Tenants", "Models", "Atoms", "AtomEmbeddings", "SpatialAnchors"}

// dialect is what the shared phases need to know of a SQL dialect.
type dialect struct {
	migrate migrate.Dialect
	// migrations is the folder of the migrations in the embedded FS.
	migrations string
	// table returns how a schema table is named in a statement.
	table func(name string) string
	// tableExists is a query with one parameter, a table's name as table
	// returns it unquoted, yielding one integer: 1 when the table exists.
	tableExists string
	// historyName is the history table's name as tableExists wants it.
	historyName string
	// dropHistory drops the history table if it exists.
	dropHistory string
	// ph returns the n-th placeholder.
	ph func(n int) string
}

// exists reports whether a table exists.
func (d dialect) exists(ctx context.Context, db *sql.DB, name string) (bool, error) {
	var n int
	if err := db.QueryRowContext(ctx, d.tableExists, name).Scan(&n); err != nil {
		return false, fmt.Errorf("look for table %s: %w", name, err)
	}
	return n > 0, nil
}

// historySelect reads the history table, as migrate.Runner does.
const historySelect = `SELECT Version, Name, Checksum, AppliedAt FROM ` + migrate.HistoryTable + ` ORDER BY Version`

// appliedVersions reads the history without creating it: nil when the table
// does not exist.
func (d dialect) appliedVersions(ctx context.Context, db *sql.DB) ([]migrate.Applied, bool, error) {
	ok, err := d.exists(ctx, db, d.historyName)
	if err != nil || !ok {
		return nil, false, err
	}
	rows, err := db.QueryContext(ctx, historySelect)
	if err != nil {
		return nil, true, fmt.Errorf("read %s: %w", migrate.HistoryTable, err)
	}
	defer rows.Close()
	var out []migrate.Applied
	for rows.Next() {
		var a migrate.Applied
		var at string
		if err := rows.Scan(&a.Version, &a.Name, &a.Checksum, &at); err != nil {
			return nil, true, fmt.Errorf("read %s: %w", migrate.HistoryTable, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, true, fmt.Errorf("read %s: %w", migrate.HistoryTable, err)
	}
	return out, true, nil
}

// quoteLiteral returns s as a SQL string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
