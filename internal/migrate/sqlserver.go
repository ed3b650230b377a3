package migrate

import "strconv"

// SQLServer is the dialect of SQL Server 2022 and later. Scripts are split
// into batches at GO lines (SplitGO) and every batch of a migration runs in
// the migration's transaction: SQL Server's DDL is transactional, except
// for statements that cannot run in a user transaction at all (CREATE
// DATABASE, ALTER DATABASE, full-text catalogs), which migrations do not
// contain.
var SQLServer = Dialect{
	Name: "sqlserver",
	CreateHistory: `IF OBJECT_ID(N'dbo.` + HistoryTable + `', N'U') IS NULL
CREATE TABLE dbo.` + HistoryTable + ` (
    Version   INT           NOT NULL CONSTRAINT PK_` + HistoryTable + ` PRIMARY KEY,
    Name      NVARCHAR(200) NOT NULL,
    Checksum  CHAR(64)      NOT NULL,
    AppliedAt NVARCHAR(40)  NOT NULL
)`,
	Placeholder: func(n int) string { return "@p" + strconv.Itoa(n) },
	Split:       splitGO,
}

// splitGO is SplitGO for Dialect.Split, which cannot return an error. A
// script that SplitGO rejects is returned whole: the server then rejects
// the GO line as a syntax error and the migration's transaction rolls back.
// Callers that want the precise error (hartd deploy checks every shipped
// script before it sends any) call SplitGO first.
func splitGO(script string) []string {
	batches, err := SplitGO(script)
	if err != nil {
		return []string{script}
	}
	return batches
}
