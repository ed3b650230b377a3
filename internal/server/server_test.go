package server

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	pb "github.com/hartonomous/hartd/api/proto/hartonomous/v1"
	"github.com/hartonomous/hartd/internal/engine"
)

func randVec(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func normalized(v []float32) []float32 {
	var sq float64
	for _, x := range v {
		sq += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) / math.Sqrt(sq))
	}
	return out
}

func ones(dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = 1
	}
	return v
}

func pointDist(a, b *pb.Point) float64 {
	dx, dy, dz := a.GetX()-b.GetX(), a.GetY()-b.GetY(), a.GetZ()-b.GetZ()
	return math.Sqrt(dx*dx + dy*dy + dz*dz)
}

func badRequestOf(st *status.Status) *errdetails.BadRequest {
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			return br
		}
	}
	return nil
}

func mustCreate(t *testing.T, h *harness, name string, dim uint32, metric pb.Metric) {
	t.Helper()
	if _, err := h.client.CreateModel(testCtx(t), &pb.CreateModelRequest{Name: name, Dimension: dim, Metric: metric}); err != nil {
		t.Fatalf("CreateModel(%q): %v", name, err)
	}
}

func mustInsert(t *testing.T, h *harness, model string, items ...*pb.Item) []int64 {
	t.Helper()
	resp, err := h.client.Insert(testCtx(t), &pb.InsertRequest{Model: model, Items: items})
	if err != nil {
		t.Fatalf("Insert into %q: %v", model, err)
	}
	if len(resp.GetIds()) != len(items) {
		t.Fatalf("Insert into %q: %d ids for %d items", model, len(resp.GetIds()), len(items))
	}
	return resp.GetIds()
}

func modelByName(t *testing.T, h *harness, name string) *pb.Model {
	t.Helper()
	resp, err := h.client.ListModels(testCtx(t), &pb.ListModelsRequest{})
	if err != nil {
		t.Fatalf("ListModels: %v", err)
	}
	for _, m := range resp.GetModels() {
		if m.GetName() == name {
			return m
		}
	}
	t.Fatalf("ListModels: no model %q", name)
	return nil
}

// fixture is a server holding a few small models that the bad-input cases
// run against.
type fixture struct {
	h    *harness
	r    *rand.Rand
	ids  map[string][]int64     // ids inserted by the fixture, per model
	vecs map[string][][]float32 // their vectors, as sent
}

const fixtureDim = 4

func newFixture(t *testing.T, maxMsg int) *fixture {
	t.Helper()
	h := newHarnessWith(t, harnessConfig{maxMsg: maxMsg})
	f := &fixture{h: h, r: rand.New(rand.NewPCG(7, 11)), ids: map[string][]int64{}, vecs: map[string][][]float32{}}
	add := func(model string, n int) {
		items := make([]*pb.Item, n)
		for i := range items {
			v := randVec(f.r, fixtureDim)
			f.vecs[model] = append(f.vecs[model], v)
			items[i] = &pb.Item{Vector: v, Text: fmt.Sprintf("%s-%d", model, i), Metadata: fmt.Sprintf(`{"i":%d}`, i)}
		}
		f.ids[model] = append(f.ids[model], mustInsert(t, h, model, items...)...)
	}
	mustCreate(t, h, "cos", fixtureDim, pb.Metric_METRIC_COSINE)
	add("cos", 5)
	mustCreate(t, h, "l2", fixtureDim, pb.Metric_METRIC_L2)
	add("l2", 3)
	mustCreate(t, h, "few", fixtureDim, pb.Metric_METRIC_COSINE) // two vectors: no projection
	add("few", 2)
	mustCreate(t, h, "alive", fixtureDim, pb.Metric_METRIC_COSINE) // for the liveness probe
	if !modelByName(t, h, "cos").GetProjectionReady() || modelByName(t, h, "few").GetProjectionReady() {
		t.Fatal("fixture: want a projection on cos and none on few")
	}
	return f
}

func (f *fixture) item() *pb.Item { return &pb.Item{Vector: randVec(f.r, fixtureDim)} }

// modelState is what a model visibly holds.
type modelState struct {
	count uint64
	ready bool
	ids   []int64 // every live id, sorted, as found by an exhaustive search
}

// state reads every model's count and ids through the public API.
func (f *fixture) state(t *testing.T) map[string]modelState {
	t.Helper()
	ctx := testCtx(t)
	resp, err := f.h.client.ListModels(ctx, &pb.ListModelsRequest{})
	if err != nil {
		t.Fatalf("ListModels: %v", err)
	}
	out := map[string]modelState{}
	for _, m := range resp.GetModels() {
		if m.GetCount() > engine.MaxK {
			t.Fatalf("model %q holds %d items, too many to list by search", m.GetName(), m.GetCount())
		}
		sr, err := f.h.client.Search(ctx, &pb.SearchRequest{Model: m.GetName(), Vector: ones(int(m.GetDimension())), K: engine.MaxK})
		if err != nil {
			t.Fatalf("Search(%q): %v", m.GetName(), err)
		}
		ids := make([]int64, len(sr.GetHits()))
		for i, hit := range sr.GetHits() {
			ids[i] = hit.GetId()
		}
		slices.Sort(ids)
		if uint64(len(ids)) != m.GetCount() {
			t.Errorf("model %q: count %d but search finds %d ids", m.GetName(), m.GetCount(), len(ids))
		}
		out[m.GetName()] = modelState{count: m.GetCount(), ready: m.GetProjectionReady(), ids: ids}
	}
	return out
}

