package deploy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	mssql "github.com/microsoft/go-mssqldb"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// Opener opens a connection pool to dsn, a DSN of dialect.
type Opener func(ctx context.Context, dialect, dsn string) (*sql.DB, error)

// pingTimeout bounds the first round trip to a server, so that an
// unreachable one fails the phase in seconds, not at the driver's leisure.
const pingTimeout = 15 * time.Second

// DefaultOpener opens dsn with the dialect's driver (modernc.org/sqlite,
// github.com/microsoft/go-mssqldb, pgx) and pings it.
func DefaultOpener(ctx context.Context, dialect, dsn string) (*sql.DB, error) {
	driver := map[string]string{SQLite: "sqlite", SQLServer: "sqlserver", Postgres: "pgx"}[dialect]
	if driver == "" {
		return nil, fmt.Errorf("deploy: no driver for dialect %q", dialect)
	}
	if dialect == SQLite {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "foreign_keys(1)")
		dsn = "file:" + dsn + "?" + q.Encode()
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, err
	}
	if dialect == SQLite {
		// One writer; the deploy is sequential anyway.
		db.SetMaxOpenConns(1)
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Session holds a run's connections, opened on first use and closed at the
// end of the run.
type Session struct {
	Target Target
	open   Opener
	dbs    map[string]*sql.DB
}

func newSession(t Target, open Opener) *Session {
	if open == nil {
		open = DefaultOpener
	}
	return &Session{Target: t, open: open, dbs: map[string]*sql.DB{}}
}

// DB returns a pool on database name of the target's server; "" is the
// target's own database.
func (s *Session) DB(ctx context.Context, name string) (*sql.DB, error) {
	if db := s.dbs[name]; db != nil {
		return db, nil
	}
	db, err := s.open(ctx, s.Target.Dialect, s.Target.DSN(name))
	if err != nil {
		where := s.Target.Host()
		if where == "" {
			where = s.Target.Database
		}
		if name != "" {
			where += ", database " + name
		}
		return nil, fmt.Errorf("connect to %s: %w", where, err)
	}
	s.dbs[name] = db
	return db, nil
}

// Close closes every connection of the session.
func (s *Session) Close() {
	for name, db := range s.dbs {
		db.Close()
		delete(s.dbs, name)
	}
}

// classify names the fix for a phase error that did not come with one:
// connection failures, wrong credentials, missing permissions.
func classify(t Target, err error) string {
	var ms mssql.Error
	if errors.As(err, &ms) {
		switch ms.Number {
		case 18456:
			return fmt.Sprintf("the server rejected the login of %q: check the user and password in --dsn (or HARTD_DSN), and that SQL Server authentication is enabled", t.User())
		case 4060:
			return "the login cannot open the database: grant it access, or let hartd deploy create the database (it needs CREATE ANY DATABASE on master)"
		case 262, 229, 230, 300, 297:
			return "the login lacks a permission hartd deploy needs: run it as a member of db_owner (or sysadmin), or grant the permission named in the cause"
		}
		return fmt.Sprintf("SQL Server error %d: see the cause; fix it and run hartd deploy again (completed phases are not repeated)", ms.Number)
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case pg.Code == "28P01" || pg.Code == "28000":
			return fmt.Sprintf("the server rejected the login of %q: check the user and password in --dsn (or HARTD_DSN) and the server's pg_hba.conf", t.User())
		case pg.Code == "3D000":
			return "the database does not exist: run the database phase first (hartd deploy without --phase creates it)"
		case pg.Code == "42501":
			return "the role lacks a privilege hartd deploy needs: run it as the database owner, or grant the privilege named in the cause"
		}
		return fmt.Sprintf("PostgreSQL error %s: see the cause; fix it and run hartd deploy again (completed phases are not repeated)", pg.Code)
	}
	if unreachable(err) {
		return fmt.Sprintf("cannot reach %s: check the host and port in --dsn, that the server is running and accepts TCP connections, and any firewall between", t.Host())
	}
	msg := strings.ToLower(err.Error())
	if strings.Contains(msg, "login error") || strings.Contains(msg, "password authentication failed") || strings.Contains(msg, "login failed") {
		return fmt.Sprintf("the server rejected the login of %q: check the user and password in --dsn (or HARTD_DSN)", t.User())
	}
	return "see the cause; fix it and run hartd deploy again (completed phases are not repeated)"
}

// unreachable reports whether err is a network failure to reach a server.
func unreachable(err error) bool {
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	switch {
	case errors.As(err, &de), errors.As(err, &oe):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such host") ||
		strings.Contains(msg, "i/o timeout") || strings.Contains(msg, "unable to open tcp connection") ||
		strings.Contains(msg, "failed to connect to")
}
