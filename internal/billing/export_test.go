package billing

import (
	"database/sql"
	"testing"

	"github.com/hartonomous/hartd/internal/store/sqlite"
)

// sqliteDB opens a second connection on st's database, to change rates
// behind the meter's back as an operator would.
func sqliteDB(t *testing.T, st *sqlite.Store) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+st.Path()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
