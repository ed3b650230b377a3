// Package billing meters hartd's operations into the BillingUsageLedger, as
// the seed's system did: per tenant and principal, an operation's units
// times the plan's base rate and the operation's multiplier give its DCU,
// and the DCU times the unit price its cost, each rounded to six decimals.
//
// Rates are read from the store (BillingRatePlans, BillingOperationRates)
// and kept for at most RateTTL, so a change applies without a restart.
//
// Ledger group-commits records: a caller's Append waits until its record
// has committed, together with those of every call that arrived meanwhile,
// in one transaction. An acknowledged call's record therefore survives a
// crash, and under concurrent load one commit (one fsync) is shared by many
// records. An insert's record does not go through the Ledger: it commits in
// the insert's own transaction (store.Batch.Usage).
package billing

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/hartonomous/hartd/internal/store"
	"github.com/hartonomous/hartd/internal/tenant"
)

// Operations billed.
const (
	OpCreateModel = "create_model"
	OpInsert      = "insert"
	OpSearch      = "search"
	OpGet         = "get"
	OpDelete      = "delete"
	OpProject     = "project"
)

// Round6 rounds to six decimals, half away from zero, like decimal(18,6).
func Round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// Cost applies the seed's formula: DCU = round6(units × base × multiplier),
// cost = round6(DCU × unit price).
func Cost(units, base, mult, unitPrice float64) (dcu, cost float64) {
	dcu = Round6(units * base * mult)
	return dcu, Round6(dcu * unitPrice)
}

// RateTTL is how long a tenant's rates are cached.
const RateTTL = 5 * time.Second

// Meter prices operations. It is safe for concurrent use.
type Meter struct {
	st  store.Accounts // immutable
	ttl time.Duration  // immutable

	mu    sync.Mutex // guards plans
	plans map[int64]cachedPlan
}

type cachedPlan struct {
	p  store.RatePlan
	at time.Time
}

// NewMeter returns a meter reading rates from st; ttl <= 0 is RateTTL.
func NewMeter(st store.Accounts, ttl time.Duration) *Meter {
	if ttl <= 0 {
		ttl = RateTTL
	}
	return &Meter{st: st, ttl: ttl, plans: map[int64]cachedPlan{}}
}

// Plan returns the tenant's rates, at most TTL old.
func (m *Meter) Plan(ctx context.Context, tenantID int64) (store.RatePlan, error) {
	m.mu.Lock()
	c, ok := m.plans[tenantID]
	m.mu.Unlock()
	if ok && time.Since(c.at) < m.ttl {
		return c.p, nil
	}
	p, err := m.st.RatePlan(ctx, tenantID)
	if err != nil {
		return p, fmt.Errorf("billing: rates of tenant %d: %w", tenantID, err)
	}
	m.mu.Lock()
	m.plans[tenantID] = cachedPlan{p: p, at: time.Now()}
	m.mu.Unlock()
	return p, nil
}

// Record prices one operation of the caller in ctx. distances is the
// number of exact distances a search computed (0 for other operations);
// metadata is a JSON object or "".
func (m *Meter) Record(ctx context.Context, op string, units float64, distances int64, metadata string) (store.UsageRecord, error) {
	id := tenant.From(ctx)
	p, err := m.Plan(ctx, id.Tenant)
	if err != nil {
		return store.UsageRecord{}, err
	}
	if distances > 0 {
		units += float64(distances) / 1000 * p.DistanceUnitsPer1000
	}
	units = Round6(units)
	mult, ok := p.Multipliers[op]
	if !ok {
		mult = 1
	}
	dcu, cost := Cost(units, p.BaseRate, mult, p.UnitPrice)
	return store.UsageRecord{TenantID: id.Tenant, Principal: id.Principal, Operation: op, Units: units,
		BaseRate: p.BaseRate, Multiplier: mult, DCU: dcu, Cost: cost, Metadata: metadata, At: time.Now().UTC()}, nil
}
