package migrate

import (
	"strings"
	"testing"
)

// The runner against a real PostgreSQL is tested by internal/store/postgres.
func TestPostgresDialect(t *testing.T) {
	for n, want := range map[int]string{1: "$1", 4: "$4", 12: "$12"} {
		if got := Postgres.Placeholder(n); got != want {
			t.Errorf("Placeholder(%d) = %q, want %q", n, got, want)
		}
	}
	if !strings.Contains(Postgres.CreateHistory, "IF NOT EXISTS "+HistoryTable) || Postgres.Split != nil {
		t.Errorf("CreateHistory = %q", Postgres.CreateHistory)
	}
}