func maxID(s map[string]modelState) int64 {
	var mx int64
	for _, ms := range s {
		if len(ms.ids) > 0 {
			mx = max(mx, ms.ids[len(ms.ids)-1])
		}
	}
	return mx
}

// assertNothingWritten compares the state after a failed call with the one
// before it, and checks that the store holds no row past the newest id.
func (f *fixture) assertNothingWritten(t *testing.T, before map[string]modelState) {
	t.Helper()
	after := f.state(t)
	if !slices.Equal(slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after))) {
		t.Errorf("models changed: before %v, after %v", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
	}
	for name, b := range before {
		a := after[name]
		if a.count != b.count || a.ready != b.ready || !slices.Equal(a.ids, b.ids) {
			t.Errorf("model %q changed: before count %d ready %v ids %v; after count %d ready %v ids %v",
				name, b.count, b.ready, b.ids, a.count, a.ready, a.ids)
		}
	}
	// Rows in the store but not in the runtime core would escape the search
	// above; Get reads the store.
	ctx := testCtx(t)
	mx := maxID(before)
	// SQLite gives a new row the newest id plus one.
	for name := range before {
		_, err := f.h.client.Get(ctx, &pb.GetRequest{Model: name, Id: mx + 1})
		if status.Code(err) != codes.NotFound {
			t.Errorf("Get(%q, %d) past the newest id %d: %v, want NotFound", name, mx+1, mx, err)
		}
	}
}

// probe checks that the server still serves: a valid Insert, then a Search
// that finds it.
func (f *fixture) probe(t *testing.T) {
	t.Helper()
	ctx := testCtx(t)
	v := randVec(f.r, fixtureDim)
	ins, err := f.h.client.Insert(ctx, &pb.InsertRequest{Model: "alive", Items: []*pb.Item{{Vector: v, Text: "probe"}}})
	if err != nil {
		t.Fatalf("server no longer serves: Insert: %v", err)
	}
	sr, err := f.h.client.Search(ctx, &pb.SearchRequest{Model: "alive", Vector: v, K: 1})
	if err != nil {
		t.Fatalf("server no longer serves: Search: %v", err)
	}
	if len(sr.GetHits()) != 1 || sr.GetHits()[0].GetId() != ins.GetIds()[0] {
		t.Fatalf("probe: search found %v, want id %d", sr.GetHits(), ins.GetIds()[0])
	}
}

type badCase struct {
	name string
	// big runs the case on a server whose transport limit is above the
	// engine's field limits.
	big bool
	run func(ctx context.Context, t *testing.T, f *fixture) error
	// code is the expected status; for codes.OK the call must succeed.
	code codes.Code
	// field must appear in the message; for InvalidArgument it must also be
	// the google.rpc.BadRequest field violation.
	field string
	// msg are further substrings of the message.
	msg []string
	// writes marks a successful case that writes, exempt from the
	// nothing-written check.
	writes bool
	// skip, when set, is a known bug the case exposes.
	skip string
}

func insertCall(model string, items ...*pb.Item) func(context.Context, *testing.T, *fixture) error {
	return func(ctx context.Context, _ *testing.T, f *fixture) error {
		_, err := f.h.client.Insert(ctx, &pb.InsertRequest{Model: model, Items: items})
		return err
	}
}

func searchCall(req *pb.SearchRequest) func(context.Context, *testing.T, *fixture) error {
	return func(ctx context.Context, _ *testing.T, f *fixture) error {
		_, err := f.h.client.Search(ctx, req)
		return err
	}
}

func createCall(req *pb.CreateModelRequest) func(context.Context, *testing.T, *fixture) error {
	return func(ctx context.Context, _ *testing.T, f *fixture) error {
		_, err := f.h.client.CreateModel(ctx, req)
		return err
	}
}

