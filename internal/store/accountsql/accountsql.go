// Package accountsql implements store.Accounts (tenants, API keys, the
// billing ledger and its rates, deduplication policies) once for every
// dialect, over database/sql. The SQL is portable: identifiers are quoted
// ("ApiKeys"), which SQLite, PostgreSQL and SQL Server (QUOTED_IDENTIFIER ON,
// the default of its drivers) all accept; what differs is in Dialect.
package accountsql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hartonomous/hartd/internal/store"
)

// Dialect is what differs between the databases.
type Dialect struct {
	Name string
	// Ph is the n-th (1-based) placeholder.
	Ph func(n int) string
	// Time converts a time for a parameter; ParseTime reads one back from
	// what Scan put in an any.
	Time      func(time.Time) any
	ParseTime func(any) (time.Time, error)
	// Day is an expression of the UTC day (2006-01-02) of a time column.
	Day func(col string) string
	// True is the literal of a true boolean column.
	True, False string
	// Returning turns an INSERT's column list and values into a statement
	// that returns the named identity column.
	Returning func(table, cols, vals, idCol string) string
	// IsUnique says whether err is a unique-constraint violation.
	IsUnique func(error) bool
	// MaxParams bounds the parameters of one statement; 0 means 2,000.
	MaxParams int
}

// Accounts implements store.Accounts on db.
type Accounts struct {
	// W takes writes; R takes reads (the same pool on a server database).
	W, R *sql.DB
	D    Dialect
	// stmts caches AppendUsage's prepared statements by rows (int →
	// *sql.Stmt); they close with W.
	stmts sync.Map
}

// SQLiteTime formats a time as SQLite columns of hartd hold it: fixed
// width, so that text order is time order.
func SQLiteTime(t time.Time) any { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// ParseAnyTime reads a time from a driver's value: a time.Time or RFC 3339
// text.
func ParseAnyTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t.UTC(), nil
	case string:
		return time.Parse(time.RFC3339Nano, t)
	case []byte:
		return time.Parse(time.RFC3339Nano, string(t))
	case nil:
		return time.Time{}, nil
	}
	return time.Time{}, fmt.Errorf("accounts: time of type %T", v)
}

