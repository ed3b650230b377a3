// Package deploy prepares a database for hartd: it checks the server,
// creates the database, applies the schema's migrations, installs the
// procedures that SQL-side clients call, verifies the result and seeds
// reference data. It is what `hartd deploy` runs, in place of the seed's
// PowerShell scripts 01–08.
//
// A Plan is the ordered list of Phases for one Target (a parsed DSN):
// prerequisites, database, filestream, clr, migrations, procedures,
// service-broker, verification, reference-data. Every dialect has every
// phase; where one does not apply (FILESTREAM, CLR, procedures on SQLite)
// it reports why. Each phase either describes what it would send
// (Plan.WriteScript, for --dry-run, which needs no server) or runs against
// the server and reports what it found and what it changed (Plan.Run).
//
// Phases are idempotent: each reads the server's state and changes only
// what differs, so a second run changes nothing and says so. A failing
// phase stops the run with a *Failure naming its cause and its fix.
// Migrations run one transaction each (all three dialects have
// transactional DDL); CREATE DATABASE and ALTER DATABASE, which cannot run
// in a transaction, run alone and are each idempotent.
//
// docs/deploy.md describes the phases per dialect.
package deploy
