//go:build unix

package main

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// `hartd deploy` of the real binary against SQLite: deploy twice (the
// second changes nothing), verify, roll back to 0, with the DSN from the
// flag and from HARTD_DSN.
func TestDeployCommandSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x", "hart.db")
	dsn := "sqlite://" + path

	out, errOut, code := runCLI(t, childEnv(), "deploy", "--dsn", dsn)
	if code != 0 || !strings.Contains(out, "applied 0001_core") || !strings.Contains(out, "done: 2 phase(s) changed") {
		t.Fatalf("first deploy: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runCLI(t, childEnv("HARTD_DSN="+dsn), "deploy")
	if code != 0 || !strings.Contains(out, "done: no changes to "+dsn) {
		t.Fatalf("second deploy (HARTD_DSN): exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runCLI(t, childEnv("HARTD_DSN="+dsn), "deploy", "verify")
	if code != 0 || !strings.Contains(out, "1/1 verification") || !strings.Contains(out, "all 9 checks passed") {
		t.Fatalf("deploy verify: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runCLI(t, childEnv(), "deploy", "--dsn", dsn, "--phase", "migrations")
	if code != 0 || !strings.Contains(out, "1/1 migrations      unchanged") {
		t.Fatalf("deploy --phase migrations: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runCLI(t, childEnv(), "deploy", "rollback", "--to", "0", "--dsn", dsn)
	if code != 0 || !strings.Contains(out, "rolled back 0001_core") {
		t.Fatalf("rollback --to 0: exit %d\n%s%s", code, out, errOut)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("objects left after rollback --to 0: %d, %v", n, err)
	}
	// Verification of what is left fails, with a non-zero exit.
	out, _, code = runCLI(t, childEnv(), "deploy", "verify", "--dsn", dsn)
	if code == 0 || !strings.Contains(out, "FAILED") || !strings.Contains(out, "fix:") {
		t.Fatalf("verify after rollback: exit %d\n%s", code, out)
	}
}

// The SQL Server dry run needs no server and prints the whole T-SQL.
func TestDeployDryRunSQLServer(t *testing.T) {
	out, errOut, code := runCLI(t, childEnv(), "deploy", "--dry-run", "--dsn", "sqlserver://sa:x@127.0.0.1:1?database=Hartonomous")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"CREATE DATABASE [Hartonomous]", "CREATE SPATIAL INDEX", "CREATE OR ALTER PROCEDURE dbo.sp_HybridSearch", "-- ==== 9/9 reference-data"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q", want)
		}
	}
}

func TestDeployCommandErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"deploy"}, "give --dsn or set HARTD_DSN"},
		{[]string{"deploy", "--dsn", "mysql://u@h/db"}, `scheme "mysql"`},
		{[]string{"deploy", "--dsn", "sqlite:///tmp/x.db", "--phase", "nope"}, `no phase "nope"`},
		{[]string{"deploy", "rollback", "--dsn", "sqlite:///tmp/x.db"}, "--to N is required"},
		{[]string{"deploy", "--dsn", "sqlserver://sa:Hush-77@127.0.0.1:1?database=H&dial+timeout=2"}, "cannot reach 127.0.0.1:1"},
	}
	for _, tc := range tests {
		out, errOut, code := runCLI(t, childEnv(), tc.args...)
		if code == 0 || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("hartd %s: exit %d, want an error naming %q\n%s%s", strings.Join(tc.args, " "), code, tc.want, out, errOut)
		}
		if strings.Contains(out+errOut, "Hush-77") {
			t.Errorf("hartd %s shows the password", strings.Join(tc.args, " "))
		}
	}
}