// q replaces each ? with the dialect's placeholder.
func (a *Accounts) q(s string) string {
	if a.D.Ph == nil {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r == '?' {
			n++
			b.WriteString(a.D.Ph(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// EnsureTenant implements store.Accounts.
func (a *Accounts) EnsureTenant(ctx context.Context, name string) (store.Tenant, error) {
	if name == "" {
		return store.Tenant{}, errors.New("accounts: empty tenant name")
	}
	for attempt := 0; ; attempt++ {
		var t store.Tenant
		err := a.W.QueryRowContext(ctx, a.q(`SELECT "TenantId", "TenantName" FROM "Tenants" WHERE "TenantName" = ?`), name).Scan(&t.ID, &t.Name)
		if err == nil {
			return t, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return t, fmt.Errorf("accounts: read tenant %q: %w", name, err)
		}
		// Tenant ids are assigned here: SQL Server's Tenants has no
		// identity. A concurrent insert makes this one fail: read again.
		_, err = a.W.ExecContext(ctx, a.q(`INSERT INTO "Tenants" ("TenantId", "TenantName", "CreatedAt")
SELECT COALESCE(MAX("TenantId"), 0) + 1, ?, ? FROM "Tenants"`), name, a.D.Time(time.Now()))
		if err == nil || (a.D.IsUnique(err) && attempt < 3) {
			continue
		}
		return t, fmt.Errorf("accounts: create tenant %q: %w", name, err)
	}
}

// CreateAPIKey implements store.Accounts.
func (a *Accounts) CreateAPIKey(ctx context.Context, k store.APIKey) (store.APIKey, error) {
	k.CreatedAt = time.Now().UTC()
	stmt := a.D.Returning(`"ApiKeys"`, `("TenantId", "KeyName", "KeyPrefix", "KeyHash", "CreatedAt")`, `(?, ?, ?, ?, ?)`, `"ApiKeyId"`)
	err := a.W.QueryRowContext(ctx, a.q(stmt), k.TenantID, k.Name, k.Prefix, k.Hash, a.D.Time(k.CreatedAt)).Scan(&k.ID)
	if err != nil {
		if a.D.IsUnique(err) {
			return k, fmt.Errorf("%w: api key", store.ErrExists)
		}
		return k, fmt.Errorf("accounts: create api key: %w", err)
	}
	return k, nil
}

const keyColumns = `k."ApiKeyId", k."TenantId", t."TenantName", k."KeyName", k."KeyPrefix", k."KeyHash", k."CreatedAt", k."RevokedAt"`

func (a *Accounts) scanKey(sc interface{ Scan(...any) error }) (store.APIKey, error) {
	var k store.APIKey
	var created, revoked any
	if err := sc.Scan(&k.ID, &k.TenantID, &k.TenantName, &k.Name, &k.Prefix, &k.Hash, &created, &revoked); err != nil {
		return k, err
	}
	var err error
	if k.CreatedAt, err = a.D.ParseTime(created); err != nil {
		return k, err
	}
	if k.RevokedAt, err = a.D.ParseTime(revoked); err != nil {
		return k, err
	}
	return k, nil
}

// APIKeys implements store.Accounts.
func (a *Accounts) APIKeys(ctx context.Context) ([]store.APIKey, error) {
	rows, err := a.R.QueryContext(ctx, `SELECT `+keyColumns+` FROM "ApiKeys" k JOIN "Tenants" t ON t."TenantId" = k."TenantId" ORDER BY k."ApiKeyId"`)
	if err != nil {
		return nil, fmt.Errorf("accounts: list api keys: %w", err)
	}
	defer rows.Close()
	var out []store.APIKey
	for rows.Next() {
		k, err := a.scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("accounts: list api keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("accounts: list api keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey implements store.Accounts.
func (a *Accounts) RevokeAPIKey(ctx context.Context, id int64) error {
	res, err := a.W.ExecContext(ctx, a.q(`UPDATE "ApiKeys" SET "RevokedAt" = ? WHERE "ApiKeyId" = ? AND "RevokedAt" IS NULL`), a.D.Time(time.Now()), id)
	if err != nil {
		return fmt.Errorf("accounts: revoke api key %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("accounts: revoke api key %d: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("%w: active api key %d", store.ErrNotFound, id)
	}
	return nil
}

// APIKeyByHash implements store.Accounts.
func (a *Accounts) APIKeyByHash(ctx context.Context, hash []byte) (store.APIKey, error) {
	row := a.R.QueryRowContext(ctx, a.q(`SELECT `+keyColumns+` FROM "ApiKeys" k JOIN "Tenants" t ON t."TenantId" = k."TenantId"
WHERE k."KeyHash" = ? AND k."RevokedAt" IS NULL`), hash)
	k, err := a.scanKey(row)
	if errors.Is(err, sql.ErrNoRows) {
		return k, fmt.Errorf("%w: api key", store.ErrNotFound)
	}
	if err != nil {
		return k, fmt.Errorf("accounts: read api key: %w", err)
	}
	return k, nil
}

// HasAPIKeys implements store.Accounts.
func (a *Accounts) HasAPIKeys(ctx context.Context) (bool, error) {
	var n int64
	if err := a.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM "ApiKeys" WHERE "RevokedAt" IS NULL`).Scan(&n); err != nil {
		return false, fmt.Errorf("accounts: count api keys: %w", err)
	}
	return n > 0, nil
}

// RatePlan implements store.Accounts.
func (a *Accounts) RatePlan(ctx context.Context, tenantID int64) (store.RatePlan, error) {
	p := store.RatePlan{Multipliers: map[string]float64{}}
	// A tenant's own plan sorts first: NULL TenantId sorts as 0 here.
	rows, err := a.R.QueryContext(ctx, a.q(`SELECT "RatePlanId", "PlanName", "BaseRate", "UnitPrice", "DistanceUnitsPer1000", COALESCE("TenantId", 0)
FROM "BillingRatePlans" WHERE "IsActive" = `+a.D.True+` AND ("TenantId" = ? OR "TenantId" IS NULL)
ORDER BY COALESCE("TenantId", 0) DESC, "RatePlanId"`), tenantID)
	if err != nil {
		return p, fmt.Errorf("accounts: read rate plan: %w", err)
	}
	found := false
	for rows.Next() && !found {
		var t int64
		if err := rows.Scan(&p.ID, &p.Name, &p.BaseRate, &p.UnitPrice, &p.DistanceUnitsPer1000, &t); err != nil {
			rows.Close()
			return p, fmt.Errorf("accounts: read rate plan: %w", err)
		}
		found = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return p, fmt.Errorf("accounts: read rate plan: %w", err)
	}
	if !found {
		return p, fmt.Errorf("%w: no active rate plan for tenant %d", store.ErrNotFound, tenantID)
	}
	mr, err := a.R.QueryContext(ctx, a.q(`SELECT "Operation", "Multiplier" FROM "BillingOperationRates" WHERE "RatePlanId" = ?`), p.ID)
	if err != nil {
		return p, fmt.Errorf("accounts: read operation rates: %w", err)
	}
	defer mr.Close()
	for mr.Next() {
		var op string
		var m float64
		if err := mr.Scan(&op, &m); err != nil {
			return p, fmt.Errorf("accounts: read operation rates: %w", err)
		}
		p.Multipliers[op] = m
	}
	if err := mr.Err(); err != nil {
		return p, fmt.Errorf("accounts: read operation rates: %w", err)
	}
	return p, nil
}

// UsageColumns is the column list of a ledger INSERT, and UsageArgs the
// values of one record in that order: dialects that write ledger rows in
// their own transactions (an insert's row) use them.
const UsageColumns = `("TenantId", "Principal", "Operation", "Units", "BaseRate", "Multiplier", "Dcu", "TotalCost", "Metadata", "UsedAt")`

// UsageArgs returns r's values in the order of UsageColumns.
func (d Dialect) UsageArgs(r store.UsageRecord) []any {
	var meta any
	if r.Metadata != "" {
		meta = r.Metadata
	}
	return []any{r.TenantID, r.Principal, r.Operation, r.Units, r.BaseRate, r.Multiplier, r.DCU, r.Cost, meta, d.Time(r.At)}
}

// UsageInsert is the statement that writes one ledger row, with the
// dialect's placeholders; its arguments are UsageArgs.
func (d Dialect) UsageInsert() string {
	a := Accounts{D: d}
	return a.q(`INSERT INTO "BillingUsageLedger" ` + UsageColumns + ` VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
}

// Execer runs a statement: a *sql.Tx (or *sql.DB, *sql.Conn).
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// preparer is an Execer that can prepare statements (a *sql.Tx).
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// maxRowsPerInsert keeps a multi-row INSERT under every dialect's limit of
// parameters (SQL Server: 2,100; 10 per row), unless Dialect.MaxParams
// allows more.
const maxRowsPerInsert = 200

func (d Dialect) rowsPerInsert() int {
	if d.MaxParams > 0 {
		return max(1, d.MaxParams/10)
	}
	return maxRowsPerInsert
}

func (d Dialect) usageInsertRows(n int) string {
	a := Accounts{D: d}
	var b strings.Builder
	b.WriteString(`INSERT INTO "BillingUsageLedger" ` + UsageColumns + ` VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	return a.q(b.String())
}

// WriteUsage inserts recs with multi-row INSERTs through ex (a
// transaction); the statement of a full chunk is prepared once.
func (d Dialect) WriteUsage(ctx context.Context, ex Execer, recs []store.UsageRecord) error {
	per := d.rowsPerInsert()
	var full *sql.Stmt
	args := make([]any, 0, min(len(recs), per)*10)
	for len(recs) > 0 {
		n := min(len(recs), per)
		args = args[:0]
		for i := range n {
			args = append(args, d.UsageArgs(recs[i])...)
		}
		var err error
		if p, ok := ex.(preparer); ok && n == per && len(recs) >= 2*per {
			if full == nil {
				if full, err = p.PrepareContext(ctx, d.usageInsertRows(per)); err != nil {
					return fmt.Errorf("accounts: prepare the ledger insert: %w", err)
				}
				defer full.Close()
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = ex.ExecContext(ctx, d.usageInsertRows(n), args...)
		}
		if err != nil {
			return fmt.Errorf("accounts: write %d ledger rows: %w", n, err)
		}
		recs = recs[n:]
	}
	return nil
}

// appendChunks are the row counts of the ledger INSERTs AppendUsage
// prepares once and reuses: a group of n rows is written as n's
// decomposition into these, so no group parses SQL.
var appendChunks = []int{256, 64, 16, 4, 1}

// AppendUsage implements store.Accounts.
func (a *Accounts) AppendUsage(ctx context.Context, recs []store.UsageRecord) (err error) {
	if len(recs) == 0 {
		return nil
	}
	// Prepare before the transaction: the embedded store's writer pool
	// has one connection, which the transaction holds.
	var stmts [8]*sql.Stmt
	for k, size := range appendChunks {
		if size*10 <= max(a.D.MaxParams, 2000) && len(recs) >= size {
			if stmts[k], err = a.stmt(ctx, size); err != nil {
				return err
			}
		}
	}
	tx, err := a.W.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("accounts: append usage: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	args := make([]any, 0, appendChunks[0]*10)
	for k, size := range appendChunks {
		stmt := stmts[k]
		if stmt == nil {
			continue
		}
		for len(recs) >= size {
			args = args[:0]
			for i := range size {
				args = append(args, a.D.UsageArgs(recs[i])...)
			}
			if _, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("accounts: write %d ledger rows: %w", size, err)
			}
			recs = recs[size:]
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("accounts: append usage: commit: %w", err)
	}
	return nil
}

// stmt returns the prepared ledger INSERT of size rows.
func (a *Accounts) stmt(ctx context.Context, size int) (*sql.Stmt, error) {
	if s, ok := a.stmts.Load(size); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := a.W.PrepareContext(ctx, a.D.usageInsertRows(size))
	if err != nil {
		return nil, fmt.Errorf("accounts: prepare the ledger insert: %w", err)
	}
	if old, loaded := a.stmts.LoadOrStore(size, s); loaded {
		_ = s.Close()
		return old.(*sql.Stmt), nil
	}
	return s, nil
}

// Usage implements store.Accounts.
func (a *Accounts) Usage(ctx context.Context, tenantID int64, from, to time.Time, groupBy string) ([]store.UsageRow, error) {
	var g string
	switch groupBy {
	case store.GroupByOperation, "":
		g = `"Operation"`
	case store.GroupByDay:
		g = a.D.Day(`"UsedAt"`)
	default:
		return nil, fmt.Errorf("accounts: group by %q: want operation or day", groupBy)
	}
	rows, err := a.R.QueryContext(ctx, a.q(`SELECT `+g+`, COUNT(*), SUM("Units"), SUM("Dcu"), SUM("TotalCost") FROM "BillingUsageLedger"
WHERE "TenantId" = ? AND "UsedAt" >= ? AND "UsedAt" < ? GROUP BY `+g+` ORDER BY `+g), tenantID, a.D.Time(from), a.D.Time(to))
	if err != nil {
		return nil, fmt.Errorf("accounts: usage: %w", err)
	}
	defer rows.Close()
	var out []store.UsageRow
	for rows.Next() {
		var r store.UsageRow
		if err := rows.Scan(&r.Group, &r.Records, &r.Units, &r.DCU, &r.Cost); err != nil {
			return nil, fmt.Errorf("accounts: usage: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("accounts: usage: %w", err)
	}
	return out, nil
}

// DedupPolicies implements store.Accounts.
func (a *Accounts) DedupPolicies(ctx context.Context, tenantID int64) ([]store.DedupPolicy, error) {
	rows, err := a.R.QueryContext(ctx, a.q(`SELECT "PolicyId", COALESCE("TenantId", 0), "PolicyName", "SemanticThreshold",
CASE WHEN "IsActive" = `+a.D.True+` THEN 1 ELSE 0 END, "CreatedAt"
FROM "DeduplicationPolicies" WHERE "TenantId" = ? OR "TenantId" IS NULL ORDER BY "PolicyId"`), tenantID)
	if err != nil {
		return nil, fmt.Errorf("accounts: dedup policies: %w", err)
	}
	defer rows.Close()
	var out []store.DedupPolicy
	for rows.Next() {
		var p store.DedupPolicy
		var active int
		var created any
		if err := rows.Scan(&p.ID, &p.TenantID, &p.Name, &p.Threshold, &active, &created); err != nil {
			return nil, fmt.Errorf("accounts: dedup policies: %w", err)
		}
		p.Active = active == 1
		if p.CreatedAt, err = a.D.ParseTime(created); err != nil {
			// SQLite's default CreatedAt has three fraction digits.
			p.CreatedAt = time.Time{}
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("accounts: dedup policies: %w", err)
	}
	return out, nil
}

// SetDedupPolicy implements store.Accounts.
func (a *Accounts) SetDedupPolicy(ctx context.Context, p store.DedupPolicy) (_ store.DedupPolicy, err error) {
	if p.TenantID == 0 || p.Name == "" {
		return p, errors.New("accounts: a policy needs a tenant and a name")
	}
	tx, err := a.W.BeginTx(ctx, nil)
	if err != nil {
		return p, fmt.Errorf("accounts: set dedup policy: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	active := a.D.False
	if p.Active {
		active = a.D.True
		if _, err := tx.ExecContext(ctx, a.q(`UPDATE "DeduplicationPolicies" SET "IsActive" = `+a.D.False+` WHERE "TenantId" = ?`), p.TenantID); err != nil {
			return p, fmt.Errorf("accounts: set dedup policy: %w", err)
		}
	}
	res, err := tx.ExecContext(ctx, a.q(`UPDATE "DeduplicationPolicies" SET "SemanticThreshold" = ?, "IsActive" = `+active+`
WHERE "TenantId" = ? AND "PolicyName" = ?`), p.Threshold, p.TenantID, p.Name)
	if err != nil {
		return p, fmt.Errorf("accounts: set dedup policy: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := tx.ExecContext(ctx, a.q(`INSERT INTO "DeduplicationPolicies" ("TenantId", "PolicyName", "SemanticThreshold", "IsActive", "CreatedAt")
VALUES (?, ?, ?, `+active+`, ?)`), p.TenantID, p.Name, p.Threshold, a.D.Time(time.Now())); err != nil {
			return p, fmt.Errorf("accounts: set dedup policy: %w", err)
		}
	}
	if err := tx.QueryRowContext(ctx, a.q(`SELECT "PolicyId" FROM "DeduplicationPolicies" WHERE "TenantId" = ? AND "PolicyName" = ?`),
		p.TenantID, p.Name).Scan(&p.ID); err != nil {
		return p, fmt.Errorf("accounts: set dedup policy: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return p, fmt.Errorf("accounts: set dedup policy: commit: %w", err)
	}
	return p, nil
}

var _ store.Accounts = (*Accounts)(nil)
