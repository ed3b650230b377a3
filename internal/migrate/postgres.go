package migrate

import "strconv"

// Postgres is the PostgreSQL dialect. The runner's statements name the
// history table and its columns without quotes, so PostgreSQL folds them to
// lower case: the table is hartdschemahistory (version, name, checksum,
// appliedat), unlike the quoted, mixed-case names of the hartd schema.
// AppliedAt is a timestamptz: the runner writes RFC 3339 text, which
// PostgreSQL parses, and database/sql reads it back as RFC 3339 text.
var Postgres = Dialect{
	Name: "postgres",
	CreateHistory: `CREATE TABLE IF NOT EXISTS ` + HistoryTable + ` (
    Version   integer     PRIMARY KEY,
    Name      text        NOT NULL,
    Checksum  text        NOT NULL,
    AppliedAt timestamptz NOT NULL
)`,
	Placeholder: func(n int) string { return "$" + strconv.Itoa(n) },
}
