// Package store defines hartd's system of record: the contract every store
// dialect (the embedded SQLite store, PostgreSQL/PostGIS, SQL Server) meets,
// and the records that cross it.
//
// A Store is durable: when Insert or Delete returns nil the change has
// committed and survives a crash of the process. Every method is safe for
// concurrent use; the engine nonetheless serializes writes, which lets a
// dialect keep a single writer. The runtime core is rebuilt from a Store at
// start, so nothing the core knows is lost with the process.
//
// storetest holds the conformance suite that each dialect runs.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/spatial"
)

// Errors callers test with errors.Is.
var (
	ErrExists   = errors.New("store: already exists")
	ErrNotFound = errors.New("store: not found")
	ErrClosed   = errors.New("store: closed")
)

// DefaultTenant is the tenant a server runs as while it has no API keys.
const DefaultTenant int64 = 1

// Model is a registered embedding model.
type Model struct {
	ID         int64
	TenantID   int64
	Name       string
	Dimension  int
	Metric     embed.Metric
	AnchorSeed uint64
	CreatedAt  time.Time
}

// Anchors are the three vectors that define a model's projection.
type Anchors struct {
	// EmbeddingIDs are the rows the anchors were copied from.
	EmbeddingIDs [3]int64
	Vectors      [3][]float32
	ChosenAt     time.Time
}

// NewItem is an embedding to write, already validated and normalized.
type NewItem struct {
	Vector []float32
	// Point is nil while the model has no anchors.
	Point       *spatial.Point
	Text        string
	SourceURI   string
	SourceType  string
	Metadata    string // a JSON object or ""
	ContentHash []byte // SHA-256, nil without text
	// DuplicateOf, when > 0, is an embedding of the model that the engine
	// found semantically equal: unless the content is a duplicate, nothing
	// is written and that embedding's atom gains a reference.
	DuplicateOf int64
}

// InsertStatus says what Insert did with an item.
type InsertStatus uint8

// Statuses of an item.
const (
	StatusNew      InsertStatus = iota + 1 // a new embedding row
	StatusContent                          // the tenant's atom of the same content gained a reference
	StatusSemantic                         // DuplicateOf's atom gained a reference; no row
)

// ItemResult is what Insert did with one item.
type ItemResult struct {
	// ID is the embedding: the new one, or the existing one duplicated. A
	// result of StatusContent is a new row only when ID is among the new
	// ids (the content was held by another model).
	ID             int64
	AtomID         int64
	Status         InsertStatus
	ReferenceCount int64
}

// PointUpdate sets the projected point of a stored embedding.
type PointUpdate struct {
	ID    int64
	Point spatial.Point
}

// Batch is everything one Insert commits atomically.
type Batch struct {
	ModelID int64
	Items   []NewItem
	// Anchors, when set, are persisted as the model's anchors, and
	// Reproject gives the points of embeddings stored before them. Items in
	// the same batch carry their points in NewItem.Point.
	Anchors   *Anchors
	Reproject []PointUpdate
	// AnchorItems[k] >= 0 says that anchor k is Items[AnchorItems[k]], whose
	// id the store records in place of Anchors.EmbeddingIDs[k]; -1 says the
	// anchor is an embedding stored before.
	AnchorItems [3]int
	// Usage, when set, is the insert's BillingUsageLedger row, written in
	// the same transaction.
	Usage *UsageRecord
	// Dedup turns on deduplication: an item whose content hash the model's
	// tenant already holds references that atom (see ItemResult), decided
	// inside the transaction. TenantID is the model's tenant.
	Dedup bool
	// Results, when it has len(Items), is filled with each item's result.
	Results []ItemResult
}

// Item is a stored embedding with its atom's content.
type Item struct {
	ID         int64
	AtomID     int64
	Vector     []float32 // nil from Items, which does not read vectors
	Point      *spatial.Point
	Text       string
	SourceURI  string
	SourceType string
	Metadata   string
	CreatedAt  time.Time
}

// Row is what Scan yields to rebuild the runtime core. Vector is valid only
// during the callback.
type Row struct {
	ID     int64
	Vector []float32
	Point  *spatial.Point
}

// MissingError reports ids that Delete did not find; nothing was deleted.
type MissingError struct {
	// Index is the position of the first missing id in the request.
	Index int
	ID    int64
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("store: id %d (ids[%d]) not found", e.ID, e.Index)
}

// Unwrap makes errors.Is(err, ErrNotFound) hold.
func (e *MissingError) Unwrap() error { return ErrNotFound }

// Store is the system of record.
type Store interface {
	// CreateModel registers m (ID and CreatedAt are assigned) or returns
	// ErrExists if the tenant already has a model of that name.
	CreateModel(ctx context.Context, m Model) (Model, error)
	// Models returns every model, ordered by ID.
	Models(ctx context.Context) ([]Model, error)
	// Anchors returns a model's anchors, or nil when none were chosen.
	Anchors(ctx context.Context, modelID int64) (*Anchors, error)
	// Insert commits a batch in one transaction and returns the
	// embeddings' ids in the order of b.Items (with b.Dedup, a duplicate's
	// is the embedding it duplicates). Ids ascend in commit order
	// and are never reused, not even after the newest row is deleted: the
	// runtime core appends rows in id order.
	Insert(ctx context.Context, b Batch) ([]int64, error)
	// Get returns one embedding of a model, or ErrNotFound.
	Get(ctx context.Context, modelID, id int64) (Item, error)
	// Items returns the content of the given embeddings, without vectors;
	// ids that do not exist are absent from the map.
	Items(ctx context.Context, modelID int64, ids []int64) (map[int64]Item, error)
	// Delete removes the given embeddings of a model in one transaction. If
	// any id does not exist it deletes nothing and returns *MissingError.
	Delete(ctx context.Context, modelID int64, ids []int64) (int, error)
	// Scan calls fn for each embedding of a model in ascending id order.
	Scan(ctx context.Context, modelID int64, fn func(Row) error) error
	// Close releases the store; calls after Close return ErrClosed.
	Close() error

	Accounts
}
