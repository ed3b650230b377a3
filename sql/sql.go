// Package sql embeds hartd's SQL, one folder per dialect:
//
//	sqlite/migrations/NNNN_name.up.sql    applied in order of NNNN
//	sqlite/migrations/NNNN_name.down.sql  undoes NNNN
//
// The files are the schema's source of truth; internal/migrate applies them
// and records each applied version with the SHA-256 of its up script.
// Importers alias the package (hartsql) to keep database/sql's name free.
package sql

import "embed"

// FS holds every dialect's folder.
//
//go:embed sqlite postgres sqlserver
var FS embed.FS