func vecWith(i int, x float32) []float32 {
	v := []float32{0.5, -0.25, 1, 2}
	v[i] = x
	return v
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	small := newFixture(t, smallMsg)
	big := newFixture(t, 4*smallMsg)
	good := []float32{1, 2, 3, 4}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))

	cases := []badCase{
		// Insert: vectors.
		{
			name: "insert/wrong dimension on item 2 of 3",
			run: func(ctx context.Context, t *testing.T, f *fixture) error {
				v0, v1 := randVec(f.r, fixtureDim), randVec(f.r, fixtureDim)
				_, err := f.h.client.Insert(ctx, &pb.InsertRequest{Model: "cos", Items: []*pb.Item{
					{Vector: v0, Text: "dim-0"}, {Vector: v1, Text: "dim-1"}, {Vector: []float32{1, 2, 3}, Text: "dim-2"},
				}})
				// All or nothing: neither valid item is searchable.
				for _, v := range [][]float32{v0, v1} {
					sr, serr := f.h.client.Search(ctx, &pb.SearchRequest{Model: "cos", Vector: v, K: 1})
					if serr != nil {
						t.Fatalf("Search: %v", serr)
					}
					if hits := sr.GetHits(); len(hits) > 0 && strings.HasPrefix(hits[0].GetText(), "dim-") {
						t.Errorf("item %q of the rejected batch was written (id %d)", hits[0].GetText(), hits[0].GetId())
					}
				}
				return err
			},
			code: codes.InvalidArgument, field: "items[2].vector", msg: []string{"dimension"},
		},
		{name: "insert/NaN value", run: insertCall("cos", &pb.Item{Vector: good}, &pb.Item{Vector: vecWith(1, nan)}),
			code: codes.InvalidArgument, field: "items[1].vector", msg: []string{"value 1", "NaN"}},
		{name: "insert/+Inf value", run: insertCall("cos", &pb.Item{Vector: vecWith(3, inf)}),
			code: codes.InvalidArgument, field: "items[0].vector", msg: []string{"value 3", "+Inf"}},
		{name: "insert/-Inf value", run: insertCall("l2", &pb.Item{Vector: vecWith(0, float32(math.Inf(-1)))}),
			code: codes.InvalidArgument, field: "items[0].vector", msg: []string{"value 0", "-Inf"}},
		{name: "insert/zero vector in a cosine model", run: insertCall("cos", &pb.Item{Vector: make([]float32, fixtureDim)}),
			code: codes.InvalidArgument, field: "items[0].vector", msg: []string{"zero"}},
		{
			name: "insert/zero vector in an l2 model is accepted",
			run: func(ctx context.Context, t *testing.T, f *fixture) error {
				resp, err := f.h.client.Insert(ctx, &pb.InsertRequest{Model: "l2", Items: []*pb.Item{{Vector: make([]float32, fixtureDim)}}})
				if err != nil {
					return err
				}
				got, err := f.h.client.Get(ctx, &pb.GetRequest{Model: "l2", Id: resp.GetIds()[0]})
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				if !slices.Equal(got.GetItem().GetVector(), make([]float32, fixtureDim)) {
					t.Errorf("stored vector %v, want zeros", got.GetItem().GetVector())
				}
				return nil
			},
			code: codes.OK, writes: true,
		},
		{name: "insert/empty batch", run: insertCall("cos"), code: codes.InvalidArgument, field: "items"},
		{
			name: "insert/batch over the item limit",
			run: func(ctx context.Context, _ *testing.T, f *fixture) error {
				items := make([]*pb.Item, engine.MaxBatchItems+1)
				for i := range items {
					items[i] = &pb.Item{Vector: good}
				}
				_, err := f.h.client.Insert(ctx, &pb.InsertRequest{Model: "cos", Items: items})
				return err
			},
			code: codes.InvalidArgument, field: "items", msg: []string{fmt.Sprint(engine.MaxBatchItems)},
		},

		// Insert: metadata and other fields.
		{name: "insert/metadata array", run: insertCall("cos", &pb.Item{Vector: good, Metadata: "[1,2]"}),
			code: codes.InvalidArgument, field: "items[0].metadata"},
		{name: "insert/metadata string", run: insertCall("cos", &pb.Item{Vector: good, Metadata: `"x"`}),
			code: codes.InvalidArgument, field: "items[0].metadata"},
		{name: "insert/metadata malformed", run: insertCall("cos", &pb.Item{Vector: good, Metadata: "{bad"}),
			code: codes.InvalidArgument, field: "items[0].metadata"},
		{name: "insert/metadata null", run: insertCall("cos", &pb.Item{Vector: good, Metadata: "null"}),
			code: codes.InvalidArgument, field: "items[0].metadata"},
		{name: "insert/metadata object then garbage", run: insertCall("cos", &pb.Item{Vector: good, Metadata: `{"a":1} x`}),
			code: codes.InvalidArgument, field: "items[0].metadata"},
		{name: "insert/bad metadata on item 1", run: insertCall("cos", &pb.Item{Vector: good, Metadata: `{"a":1}`}, &pb.Item{Vector: good, Metadata: "[1]"}),
			code: codes.InvalidArgument, field: "items[1].metadata"},
		{name: "insert/metadata over the limit",
			run:  insertCall("cos", &pb.Item{Vector: good, Metadata: `{"a":"` + strings.Repeat("x", engine.MaxMetadataBytes) + `"}`}),
			code: codes.InvalidArgument, field: "items[0].metadata", msg: []string{fmt.Sprint(engine.MaxMetadataBytes)}},
		{
			name: "insert/metadata object accepted and returned by Get and Search",
			run: func(ctx context.Context, t *testing.T, f *fixture) error {
				v := randVec(f.r, fixtureDim)
				resp, err := f.h.client.Insert(ctx, &pb.InsertRequest{Model: "cos", Items: []*pb.Item{{Vector: v, Text: "meta", Metadata: `{"a":1}`}}})
				if err != nil {
					return err
				}
				id := resp.GetIds()[0]
				got, err := f.h.client.Get(ctx, &pb.GetRequest{Model: "cos", Id: id})
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				if m := got.GetItem().GetMetadata(); m != `{"a":1}` {
					t.Errorf("Get metadata %q, want %q", m, `{"a":1}`)
				}
				sr, err := f.h.client.Search(ctx, &pb.SearchRequest{Model: "cos", Vector: v, K: 1})
				if err != nil {
					t.Fatalf("Search: %v", err)
				}
				if len(sr.GetHits()) != 1 || sr.GetHits()[0].GetId() != id || sr.GetHits()[0].GetMetadata() != `{"a":1}` {
					t.Errorf("Search hits %v, want id %d with metadata %q", sr.GetHits(), id, `{"a":1}`)
				}
				return nil
			},
			code: codes.OK, writes: true,
		},
		{name: "insert/source_uri over the limit", run: insertCall("cos", &pb.Item{Vector: good, SourceUri: strings.Repeat("u", engine.MaxSourceURI+1)}),
			code: codes.InvalidArgument, field: "items[0].source_uri"},
		{name: "insert/source_type over the limit", run: insertCall("cos", &pb.Item{Vector: good, SourceType: strings.Repeat("t", engine.MaxSourceType+1)}),
			code: codes.InvalidArgument, field: "items[0].source_type"},

		// Insert: sizes. The text limit is checked by the engine only when
		// the transport lets the message through.
		{name: "insert/text over the field limit", big: true,
			run:  insertCall("cos", &pb.Item{Vector: good}, &pb.Item{Vector: good, Text: strings.Repeat("a", engine.MaxTextBytes+1)}),
			code: codes.InvalidArgument, field: "items[1].text", msg: []string{fmt.Sprint(engine.MaxTextBytes)}},
		{name: "insert/text at the field limit", big: true,
			run:  insertCall("cos", &pb.Item{Vector: good, Text: strings.Repeat("a", engine.MaxTextBytes)}),
			code: codes.OK, writes: true},
		{name: "insert/message over the transport limit",
			run:  insertCall("cos", &pb.Item{Vector: good, Text: strings.Repeat("a", smallMsg)}),
			code: codes.ResourceExhausted},

		// Unknown model: NotFound everywhere.
		{name: "unknown model/insert", run: insertCall("nope", &pb.Item{Vector: good}), code: codes.NotFound, field: "model", msg: []string{`"nope"`}},
		{name: "unknown model/search", run: searchCall(&pb.SearchRequest{Model: "nope", Vector: good, K: 1}), code: codes.NotFound, field: "model", msg: []string{`"nope"`}},
		{name: "unknown model/get", run: func(ctx context.Context, _ *testing.T, f *fixture) error {
			_, err := f.h.client.Get(ctx, &pb.GetRequest{Model: "nope", Id: f.ids["cos"][0]})
			return err
		}, code: codes.NotFound, field: "model", msg: []string{`"nope"`}},
		{name: "unknown model/delete", run: func(ctx context.Context, _ *testing.T, f *fixture) error {
			_, err := f.h.client.Delete(ctx, &pb.DeleteRequest{Model: "nope", Ids: f.ids["cos"][:1]})
			return err
		}, code: codes.NotFound, field: "model", msg: []string{`"nope"`}},
		{name: "unknown model/project", run: func(ctx context.Context, _ *testing.T, f *fixture) error {
			_, err := f.h.client.Project(ctx, &pb.ProjectRequest{Model: "nope", Vector: good})
			return err
		}, code: codes.NotFound, field: "model", msg: []string{`"nope"`}},

		// Get and Delete of ids.
		{name: "get/unknown id", run: func(ctx context.Context, _ *testing.T, f *fixture) error {
			_, err := f.h.client.Get(ctx, &pb.GetRequest{Model: "cos", Id: 1 << 40})
			return err
		}, code: codes.NotFound, field: "id", msg: []string{fmt.Sprint(int64(1 << 40))}},
		{name: "get/id of another model", run: func(ctx context.Context, _ *testing.T, f *fixture) error {
			_, err := f.h.client.Get(ctx, &pb.GetRequest{Model: "cos", Id: f.ids["l2"][0]})
			return err
		}, code: codes.NotFound, field: "id"},
		{name: "delete/unknown id", run: func(ctx context.Context, _ *testing.T, f *fixture) error {
			_, err := f.h.client.Delete(ctx, &pb.DeleteRequest{Model: "cos", Ids: []int64{1 << 40}})
			return err
		}, code: codes.NotFound, field: "ids[0]"},
		{
			name: "delete/existing then unknown deletes nothing",
			run: func(ctx context.Context, t *testing.T, f *fixture) error {
				existing := f.ids["cos"][0]
				_, err := f.h.client.Delete(ctx, &pb.DeleteRequest{Model: "cos", Ids: []int64{existing, 1 << 40}})
				if _, gerr := f.h.client.Get(ctx, &pb.GetRequest{Model: "cos", Id: existing}); gerr != nil {
					t.Errorf("the existing id %d is gone after a failed Delete: %v", existing, gerr)
				}
				return err
			},
			code: codes.NotFound, field: "ids[1]",
		},
		{name: "delete/id of another model", run: func(ctx context.Context, _ *testing.T, f *fixture) error {
			_, err := f.h.client.Delete(ctx, &pb.DeleteRequest{Model: "cos", Ids: []int64{f.ids["cos"][1], f.ids["l2"][0]}})
			return err
		}, code: codes.NotFound, field: "ids[1]"},
		{name: "delete/no ids", run: func(ctx context.Context, _ *testing.T, f *fixture) error {
			_, err := f.h.client.Delete(ctx, &pb.DeleteRequest{Model: "cos"})
			return err
		}, code: codes.InvalidArgument, field: "ids"},
		{name: "delete/over the id limit", run: func(ctx context.Context, _ *testing.T, f *fixture) error {
			ids := make([]int64, engine.MaxDeleteIDs+1)
			for i := range ids {
				ids[i] = f.ids["cos"][0]
			}
			_, err := f.h.client.Delete(ctx, &pb.DeleteRequest{Model: "cos", Ids: ids})
			return err
		}, code: codes.InvalidArgument, field: "ids"},

		// Search.
		{name: "search/k = 0", run: searchCall(&pb.SearchRequest{Model: "cos", Vector: good, K: 0}), code: codes.InvalidArgument, field: "k"},
		{name: "search/k = 1001", run: searchCall(&pb.SearchRequest{Model: "cos", Vector: good, K: engine.MaxK + 1}), code: codes.InvalidArgument, field: "k"},
		{name: "search/k = 1000", run: searchCall(&pb.SearchRequest{Model: "cos", Vector: good, K: engine.MaxK}), code: codes.OK},
		{name: "search/wrong dimension", run: searchCall(&pb.SearchRequest{Model: "cos", Vector: good[:3], K: 1}), code: codes.InvalidArgument, field: "vector"},
		{name: "search/NaN query", run: searchCall(&pb.SearchRequest{Model: "l2", Vector: vecWith(2, nan), K: 1}), code: codes.InvalidArgument, field: "vector", msg: []string{"value 2"}},
		{name: "search/zero query in a cosine model", run: searchCall(&pb.SearchRequest{Model: "cos", Vector: make([]float32, fixtureDim), K: 1}), code: codes.InvalidArgument, field: "vector"},
		{name: "search/unknown mode", run: searchCall(&pb.SearchRequest{Model: "cos", Vector: good, K: 1, Mode: pb.SearchMode(5)}), code: codes.InvalidArgument, field: "mode"},
		{name: "search/unknown mode names the mode sent", run: searchCall(&pb.SearchRequest{Model: "cos", Vector: good, K: 1, Mode: pb.SearchMode(5)}),
			code: codes.InvalidArgument, field: "mode", msg: []string{"mode 5"}},
		{name: "search/box with min > max", run: searchCall(&pb.SearchRequest{Model: "cos", Vector: good, K: 1,
			Region: &pb.SearchRequest_Box{Box: &pb.Box{Min: &pb.Point{X: 1}, Max: &pb.Point{X: 0, Y: 1, Z: 1}}}}),
			code: codes.InvalidArgument, field: "box"},
		{name: "search/box with a NaN bound", run: searchCall(&pb.SearchRequest{Model: "cos", Vector: good, K: 1,
			Region: &pb.SearchRequest_Box{Box: &pb.Box{Min: &pb.Point{Y: math.NaN()}, Max: &pb.Point{X: 1, Y: 1, Z: 1}}}}),
			code: codes.InvalidArgument, field: "box"},
		{name: "search/sphere with negative radius", run: searchCall(&pb.SearchRequest{Model: "cos", Vector: good, K: 1,
			Region: &pb.SearchRequest_Sphere{Sphere: &pb.Sphere{Center: &pb.Point{}, Radius: -1}}}),
			code: codes.InvalidArgument, field: "sphere"},
		{name: "search/sphere with an infinite centre", run: searchCall(&pb.SearchRequest{Model: "cos", Vector: good, K: 1,
			Region: &pb.SearchRequest_Sphere{Sphere: &pb.Sphere{Center: &pb.Point{Z: math.Inf(1)}, Radius: 1}}}),
			code: codes.InvalidArgument, field: "sphere"},

		// Project.
		{name: "project/no projection yet", run: func(ctx context.Context, _ *testing.T, f *fixture) error {
			_, err := f.h.client.Project(ctx, &pb.ProjectRequest{Model: "few", Vector: good})
			return err
		}, code: codes.FailedPrecondition, msg: []string{"projection"}},
		{name: "project/wrong dimension", run: func(ctx context.Context, _ *testing.T, f *fixture) error {
			_, err := f.h.client.Project(ctx, &pb.ProjectRequest{Model: "cos", Vector: []float32{1}})
			return err
		}, code: codes.InvalidArgument, field: "vector"},

		// CreateModel.
		{name: "create/duplicate name", run: createCall(&pb.CreateModelRequest{Name: "cos", Dimension: 8}), code: codes.AlreadyExists, msg: []string{`"cos"`}},
		{name: "create/dimension 0", run: createCall(&pb.CreateModelRequest{Name: "d0", Dimension: 0}), code: codes.InvalidArgument, field: "dimension"},
		{name: "create/dimension 4097", run: createCall(&pb.CreateModelRequest{Name: "d4097", Dimension: 4097}), code: codes.InvalidArgument, field: "dimension"},
		{name: "create/dimension 2^32-1", run: createCall(&pb.CreateModelRequest{Name: "dmax", Dimension: math.MaxUint32}), code: codes.InvalidArgument, field: "dimension"},
		{name: "create/empty name", run: createCall(&pb.CreateModelRequest{Name: "", Dimension: 8}), code: codes.InvalidArgument, field: "name"},
		{name: "create/name with a space", run: createCall(&pb.CreateModelRequest{Name: "a b", Dimension: 8}), code: codes.InvalidArgument, field: "name"},
		{name: "create/name of 200 characters", run: createCall(&pb.CreateModelRequest{Name: strings.Repeat("a", 200), Dimension: 8}), code: codes.InvalidArgument, field: "name"},
		{name: "create/name starting with a dot", run: createCall(&pb.CreateModelRequest{Name: ".a", Dimension: 8}), code: codes.InvalidArgument, field: "name"},
		{name: "create/unknown metric", run: createCall(&pb.CreateModelRequest{Name: "m9", Dimension: 8, Metric: pb.Metric(9)}), code: codes.InvalidArgument, field: "metric"},
		{name: "create/name of 128 characters", run: createCall(&pb.CreateModelRequest{Name: strings.Repeat("b", engine.MaxModelName), Dimension: 8}),
			code: codes.OK, writes: true},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skip != "" {
				t.Skip(tc.skip)
			}
			f := small
			if tc.big {
				f = big
			}
			before := f.state(t)
			err := tc.run(testCtx(t), t, f)
			st := status.Convert(err)
			if st.Code() != tc.code {
				t.Fatalf("code %v (%v), want %v", st.Code(), err, tc.code)
			}
			if tc.code != codes.OK {
				if tc.field != "" && !strings.Contains(st.Message(), tc.field) {
					t.Errorf("message %q does not name the field %q", st.Message(), tc.field)
				}
				for _, s := range tc.msg {
					if !strings.Contains(st.Message(), s) {
						t.Errorf("message %q does not contain %q", st.Message(), s)
					}
				}
			}
			if tc.code == codes.InvalidArgument {
				br := badRequestOf(st)
				switch {
				case br == nil:
					t.Errorf("no google.rpc.BadRequest detail in %v", st.Details())
				case len(br.GetFieldViolations()) != 1:
					t.Errorf("BadRequest has %d field violations, want 1: %v", len(br.GetFieldViolations()), br)
				case br.GetFieldViolations()[0].GetField() != tc.field:
					t.Errorf("BadRequest field %q, want %q", br.GetFieldViolations()[0].GetField(), tc.field)
				case br.GetFieldViolations()[0].GetDescription() == "":
					t.Errorf("BadRequest field violation has no description")
				}
			}
			if !tc.writes {
				f.assertNothingWritten(t, before)
			}
			f.probe(t)
		})
	}
}

