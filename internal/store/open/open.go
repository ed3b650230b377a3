// Package open opens the store a DSN names, so that the server and the
// tools share one reading of --dsn:
//
//	""                                   the embedded SQLite store in the data directory
//	sqlite:///var/lib/hartd/hartd.db     SQLite, that file (sqlite://rel/path.db: relative)
//	postgres://… or postgresql://…       PostgreSQL + PostGIS (a libpq URL, passed to pgx)
//	sqlserver://…                        SQL Server (internal/store/sqlserver)
//
// A sqlite: DSN takes the query parameter synchronous=full|normal.
// Errors never show a password: DSNs in messages are redacted.
package open

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/hartonomous/hartd/internal/store"
	"github.com/hartonomous/hartd/internal/store/dsn"
	"github.com/hartonomous/hartd/internal/store/postgres"
	"github.com/hartonomous/hartd/internal/store/sqlite"
	"github.com/hartonomous/hartd/internal/store/sqlserver"
)

// ErrUnknownDSN is returned (wrapped) for a DSN whose scheme no store has.
var ErrUnknownDSN = errors.New("open: unknown store DSN")

// Dialect names the store a DSN selects.
type Dialect string

// The dialects.
const (
	SQLite    Dialect = "sqlite"
	Postgres  Dialect = "postgres"
	SQLServer Dialect = "sqlserver"
)

// Target is what Parse reads from a DSN.
type Target struct {
	Dialect Dialect
	// Path is the SQLite database file; "" means the data directory's.
	Path string
	// Synchronous is SQLite's synchronous setting ("" for the default).
	Synchronous string
	// DSN is what the server store's driver gets: the DSN as given.
	DSN string
}

// Parse reads a DSN without opening anything.
func Parse(s string) (Target, error) {
	if strings.TrimSpace(s) == "" {
		return Target{Dialect: SQLite}, nil
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Target{}, fmt.Errorf("%w %q: want sqlite:///path, postgres://… or sqlserver://…", ErrUnknownDSN, dsn.Redact(s))
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3", "file":
		return parseSQLite(s, rest)
	case "postgres", "postgresql":
		return Target{Dialect: Postgres, DSN: s}, nil
	case "sqlserver", "mssql":
		return Target{Dialect: SQLServer, DSN: s}, nil
	}
	return Target{}, fmt.Errorf("%w %q: scheme %q; want sqlite:///path, postgres://… or sqlserver://…", ErrUnknownDSN, dsn.Redact(s), scheme)
}

// parseSQLite reads sqlite:///abs/path.db, sqlite://rel/path.db or
// sqlite:path.db, with ?synchronous=full|normal.
func parseSQLite(s, rest string) (Target, error) {
	t := Target{Dialect: SQLite}
	path, query, _ := strings.Cut(strings.TrimPrefix(rest, "//"), "?")
	p, err := url.PathUnescape(path)
	if err != nil {
		return t, fmt.Errorf("%w %q: path: %w", ErrUnknownDSN, s, err)
	}
	if p == "" || strings.HasSuffix(p, "/") {
		return t, fmt.Errorf("%w %q: no database file; want sqlite:///path/hartd.db", ErrUnknownDSN, s)
	}
	t.Path = p
	q, err := url.ParseQuery(query)
	if err != nil {
		return t, fmt.Errorf("%w %q: query: %w", ErrUnknownDSN, s, err)
	}
	for k, v := range q {
		switch k {
		case "synchronous", "_sync", "sync":
			t.Synchronous = v[len(v)-1]
		default:
			return t, fmt.Errorf("%w %q: unknown parameter %q (sqlite takes synchronous)", ErrUnknownDSN, s, k)
		}
	}
	return t, nil
}

// Options are what a DSN does not say.
type Options struct {
	// DataDir holds the embedded store when the DSN is empty.
	DataDir string
	// Synchronous is SQLite's synchronous setting ("full" or "normal")
	// when the DSN does not give one.
	Synchronous string
	Log         *slog.Logger
}

// Open opens the store that dsn names (see the package doc); o.DataDir is
// the embedded store's directory when dsn is "". o.Log, which may be nil,
// hears what the server stores do to their database.
func Open(ctx context.Context, dsnStr string, o Options) (store.Store, error) {
	log, dataDir := o.Log, o.DataDir
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t, err := Parse(dsnStr)
	if err != nil {
		return nil, err
	}
	switch t.Dialect {
	case SQLite:
		opts := sqlite.Options{Synchronous: t.Synchronous}
		if opts.Synchronous == "" {
			opts.Synchronous = o.Synchronous
		}
		if t.Path == "" {
			if dataDir == "" {
				return nil, errors.New("open: no DSN and no data directory")
			}
			return sqlite.Open(ctx, dataDir, opts)
		}
		return sqlite.OpenFile(ctx, t.Path, opts)
	case Postgres:
		s, err := postgres.Open(ctx, t.DSN, postgres.Options{Logger: log})
		if err != nil {
			return nil, err
		}
		log.Info("store", "dialect", "postgres", "dsn", dsn.Redact(t.DSN))
		return s, nil
	case SQLServer:
		s, err := sqlserver.Open(ctx, t.DSN, sqlserver.Options{Logger: log})
		if err != nil {
			return nil, err
		}
		log.Info("store", "dialect", "sqlserver", "dsn", dsn.Redact(t.DSN))
		return s, nil
	}
	return nil, fmt.Errorf("%w: dialect %q", ErrUnknownDSN, t.Dialect)
}
