// Package auth turns an API key into the identity of its tenant and
// principal, against the store's ApiKeys.
//
// Keys are 32 random bytes, written "hartd_" + base64url. The store holds
// only their SHA-256 (see store.APIKey for why a fast hash is right for
// such keys). Authentication is on as soon as any active key exists; the
// Authenticator rereads that fact and each key's row at most every TTL, so
// a key created or revoked with `hartd keys` while the server runs takes
// effect within TTL, and an unknown key is always looked up in the store.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hartonomous/hartd/internal/store"
	"github.com/hartonomous/hartd/internal/tenant"
)

// Errors callers test with errors.Is.
var (
	ErrMissingKey = errors.New("auth: missing API key (send authorization: Bearer <key>)")
	ErrBadKey     = errors.New("auth: invalid or revoked API key")
	ErrNoKeys     = errors.New("auth: no API key exists and this server listens beyond loopback; create one with hartd keys create")
)

// KeyPrefix starts every key.
const KeyPrefix = "hartd_"

// NewKey returns a new random key and its hash.
func NewKey() (key string, hash []byte, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, fmt.Errorf("auth: random key: %w", err)
	}
	key = KeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return key, Hash(key), nil
}

// Hash is the stored form of a key.
func Hash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// DisplayPrefix is the part of a key shown in listings.
func DisplayPrefix(key string) string {
	return key[:min(len(key), len(KeyPrefix)+6)]
}

// DefaultTTL bounds how stale the Authenticator's view of the keys may be.
const DefaultTTL = 2 * time.Second

// Authenticator is safe for concurrent use.
type Authenticator struct {
	st  store.Accounts // immutable
	ttl time.Duration  // immutable
	// requireKeys refuses every call while no key exists (a server beyond
	// loopback); immutable.
	requireKeys bool

	// mu guards the cached view of the store.
	mu       sync.Mutex
	enabled  bool
	checked  time.Time
	keys     map[[32]byte]cached
	lastTrim time.Time
}

type cached struct {
	id tenant.Identity
	at time.Time
}

// New returns an Authenticator over st. ttl <= 0 is DefaultTTL.
func New(st store.Accounts, ttl time.Duration, requireKeys bool) *Authenticator {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Authenticator{st: st, ttl: ttl, requireKeys: requireKeys, keys: map[[32]byte]cached{}}
}

// Enabled says whether any active key exists, as of at most TTL ago.
func (a *Authenticator) Enabled(ctx context.Context) (bool, error) {
	a.mu.Lock()
	if time.Since(a.checked) < a.ttl {
		en := a.enabled
		a.mu.Unlock()
		return en, nil
	}
	a.mu.Unlock()
	en, err := a.st.HasAPIKeys(ctx)
	if err != nil {
		return false, fmt.Errorf("auth: %w", err)
	}
	a.mu.Lock()
	a.enabled, a.checked = en, time.Now()
	a.mu.Unlock()
	return en, nil
}

// Authenticate returns the identity of the call that presents key ("" for
// none): tenant.Default while no key exists, else the key's.
func (a *Authenticator) Authenticate(ctx context.Context, key string) (tenant.Identity, error) {
	en, err := a.Enabled(ctx)
	if err != nil {
		return tenant.Identity{}, err
	}
	if !en {
		if a.requireKeys {
			return tenant.Identity{}, ErrNoKeys
		}
		return tenant.Default, nil
	}
	if key == "" {
		return tenant.Identity{}, ErrMissingKey
	}
	if !strings.HasPrefix(key, KeyPrefix) || len(key) > 256 {
		return tenant.Identity{}, ErrBadKey
	}
	var h [32]byte
	copy(h[:], Hash(key))
	now := time.Now()
	a.mu.Lock()
	c, ok := a.keys[h]
	a.mu.Unlock()
	if ok && now.Sub(c.at) < a.ttl {
		return c.id, nil
	}
	k, err := a.st.APIKeyByHash(ctx, h[:])
	if errors.Is(err, store.ErrNotFound) {
		a.mu.Lock()
		delete(a.keys, h)
		a.mu.Unlock()
		return tenant.Identity{}, ErrBadKey
	}
	if err != nil {
		return tenant.Identity{}, fmt.Errorf("auth: %w", err)
	}
	// The store matched by the hash's index; compare again in constant time.
	if subtle.ConstantTimeCompare(k.Hash, h[:]) != 1 {
		return tenant.Identity{}, ErrBadKey
	}
	id := tenant.Identity{Tenant: k.TenantID, TenantName: k.TenantName, Principal: k.Name, KeyID: k.ID}
	a.mu.Lock()
	a.keys[h] = cached{id: id, at: now}
	if now.Sub(a.lastTrim) > time.Minute {
		for kh, c := range a.keys {
			if now.Sub(c.at) >= a.ttl {
				delete(a.keys, kh)
			}
		}
		a.lastTrim = now
	}
	a.mu.Unlock()
	return id, nil
}