// Insert is all or nothing even when the bad item comes after items that
// would choose the model's anchors: the first rows of an empty model.
func TestInsertAllOrNothingOnEmptyModel(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	mustCreate(t, h, "empty", 3, pb.Metric_METRIC_COSINE)
	ctx := testCtx(t)
	_, err := h.client.Insert(ctx, &pb.InsertRequest{Model: "empty", Items: []*pb.Item{
		{Vector: []float32{1, 0, 0}}, {Vector: []float32{0, 1, 0}}, {Vector: []float32{0, 0, 1}}, {Vector: []float32{1, 1}},
	}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "items[3].vector") {
		t.Fatalf("Insert: %v, want InvalidArgument on items[3].vector", err)
	}
	m := modelByName(t, h, "empty")
	if m.GetCount() != 0 || m.GetProjectionReady() {
		t.Errorf("after a rejected batch: count %d, projection ready %v; want 0, false", m.GetCount(), m.GetProjectionReady())
	}
	if _, err := h.client.Project(ctx, &pb.ProjectRequest{Model: "empty", Vector: []float32{1, 0, 0}}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("Project after a rejected batch: %v, want FailedPrecondition", err)
	}
}

func TestProjectAfterAnchors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const dim = 8
	mustCreate(t, h, "proj", dim, pb.Metric_METRIC_COSINE)
	r := rand.New(rand.NewPCG(3, 5))
	ctx := testCtx(t)
	a, b, c := randVec(r, dim), randVec(r, dim), randVec(r, dim)

	wantNoProjection := func(stage string) {
		t.Helper()
		_, err := h.client.Project(ctx, &pb.ProjectRequest{Model: "proj", Vector: a})
		if status.Code(err) != codes.FailedPrecondition {
			t.Fatalf("%s: Project: %v, want FailedPrecondition", stage, err)
		}
		if modelByName(t, h, "proj").GetProjectionReady() {
			t.Fatalf("%s: projection_ready is true", stage)
		}
	}
	wantNoProjection("empty model")
	// Three rows, one distinct vector (a scaled copy is the same direction).
	ids := mustInsert(t, h, "proj", &pb.Item{Vector: a}, &pb.Item{Vector: a}, &pb.Item{Vector: scaled(a, 2)})
	wantNoProjection("one distinct vector")
	got, err := h.client.Get(ctx, &pb.GetRequest{Model: "proj", Id: ids[0]})
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.GetItem().GetPoint() != nil {
		t.Errorf("point %v before the anchors are chosen, want none", got.GetItem().GetPoint())
	}
	ids = append(ids, mustInsert(t, h, "proj", &pb.Item{Vector: b})...)
	wantNoProjection("two distinct vectors")
	ids = append(ids, mustInsert(t, h, "proj", &pb.Item{Vector: c})...)
	if !modelByName(t, h, "proj").GetProjectionReady() {
		t.Fatal("projection_ready is false after three distinct vectors")
	}

	// Every stored item has a point, and Project of the vector it was
	// inserted with gives that point: items inserted before the anchors
	// (reprojected) as well as those that chose them.
	sent := [][]float32{a, a, scaled(a, 2), b, c}
	for i, id := range ids {
		got, err := h.client.Get(ctx, &pb.GetRequest{Model: "proj", Id: id})
		if err != nil {
			t.Fatalf("Get(%d): %v", id, err)
		}
		p := got.GetItem().GetPoint()
		if p == nil {
			t.Fatalf("Get(%d): no point after the anchors were chosen", id)
		}
		pr, err := h.client.Project(ctx, &pb.ProjectRequest{Model: "proj", Vector: sent[i]})
		if err != nil {
			t.Fatalf("Project: %v", err)
		}
		if d := pointDist(pr.GetPoint(), p); d > 1e-9 {
			t.Errorf("item %d: Project %v, Get %v: distance %g", id, pr.GetPoint(), p, d)
		}
	}
	// A new item's point equals Project of its vector too.
	d := randVec(r, dim)
	id := mustInsert(t, h, "proj", &pb.Item{Vector: d})[0]
	got, err = h.client.Get(ctx, &pb.GetRequest{Model: "proj", Id: id})
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	pr, err := h.client.Project(ctx, &pb.ProjectRequest{Model: "proj", Vector: d})
	if err != nil {
		t.Fatalf("Project: %v", err)
	}
	if dist := pointDist(pr.GetPoint(), got.GetItem().GetPoint()); dist > 1e-9 {
		t.Errorf("new item: Project %v, Get %v: distance %g", pr.GetPoint(), got.GetItem().GetPoint(), dist)
	}
}

