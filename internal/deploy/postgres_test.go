package deploy

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"math/rand/v2"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/hartonomous/hartd/internal/embed"
	"github.com/hartonomous/hartd/internal/spatial"
	"github.com/hartonomous/hartd/internal/store/pgtest"
)

// pgTarget returns a DSN for a database the deployment is to create on the
// test server (dropped when the test ends), and an admin connection.
func pgTarget(t *testing.T) (dsn string, admin *sql.DB) {
	t.Helper()
	dsn, adminDSN, _ := pgtest.Reserve(t)
	admin, err := sql.Open("pgx", adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	return dsn, admin
}

// The deployment against a real PostgreSQL + PostGIS: twice (the second
// changes nothing), the procedures checked against hartd's Go
// implementation, and a rollback to 0 that leaves nothing of hartd.
func TestPostgresDeploy(t *testing.T) {
	dsn, _ := pgTarget(t)
	p := mustPlan(t, dsn)
	out, err := runPlan(t, p)
	if err != nil {
		t.Fatalf("first deploy: %v\n%s", err, out)
	}
	want := map[string]string{
		PhasePrerequisites: "ok", PhaseDatabase: "changed", PhaseFilestream: "not applicable", PhaseCLR: "not applicable",
		PhaseMigrations: "changed", PhaseProcedures: "changed", PhaseServiceBroker: "in-process",
		PhaseVerification: "ok", PhaseReferenceData: "unchanged", // 0002 seeds the Default dedup policy
	}
	if got := statuses(out); !equalMaps(got, want) {
		t.Fatalf("first deploy statuses %v, want %v\n%s", got, want, out)
	}
	out, err = runPlan(t, p)
	want[PhaseDatabase], want[PhaseMigrations], want[PhaseProcedures] = "unchanged", "unchanged", "unchanged"
	if err != nil || !equalMaps(statuses(out), want) || !strings.Contains(out, "done: no changes") {
		t.Fatalf("second deploy: %v, statuses %v\n%s", err, statuses(out), out)
	}

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t.Run("procedures", func(t *testing.T) { testPostgresProcedures(t, db) })

	// A dropped function is re-created by the next deploy.
	if _, err := db.Exec(`DROP FUNCTION hartd_hybrid_search`); err != nil {
		t.Fatal(err)
	}
	pr, _ := p.Only(PhaseProcedures)
	if out, err := runPlan(t, pr); err != nil || !strings.Contains(out, "re-created (missing: hartd_hybrid_search) 0003_search.sql") {
		t.Fatalf("procedures after a drop: %v\n%s", err, out)
	}

	tg, _ := ParseDSN(dsn)
	rb, _ := NewRollbackPlan(tg, 0)
	if out, err := runPlan(t, rb); err != nil {
		t.Fatalf("rollback: %v\n%s", err, out)
	}
	var left []string
	rows, err := db.Query(`SELECT 'table ' || tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'spatial_ref_sys'
UNION ALL SELECT 'function ' || proname FROM pg_proc WHERE pronamespace = current_schema()::regnamespace AND proname LIKE 'hartd%'
UNION ALL SELECT 'sequence ' || sequencename FROM pg_sequences WHERE schemaname = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		left = append(left, s)
	}
	rows.Close()
	if len(left) > 0 {
		t.Fatalf("left after rollback --to 0: %v", left)
	}
}

func randUnit(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	embed.Normalize(v)
	return v
}

func sqDist64(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return s
}

func testPostgresProcedures(t *testing.T, db *sql.DB) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(11, 11))
	const dim, n = 16, 60
	var modelID, l2ID int64
	if err := db.QueryRow(`INSERT INTO "Models" ("TenantId", "ModelName", "Dimension", "Metric", "AnchorSeed") VALUES (1, 'cos', $1, 'cosine', 7) RETURNING "ModelId"`, dim).Scan(&modelID); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`INSERT INTO "Models" ("TenantId", "ModelName", "Dimension", "Metric", "AnchorSeed") VALUES (1, 'euclid', $1, 'l2', -3) RETURNING "ModelId"`, dim).Scan(&l2ID); err != nil {
		t.Fatal(err)
	}
	vecs := map[int64][]float32{}
	var ids []int64
	insert := func(model int64, v []float32) int64 {
		var atom, id int64
		if err := db.QueryRow(`INSERT INTO "Atoms" ("TenantId", "Content") VALUES (1, 'x') RETURNING "AtomId"`).Scan(&atom); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`INSERT INTO "AtomEmbeddings" ("AtomId", "ModelId", "Dimension", "EmbeddingVector") VALUES ($1, $2, $3, $4) RETURNING "EmbeddingId"`,
			atom, model, dim, embed.EncodeVector(v)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	for range n {
		v := randUnit(r, dim)
		id := insert(modelID, v)
		vecs[id] = v
		ids = append(ids, id)
	}
	l2vecs := map[int64][]float32{}
	for range 20 {
		v := randUnit(r, dim)
		for i := range v {
			v[i] *= 3
		}
		l2vecs[insert(l2ID, v)] = v
	}

	// Decoding is exact, subnormals and signs included.
	odd := []float32{1, -2, 0.1, -0, math.SmallestNonzeroFloat32, -math.MaxFloat32, 1e-40}
	rows, err := db.Query(`SELECT ordinal, value FROM hartd_float32s($1) ORDER BY ordinal`, embed.EncodeVector(odd))
	if err != nil {
		t.Fatal(err)
	}
	k := 0
	for rows.Next() {
		var i int
		var v float64
		rows.Scan(&i, &v)
		if i != k || v != float64(odd[k]) {
			t.Errorf("hartd_float32s[%d] = %d, %v; want %v", k, i, v, odd[k])
		}
		k++
	}
	rows.Close()
	if k != len(odd) {
		t.Fatalf("hartd_float32s returned %d values, want %d", k, len(odd))
	}

	// Before anchors: projection and hybrid search say why they cannot.
	q := randUnit(r, dim)
	_, err = db.Exec(`SELECT * FROM hartd_project_vector($1, $2)`, modelID, embed.EncodeVector(q))
	if err == nil || !strings.Contains(err.Error(), "no anchors") || !strings.Contains(err.Error(), "55000") {
		t.Fatalf("projection without anchors = %v", err)
	}
	_, err = db.Exec(`SELECT * FROM hartd_exact_search($1, $2)`, modelID, embed.EncodeVector(q[:dim-1]))
	if err == nil || !strings.Contains(err.Error(), "takes 16 float32 values") {
		t.Fatalf("search with a short vector = %v", err)
	}

	// Anchors by the farthest-point rule.
	anchors := map[int]int64{}
	rows, err = db.Query(`SELECT anchor_index, embedding_id FROM hartd_initialize_spatial_anchors($1)`, modelID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var i int
		var id int64
		rows.Scan(&i, &id)
		anchors[i] = id
	}
	rows.Close()
	if len(anchors) != 3 {
		t.Fatalf("anchors %v", anchors)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	if want := ids[7%n]; anchors[1] != want {
		t.Errorf("A1 = %d, want the row at position AnchorSeed mod n = %d", anchors[1], want)
	}
	a1, a2 := vecs[anchors[1]], vecs[anchors[2]]
	for _, id := range ids {
		if d := sqDist64(vecs[id], a1); d > sqDist64(a2, a1)+1e-12 {
			t.Fatalf("row %d is farther from A1 (%v) than A2 (%v)", id, d, sqDist64(a2, a1))
		}
	}
	bestScore := math.Inf(-1)
	var a3 int64
	for _, id := range ids {
		d1, d2 := sqDist64(vecs[id], a1), sqDist64(vecs[id], a2)
		if d1 == 0 || d2 == 0 {
			continue
		}
		if s := math.Sqrt(d1) + math.Sqrt(d2); s > bestScore {
			bestScore, a3 = s, id
		}
	}
	if anchors[3] != a3 {
		t.Errorf("A3 = %d, Go's farthest-point rule picks %d", anchors[3], a3)
	}
	if _, err := db.Exec(`SELECT * FROM hartd_initialize_spatial_anchors($1)`, modelID); err == nil || !strings.Contains(err.Error(), "already has anchors") {
		t.Errorf("second anchor initialization = %v", err)
	}

	// The stored points and a query's point match internal/spatial. The
	// functions treat a cosine model's vectors as directions and divide by
	// their norm, which for stored float32 unit vectors differs from 1 by a
	// few 1e-8: so the tolerance is float32's, not float64's.
	proj, err := spatial.NewProjection(vecs[anchors[1]], vecs[anchors[2]], vecs[anchors[3]])
	if err != nil {
		t.Fatal(err)
	}
	const tol = 1e-6
	near := func(a, b float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }
	rows, err = db.Query(`SELECT "EmbeddingId", "SpatialX", "SpatialY", "SpatialZ", ST_X("SpatialGeometry"), ST_Y("SpatialGeometry"), ST_Z("SpatialGeometry")
FROM "AtomEmbeddings" WHERE "ModelId" = $1`, modelID)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for rows.Next() {
		var id int64
		var x, y, z, gx, gy, gz float64
		rows.Scan(&id, &x, &y, &z, &gx, &gy, &gz)
		p := proj.Project(vecs[id])
		if !near(x, p.X) || !near(y, p.Y) || !near(z, p.Z) || gx != x || gy != y || gz != z {
			t.Errorf("row %d: SQL point (%v %v %v) geometry (%v %v %v), Go %+v", id, x, y, z, gx, gy, gz, p)
		}
		seen++
	}
	rows.Close()
	if seen != n {
		t.Fatalf("%d projected rows, want %d", seen, n)
	}
	// A query that is not unit length: the function normalizes it, as
	// hartd does for a cosine model.
	raw := make([]float32, dim)
	for i := range raw {
		raw[i] = q[i] * 2.5
	}
	var x, y, z float64
	if err := db.QueryRow(`SELECT x, y, z FROM hartd_project_vector($1, $2)`, modelID, embed.EncodeVector(raw)).Scan(&x, &y, &z); err != nil {
		t.Fatal(err)
	}
	if p := proj.Project(q); math.Abs(x-p.X) > 1e-6 || math.Abs(y-p.Y) > 1e-6 || math.Abs(z-p.Z) > 1e-6 {
		t.Errorf("hartd_project_vector = (%v %v %v), Go %+v", x, y, z, p)
	}

	// Exact search equals a brute-force ranking.
	type hit struct {
		id    int64
		score float64
	}
	var want []hit
	for _, id := range ids {
		var dot float64
		for i := range q {
			dot += float64(q[i]) * float64(vecs[id][i])
		}
		want = append(want, hit{id, dot})
	}
	sort.Slice(want, func(i, j int) bool {
		if want[i].score != want[j].score {
			return want[i].score > want[j].score
		}
		return want[i].id < want[j].id
	})
	search := func(query string, args ...any) []hit {
		t.Helper()
		rows, err := db.QueryContext(ctx, query, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []hit
		for rows.Next() {
			var h hit
			var dist float64
			if err := rows.Scan(&h.id, &h.score, &dist); err != nil {
				t.Fatal(err)
			}
			if math.Abs(dist-(1-h.score)) > 1e-12 {
				t.Fatalf("distance %v, score %v", dist, h.score)
			}
			out = append(out, h)
		}
		return out
	}
	got := search(`SELECT embedding_id, score, distance FROM hartd_exact_search($1, $2, 5)`, modelID, embed.EncodeVector(raw))
	if len(got) != 5 {
		t.Fatalf("exact search returned %d rows", len(got))
	}
	for i := range got {
		if got[i].id != want[i].id || math.Abs(got[i].score-want[i].score) > 1e-6 {
			t.Fatalf("exact search row %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	// Hybrid search with every row a candidate is the exact search; with
	// fewer, its hits are among the nearest points in (x, y).
	if all := search(`SELECT embedding_id, score, distance FROM hartd_hybrid_search($1, $2, $3, 5)`, modelID, embed.EncodeVector(raw), n); len(all) != 5 || all[0].id != want[0].id || all[4].id != want[4].id {
		t.Fatalf("hybrid search over every row = %+v, want %+v", all, want[:5])
	}
	pq := proj.Project(q)
	type cand struct {
		id int64
		d  float64
	}
	var cands []cand
	for _, id := range ids {
		p := proj.Project(vecs[id])
		cands = append(cands, cand{id, math.Hypot(p.X-pq.X, p.Y-pq.Y)})
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].d < cands[j].d })
	allowed := map[int64]bool{}
	for _, c := range cands[:12] { // 10 candidates, with room for ties at the edge
		allowed[c.id] = true
	}
	few := search(`SELECT embedding_id, score, distance FROM hartd_hybrid_search($1, $2, 10, 3)`, modelID, embed.EncodeVector(raw))
	if len(few) != 3 {
		t.Fatalf("hybrid search returned %d rows", len(few))
	}
	for _, h := range few {
		if !allowed[h.id] {
			t.Errorf("hybrid hit %d is not among the 10 nearest projected points", h.id)
		}
	}

	// l2: distances are Euclidean, and the projection matches Go's.
	if _, err := db.Exec(`SELECT * FROM hartd_initialize_spatial_anchors($1)`, l2ID); err != nil {
		t.Fatal(err)
	}
	var l2a [3][]float32
	rows, err = db.Query(`SELECT "AnchorIndex", "EmbeddingId" FROM "SpatialAnchors" WHERE "ModelId" = $1`, l2ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var i int
		var id int64
		rows.Scan(&i, &id)
		l2a[i-1] = l2vecs[id]
	}
	rows.Close()
	lp, err := spatial.NewProjection(l2a[0], l2a[1], l2a[2])
	if err != nil {
		t.Fatal(err)
	}
	lq := randUnit(r, dim)
	if err := db.QueryRow(`SELECT x, y, z FROM hartd_project_vector($1, $2)`, l2ID, embed.EncodeVector(lq)).Scan(&x, &y, &z); err != nil {
		t.Fatal(err)
	}
	if p := lp.Project(lq); math.Abs(x-p.X) > 1e-9 || math.Abs(y-p.Y) > 1e-9 || math.Abs(z-p.Z) > 1e-7 {
		t.Errorf("l2 hartd_project_vector = (%v %v %v), Go %+v", x, y, z, p)
	}
	var best float64
	if err := db.QueryRow(`SELECT score FROM hartd_exact_search($1, $2, 1)`, l2ID, embed.EncodeVector(lq)).Scan(&best); err != nil {
		t.Fatal(err)
	}
	min := math.Inf(1)
	for _, v := range l2vecs {
		min = math.Min(min, math.Sqrt(sqDist64(v, lq)))
	}
	if math.Abs(best-min) > 1e-9 {
		t.Errorf("l2 exact search best distance %v, want %v", best, min)
	}
}

// A role the server does not know is a login failure with its fix.
func TestPostgresWrongLogin(t *testing.T) {
	dsn, _ := pgTarget(t)
	u, _ := url.Parse(dsn)
	u.User = url.UserPassword("no_such_role_hartd", "wrong")
	p := mustPlan(t, u.String())
	out, err := runPlan(t, p)
	var f *Failure
	if !errors.As(err, &f) || f.Phase != PhasePrerequisites || !strings.Contains(f.Fix, `rejected the login of "no_such_role_hartd"`) {
		t.Fatalf("deploy with an unknown role = %v (fix %q)\n%s", err, fixOf(err), out)
	}
	if strings.Contains(out, "wrong") {
		t.Fatalf("the report shows the password\n%s", out)
	}
}
