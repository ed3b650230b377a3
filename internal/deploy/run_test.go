package deploy

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hartonomous/hartd/internal/migrate"
)

// fixedClock advances 1 ms a call, for reproducible reports.
func fixedClock() func() time.Time {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Millisecond); return t }
}

// statuses reads "N/M phase status" lines of a report.
var statusLine = regexp.MustCompile(`(?m)^\s*\d+/\d+ (\S+)\s+(ok|changed|unchanged|skipped|not applicable|in-process|FAILED)\s`)

func statuses(report string) map[string]string {
	out := map[string]string{}
	for _, m := range statusLine.FindAllStringSubmatch(report, -1) {
		out[m[1]] = m[2]
	}
	return out
}

func runPlan(t *testing.T, p *Plan) (string, error) {
	t.Helper()
	var b bytes.Buffer
	err := (&Runner{Out: &b, Now: fixedClock()}).Run(context.Background(), p)
	return b.String(), err
}

func mustPlan(t *testing.T, dsn string) *Plan {
	t.Helper()
	tg, err := ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(tg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func sqliteObjects(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT type || ' ' || name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

// Deploy, deploy again (no changes), verify, roll back to 0 (nothing of
// hartd left), deploy again: the whole life cycle on the embedded dialect.
func TestSQLiteLifeCycle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "hart.db")
	dsn := "sqlite://" + path
	p := mustPlan(t, dsn)

	first, err := runPlan(t, p)
	if err != nil {
		t.Fatalf("first deploy: %v\n%s", err, first)
	}
	want := map[string]string{
		PhasePrerequisites: "ok", PhaseDatabase: "changed", PhaseFilestream: "not applicable", PhaseCLR: "not applicable",
		PhaseMigrations: "changed", PhaseProcedures: "not applicable", PhaseServiceBroker: "in-process",
		PhaseVerification: "ok", PhaseReferenceData: "unchanged", // 0002 seeds the Default dedup policy
	}
	if got := statuses(first); !equalMaps(got, want) {
		t.Fatalf("first deploy statuses %v, want %v\n%s", got, want, first)
	}
	for _, s := range []string{"applied 0001_core", "created " + path, "all 9 checks passed", "done: 2 phase(s) changed"} {
		if !strings.Contains(first, s) {
			t.Errorf("first deploy report lacks %q\n%s", s, first)
		}
	}

	second, err := runPlan(t, p)
	if err != nil {
		t.Fatalf("second deploy: %v\n%s", err, second)
	}
	want[PhaseDatabase], want[PhaseMigrations] = "unchanged", "unchanged"
	if got := statuses(second); !equalMaps(got, want) {
		t.Fatalf("second deploy statuses %v, want %v\n%s", got, want, second)
	}
	if !strings.Contains(second, "done: no changes to "+dsn) {
		t.Fatalf("second deploy does not say it changed nothing:\n%s", second)
	}

	v, _ := p.Only(PhaseVerification)
	if out, err := runPlan(t, v); err != nil || !strings.Contains(out, "all 9 checks passed") {
		t.Fatalf("verify: %v\n%s", err, out)
	}

	tg, _ := ParseDSN(dsn)
	rb, err := NewRollbackPlan(tg, 0)
	if err != nil {
		t.Fatal(err)
	}
	out, err := runPlan(t, rb)
	if err != nil || !strings.Contains(out, "rolled back 0001_core") {
		t.Fatalf("rollback: %v\n%s", err, out)
	}
	if left := sqliteObjects(t, path); len(left) != 0 {
		t.Fatalf("objects left after rollback --to 0: %v", left)
	}
	if out, err := runPlan(t, rb); err != nil || !strings.Contains(out, "done: no changes") {
		t.Fatalf("second rollback: %v\n%s", err, out)
	}
	// Verification of an empty database fails, naming what is missing.
	out, err = runPlan(t, v)
	var f *Failure
	if !errors.As(err, &f) || f.Phase != PhaseVerification || !strings.Contains(out, "FAIL") || !strings.Contains(out, "fix:") {
		t.Fatalf("verify after rollback = %v\n%s", err, out)
	}
	if out, err := runPlan(t, p); err != nil || statuses(out)[PhaseMigrations] != "changed" {
		t.Fatalf("deploy after rollback: %v\n%s", err, out)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A history row with a checksum this binary does not know stops the run at
// the migrations phase with the cause and a fix, and applies nothing.
func TestForeignChecksumStops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hart.db")
	p := mustPlan(t, "sqlite://"+path)
	if out, err := runPlan(t, p); err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE ` + migrate.HistoryTable + ` SET Checksum = 'deadbeefdeadbeef' WHERE Version = 1`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out, err := runPlan(t, p)
	var f *Failure
	if !errors.As(err, &f) || f.Phase != PhaseMigrations || !errors.Is(err, migrate.ErrChecksum) {
		t.Fatalf("deploy with a foreign checksum = %v\n%s", err, out)
	}
	for _, s := range []string{"migrations      FAILED", "cause: migrate: checksum", "fix:   an applied migration differs", "the 4 phase(s) after it did not run"} {
		if !strings.Contains(out, s) {
			t.Errorf("report lacks %q\n%s", s, out)
		}
	}
	if st := statuses(out); st[PhaseVerification] != "" {
		t.Errorf("phases after the failure ran: %v", st)
	}
	// Verification says the same, without changing anything.
	v, _ := p.Only(PhaseVerification)
	out, err = runPlan(t, v)
	if err == nil || !strings.Contains(out, "foreign checksum deadbeefdead") {
		t.Fatalf("verify with a foreign checksum = %v\n%s", err, out)
	}
}

// A path whose parent is a file fails at the prerequisites, before anything
// is created.
func TestSQLiteBadPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	p := mustPlan(t, "sqlite://"+file)
	if out, err := runPlan(t, p); err != nil {
		t.Fatalf("deploy: %v\n%s", err, out)
	}
	p = mustPlan(t, "sqlite://"+filepath.Join(file, "hart.db"))
	out, err := runPlan(t, p)
	var f *Failure
	if !errors.As(err, &f) || f.Phase != PhasePrerequisites || f.Fix == "" {
		t.Fatalf("deploy under a file = %v\n%s", err, out)
	}
}

// An unreachable server fails at the first phase with the cause and the
// fix, for both server dialects (port 1 on loopback refuses connections).
func TestUnreachableServer(t *testing.T) {
	for _, dsn := range []string{
		"sqlserver://sa:secret@127.0.0.1:1?database=Hartonomous&dial+timeout=2",
		"postgres://hartd:secret@127.0.0.1:1/hartd?sslmode=disable&connect_timeout=2",
	} {
		p := mustPlan(t, dsn)
		out, err := runPlan(t, p)
		var f *Failure
		if !errors.As(err, &f) || f.Phase != PhasePrerequisites {
			t.Fatalf("%s: %v\n%s", dsn, err, out)
		}
		if !strings.Contains(f.Fix, "cannot reach 127.0.0.1:1") || !strings.Contains(out, "fix:   cannot reach") {
			t.Errorf("%s: fix %q\n%s", dsn, f.Fix, out)
		}
		if strings.Contains(out, "secret") {
			t.Errorf("%s: the report shows the password\n%s", dsn, out)
		}
	}
}

func TestCheckPostgres(t *testing.T) {
	ok := postgresServer{VersionNum: 150004, User: "hartd", Superuser: true, CreateDB: true,
		PostGISDefault: sql.NullString{String: "3.3.2", Valid: true}}
	if err := checkPostgres(ok, "hartd"); err != nil {
		t.Fatalf("a superuser on 15 with PostGIS: %v", err)
	}
	tests := map[string]struct {
		mut  func(*postgresServer)
		want string
		fix  string
	}{
		"old":             {func(s *postgresServer) { s.VersionNum = 120011 }, "PostgreSQL 12.11 is older", "upgrade"},
		"no PostGIS":      {func(s *postgresServer) { s.PostGISDefault.Valid = false }, "PostGIS is not installed on the server", "apt-get install postgresql-NN-postgis-3"},
		"may not create":  {func(s *postgresServer) { s.Superuser, s.CreateDB = false, false }, "may not create it", "CREATEDB"},
		"not the owner":   {func(s *postgresServer) { s.Superuser, s.Exists, s.Owner = false, true, false }, "does not own", "OWNER"},
		"extension later": {func(s *postgresServer) { s.Superuser, s.Exists, s.Owner = false, true, true }, "not a superuser", "CREATE EXTENSION postgis"},
	}
	for name, tc := range tests {
		s := ok
		tc.mut(&s)
		err := checkPostgres(s, "hartd")
		var f *Failure
		if !errors.As(err, &f) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(f.Fix, tc.fix) {
			t.Errorf("%s: %v (fix %q), want %q with a fix naming %q", name, err, fixOf(err), tc.want, tc.fix)
		}
	}
	// An owner whose database already has PostGIS needs nothing more.
	s := ok
	s.Superuser, s.Exists, s.Owner, s.PostGIS = false, true, true, sql.NullString{String: "3.3.2", Valid: true}
	if err := checkPostgres(s, "hartd"); err != nil {
		t.Fatalf("an owner with PostGIS: %v", err)
	}
}

func fixOf(err error) string {
	var f *Failure
	if errors.As(err, &f) {
		return f.Fix
	}
	return ""
}

func TestOnlyUnknownPhase(t *testing.T) {
	p := mustPlan(t, "sqlite:///tmp/x.db")
	if _, err := p.Only("nope"); err == nil || !strings.Contains(err.Error(), "prerequisites, database") {
		t.Fatalf("Only(nope) = %v", err)
	}
	tg, _ := ParseDSN("sqlite:///tmp/x.db")
	if _, err := NewRollbackPlan(tg, 99); err == nil {
		t.Fatal("rollback --to 99 accepted")
	}
	if _, err := NewRollbackPlan(tg, -1); err == nil {
		t.Fatal("rollback --to -1 accepted")
	}
}

// Every shipped procedure file loads: named objects, batches that split.
func TestProcedureFilesLoad(t *testing.T) {
	for _, pd := range []procDialect{sqlserverProcs, postgresProcs} {
		files, err := loadProcedures(pd)
		if err != nil {
			t.Fatal(err)
		}
		names := strings.Join(procedureNames(files), " ")
		for _, want := range []string{"ybrid", "xact", "nchors", "roject"} {
			if !strings.Contains(strings.ToLower(names), strings.ToLower(want)) {
				t.Errorf("%s: no object for %q among %s", pd.dir, want, names)
			}
		}
	}
}
