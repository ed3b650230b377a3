// Package postgres is the PostgreSQL + PostGIS store, through
// github.com/jackc/pgx/v5 (pgxpool). It migrates its schema on Open
// (sql/postgres/migrations) and keeps projected points in a
// geometry(PointZ, 0) column with a GiST index, which SeedSearch orders by
// with PostGIS's 2-D KNN operator <->.
//
// Durability is the server's: Insert and Delete return after COMMIT, so
// with the server's default synchronous_commit = on the change is on the
// server's disk. Every method is safe for concurrent use; each takes a
// connection from the pool for its duration.
//
// Identifiers are quoted ("AtomEmbeddings"."EmbeddingId"), and the schema
// lives in the first schema of the connection's search_path (public by
// default; a DSN may set search_path=…).
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/hartonomous/hartd/internal/migrate"
	"github.com/hartonomous/hartd/internal/store"
	"github.com/hartonomous/hartd/internal/store/accountsql"
	"github.com/hartonomous/hartd/internal/store/dsn"
	hartsql "github.com/hartonomous/hartd/sql"
)

// Errors of Open that callers test with errors.Is.
var (
	ErrUnreachable = errors.New("postgres: cannot connect to the server")
	ErrAuth        = errors.New("postgres: authentication failed")
	ErrNoDatabase  = errors.New("postgres: database does not exist")
	ErrNoPostGIS   = errors.New("postgres: PostGIS is not available")
)

// Options tune the store; the zero value is the default.
type Options struct {
	// MaxConns is the pool's size; 0 keeps pgxpool's default (the DSN's
	// pool_max_conns, else max(4, GOMAXPROCS)).
	MaxConns int32
	// ConnectTimeout bounds each connection attempt when the DSN has no
	// connect_timeout; 0 means 10 s.
	ConnectTimeout time.Duration
	// CopyThreshold: a batch of more items than this is written with COPY,
	// a smaller one with pipelined INSERTs; 0 means DefaultCopyThreshold,
	// a negative value always uses COPY.
	CopyThreshold int
	// Logger receives what Open does to the database; nil discards.
	Logger *slog.Logger
}

// DefaultCopyThreshold is the batch size above which Insert uses COPY.
const DefaultCopyThreshold = 16

// requiredExtension is the extension the schema needs; a variable so that a
// test can check the message for a server that lacks it.
var requiredExtension = "postgis"

// migrateLockKey is the advisory lock that serializes migrations of one
// database by several hartd processes ("hartd" in ASCII).
const migrateLockKey int64 = 0x6861727464

// Store is the PostgreSQL store. Fields are immutable after Open, except
// closed.
type Store struct {
	pool          *pgxpool.Pool
	where         string // "host:port, database d" for messages
	copyThreshold int
	closed        atomic.Bool
	// db is database/sql over pool, for Accounts.
	db *sql.DB
	accountsql.Accounts
}

// Dialect is PostgreSQL's accountsql dialect.
var Dialect = accountsql.Dialect{
	Name:      "postgres",
	Ph:        func(n int) string { return "$" + strconv.Itoa(n) },
	Time:      func(t time.Time) any { return t.UTC() },
	ParseTime: accountsql.ParseAnyTime,
	Day:       func(col string) string { return "to_char(" + col + " AT TIME ZONE 'UTC', 'YYYY-MM-DD')" },
	True:      "true",
	False:     "false",
	Returning: func(table, cols, vals, idCol string) string {
		return "INSERT INTO " + table + " " + cols + " VALUES " + vals + " RETURNING " + idCol
	},
	IsUnique:  func(err error) bool { return isCode(err, "23505") },
	MaxParams: 60_000,
}

var (
	_ store.Store           = (*Store)(nil)
	_ store.SpatialSearcher = (*Store)(nil)
)

