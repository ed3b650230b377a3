package deploy

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn, dialect, database, host, user, shown string
	}{
		{"sqlserver://sa:p%40ss@127.0.0.1:1433?database=Hartonomous", SQLServer, "Hartonomous", "127.0.0.1:1433", "sa",
			"sqlserver://sa:xxxxx@127.0.0.1:1433?database=Hartonomous"},
		{"sqlserver://sa:x@db.example:1433", SQLServer, DefaultSQLServerDatabase, "db.example:1433", "sa", "sqlserver://sa:xxxxx@db.example:1433"},
		{"SQLServer://sa@host?database=hart_2", SQLServer, "hart_2", "host", "sa", "SQLServer://sa@host?database=hart_2"},
		{"postgres://hartd:pw@127.0.0.1:5432/hartd?sslmode=disable", Postgres, "hartd", "127.0.0.1:5432", "hartd",
			"postgres://hartd:xxxxx@127.0.0.1:5432/hartd?sslmode=disable"},
		{"postgresql://u@h/db", Postgres, "db", "h", "u", "postgresql://u@h/db"},
		{"sqlite:///tmp/x/hart.db", SQLite, "/tmp/x/hart.db", "", "", "sqlite:///tmp/x/hart.db"},
		{"sqlite:data/hart.db", SQLite, "data/hart.db", "", "", "sqlite:data/hart.db"},
		{"sqlite:///tmp//x/../y/hart.db", SQLite, "/tmp/y/hart.db", "", "", "sqlite:///tmp//x/../y/hart.db"},
	}
	for _, tc := range tests {
		tg, err := ParseDSN(tc.dsn)
		if err != nil {
			t.Errorf("ParseDSN(%q): %v", tc.dsn, err)
			continue
		}
		if tg.Dialect != tc.dialect || tg.Database != tc.database || tg.Host() != tc.host || tg.User() != tc.user || tg.String() != tc.shown {
			t.Errorf("ParseDSN(%q) = %s %q host %q user %q shown %q", tc.dsn, tg.Dialect, tg.Database, tg.Host(), tg.User(), tg.String())
		}
	}
}

func TestParseDSNRejects(t *testing.T) {
	for _, dsn := range []string{
		"", "  ", "hart.db", "mysql://u@h/db", "sqlite://tmp/x.db", "sqlite:///", "sqlite:///tmp/",
		"sqlserver:///?database=x", "sqlserver://h?database=a;DROP", "sqlserver://h?database=" + strings.Repeat("a", 64),
		"postgres://h", "postgres://h/", "postgres:///db", "postgres://h/a%20b", "postgres://u:pa ss@h:bad/db",
	} {
		_, err := ParseDSN(dsn)
		if !errors.Is(err, ErrDSN) {
			t.Errorf("ParseDSN(%q) = %v, want ErrDSN", dsn, err)
			continue
		}
		if strings.Contains(err.Error(), "pa ss") {
			t.Errorf("ParseDSN(%q): the error shows the password: %v", dsn, err)
		}
	}
}

// The DSN handed to the driver names the database of each phase.
func TestTargetDSN(t *testing.T) {
	ms, _ := ParseDSN("sqlserver://sa:x@h:1433?database=Hart&encrypt=disable")
	for db, want := range map[string]string{
		"":       "sqlserver://sa:x@h:1433?app+name=hartd+deploy&database=Hart&encrypt=disable",
		"master": "sqlserver://sa:x@h:1433?app+name=hartd+deploy&database=master&encrypt=disable",
	} {
		if got := ms.DSN(db); got != want {
			t.Errorf("DSN(%q) = %q, want %q", db, got, want)
		}
	}
	pg, _ := ParseDSN("postgres://u:x@h:5432/hart?sslmode=disable")
	if got, want := pg.DSN("postgres"), "postgres://u:x@h:5432/postgres?application_name=hartd+deploy&sslmode=disable"; got != want {
		t.Errorf("DSN(postgres) = %q, want %q", got, want)
	}
	sl, _ := ParseDSN("sqlite:///tmp/a.db")
	if got := sl.DSN(""); got != "/tmp/a.db" {
		t.Errorf("sqlite DSN = %q", got)
	}
}
