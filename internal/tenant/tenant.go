// Package tenant carries the caller's identity, its tenant and principal,
// in a context: the server's authentication puts it there and the engine
// scopes every model, row and ledger record by it. A context without one
// is the default tenant's, as a server without API keys runs.
package tenant

import (
	"context"

	"github.com/hartonomous/hartd/internal/store"
)

// Identity is who makes a call.
type Identity struct {
	Tenant     int64
	TenantName string
	// Principal is the API key's name, or "default" without keys.
	Principal string
	// KeyID is the API key's id; 0 without keys.
	KeyID int64
}

// Default is the identity of calls while the server has no API keys.
var Default = Identity{Tenant: store.DefaultTenant, TenantName: "default", Principal: "default"}

type ctxKey struct{}

// With returns ctx carrying id.
func With(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// From returns the identity in ctx, or Default.
func From(ctx context.Context) Identity {
	if id, ok := ctx.Value(ctxKey{}).(Identity); ok {
		return id
	}
	return Default
}