// Open connects to the server of dsn (a postgres:// URL or libpq keyword
// string), checks that PostGIS is available, and migrates the schema to the
// newest version this binary knows. Its errors never hold the password.
func Open(ctx context.Context, dsnStr string, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(dsnStr)
	if err != nil {
		return nil, masked(dsnStr, fmt.Errorf("postgres: bad DSN: %w", err))
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if cfg.MaxConns < 2 {
		// Open holds a connection for its migration lock while the runner
		// uses another.
		cfg.MaxConns = 2
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
		if cfg.ConnConfig.ConnectTimeout <= 0 {
			cfg.ConnConfig.ConnectTimeout = 10 * time.Second
		}
	}
	if opts.CopyThreshold == 0 {
		opts.CopyThreshold = DefaultCopyThreshold
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, masked(dsnStr, fmt.Errorf("postgres: %s: %w", describe(cfg.ConnConfig), err))
	}
	s := &Store{pool: pool, where: describe(cfg.ConnConfig), copyThreshold: opts.CopyThreshold}
	s.db = stdlib.OpenDBFromPool(pool)
	s.Accounts = accountsql.Accounts{W: s.db, R: s.db, D: Dialect}
	if err := s.open(ctx, cfg.ConnConfig, log); err != nil {
		pool.Close()
		return nil, masked(dsnStr, err)
	}
	return s, nil
}

func (s *Store) open(ctx context.Context, cc *pgx.ConnConfig, log *slog.Logger) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return connectError(ctx, cc, err)
	}
	defer conn.Release()
	if err := checkExtension(ctx, conn, requiredExtension, s.where); err != nil {
		return err
	}
	// Serialize concurrent Opens of one database: CREATE TABLE IF NOT
	// EXISTS and CREATE EXTENSION IF NOT EXISTS race with themselves.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLockKey); err != nil {
		return fmt.Errorf("postgres: %s: take the migration lock: %w", s.where, err)
	}
	defer func() {
		// A failure here leaves the lock to the session's end, which
		// Release's reset (or the pool's close) brings.
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLockKey)
	}()
	ms, err := migrate.Load(hartsql.FS, "postgres/migrations")
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	r := &migrate.Runner{DB: db, Dialect: migrate.Postgres, Migrations: ms}
	done, err := r.Up(ctx, -1)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42501" { // insufficient_privilege
			if strings.Contains(strings.ToLower(pe.Message), "extension") {
				return fmt.Errorf("postgres: %s: PostGIS is available but not created in this database, and user %q may not create it: "+
					"have a superuser run CREATE EXTENSION postgis; in database %q, then start hartd again: %w", s.where, cc.User, cc.Database, err)
			}
			return fmt.Errorf("postgres: %s: user %q may not create hartd's schema: make it the database's owner, or "+
				"GRANT CREATE ON SCHEMA <the first schema of its search_path, public by default> TO %s; then start hartd again: %w",
				s.where, cc.User, pgx.Identifier{cc.User}.Sanitize(), err)
		}
		return fmt.Errorf("postgres: %s: %w", s.where, err)
	}
	for _, m := range done {
		log.Info("applied migration", "dialect", "postgres", "version", m.Version, "name", m.Name, "database", cc.Database)
	}
	return nil
}

// querier is what checkExtension needs of a connection.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// checkExtension fails with ErrNoPostGIS when the server has no files for
// the extension ext, so that CREATE EXTENSION could not succeed.
func checkExtension(ctx context.Context, q querier, ext, where string) error {
	var available bool
	var serverVersion int
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = $1),
	current_setting('server_version_num')::int`, ext).Scan(&available, &serverVersion)
	if err != nil {
		return fmt.Errorf("postgres: %s: read pg_available_extensions: %w", where, err)
	}
	if !available {
		return noExtensionError(ext, where, serverVersion)
	}
	return nil
}

// noExtensionError is the message for a server without the extension's files.
func noExtensionError(ext, where string, serverVersionNum int) error {
	major := serverVersionNum / 10000
	return fmt.Errorf("%w: the server at %s has no %q extension (it is not in pg_available_extensions): "+
		"install PostGIS on the database server (Debian/Ubuntu: apt-get install postgresql-%d-postgis-3) "+
		"and start hartd again", ErrNoPostGIS, where, ext, major)
}

// connectError turns a failure to get a first connection into a message
// naming the cause and the fix.
func connectError(ctx context.Context, cc *pgx.ConnConfig, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("postgres: connect to %s: %w", describe(cc), err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "28P01", "28000": // invalid_password, invalid_authorization_specification
			return fmt.Errorf("%w for user %q at %s: check the user and password of the DSN (and the server's pg_hba.conf): %w",
				ErrAuth, cc.User, describe(cc), err)
		case "3D000": // invalid_catalog_name
			return fmt.Errorf("%w: %q on %s: create it (CREATE DATABASE %s;) or name another in the DSN: %w",
				ErrNoDatabase, cc.Database, describe(cc), pgx.Identifier{cc.Database}.Sanitize(), err)
		}
		return fmt.Errorf("postgres: connect to %s: %w", describe(cc), err)
	}
	return fmt.Errorf("%w at %s (user %q): is it running and listening on that address, and is the DSN's host and port right? %w",
		ErrUnreachable, addr(cc), cc.User, err)
}

// addr is the server's address as a message shows it.
func addr(cc *pgx.ConnConfig) string {
	port := strconv.Itoa(int(cc.Port))
	if strings.HasPrefix(cc.Host, "/") {
		return cc.Host + "/.s.PGSQL." + port
	}
	return net.JoinHostPort(cc.Host, port)
}

func describe(cc *pgx.ConnConfig) string {
	return fmt.Sprintf("%s, database %q", addr(cc), cc.Database)
}

// maskedError is err with the DSN's secrets masked in its message.
type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }

func masked(dsnStr string, err error) error {
	msg := dsn.Mask(err.Error(), dsnStr)
	if msg == err.Error() {
		return err
	}
	return &maskedError{msg: msg, err: err}
}

// Close closes the pool, waiting for connections in use to be released.
// Calls after Close return store.ErrClosed; a second Close does nothing.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	_ = s.db.Close()
	s.pool.Close()
	return nil
}

func (s *Store) check() error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return nil
}

func isCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}
