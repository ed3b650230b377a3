package server

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
	"github.com/hartonomous/hartd/internal/auth"
	"github.com/hartonomous/hartd/internal/store"
)

func (h *harness) newKey(t *testing.T, tenantName, principal string) string {
	t.Helper()
	ctx := context.Background()
	tn, err := h.st.EnsureTenant(ctx, tenantName)
	if err != nil {
		t.Fatal(err)
	}
	key, hash, err := auth.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.CreateAPIKey(ctx, store.APIKey{TenantID: tn.ID, Name: principal, Prefix: auth.DisplayPrefix(key), Hash: hash}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // the harness's auth TTL is 1 ms
	return key
}

func withKey(ctx context.Context, key string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
}

func TestAuthTenantsAndUsage(t *testing.T) {
	h := newHarness(t)
	// No key: the default tenant, no authentication.
	if _, err := h.client.CreateModel(testCtx(t), &pb.CreateModelRequest{Name: "m", Dimension: 3}); err != nil {
		t.Fatal(err)
	}
	acme := h.newKey(t, "acme", "alice")
	globex := h.newKey(t, "globex", "bob")
	// Keys exist: a call without one, or with a wrong one, is refused.
	for name, ctx := range map[string]context.Context{
		"none":    testCtx(t),
		"wrong":   withKey(testCtx(t), "hartd_not-a-key"),
		"garbage": withKey(testCtx(t), "x"),
	} {
		_, err := h.client.ListModels(ctx, &pb.ListModelsRequest{})
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("ListModels with key %s: %v, want Unauthenticated", name, err)
		}
	}
	actx, gctx := withKey(testCtx(t), acme), withKey(testCtx(t), globex)
	for _, ctx := range []context.Context{actx, gctx} {
		if _, err := h.client.CreateModel(ctx, &pb.CreateModelRequest{Name: "m", Dimension: 3}); err != nil {
			t.Fatal(err)
		}
	}
	ins, err := h.client.Insert(actx, &pb.InsertRequest{Model: "m", Items: []*pb.Item{
		{Vector: []float32{1, 0, 0}, Text: "x"}, {Vector: []float32{0, 1, 0}, Text: "y"}, {Vector: []float32{0, 0, 1}, Text: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	if r := ins.Results; len(r) != 3 || r[0].Status != pb.InsertStatus_INSERT_STATUS_NEW || r[2].Status != pb.InsertStatus_INSERT_STATUS_DEDUPLICATED_CONTENT ||
		r[2].Id != r[0].Id || r[2].ReferenceCount != 2 || ins.Ids[2] != ins.Ids[0] {
		t.Fatalf("Insert = %+v", ins)
	}
	// Globex sees none of acme's rows: its model of the same name is empty
	// and acme's id is NotFound.
	if _, err := h.client.Get(gctx, &pb.GetRequest{Model: "m", Id: ins.Ids[0]}); status.Code(err) != codes.NotFound {
		t.Fatalf("globex's Get of acme's id: %v, want NotFound", err)
	}
	if _, err := h.client.Delete(gctx, &pb.DeleteRequest{Model: "m", Ids: ins.Ids[:1]}); status.Code(err) != codes.NotFound {
		t.Fatalf("globex's Delete of acme's id: %v, want NotFound", err)
	}
	res, err := h.client.Search(gctx, &pb.SearchRequest{Model: "m", Vector: []float32{1, 0, 0}, K: 5})
	if err != nil || len(res.Hits) != 0 {
		t.Fatalf("globex's search = %v, %v; want no hits", res, err)
	}
	if res, err := h.client.Search(actx, &pb.SearchRequest{Model: "m", Vector: []float32{1, 0, 0}, K: 5}); err != nil || len(res.Hits) != 2 {
		t.Fatalf("acme's search = %v, %v; want its 2 rows", res, err)
	}
	// Usage: each tenant its own.
	au, err := h.client.GetUsage(actx, &pb.GetUsageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, l := range au.Lines {
		got[l.Group] = l.Records
	}
	if au.Tenant != "acme" || got["create_model"] != 1 || got["insert"] != 1 || got["search"] != 1 || len(got) != 3 {
		t.Fatalf("acme's usage = %+v", au)
	}
	for _, l := range au.Lines {
		if l.Group == "insert" && (l.Units != 3 || l.Dcu != 0.03 || l.Cost != 0.000002) {
			t.Fatalf("insert of 3 items billed %+v, want 3 units, 0.03 DCU, cost 0.000002", l)
		}
	}
	gu, err := h.client.GetUsage(gctx, &pb.GetUsageRequest{GroupBy: pb.UsageGroupBy_USAGE_GROUP_BY_DAY})
	if err != nil {
		t.Fatal(err)
	}
	// globex: create_model, the refused Get and Delete write nothing, search.
	if gu.Tenant != "globex" || len(gu.Lines) != 1 || gu.Lines[0].Records != 2 || gu.Lines[0].Group != time.Now().UTC().Format(time.DateOnly) {
		t.Fatalf("globex's usage by day = %+v", gu)
	}
	// Revoking the last keys turns authentication off again.
	ks, _ := h.st.APIKeys(context.Background())
	for _, k := range ks {
		if err := h.st.RevokeAPIKey(context.Background(), k.ID); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(5 * time.Millisecond)
	if _, err := withKeyCall(h, testCtx(t)); err != nil {
		t.Fatalf("without keys, a call without a key: %v", err)
	}
	if _, err := withKeyCall(h, actx); err != nil {
		t.Fatalf("without keys, a call with a revoked key is the default tenant's: %v", err)
	}
}

func withKeyCall(h *harness, ctx context.Context) (*pb.ListModelsResponse, error) {
	return h.client.ListModels(ctx, &pb.ListModelsRequest{})
}

func TestDedupPolicyRPC(t *testing.T) {
	h := newHarness(t)
	ctx := testCtx(t)
	ls, err := h.client.ListDedupPolicies(ctx, &pb.ListDedupPoliciesRequest{})
	if err != nil || ls.Effective != "Default" || len(ls.Policies) != 1 || !ls.Policies[0].Shared {
		t.Fatalf("ListDedupPolicies = %+v, %v", ls, err)
	}
	if _, err := h.client.SetDedupPolicy(ctx, &pb.SetDedupPolicyRequest{Name: "off", Threshold: 1.5, Active: true}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("threshold 1.5: %v", err)
	}
	if _, err := h.client.SetDedupPolicy(ctx, &pb.SetDedupPolicyRequest{Name: "exact", Threshold: 1, Active: true}); err != nil {
		t.Fatal(err)
	}
	if ls, err := h.client.ListDedupPolicies(ctx, &pb.ListDedupPoliciesRequest{}); err != nil || ls.Effective != "exact" {
		t.Fatalf("after SetDedupPolicy: %+v, %v", ls, err)
	}
	if _, err := h.client.CreateModel(ctx, &pb.CreateModelRequest{Name: "m", Dimension: 3}); err != nil {
		t.Fatal(err)
	}
	r1, err := h.client.Insert(ctx, &pb.InsertRequest{Model: "m", Items: []*pb.Item{{Vector: []float32{1, 0, 0}, Text: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	// cosine 0.995: below the tenant's threshold of 1.
	r2, err := h.client.Insert(ctx, &pb.InsertRequest{Model: "m", Items: []*pb.Item{{Vector: []float32{1, 0.1, 0}, Text: "b"}}})
	if err != nil || r2.Results[0].Status != pb.InsertStatus_INSERT_STATUS_NEW {
		t.Fatalf("under policy exact: %+v, %v", r2, err)
	}
	if _, err := h.client.SetDedupPolicy(ctx, &pb.SetDedupPolicyRequest{Name: "exact", Threshold: 1, Active: false}); err != nil {
		t.Fatal(err)
	}
	// Back to the shared Default (0.95).
	r3, err := h.client.Insert(ctx, &pb.InsertRequest{Model: "m", Items: []*pb.Item{{Vector: []float32{1, 0.05, 0}, Text: "c"}}})
	if err != nil || r3.Results[0].Status != pb.InsertStatus_INSERT_STATUS_DEDUPLICATED_SEMANTIC {
		t.Fatalf("under Default: %+v, %v", r3, err)
	}
	_ = r1
}