func scaled(v []float32, s float32) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = s * x
	}
	return out
}

func TestHappyPath(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const (
		dim   = 16
		n     = 500
		batch = 100
		model = "happy"
	)
	ctx := testCtx(t)
	mustCreate(t, h, model, dim, pb.Metric_METRIC_COSINE)
	mustCreate(t, h, "bystander", 2, pb.Metric_METRIC_L2)
	r := rand.New(rand.NewPCG(42, 43))
	vecs := make([][]float32, n)
	ids := make([]int64, 0, n)
	for lo := 0; lo < n; lo += batch {
		items := make([]*pb.Item, batch)
		for i := range items {
			k := lo + i
			vecs[k] = randVec(r, dim)
			items[i] = &pb.Item{Vector: vecs[k], Text: fmt.Sprintf("item %d", k), SourceUri: fmt.Sprintf("mem://happy/%d", k),
				SourceType: "test", Metadata: fmt.Sprintf(`{"k":%d}`, k)}
		}
		ids = append(ids, mustInsert(t, h, model, items...)...)
	}
	if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != n {
		t.Fatalf("ids are not %d distinct ascending values: %v", n, ids)
	}
	m := modelByName(t, h, model)
	if m.GetCount() != n || !m.GetProjectionReady() || m.GetDimension() != dim || m.GetMetric() != pb.Metric_METRIC_COSINE {
		t.Fatalf("model %v, want count %d, projection ready, dimension %d, cosine", m, n, dim)
	}
	modelsBefore := len(mustList(t, h))

	// Get: the stored vector is the normalized one, with a point.
	const target = 137
	tid := ids[target]
	got, err := h.client.Get(ctx, &pb.GetRequest{Model: model, Id: tid})
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	it := got.GetItem()
	if it.GetId() != tid || it.GetModel() != model || it.GetText() != "item 137" || it.GetMetadata() != `{"k":137}` ||
		it.GetSourceUri() != "mem://happy/137" || it.GetSourceType() != "test" || it.GetAtomId() == 0 || it.GetCreateTime().AsTime().IsZero() {
		t.Errorf("Get: %v", it)
	}
	var sq float64
	want := normalized(vecs[target])
	for i, x := range it.GetVector() {
		sq += float64(x) * float64(x)
		if math.Abs(float64(x-want[i])) > 1e-6 {
			t.Errorf("vector[%d] = %v, want %v", i, x, want[i])
		}
	}
	if len(it.GetVector()) != dim || math.Abs(sq-1) > 1e-5 {
		t.Errorf("stored vector has %d values and squared norm %v, want %d and 1", len(it.GetVector()), sq, dim)
	}
	pt := it.GetPoint()
	if pt == nil {
		t.Fatal("Get: no point")
	}

	// Search with its own vector: the top hit.
	sr, err := h.client.Search(ctx, &pb.SearchRequest{Model: model, Vector: vecs[target], K: 10})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if len(sr.GetHits()) != 10 {
		t.Fatalf("Search: %d hits, want 10", len(sr.GetHits()))
	}
	top := sr.GetHits()[0]
	if top.GetId() != tid || math.Abs(float64(top.GetScore())-1) > 1e-5 || top.GetText() != "item 137" ||
		top.GetMetadata() != `{"k":137}` || top.GetSourceUri() != "mem://happy/137" || top.GetAtomId() != it.GetAtomId() {
		t.Errorf("top hit %v, want id %d, score 1 and its content", top, tid)
	}
	if top.GetPoint() == nil || pointDist(top.GetPoint(), pt) > 1e-9 {
		t.Errorf("top hit point %v, Get's %v", top.GetPoint(), pt)
	}
	for i := 1; i < len(sr.GetHits()); i++ {
		if sr.GetHits()[i].GetScore() > sr.GetHits()[i-1].GetScore() {
			t.Errorf("hits not best first: score %v after %v", sr.GetHits()[i].GetScore(), sr.GetHits()[i-1].GetScore())
		}
	}
	// The default mode is HYBRID; a model this small has no index yet, so
	// its one tier is an exact scan of every row.
	if s := sr.GetStats(); s.GetRows() != n || s.GetDistancesComputed() != n || s.GetMode() != pb.SearchMode_SEARCH_MODE_HYBRID ||
		len(s.GetTiers()) != 1 || s.GetTiers()[0].GetName() != "exact" {
		t.Errorf("stats %v, want %d rows and distances, hybrid mode with one exact tier", s, n)
	}

	// Region filters: the sphere's radius takes in the 25 points nearest
	// to the target's.
	all, err := h.client.Search(ctx, &pb.SearchRequest{Model: model, Vector: vecs[target], K: engine.MaxK})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if len(all.GetHits()) != n {
		t.Fatalf("exhaustive search: %d hits, want %d", len(all.GetHits()), n)
	}
	dists := make([]float64, 0, n)
	for _, hit := range all.GetHits() {
		if hit.GetPoint() == nil {
			t.Fatalf("hit %d has no point", hit.GetId())
		}
		dists = append(dists, pointDist(hit.GetPoint(), pt))
	}
	slices.Sort(dists)
	radius := (dists[24] + dists[25]) / 2
	inside := map[int64]bool{}
	for _, hit := range all.GetHits() {
		if pointDist(hit.GetPoint(), pt) <= radius {
			inside[hit.GetId()] = true
		}
	}
	sphere, err := h.client.Search(ctx, &pb.SearchRequest{Model: model, Vector: vecs[target], K: engine.MaxK,
		Region: &pb.SearchRequest_Sphere{Sphere: &pb.Sphere{Center: pt, Radius: radius}}})
	if err != nil {
		t.Fatalf("sphere Search: %v", err)
	}
	if len(sphere.GetHits()) != len(inside) || len(inside) != 25 {
		t.Errorf("sphere search: %d hits, %d points inside, want 25", len(sphere.GetHits()), len(inside))
	}
	if len(sphere.GetHits()) == 0 || sphere.GetHits()[0].GetId() != tid {
		t.Errorf("sphere search: the target %d is not the top hit", tid)
	}
	for _, hit := range sphere.GetHits() {
		if !inside[hit.GetId()] || pointDist(hit.GetPoint(), pt) > radius {
			t.Errorf("sphere search: hit %d at %v lies outside the sphere", hit.GetId(), hit.GetPoint())
		}
	}
	if got := sphere.GetStats().GetRegionPruned(); got != uint64(n-len(inside)) {
		t.Errorf("sphere search pruned %d rows, want %d", got, n-len(inside))
	}
	lo := &pb.Point{X: pt.GetX() - radius, Y: pt.GetY() - radius, Z: pt.GetZ() - radius}
	hi := &pb.Point{X: pt.GetX() + radius, Y: pt.GetY() + radius, Z: pt.GetZ() + radius}
	box, err := h.client.Search(ctx, &pb.SearchRequest{Model: model, Vector: vecs[target], K: engine.MaxK,
		Region: &pb.SearchRequest_Box{Box: &pb.Box{Min: lo, Max: hi}}})
	if err != nil {
		t.Fatalf("box Search: %v", err)
	}
	inBox := map[int64]bool{}
	for _, hit := range box.GetHits() {
		p := hit.GetPoint()
		if p.GetX() < lo.GetX() || p.GetX() > hi.GetX() || p.GetY() < lo.GetY() || p.GetY() > hi.GetY() || p.GetZ() < lo.GetZ() || p.GetZ() > hi.GetZ() {
			t.Errorf("box search: hit %d at %v lies outside the box", hit.GetId(), p)
		}
		inBox[hit.GetId()] = true
	}
	for id := range inside {
		if !inBox[id] {
			t.Errorf("box search misses %d, inside the sphere the box encloses", id)
		}
	}

	// Delete it: gone from Get and Search, and the count drops.
	del, err := h.client.Delete(ctx, &pb.DeleteRequest{Model: model, Ids: []int64{tid}})
	if err != nil || del.GetDeleted() != 1 {
		t.Fatalf("Delete: %v, %v; want 1 deleted", del, err)
	}
	if _, err := h.client.Get(ctx, &pb.GetRequest{Model: model, Id: tid}); status.Code(err) != codes.NotFound {
		t.Errorf("Get after Delete: %v, want NotFound", err)
	}
	after, err := h.client.Search(ctx, &pb.SearchRequest{Model: model, Vector: vecs[target], K: engine.MaxK})
	if err != nil {
		t.Fatalf("Search after Delete: %v", err)
	}
	if len(after.GetHits()) != n-1 {
		t.Errorf("Search after Delete: %d hits, want %d", len(after.GetHits()), n-1)
	}
	for _, hit := range after.GetHits() {
		if hit.GetId() == tid {
			t.Errorf("Search after Delete still finds %d", tid)
		}
	}
	if c := modelByName(t, h, model).GetCount(); c != n-1 {
		t.Errorf("count after Delete %d, want %d", c, n-1)
	}
	if len(mustList(t, h)) != modelsBefore {
		t.Errorf("the number of models changed")
	}
	if _, err := h.client.Delete(ctx, &pb.DeleteRequest{Model: model, Ids: []int64{tid}}); status.Code(err) != codes.NotFound {
		t.Errorf("second Delete: %v, want NotFound", err)
	}
}

