package billing

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/hartonomous/hartd/internal/store"
)

// Biller meters operations and writes their ledger rows. It is safe for
// concurrent use; Close it after the last call.
type Biller struct {
	Meter  *Meter
	Ledger *Ledger
	Store  store.Accounts
}

// NewBiller returns a biller over st, with rates cached for rateTTL
// (<= 0: RateTTL).
func NewBiller(st store.Accounts, rateTTL time.Duration, log *slog.Logger) *Biller {
	return &Biller{Meter: NewMeter(st, rateTTL), Ledger: NewLedger(st, log), Store: st}
}

// Record prices an operation of the caller in ctx without writing it.
func (b *Biller) Record(ctx context.Context, op string, units float64, distances int64, meta map[string]any) (store.UsageRecord, error) {
	var m string
	if len(meta) > 0 {
		js, err := json.Marshal(meta)
		if err != nil {
			return store.UsageRecord{}, fmt.Errorf("billing: metadata: %w", err)
		}
		m = string(js)
	}
	return b.Meter.Record(ctx, op, units, distances, m)
}

// Charge prices an operation and returns once its row has committed.
func (b *Biller) Charge(ctx context.Context, op string, units float64, distances int64, meta map[string]any) error {
	rec, err := b.Record(ctx, op, units, distances, meta)
	if err != nil {
		return err
	}
	return b.Ledger.Append(ctx, rec)
}

// Close writes the rows pending and stops the ledger.
func (b *Biller) Close() { b.Ledger.Close() }
