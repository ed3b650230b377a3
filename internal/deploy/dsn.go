package deploy

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/hartonomous/hartd/internal/store/dsn"
)

// Dialects of a Target.
const (
	SQLite    = "sqlite"
	SQLServer = "sqlserver"
	Postgres  = "postgres"
)

// DefaultSQLServerDatabase is the database a sqlserver:// DSN without a
// database parameter deploys.
const DefaultSQLServerDatabase = "Hartonomous"

// ErrDSN is returned (wrapped) by ParseDSN.
var ErrDSN = errors.New("deploy: bad DSN")

// Target is a parsed --dsn: which server, which database.
type Target struct {
	// Dialect is SQLite, SQLServer or Postgres.
	Dialect string
	// Database is the database's name; for SQLite, the file's path.
	Database string

	raw string
	u   *url.URL
}

// dbNameRE is what hartd accepts as a SQL Server or PostgreSQL database
// name: quoted everywhere anyway, but kept to characters that need no
// thought in a log line or a shell.
var dbNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$-]{0,62}$`)

// ParseDSN parses the three forms hartd deploys:
//
//	sqlserver://user:password@host:1433?database=Hartonomous
//	postgres://user:password@host:5432/hartd?sslmode=disable  (or postgresql://)
//	sqlite:///absolute/path/hart.db  or  sqlite:relative/path/hart.db
//
// A sqlserver DSN without database= deploys DefaultSQLServerDatabase; a
// postgres DSN must name its database in the path.
func ParseDSN(s string) (Target, error) {
	if strings.TrimSpace(s) == "" {
		return Target{}, fmt.Errorf("%w: empty; give --dsn or set HARTD_DSN", ErrDSN)
	}
	u, err := url.Parse(s)
	if err != nil {
		// url's message quotes the input: keep the password out of it.
		return Target{}, fmt.Errorf("%w: %s", ErrDSN, dsn.Mask(err.Error(), s))
	}
	t := Target{raw: s, u: u}
	switch strings.ToLower(u.Scheme) {
	case "sqlite":
		t.Dialect = SQLite
		switch {
		case u.Host != "":
			return Target{}, fmt.Errorf("%w: %q: write sqlite:///absolute/path.db (three slashes) or sqlite:relative/path.db", ErrDSN, dsn.Redact(s))
		case u.Opaque != "":
			t.Database = u.Opaque
		default:
			t.Database = u.Path
		}
		if t.Database == "" || strings.HasSuffix(t.Database, "/") {
			return Target{}, fmt.Errorf("%w: %q names no database file", ErrDSN, dsn.Redact(s))
		}
		t.Database = filepath.Clean(t.Database)
	case "sqlserver":
		t.Dialect = SQLServer
		if u.Host == "" {
			return Target{}, fmt.Errorf("%w: %q names no host", ErrDSN, dsn.Redact(s))
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return Target{}, fmt.Errorf("%w: query of %q: %s", ErrDSN, dsn.Redact(s), dsn.Mask(err.Error(), s))
		}
		t.Database = q.Get("database")
		if t.Database == "" {
			t.Database = DefaultSQLServerDatabase
		}
		if !dbNameRE.MatchString(t.Database) {
			return Target{}, fmt.Errorf("%w: database %q: use letters, digits, _, $ and -", ErrDSN, t.Database)
		}
	case "postgres", "postgresql":
		t.Dialect = Postgres
		if u.Host == "" {
			return Target{}, fmt.Errorf("%w: %q names no host", ErrDSN, dsn.Redact(s))
		}
		t.Database = strings.TrimPrefix(u.Path, "/")
		if t.Database == "" {
			return Target{}, fmt.Errorf("%w: %q names no database: write postgres://user@host:5432/DBNAME", ErrDSN, dsn.Redact(s))
		}
		if !dbNameRE.MatchString(t.Database) {
			return Target{}, fmt.Errorf("%w: database %q: use letters, digits, _, $ and -", ErrDSN, t.Database)
		}
	case "":
		return Target{}, fmt.Errorf("%w: %q has no scheme: want sqlserver://, postgres:// or sqlite://", ErrDSN, dsn.Redact(s))
	default:
		return Target{}, fmt.Errorf("%w: scheme %q: want sqlserver://, postgres:// or sqlite://", ErrDSN, u.Scheme)
	}
	return t, nil
}

// String returns the DSN with its password masked.
func (t Target) String() string { return dsn.Redact(t.raw) }

// Host returns host:port of a server DSN ("" for SQLite).
func (t Target) Host() string {
	if t.u == nil || t.Dialect == SQLite {
		return ""
	}
	return t.u.Host
}

// User returns the DSN's user name ("" when none).
func (t Target) User() string {
	if t.u == nil || t.u.User == nil {
		return ""
	}
	return t.u.User.Username()
}

// DSN returns the connection string to hand to the driver for database db
// (the target's own database when db is ""): for SQL Server, master or the
// target database; for PostgreSQL, the maintenance database postgres or the
// target database.
func (t Target) DSN(db string) string {
	if t.Dialect == SQLite {
		return t.Database
	}
	if db == "" {
		db = t.Database
	}
	u := *t.u
	switch t.Dialect {
	case SQLServer:
		q := u.Query()
		q.Set("database", db)
		if q.Get("app name") == "" {
			q.Set("app name", "hartd deploy")
		}
		u.RawQuery = q.Encode()
	case Postgres:
		u.Path = "/" + db
		u.RawPath = ""
		q := u.Query()
		if q.Get("application_name") == "" {
			q.Set("application_name", "hartd deploy")
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// mask removes the DSN's secrets from a message.
func (t Target) mask(msg string) string { return dsn.Mask(msg, t.raw) }
