package store

import (
	"context"
	"time"
)

// APIKey is a stored API key. Only the SHA-256 of the key is stored: the key
// itself is 32 random bytes, so a fast unsalted hash is enough to make a
// stolen table useless (there is no dictionary to try against 2^256 keys,
// unlike passwords, which need a slow salted hash), and it lets a request's
// key be looked up by its hash with one indexed read.
type APIKey struct {
	ID         int64
	TenantID   int64
	TenantName string // filled by reads
	// Name is the principal the key stands for (a person, a service).
	Name      string
	Prefix    string // the key's first characters, for listings
	Hash      []byte // SHA-256 of the key
	CreatedAt time.Time
	RevokedAt time.Time // zero while active
}

// Tenant is a tenant.
type Tenant struct {
	ID   int64
	Name string
}

// RatePlan is the billing rates that apply to a tenant.
type RatePlan struct {
	ID        int64
	Name      string
	BaseRate  float64
	UnitPrice float64
	// DistanceUnitsPer1000 is what a search is billed per 1,000 exact
	// distances it computed, on top of its one unit.
	DistanceUnitsPer1000 float64
	// Multipliers by operation; an operation absent is 1.
	Multipliers map[string]float64
}

// UsageRecord is one BillingUsageLedger row.
type UsageRecord struct {
	TenantID   int64
	Principal  string
	Operation  string
	Units      float64
	BaseRate   float64
	Multiplier float64
	DCU        float64
	Cost       float64
	Metadata   string // a JSON object or ""
	At         time.Time
}

// Usage groupings.
const (
	GroupByOperation = "operation"
	GroupByDay       = "day"
)

// UsageRow is the sum of a tenant's ledger rows in one group.
type UsageRow struct {
	Group   string // the operation, or the UTC day as 2006-01-02
	Records int64
	Units   float64
	DCU     float64
	Cost    float64
}

// DedupPolicy is a row of DeduplicationPolicies. TenantID 0 is a policy of
// every tenant that has no active policy of its own.
type DedupPolicy struct {
	ID        int64
	TenantID  int64
	Name      string
	Threshold float64
	Active    bool
	CreatedAt time.Time
}

// Accounts is the part of the store that holds tenants, API keys, the
// billing ledger and its rates, and deduplication policies.
type Accounts interface {
	// EnsureTenant returns the tenant of that name, creating it if needed.
	EnsureTenant(ctx context.Context, name string) (Tenant, error)
	// CreateAPIKey stores k (ID and CreatedAt are assigned).
	CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error)
	// APIKeys returns every key, revoked ones too, ordered by ID.
	APIKeys(ctx context.Context) ([]APIKey, error)
	// RevokeAPIKey revokes a key; ErrNotFound if there is no such active key.
	RevokeAPIKey(ctx context.Context, id int64) error
	// APIKeyByHash returns the active key of that hash, or ErrNotFound.
	APIKeyByHash(ctx context.Context, hash []byte) (APIKey, error)
	// HasAPIKeys says whether any active key exists.
	HasAPIKeys(ctx context.Context) (bool, error)

	// RatePlan returns the active plan of a tenant, else the active plan
	// of every tenant.
	RatePlan(ctx context.Context, tenantID int64) (RatePlan, error)
	// AppendUsage writes ledger rows in one transaction.
	AppendUsage(ctx context.Context, recs []UsageRecord) error
	// Usage sums a tenant's ledger rows with from <= time < to by group.
	Usage(ctx context.Context, tenantID int64, from, to time.Time, groupBy string) ([]UsageRow, error)

	// DedupPolicies returns the tenant's policies and those of every
	// tenant (TenantID 0), ordered by ID.
	DedupPolicies(ctx context.Context, tenantID int64) ([]DedupPolicy, error)
	// SetDedupPolicy creates or updates the tenant's policy of that name;
	// an active one deactivates the tenant's others.
	SetDedupPolicy(ctx context.Context, p DedupPolicy) (DedupPolicy, error)
}
