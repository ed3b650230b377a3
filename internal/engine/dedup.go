package engine

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// PolicyTTL bounds how stale the engine's view of a tenant's
// deduplication policy may be: a change through SetDedupPolicy applies at
// once on this server, one made elsewhere within PolicyTTL.
const PolicyTTL = 5 * time.Second

// policies caches each tenant's semantic threshold.
type policies struct {
	mu sync.Mutex // guards m
	m  map[int64]cachedPolicy
}

type cachedPolicy struct {
	threshold float64
	at        time.Time
}

// semanticThreshold returns the threshold of the tenant's active policy,
// else of the shared active policy, else 0 (no semantic deduplication).
func (e *Engine) semanticThreshold(ctx context.Context, tenantID int64) (float64, error) {
	e.pol.mu.Lock()
	c, ok := e.pol.m[tenantID]
	e.pol.mu.Unlock()
	if ok && time.Since(c.at) < PolicyTTL {
		return c.threshold, nil
	}
	ps, err := e.st.DedupPolicies(ctx, tenantID)
	if err != nil {
		return 0, fmt.Errorf("engine: dedup policy: %w", err)
	}
	t := 0.0
	for _, p := range ps {
		if !p.Active {
			continue
		}
		if p.TenantID == tenantID {
			t = p.Threshold
			break
		}
		if t == 0 {
			t = p.Threshold
		}
	}
	e.pol.mu.Lock()
	if e.pol.m == nil {
		e.pol.m = map[int64]cachedPolicy{}
	}
	e.pol.m[tenantID] = cachedPolicy{threshold: t, at: time.Now()}
	e.pol.mu.Unlock()
	return t, nil
}

// ForgetPolicy drops the cached policy of a tenant, after a change.
func (e *Engine) ForgetPolicy(tenantID int64) {
	e.pol.mu.Lock()
	delete(e.pol.m, tenantID)
	e.pol.mu.Unlock()
}
