package storetest

import (
	"context"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/store"
)

func keyHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func testTenantsAndKeys(t *testing.T, s store.Store, reopen func() store.Store) {
	ctx := context.Background()
	if has, err := s.HasAPIKeys(ctx); err != nil || has {
		t.Fatalf("HasAPIKeys of a new store = %v, %v", has, err)
	}
	acme, err := s.EnsureTenant(ctx, "acme")
	if err != nil || acme.ID == store.DefaultTenant || acme.Name != "acme" {
		t.Fatalf("EnsureTenant(acme) = %+v, %v", acme, err)
	}
	again, err := s.EnsureTenant(ctx, "acme")
	if err != nil || again != acme {
		t.Fatalf("EnsureTenant(acme) again = %+v, %v; want %+v", again, err, acme)
	}
	def, err := s.EnsureTenant(ctx, "default")
	if err != nil || def.ID != store.DefaultTenant {
		t.Fatalf("EnsureTenant(default) = %+v, %v", def, err)
	}
	k, err := s.CreateAPIKey(ctx, store.APIKey{TenantID: acme.ID, Name: "alice", Prefix: "hartd_abc", Hash: keyHash("k1")})
	if err != nil || k.ID == 0 {
		t.Fatalf("CreateAPIKey = %+v, %v", k, err)
	}
	if _, err := s.CreateAPIKey(ctx, store.APIKey{TenantID: acme.ID, Name: "bob", Prefix: "hartd_abc", Hash: keyHash("k1")}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("CreateAPIKey of the same hash = %v, want ErrExists", err)
	}
	st := s
	if reopen != nil {
		st = reopen()
	}
	if has, err := st.HasAPIKeys(ctx); err != nil || !has {
		t.Fatalf("HasAPIKeys = %v, %v", has, err)
	}
	got, err := st.APIKeyByHash(ctx, keyHash("k1"))
	if err != nil || got.ID != k.ID || got.TenantID != acme.ID || got.TenantName != "acme" || got.Name != "alice" || got.CreatedAt.IsZero() {
		t.Fatalf("APIKeyByHash = %+v, %v", got, err)
	}
	if _, err := st.APIKeyByHash(ctx, keyHash("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("APIKeyByHash(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, k.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RevokeAPIKey twice = %v, want ErrNotFound", err)
	}
	if _, err := st.APIKeyByHash(ctx, keyHash("k1")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("APIKeyByHash(revoked) = %v, want ErrNotFound", err)
	}
	if has, err := st.HasAPIKeys(ctx); err != nil || has {
		t.Fatalf("HasAPIKeys after the only key's revocation = %v, %v", has, err)
	}
	ks, err := st.APIKeys(ctx)
	if err != nil || len(ks) != 1 || ks[0].RevokedAt.IsZero() {
		t.Fatalf("APIKeys = %+v, %v", ks, err)
	}
}

func testLedger(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	acme, err := s.EnsureTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.RatePlan(ctx, acme.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.BaseRate != 0.01 || p.UnitPrice != 0.00008 || p.Multipliers["search"] != 1 || p.DistanceUnitsPer1000 != 0.01 {
		t.Fatalf("default rate plan = %+v", p)
	}
	day1 := time.Date(2026, 3, 1, 23, 59, 59, 0, time.UTC)
	day2 := day1.Add(2 * time.Second)
	recs := []store.UsageRecord{
		{TenantID: acme.ID, Principal: "alice", Operation: "search", Units: 1.5, BaseRate: 0.01, Multiplier: 1, DCU: 0.015, Cost: 0.000001, Metadata: `{"k":10}`, At: day1},
		{TenantID: acme.ID, Principal: "alice", Operation: "insert", Units: 1000, BaseRate: 0.01, Multiplier: 1, DCU: 10, Cost: 0.0008, At: day2},
		{TenantID: store.DefaultTenant, Principal: "default", Operation: "search", Units: 1, BaseRate: 0.01, Multiplier: 1, DCU: 0.01, Cost: 0.000001, At: day2},
	}
	// More than one multi-row INSERT.
	for i := range 450 {
		recs = append(recs, store.UsageRecord{TenantID: acme.ID, Principal: "bob", Operation: "get", Units: 1, BaseRate: 0.01,
			Multiplier: 1, DCU: 0.01, Cost: 0.000001, At: day2.Add(time.Duration(i) * time.Millisecond)})
	}
	if err := s.AppendUsage(ctx, recs); err != nil {
		t.Fatal(err)
	}
	byOp, err := s.Usage(ctx, acme.ID, day1.Add(-time.Hour), day2.Add(time.Hour), store.GroupByOperation)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.UsageRow{
		{Group: "get", Records: 450, Units: 450, DCU: 4.5, Cost: 0.00045},
		{Group: "insert", Records: 1, Units: 1000, DCU: 10, Cost: 0.0008},
		{Group: "search", Records: 1, Units: 1.5, DCU: 0.015, Cost: 0.000001},
	}
	if !usageEqual(byOp, want) {
		t.Fatalf("Usage by operation = %+v, want %+v", byOp, want)
	}
	byDay, err := s.Usage(ctx, acme.ID, day1.Add(-time.Hour), day2.Add(time.Hour), store.GroupByDay)
	if err != nil {
		t.Fatal(err)
	}
	if len(byDay) != 2 || byDay[0].Group != "2026-03-01" || byDay[0].Records != 1 || byDay[1].Group != "2026-03-02" || byDay[1].Records != 451 {
		t.Fatalf("Usage by day = %+v", byDay)
	}
	// [from, to): the first record is at day1 exactly.
	if rows, err := s.Usage(ctx, acme.ID, day1, day1.Add(time.Second), store.GroupByOperation); err != nil || len(rows) != 1 || rows[0].Group != "search" {
		t.Fatalf("Usage [day1, day1+1s) = %+v, %v", rows, err)
	}
	if rows, err := s.Usage(ctx, store.DefaultTenant, day1, day2.Add(time.Hour), store.GroupByOperation); err != nil || len(rows) != 1 || rows[0].Records != 1 {
		t.Fatalf("Usage of the default tenant = %+v, %v", rows, err)
	}
	// An insert's row commits with the insert, and only then.
	m := mustModel(t, s, "m", 4)
	r := rand.New(rand.NewPCG(5, 5))
	u := store.UsageRecord{TenantID: store.DefaultTenant, Principal: "default", Operation: "insert", Units: 2, BaseRate: 0.01, Multiplier: 1, DCU: 0.02, Cost: 0.000002, At: time.Now()}
	if _, err := s.Insert(ctx, store.Batch{ModelID: m.ID, Items: []store.NewItem{{Vector: vec(r, 4)}, {Vector: vec(r, 4)}}, AnchorItems: [3]int{-1, -1, -1}, Usage: &u}); err != nil {
		t.Fatal(err)
	}
	bad := u
	if _, err := s.Insert(ctx, store.Batch{ModelID: m.ID + 1000, Items: []store.NewItem{{Vector: vec(r, 4)}}, AnchorItems: [3]int{-1, -1, -1}, Usage: &bad}); err == nil {
		t.Fatal("Insert into a model that does not exist succeeded")
	}
	rows, err := s.Usage(ctx, store.DefaultTenant, u.At.Add(-time.Minute), u.At.Add(time.Minute), store.GroupByOperation)
	if err != nil || len(rows) != 1 || rows[0].Group != "insert" || rows[0].Records != 1 || rows[0].Units != 2 {
		t.Fatalf("ledger after one committed and one failed insert = %+v, %v", rows, err)
	}
}

func usageEqual(a, b []store.UsageRow) bool {
	if len(a) != len(b) {
		return false
	}
	near := func(x, y float64) bool { return x-y < 1e-9 && y-x < 1e-9 }
	for i := range a {
		if a[i].Group != b[i].Group || a[i].Records != b[i].Records || !near(a[i].Units, b[i].Units) || !near(a[i].DCU, b[i].DCU) || !near(a[i].Cost, b[i].Cost) {
			return false
		}
	}
	return true
}

func testDedupPolicies(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	acme, err := s.EnsureTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := s.DedupPolicies(ctx, acme.ID)
	if err != nil || len(ps) != 1 || ps[0].Name != "Default" || ps[0].Threshold != 0.95 || !ps[0].Active || ps[0].TenantID != 0 {
		t.Fatalf("seeded policies = %+v, %v", ps, err)
	}
	strict, err := s.SetDedupPolicy(ctx, store.DedupPolicy{TenantID: acme.ID, Name: "strict", Threshold: 0.99, Active: true})
	if err != nil || strict.ID == 0 {
		t.Fatalf("SetDedupPolicy = %+v, %v", strict, err)
	}
	if _, err := s.SetDedupPolicy(ctx, store.DedupPolicy{TenantID: acme.ID, Name: "loose", Threshold: 0.9, Active: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetDedupPolicy(ctx, store.DedupPolicy{TenantID: acme.ID, Name: "strict", Threshold: 0.98, Active: false}); err != nil {
		t.Fatal(err)
	}
	ps, err = s.DedupPolicies(ctx, acme.ID)
	if err != nil || len(ps) != 3 {
		t.Fatalf("policies = %+v, %v", ps, err)
	}
	active := map[string]float64{}
	for _, p := range ps {
		if p.Active {
			active[p.Name] = p.Threshold
		}
	}
	if len(active) != 2 || active["loose"] != 0.9 || active["Default"] != 0.95 {
		t.Fatalf("active policies = %v", active)
	}
	if ps, err := s.DedupPolicies(ctx, store.DefaultTenant); err != nil || len(ps) != 1 {
		t.Fatalf("another tenant sees %+v, %v", ps, err)
	}
}

func testDedup(t *testing.T, s store.Store, _ func() store.Store) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(6, 6))
	m := mustModel(t, s, "m", 8)
	other := mustModel(t, s, "other", 8)
	acme, err := s.EnsureTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	am, err := s.CreateModel(ctx, store.Model{TenantID: acme.ID, Name: "m", Dimension: 8, Metric: embed.Cosine, AnchorSeed: 1})
	if err != nil {
		t.Fatal(err)
	}
	item := func(text string) store.NewItem {
		h := sha256.Sum256([]byte("\x00" + text))
		return store.NewItem{Vector: vec(r, 8), Text: text, ContentHash: h[:]}
	}
	insert := func(modelID int64, items ...store.NewItem) ([]int64, []store.ItemResult) {
		t.Helper()
		res := make([]store.ItemResult, len(items))
		ids, err := s.Insert(ctx, store.Batch{ModelID: modelID, Items: items, AnchorItems: [3]int{-1, -1, -1}, Dedup: true, Results: res})
		if err != nil {
			t.Fatal(err)
		}
		return ids, res
	}
	ids, res := insert(m.ID, item("a"), item("b"), item("a"), store.NewItem{Vector: vec(r, 8)})
	if res[0].Status != store.StatusNew || res[1].Status != store.StatusNew || res[2].Status != store.StatusContent || res[3].Status != store.StatusNew {
		t.Fatalf("statuses = %+v", res)
	}
	if ids[2] != ids[0] || res[2].AtomID != res[0].AtomID || res[2].ReferenceCount != 2 || res[1].ReferenceCount != 1 {
		t.Fatalf("a repeat in one batch: ids %v, results %+v", ids, res)
	}
	ids2, res2 := insert(m.ID, item("b"), item("c"))
	if res2[0].Status != store.StatusContent || ids2[0] != ids[1] || res2[0].ReferenceCount != 2 || res2[1].Status != store.StatusNew {
		t.Fatalf("a repeat of stored content: ids %v, results %+v", ids2, res2)
	}
	// The same content in another model of the tenant: a new embedding on
	// the same atom.
	ids3, res3 := insert(other.ID, item("a"))
	if res3[0].Status != store.StatusContent || res3[0].AtomID != res[0].AtomID || res3[0].ReferenceCount != 3 || ids3[0] <= ids2[1] {
		t.Fatalf("content held by another model: ids %v, results %+v", ids3, res3)
	}
	if it, err := s.Get(ctx, other.ID, ids3[0]); err != nil || it.AtomID != res[0].AtomID || it.Text != "a" {
		t.Fatalf("Get of the new embedding = %+v, %v", it, err)
	}
	// Another tenant's content is its own.
	_, res4 := insert(am.ID, item("a"))
	if res4[0].Status != store.StatusNew || res4[0].AtomID == res[0].AtomID {
		t.Fatalf("another tenant's insert of the same content = %+v", res4)
	}
	// Semantic: DuplicateOf references that embedding's atom.
	sem := item("d")
	sem.DuplicateOf = ids2[1]
	ids5, res5 := insert(m.ID, sem)
	if res5[0].Status != store.StatusSemantic || ids5[0] != ids2[1] || res5[0].ReferenceCount != 2 {
		t.Fatalf("semantic duplicate: ids %v, results %+v", ids5, res5)
	}
	// Nothing new was written by the duplicates: scan counts the rows.
	n := 0
	if err := s.Scan(ctx, m.ID, func(store.Row) error { n++; return nil }); err != nil || n != 4 {
		t.Fatalf("model m holds %d rows, %v; want 4 (a, b, the bare vector, c)", n, err)
	}
	// Deleting one reference keeps the atom for the others.
	if _, err := s.Delete(ctx, other.ID, ids3[:1]); err != nil {
		t.Fatal(err)
	}
	if it, err := s.Get(ctx, m.ID, ids[0]); err != nil || it.Text != "a" {
		t.Fatalf("Get after deleting another model's reference = %+v, %v", it, err)
	}

	// Concurrent inserts of the same content make one atom.
	const writers = 8
	var wg sync.WaitGroup
	results := make([]store.ItemResult, writers)
	errs := make([]error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := sha256.Sum256([]byte("\x00same"))
			res := make([]store.ItemResult, 1)
			_, errs[w] = s.Insert(ctx, store.Batch{ModelID: m.ID, Items: []store.NewItem{{Vector: vec(rand.New(rand.NewPCG(uint64(w), 9)), 8), Text: "same", ContentHash: h[:]}},
				AnchorItems: [3]int{-1, -1, -1}, Dedup: true, Results: res})
			results[w] = res[0]
		}()
	}
	wg.Wait()
	atoms := map[int64]bool{}
	news := 0
	for w := range writers {
		if errs[w] != nil {
			t.Fatal(errs[w])
		}
		atoms[results[w].AtomID] = true
		if results[w].Status == store.StatusNew {
			news++
		}
	}
	if len(atoms) != 1 || news != 1 {
		t.Fatalf("%d concurrent inserts of the same content made %d atoms, %d new: %+v", writers, len(atoms), news, results)
	}
	var max int64
	for _, r := range results {
		max = maxInt(max, r.ReferenceCount)
	}
	if max != writers {
		t.Fatalf("reference count after %d inserts = %d", writers, max)
	}
}

func maxInt(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
