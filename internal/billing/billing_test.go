package billing

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hartonomous/hartd/internal/store"
	"github.com/hartonomous/hartd/internal/store/sqlite"
	"github.com/hartonomous/hartd/internal/tenant"
)

func TestCost(t *testing.T) {
	for _, c := range []struct {
		units, base, mult, price float64
		dcu, cost                float64
	}{
		{1, 0.01, 1, 0.00008, 0.01, 0.000001}, // 8e-7 rounds up to 1e-6
		{1000, 0.01, 1, 0.00008, 10, 0.0008},  // an insert of 1,000 items
		{1.0000004, 0.01, 1, 0.00008, 0.01, 0.000001},
		{3, 0.01, 2.5, 0.00008, 0.075, 0.000006},
		{0.00001, 0.01, 1, 0.00008, 0, 0},
	} {
		dcu, cost := Cost(c.units, c.base, c.mult, c.price)
		if dcu != c.dcu || cost != c.cost {
			t.Errorf("Cost(%v, %v, %v, %v) = %v, %v; want %v, %v", c.units, c.base, c.mult, c.price, dcu, cost, c.dcu, c.cost)
		}
	}
}

func openStore(t testing.TB, syncMode string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{Synchronous: syncMode})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestMeterReadsRatesAndDistances(t *testing.T) {
	st := openStore(t, "normal")
	ctx := context.Background()
	m := NewMeter(st, time.Millisecond)
	rec, err := m.Record(ctx, OpSearch, 1, 250_000, `{"k":10}`)
	if err != nil {
		t.Fatal(err)
	}
	// 1 + 250 × 0.01 = 3.5 units; 0.035 DCU; 0.0000028 → 0.000003.
	if rec.Units != 3.5 || rec.DCU != 0.035 || rec.Cost != 0.000003 || rec.TenantID != store.DefaultTenant || rec.Principal != "default" {
		t.Fatalf("Record = %+v", rec)
	}
	// A rate change applies without a restart, once the TTL has passed.
	acme, err := st.EnsureTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	db := sqliteDB(t, st)
	if _, err := db.ExecContext(ctx, `UPDATE BillingOperationRates SET Multiplier = 2 WHERE Operation = 'search'`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	rec, err = m.Record(tenant.With(ctx, tenant.Identity{Tenant: acme.ID, Principal: "alice"}), OpSearch, 1, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Multiplier != 2 || rec.DCU != 0.02 || rec.TenantID != acme.ID || rec.Principal != "alice" {
		t.Fatalf("after the rate change: %+v", rec)
	}
}

func TestLedgerGroupCommits(t *testing.T) {
	st := openStore(t, "full")
	counting := &countingStore{Accounts: st}
	l := NewLedger(counting, nil)
	ctx := context.Background()
	const n = 2000
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := store.UsageRecord{TenantID: store.DefaultTenant, Principal: "p", Operation: "search", Units: 1, BaseRate: 0.01, Multiplier: 1,
				DCU: 0.01, Cost: 0.000001, Metadata: fmt.Sprintf(`{"i":%d}`, i), At: time.Now()}
			if err := l.Append(ctx, rec); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	l.Close()
	rows, err := st.Usage(ctx, store.DefaultTenant, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), store.GroupByOperation)
	if err != nil || len(rows) != 1 || rows[0].Records != n {
		t.Fatalf("ledger holds %+v, %v; want %d rows", rows, err, n)
	}
	txs := counting.txs.Load()
	if txs >= n/4 {
		t.Fatalf("%d records took %d transactions: not grouped", n, txs)
	}
	t.Logf("%d concurrent records in %d group commits", n, txs)
	if err := l.Append(ctx, store.UsageRecord{}); err != ErrClosed {
		t.Fatalf("Append after Close = %v", err)
	}
}

type countingStore struct {
	store.Accounts
	txs atomic.Int64
}

func (c *countingStore) AppendUsage(ctx context.Context, recs []store.UsageRecord) error {
	c.txs.Add(1)
	return c.Accounts.AppendUsage(ctx, recs)
}

// BenchmarkLedger measures the amortized cost of one ledger record under
// concurrent load: many goroutines each append and wait for the commit,
// as concurrent RPCs do, on the embedded store with synchronous=FULL (an
// fsync per group commit) and NORMAL.
func BenchmarkLedger(b *testing.B) {
	for _, mode := range []string{"full", "normal"} {
		for _, par := range []int{64, 256} {
			b.Run(fmt.Sprintf("sync=%s/parallelism=%d", mode, par), func(b *testing.B) {
				st := openStore(b, mode)
				l := NewLedger(st, nil)
				defer l.Close()
				ctx := context.Background()
				rec := store.UsageRecord{TenantID: store.DefaultTenant, Principal: "bench", Operation: "search", Units: 1.25, BaseRate: 0.01,
					Multiplier: 1, DCU: 0.0125, Cost: 0.000001, Metadata: `{"model":"m","mode":"hybrid","k":10,"distances":25000}`}
				b.SetParallelism(par) // × GOMAXPROCS goroutines
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						r := rec
						r.At = time.Now()
						if err := l.Append(ctx, r); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}
