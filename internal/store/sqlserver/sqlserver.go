// Package sqlserver is the SQL Server store (SQL Server 2022 or later),
// through github.com/microsoft/go-mssqldb. Its schema is
// sql/sqlserver/migrations, which Open applies (hartd deploy does the rest:
// the database itself, its settings, the procedures). Points are a GEOMETRY
// column, SRID 0, in SQL Server's native serialization with Z
// (spatial.EncodeMSSQLPoint), under a spatial index that SeedSearch's
// nearest-neighbour query uses; vectors are float32 little-endian
// VARBINARY.
//
// Writes: Insert reserves the batch's ids from the AtomIds and
// EmbeddingIds sequences (sp_sequence_get_range) and bulk-copies the rows
// (mssql.CopyIn, with CHECK_CONSTRAINTS so that constraints and foreign
// keys hold as for an INSERT), all in one transaction that holds a
// per-model application lock until it commits: a model's ids ascend in
// commit order, as the runtime core needs. Durability is the server's:
// Insert and Delete return after COMMIT.
//
// Every method is safe for concurrent use.
package sqlserver

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

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/hartonomous/hartd/internal/migrate"
	"github.com/hartonomous/hartd/internal/store"
	"github.com/hartonomous/hartd/internal/store/accountsql"
	"github.com/hartonomous/hartd/internal/store/dsn"
	hartsql "github.com/hartonomous/hartd/sql"
)

// Errors of Open that callers test with errors.Is.
var (
	ErrUnreachable = errors.New("sqlserver: cannot connect to the server")
	ErrAuth        = errors.New("sqlserver: login failed")
	ErrNoDatabase  = errors.New("sqlserver: cannot open the database")
)

// Options tune the store; the zero value is the default.
type Options struct {
	// MaxConns bounds the connection pool; 0 means no bound (database/sql's
	// default). Open needs at least 2.
	MaxConns int
	// Logger receives what Open does to the database; nil discards.
	Logger *slog.Logger
}

// Store is the SQL Server store. Fields are immutable after Open, except
// closed.
type Store struct {
	db     *sql.DB
	closed atomic.Bool
	accountsql.Accounts
}

// Dialect is SQL Server's accountsql dialect.
var Dialect = accountsql.Dialect{
	Name:      "sqlserver",
	Ph:        func(n int) string { return "@p" + strconv.Itoa(n) },
	Time:      func(t time.Time) any { return t.UTC() },
	ParseTime: accountsql.ParseAnyTime,
	Day:       func(col string) string { return "CONVERT(char(10), " + col + ", 23)" },
	True:      "1",
	False:     "0",
	Returning: func(table, cols, vals, idCol string) string {
		return "INSERT INTO " + table + " " + cols + " OUTPUT INSERTED." + idCol + " VALUES " + vals
	},
	IsUnique: isUnique,
}

var (
	_ store.Store           = (*Store)(nil)
	_ store.SpatialSearcher = (*Store)(nil)
)

// migrateLock is the application lock that serializes the migrations of
// one database by several hartd processes.
const migrateLock = "hartd-migrate"

// Open connects to the database of dsn (sqlserver://user:password@host:port?database=NAME)
// and migrates its schema to the newest version this binary knows. The
// database must exist: hartd deploy creates it. Errors never hold the
// password.
func Open(ctx context.Context, dsnStr string, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db, err := sql.Open("sqlserver", dsnStr)
	if err != nil {
		return nil, masked(dsnStr, fmt.Errorf("sqlserver: bad DSN: %w", err))
	}
	if opts.MaxConns > 0 {
		db.SetMaxOpenConns(max(opts.MaxConns, 2))
	}
	s := &Store{db: db}
	s.Accounts = accountsql.Accounts{W: db, R: db, D: Dialect}
	if err := s.open(ctx, log); err != nil {
		db.Close()
		return nil, masked(dsnStr, err)
	}
	return s, nil
}

func (s *Store) open(ctx context.Context, log *slog.Logger) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return connectError(err)
	}
	defer conn.Close()
	var version string
	if err := conn.QueryRowContext(ctx, `SELECT CAST(SERVERPROPERTY('ProductVersion') AS NVARCHAR(128))`).Scan(&version); err != nil {
		return connectError(err)
	}
	// A session lock on this connection while the runner migrates through
	// others: a second Open waits here, then finds the schema current.
	if _, err := conn.ExecContext(ctx, `DECLARE @r INT;
EXEC @r = sp_getapplock @Resource = @p1, @LockMode = N'Exclusive', @LockOwner = N'Session', @LockTimeout = 120000;
IF @r < 0 THROW 50010, N'hartd: timed out waiting for another process migrating this database', 1;`, migrateLock); err != nil {
		return fmt.Errorf("sqlserver: migration lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `EXEC sp_releaseapplock @Resource = @p1, @LockOwner = N'Session'`, migrateLock)
	ms, err := migrate.Load(hartsql.FS, "sqlserver/migrations")
	if err != nil {
		return fmt.Errorf("sqlserver: %w", err)
	}
	r := &migrate.Runner{DB: s.db, Dialect: migrate.SQLServer, Migrations: ms}
	done, err := r.Up(ctx, -1)
	if err != nil {
		return fmt.Errorf("sqlserver: %w", err)
	}
	for _, m := range done {
		log.Info("migrated", "dialect", "sqlserver", "version", m.Version, "name", m.Name)
	}
	log.Debug("store open", "dialect", "sqlserver", "server_version", version)
	return nil
}

// connectError names what failed about a first connection.
func connectError(err error) error {
	var me mssql.Error
	var ne net.Error
	switch {
	case errors.As(err, &me) && me.Number == 18456:
		return fmt.Errorf("%w: %s (check the user and password of the DSN)", ErrAuth, me.Message)
	case errors.As(err, &me) && me.Number == 4060:
		return fmt.Errorf("%w: %s (create it with hartd deploy --dsn …)", ErrNoDatabase, me.Message)
	case errors.As(err, &ne), strings.Contains(err.Error(), "unable to open tcp connection"),
		strings.Contains(err.Error(), "connection refused"), strings.Contains(err.Error(), "no such host"):
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return fmt.Errorf("sqlserver: connect: %w", err)
}

// maskedError is an error whose message had the DSN's secrets removed.
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

// Close closes the connection pool; calls after it return store.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlserver: close: %w", err)
	}
	return nil
}

func (s *Store) check() error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return nil
}

func isUnique(err error) bool {
	var me mssql.Error
	return errors.As(err, &me) && (me.Number == 2627 || me.Number == 2601)
}

func utc(t time.Time) time.Time { return t.UTC() }