func mustList(t *testing.T, h *harness) []*pb.Model {
	t.Helper()
	resp, err := h.client.ListModels(testCtx(t), &pb.ListModelsRequest{})
	if err != nil {
		t.Fatalf("ListModels: %v", err)
	}
	return resp.GetModels()
}

// Deleting a model's newest item and then inserting must work: the store
// must not hand out an id the runtime core has already seen.
func TestInsertAfterDeletingNewest(t *testing.T) {
	h := newHarness(t)
	mustCreate(t, h, "reuse", 3, pb.Metric_METRIC_COSINE)
	ctx := testCtx(t)
	ids := mustInsert(t, h, "reuse", &pb.Item{Vector: []float32{1, 0, 0}}, &pb.Item{Vector: []float32{0, 1, 0}}, &pb.Item{Vector: []float32{0, 0, 1}})
	if _, err := h.client.Delete(ctx, &pb.DeleteRequest{Model: "reuse", Ids: ids[2:]}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	resp, err := h.client.Insert(ctx, &pb.InsertRequest{Model: "reuse", Items: []*pb.Item{{Vector: []float32{1, 1, 0}, Text: "new"}}})
	if err != nil {
		t.Fatalf("Insert after deleting the newest item: %v\nserver log:\n%s", err, h.logs.String())
	}
	id := resp.GetIds()[0]
	if id == ids[2] {
		t.Errorf("the new item reuses the deleted id %d", id)
	}
	sr, err := h.client.Search(ctx, &pb.SearchRequest{Model: "reuse", Vector: []float32{1, 1, 0}, K: 1})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if len(sr.GetHits()) != 1 || sr.GetHits()[0].GetId() != id {
		t.Errorf("Search finds %v, want the new item %d", sr.GetHits(), id)
	}
	if g, err := h.client.Get(ctx, &pb.GetRequest{Model: "reuse", Id: id}); err != nil || g.GetItem().GetText() != "new" {
		t.Errorf("Get(%d): %v, %v; want the new item", id, g, err)
	}
	if c := modelByName(t, h, "reuse").GetCount(); c != 3 {
		t.Errorf("count %d, want 3", c)
	}
}

func TestHealthServed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, svc := range []string{"", pb.HartonomousService_ServiceDesc.ServiceName} {
		resp, err := h.health.Check(testCtx(t), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health of %q: %v, %v; want SERVING", svc, resp, err)
		}
	}
}
